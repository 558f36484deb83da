#!/usr/bin/env bash
# Builds the fuzz targets (in build-asan/, through scripts/sanitize.sh) and
# runs each on its seed corpus for SECONDS (default 60): mp-fuzz-onnx (ONNX
# importer), mp-fuzz-policy (autocast policy files), mp-fuzz-mpb (runtime
# .mpb loader and CPU interpreter), mp-fuzz-npy (mp-run's .npy/.npz
# reader). Fails if any target finds a crash, a
# sanitizer report, a leak, a timeout (10 s per input) or an input that
# needs more than 2 GiB; the input is left in build-asan/fuzz/crashes/.
# Seeds come from the repo's own test models (fuzz/make_corpus.py); inputs
# the fuzzers find are kept in build-asan/fuzz/corpus/ between runs.
# docs/Reliability.md.
#   usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (onnx policy mpb npy)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(onnx policy mpb npy)
build="${MP_ASAN_BUILD_DIR:-$root/build-asan}"
MP_ASAN_BUILD_ONLY=1 bash scripts/sanitize.sh

work="$build/fuzz"
mkdir -p "$work/seeds" "$work/crashes"
/usr/bin/python3 fuzz/make_corpus.py "$root" "$build/bin" "$work/seeds"

# Leaks count as failures here (the built-in defaults turn them off for
# the tools: fuzz/sanitizer_defaults.c).
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t"
  log="$work/$t.log"
  echo "fuzz: mp-fuzz-$t for ${secs}s"
  # The first directory collects new inputs; the seeds stay as they are.
  if ! "$build/bin/mp-fuzz-$t" -max_total_time="$secs" -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/crashes/$t-" \
      "$work/corpus/$t" "$work/seeds/$t" >"$log" 2>&1; then
    echo "fuzz: mp-fuzz-$t FAILED; the input is in $work/crashes/, the log in $log"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -20 || true
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$log" | sed "s/^/fuzz: $t: /" || true
done
exit "$status"
