#!/usr/bin/env python3
"""Trains a gen_models.py model a few steps in fp32, f16 and bf16 with mp.

Interpreter: the project venv, `/work/main/.venv/bin/python` (lit's %python).

The fp32 step is `--mp-build-training`; the mixed-precision ones are the
one-command pipeline `--mp-amp-pipeline="target=f16|bf16 optimizer=..."`
(autocast, autodiff, master weights, loss scaling). python/mp_interp.py runs
each @train_step on the model's initial state and one fixed batch (f16 and
bf16 rounded to nearest even after every op), feeding updated results back
through mp.updates. Prints the loss after each step and the relative gap of
the final low-precision loss to the fp32 one; fails when a loss is not
finite, when no step applied, or when a gap exceeds --tol.

Example: check_amp_training.py --mp-opt build/bin/mp-opt gpt --steps 5
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_training  # noqa: E402
import mp_interp  # noqa: E402


def train(mp_opt, onnx_path, passes, out, inputs, steps):
    subprocess.run([mp_opt, onnx_path] + passes +
                   ["--mlir-print-op-generic", "-o", out], check=True)
    mod = mp_interp.Module.parse_file(out)
    f = mod.funcs["train_step"]
    args = check_training.step_args(f, inputs)
    losses, skipped = [], 0
    for _ in range(steps):
        outs = mod.run("train_step", args)
        for i, a in enumerate(f.res_attrs):
            if "mp.updates" in a:
                args[a["mp.updates"]] = outs[i]
        r = {a.get("mp.name"): outs[i] for i, a in enumerate(f.res_attrs)}
        losses.append(float(r["loss"]))
        skipped += int(bool(r.get("skipped", False)))
    return losses, skipped


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("models", nargs="+", choices=["mlp", "cnn", "gpt"])
    p.add_argument("--mp-opt", required=True)
    p.add_argument("--optimizer", default="adamw")
    p.add_argument("--lr", type=float, default=0.003)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--tol", type=float, default=0.02)
    args = p.parse_args(argv)
    failures = []
    for name in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            _, inputs, onnx_path = check_training.export(name, tmp, [])
            opt = "optimizer=%s lr=%g" % (args.optimizer, args.lr)
            runs = {"fp32": ["--mp-build-training=" + opt]}
            for target in ("f16", "bf16"):
                runs[target] = ["--mp-amp-pipeline=target=%s %s" % (target,
                                                                     opt)]
            results = {}
            for mode, passes in runs.items():
                losses, skipped = train(args.mp_opt, onnx_path, passes,
                                        os.path.join(tmp, mode + ".mlir"),
                                        inputs, args.steps)
                results[mode] = losses
                print("%s %s: loss %s, %d skipped" % (
                    name, mode, " ".join("%.4f" % l for l in losses),
                    skipped))
                if not all(np.isfinite(losses)) or skipped == args.steps:
                    failures.append("%s %s: no finite training" % (name, mode))
            ref = results["fp32"][-1]
            for mode in ("f16", "bf16"):
                gap = abs(results[mode][-1] - ref) / abs(ref)
                print("%s %s: final loss within %.2g of fp32" %
                      (name, mode, gap))
                if not gap <= args.tol:
                    failures.append("%s %s: final loss differs from fp32 by "
                                    "%.3g" % (name, mode, gap))
            if not results["fp32"][-1] < results["fp32"][0]:
                failures.append("%s: the fp32 loss does not decrease" % name)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
