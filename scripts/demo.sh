#!/usr/bin/env bash
# The demo: set up, build, then on the bundled digits MLP (exported from
# PyTorch by python/gen_models.py; data from Debian's python3-sklearn):
#  1. import it and show the mp IR,
#  2. decide precisions for f16 and print the precision summary,
#  3. compile f32 and f16 programs and run them on the CPU runtime over the
#     digits test set, printing both losses.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
bin=${MP_BUILD_DIR:-$root/build}/bin
model=examples/digits_mlp.onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== 1. mp-translate --import-onnx $model"
"$bin/mp-translate" --import-onnx "$model" --mlir-elide-resource-strings-if-larger=32 | sed "/^{-#$/,/^#-}$/d"

echo "== 2. precision decisions (mp-opt --mp-amp-pipeline=target=f16)"
"$bin/mp-opt" "$model" --mp-amp-pipeline="target=f16 report=$tmp/report.json" -o "$tmp/amp.mlir"
/usr/bin/python3 - "$tmp/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for f in r["functions"]:
    for o in f["ops"]:
        print(f"  {o['precision']:>4}  {o['op']:<24} {o['node']:<28} {o['rule']}")
t = r["totals"]
print(f"  ops: {t['ops']}, low-precision FLOPs: {100 * t['low_precision_flop_fraction']:.1f}%, "
      f"casts: {t['casts']} ({t['cast_bytes_per_step']} bytes per step)")
PY

echo "== 3. f32 and f16 on the CPU runtime, digits test set"
/usr/bin/python3 python/digits_data.py "$tmp/digits" --batch 64 >/dev/null
for amp in off f16; do
  "$bin/mp-compile" "$model" --amp "$amp" -o "$tmp/digits_$amp.mpb"
  echo "-- --amp $amp"
  "$bin/mp-run" "$tmp/digits_$amp.mpb" --inputs "$tmp/digits/test.npz" --steps 5 --every 5
done
