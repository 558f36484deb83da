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
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DMP_RT_CUDA=OFF -DMP_BUILD_FUZZERS=ON >/dev/null
fi
# Only what the tests and fuzzers run (not bench or anything else).
targets=(mp-opt mp-translate mp-compile mp-run
         mp_rt_tests mp_rt_make_affine_relu mpb_run
         mp-fuzz-onnx mp-fuzz-policy mp-fuzz-mpb)
ninja -C "$build" -j "${MP_JOBS:-2}" "${targets[@]}"
[ "${MP_ASAN_BUILD_ONLY:-0}" = 1 ] && exit 0

# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs from
# header code inlined into our (instrumented) objects and unpoisons them in
# the uninstrumented libLLVM: mixed, that reports false use-after-poison.
# Leaks: Debian's uninstrumented libraries (and protobuf's static
# descriptors) keep memory until exit, so the tools run without leak
# checking; the fuzzers (scripts/fuzz.sh) check for leaks per input.
export ASAN_OPTIONS="allow_user_poisoning=0:detect_leaks=0:${ASAN_OPTIONS:-}"
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
# Tells test/lit.cfg.py that the tools are sanitized (feature "asan").
export MP_SANITIZED=1
status=0
/usr/lib/llvm-22/bin/lit -sv "$build/test" || status=1
ctest --test-dir "$build/runtime" --output-on-failure -j2 || status=1
exit "$status"
