#!/usr/bin/env bash
# The demo: sets up, builds, imports the bundled digits MLP (exported from
# PyTorch by python/gen_models.py) and prints its mp IR, then exports it back
# to ONNX and checks onnxruntime gives the same outputs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
bin=${MP_BUILD_DIR:-$root/build}/bin
model=examples/digits_mlp.onnx
echo "== mp-translate --import-onnx $model"
"$bin/mp-translate" --import-onnx "$model" --mlir-elide-resource-strings-if-larger=64
tmp=$(mktemp -d)
"$bin/mp-translate" --import-onnx "$model" | "$bin/mp-translate" --export-onnx -o "$tmp/roundtrip.onnx"
echo "== onnxruntime: original vs imported+exported"
.venv/bin/python python/ort_compare.py "$model" "$tmp/roundtrip.onnx" --int-high 10
rm -rf "$tmp"
