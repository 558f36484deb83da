#!/usr/bin/env bash
# Installs everything mp needs on a fresh Debian 12 machine. Idempotent: running it again
# installs nothing new. Needs root (or sudo) for apt.
#   apt : LLVM/MLIR 22, ONNX + protobuf, build tools, Debian's Python test packages,
#         clang-22 + its runtimes (ASan/UBSan/libFuzzer: scripts/sanitize.sh, fuzz.sh)
#   pip : onnxruntime, into .venv (a venv over Debian's python3 that also sees the
#         python3-* packages: torch 1.13, onnx 1.12, numpy, sklearn)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(cmake ninja-build ccache g++ git
      llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools lld-22
      clang-22 libclang-rt-22-dev
      libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
      libgtest-dev
      python3 python3-venv python3-numpy python3-onnx python3-torch python3-sklearn)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python for tests: Debian's interpreter (it has torch/onnx/sklearn) plus onnxruntime from PyPI.
# --no-deps keeps pip from replacing Debian's numpy/protobuf, which torch 1.13 and onnx 1.12 need.
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "import onnxruntime" 2>/dev/null; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
    "onnxruntime==1.20.1" "flatbuffers" "packaging"
fi
echo "setup: ok"
