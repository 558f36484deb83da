#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds, and runs every test: the lit suite
# (check-mp: dialect, passes, importer/exporter, PyTorch models, ONNX
# conformance) and the runtime's gtest suite when it is built.
# Tests that need a GPU skip themselves and say so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
build=${MP_BUILD_DIR:-$root/build}

log=$(mktemp)
set +e
/usr/lib/llvm-22/bin/lit -sv "$build/test" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^ *Passed *: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
xfail=$(grep -Eo '^ *Expectedly Failed *: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
failed=$(grep -Eo '^ *(Failed|Unexpectedly Passed|Unresolved|Timed Out) *: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | awk '{s += $1} END {print s + 0}' || true)
skipped=$(grep -Eo '^ *Unsupported *: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
rm -f "$log"
echo "check-mp: $((passed + xfail)) passed, $failed failed, $skipped skipped"
exit "$status"
