#!/bin/sh
# Builds sonoplug with warnings as errors and runs the whole test suite.
# Usage: tests/run-tests.sh [BUILD_DIR]   (default build/)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
"$root/.ci/deps"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSONO_WERROR=ON
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j2
