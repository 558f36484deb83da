#!/usr/bin/env bash
# Configures (once) and builds mp with Ninja + ccache into build/.
# Builds are serialized with a lock so parallel callers never share a ninja run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${MP_BUILD_DIR:-$root/build}"
# ccache hits across checkouts (CI builds a fresh clone elsewhere).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
exec 9>"${MP_BUILD_LOCK:-/tmp/mp-build.lock}"
flock 9
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ >/dev/null
fi
cmake --build "$build" "$@"
