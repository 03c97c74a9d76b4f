#!/bin/sh
# The main job: generate the nasolabial-ha-occlusion phantom, run the three
# bundled clinical plugins through the reference host, and write out/demo/
# (frame PNGs, report.html, results.json). When the reference data is beside
# the project (../shared/data), the real rotating-disk recording is rendered
# too, into out/demo-disk/.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
"$root/.ci/deps"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
out=$root/out
mkdir -p "$out/demo" "$out/phantom" "$out/clinical-plugins"
# The clinical plugins only (the example plugin is the authors' template).
for p in artefacts intravascular hyaluronidase; do
  ln -sf "$build/plugins-out/$p.so" "$build/plugins-out/$p.sono.json" "$out/clinical-plugins/"
done
"$build/sdk/sim/sono-phantom" case --scenario nasolabial-ha-occlusion --seed 1 --out "$out/phantom"
"$build/host-stub/sono-host" run --in "$out/phantom/nasolabial-ha-occlusion.json" --out "$out/demo" \
  --plugins "$out/clinical-plugins" || [ $? -eq 3 ]   # 3: done, but a plugin failed (see the report)
if [ -f "$root/../shared/data/pwi_disk/iq_beamformed.bin" ]; then
  "$build/host-stub/sono-host" run --in "$root/tests/data/pwi_disk.json" --out "$out/demo-disk" \
    --plugins "$out/clinical-plugins" --quiet || [ $? -eq 3 ]
  echo "Real rotating-disk recording rendered in $out/demo-disk/report.html"
fi
echo "Main job done: $out/demo/ holds the frame PNGs, results.json and report.html"
