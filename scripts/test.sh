#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds, and runs every test: the lit suite
# (check-mp: dialect, passes, importer/exporter, lowering, PyTorch models,
# ONNX conformance, end to end) and the runtime's gtest suite (ctest).
# Tests that need a GPU skip themselves and say so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
build=${MP_BUILD_DIR:-$root/build}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
/usr/lib/llvm-22/bin/lit -sv "$build/test" 2>&1 | tee "$log" || status=1
count() { grep -Eo "^ *$1 *: *[0-9]+" "$log" | grep -Eo '[0-9]+$' | awk '{s += $1} END {print s + 0}' || true; }
lit_passed=$(( $(count 'Passed') + $(count 'Expectedly Failed') ))
lit_failed=$(count '(Failed|Unexpectedly Passed|Unresolved|Timed Out)')
lit_skipped=$(count 'Unsupported')
echo "check-mp: $lit_passed passed, $lit_failed failed, $lit_skipped skipped"

ctest --test-dir "$build/runtime" --output-on-failure -j2 2>&1 | tee "$log" || status=1
line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" || true)
ct_total=$(echo "$line" | grep -Eo 'out of [0-9]+' | grep -Eo '[0-9]+' || echo 0)
ct_failed=$(echo "$line" | grep -Eo '[0-9]+ tests failed' | grep -Eo '[0-9]+' || echo 0)
ct_skipped=$(grep -c '\*\*\*Skipped' "$log" || true)
ct_passed=$(( ${ct_total:-0} - ${ct_failed:-0} - ${ct_skipped:-0} ))
echo "runtime: $ct_passed passed, ${ct_failed:-0} failed, ${ct_skipped:-0} skipped"

echo "all: $((lit_passed + ct_passed)) passed, $((lit_failed + ${ct_failed:-0})) failed, $((lit_skipped + ${ct_skipped:-0})) skipped"
exit "$status"
