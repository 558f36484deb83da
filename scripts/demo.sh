#!/usr/bin/env bash
# The demo: set up, build, then train the bundled digits MLP (exported from
# PyTorch by python/gen_models.py; 8x8 digits from Debian's python3-sklearn)
# in f32 and in mixed precision (f16 with f32 master weights and dynamic loss
# scaling) side by side, on the CUDA runtime when this machine has a GPU (and
# the build has the CUDA backend), else on the CPU runtime
# (MP_DEMO_DEVICE=cpu|cuda chooses):
#  1. the precision decisions autocast made, and why;
#  2. both loss curves;
#  3. both test accuracies.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
bin=${MP_BUILD_DIR:-$root/build}/bin
model=examples/digits_mlp.onnx
steps=${MP_DEMO_STEPS:-400}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 python/digits_data.py "$tmp/digits" --batch 64

echo
echo "== 1. precision decisions for the f16 training step (mp-compile --amp f16 --report)"
"$bin/mp-compile" "$model" --optimizer adamw --train-options "lr=0.01" \
  --amp f16 --report "$tmp/report.json" -o "$tmp/f16.mpb"
"$bin/mp-compile" "$model" --optimizer adamw --train-options "lr=0.01" \
  -o "$tmp/f32.mpb"
/usr/bin/python3 - "$tmp/report.json" <<'PY'
import collections, json, sys
r = json.load(open(sys.argv[1]))
for f in r["functions"]:
    if f["function"] != "train_step":
        continue
    rules = collections.Counter((o["precision"], o["rule"]) for o in f["ops"])
    for o in f["ops"]:
        if o["rule"] in ("allow list", "deny list", "loss subgraph") or o["op"] in ("Relu",):
            print(f"  {o['precision']:>4}  {o['op']:<26} {o['node']:<30} {o['reason'][:60]}")
    print("  ...")
    for (p, rule), n in sorted(rules.items()):
        print(f"  {n:4d} ops {p:>4} by '{rule}'")
t = r["totals"]
print(f"  ops: {t['ops']}, low-precision FLOPs: {100 * t['low_precision_flop_fraction']:.1f}%, "
      f"casts: {t.get('casts', '?')}")
PY

# The CUDA backend when one step runs there (a GPU and a CUDA build).
device=${MP_DEMO_DEVICE:-}
if [ -z "$device" ]; then
  device=cpu
  if "$bin/mp-run" "$tmp/f16.mpb" --device cuda --inputs "$tmp/digits/train.npz" \
       --steps 1 >/dev/null 2>&1; then
    device=cuda
  fi
fi

for p in f32 f16; do
  echo
  echo "== 2/3. training in $p on $device: $steps AdamW steps, batch 64, then the test accuracy"
  "$bin/mp-run" "$tmp/$p.mpb" --device "$device" --inputs "$tmp/digits/train.npz" \
    --steps "$steps" --every $((steps / 8)) --eval "$tmp/digits/test.npz"
done
