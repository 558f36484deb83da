#!/usr/bin/env bash
# Builds build-asan/ (clang-22, ASan + UBSan, libFuzzer instrumentation, no
# CUDA) and runs the whole lit suite and the runtime's gtest suite (ctest)
# against it. Any sanitizer report fails the run (UBSan does not recover).
# The same build holds the fuzz targets (scripts/fuzz.sh). docs/Reliability.md.
#   MP_ASAN_BUILD_DIR  build directory (default: build-asan)
#   MP_ASAN_BUILD_ONLY=1  configure and build, run nothing (used by fuzz.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
build="${MP_ASAN_BUILD_DIR:-$root/build-asan}"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
# Our code only: LLVM/MLIR, protobuf and onnx are Debian's uninstrumented
# libraries. vptr needs RTTI, which MLIR code is built without. NDEBUG as in
# Debian's LLVM: without it, LLVM headers change class layouts (Statistic)
# and our code disagrees with the libraries.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-sanitize=vptr"
san="$san -fsanitize=fuzzer-no-link -fno-omit-frame-pointer"
# Default sanitizer options, linked into every executable.
mkdir -p "$build"
if [ ! -f "$build/sanitizer_defaults.o" ] ||
   [ fuzz/sanitizer_defaults.c -nt "$build/sanitizer_defaults.o" ]; then
  clang-22 -c -O1 fuzz/sanitizer_defaults.c -o "$build/sanitizer_defaults.o"
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DCMAKE_EXE_LINKER_FLAGS="$build/sanitizer_defaults.o" \
    -DMP_RT_CUDA=OFF -DMP_BUILD_FUZZERS=ON >/dev/null
fi
# Only what the tests and fuzzers run (not bench or anything else).
targets=(mp-opt mp-translate mp-compile mp-run
         mp_rt_tests mp_rt_make_affine_relu mpb_run
         mp-fuzz-onnx mp-fuzz-policy mp-fuzz-mpb mp-fuzz-npy)
ninja -C "$build" -j "${MP_JOBS:-2}" "${targets[@]}"
[ "${MP_ASAN_BUILD_ONLY:-0}" = 1 ] && exit 0

# The sanitizer options are built in (fuzz/sanitizer_defaults.c: no user
# poisoning, no leak checking); ASAN_OPTIONS / UBSAN_OPTIONS add to them.
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
# Tells test/lit.cfg.py that the tools are sanitized (feature "asan").
export MP_SANITIZED=1
status=0
/usr/lib/llvm-22/bin/lit -sv "$build/test" || status=1
ctest --test-dir "$build/runtime" --output-on-failure -j2 || status=1
exit "$status"
