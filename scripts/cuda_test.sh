#!/usr/bin/env bash
# Builds the runtime alone (CUDA backend, gtest suite, mp-run) with only the
# CUDA toolkit, CMake and Ninja, then runs the runtime's test suite: every
# conformance test on the cpu and the cuda backend. For a GPU machine:
#
#   bash scripts/cuda_test.sh [gtest args...]
#
# Environment: CUDA_ARCH (default 90), BUILD (default build-cuda),
# GTEST_SRC (GoogleTest sources when none is installed, e.g. a copy of
# Debian's /usr/src/googletest).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-cuda}
args=(-DCMAKE_BUILD_TYPE=Release -DMP_RT_CUDA=ON
      -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}")
[ -n "${GTEST_SRC:-}" ] && args+=(-DMP_RT_GTEST_SRC="$GTEST_SRC")
export PATH=/usr/local/cuda/bin:$PATH
cmake -G Ninja -S "$root/runtime" -B "$build" "${args[@]}" >/dev/null
cmake --build "$build"
"$build/test/mp_rt_tests" "$@"
