#!/bin/sh
# The main job: generate the nasolabial-ha-occlusion phantom, run every
# bundled plugin through the reference host, and write out/demo/
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
mkdir -p "$out/demo" "$out/phantom"
"$build/sdk/sim/sono-phantom" case --scenario nasolabial-ha-occlusion --seed 1 --out "$out/phantom"
"$build/host-stub/sono-host" run --in "$out/phantom/nasolabial-ha-occlusion.json" --out "$out/demo" \
  --plugins "$build/plugins-out"
if [ -f "$root/../shared/data/pwi_disk/iq_beamformed.bin" ]; then
  "$build/host-stub/sono-host" run --in "$root/tests/data/pwi_disk.json" --out "$out/demo-disk" \
    --plugins "$build/plugins-out" --quiet
  echo "Real rotating-disk recording rendered in $out/demo-disk/report.html"
fi
echo "Main job done: $out/demo/ holds the frame PNGs, results.json and report.html"
