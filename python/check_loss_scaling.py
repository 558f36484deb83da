#!/usr/bin/env python3
"""Checks the behaviour of mp's dynamic loss scaling by running @train_step.

Interpreter: the project venv, `/work/main/.venv/bin/python` (lit's %python).

A small two-layer model (@forward below) goes through
`mp-build-training="optimizer=momentum"` and `mp-loss-scaling` with
interval=3, scale=8, min=2, max=32; python/mp_interp.py runs the steps,
feeding every result with mp.updates back into its argument:
  1. clean steps: the update equals the unscaled step (same model without
     loss scaling), the growth tracker counts, the scale doubles after 3
     clean steps and stops at the cap (32);
  2. an overflowing step (an inf in the batch): "skipped" is set, the
     parameters, momentum buffers and step counter do not change, the scale
     halves and the tracker resets;
  3. repeated overflows: the scale halves down to the floor (2), never below;
  4. f16 (mp-amp-pipeline target=f16 with loss-scale=2^24): the first steps
     overflow in f16 and are skipped while the scale backs off, then
     training proceeds and the loss decreases.
Prints one line per check and exits 1 on a failure.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mp_interp  # noqa: E402

MODEL = """
func.func @forward(%x: tensor<8x6xf32> {mp.name = "x", mp.role = "input"},
                   %y: tensor<8xi64> {mp.name = "y", mp.role = "input"},
                   %w1: tensor<6x16xf32> {mp.name = "w1", mp.role = "param", mp.init = dense<%W1%> : tensor<6x16xf32>},
                   %b1: tensor<16xf32> {mp.name = "b1", mp.role = "param", mp.init = dense<0.0> : tensor<16xf32>},
                   %w2: tensor<16x4xf32> {mp.name = "w2", mp.role = "param", mp.init = dense<%W2%> : tensor<16x4xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  %0 = mp.matmul %x, %w1 : (tensor<8x6xf32>, tensor<6x16xf32>) -> tensor<8x16xf32>
  %1 = mp.add %0, %b1 : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %2 = mp.tanh %1 : (tensor<8x16xf32>) -> tensor<8x16xf32>
  %3 = mp.matmul %2, %w2 : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
  %l, %p = mp.softmax_cross_entropy_loss %3, %y : (tensor<8x4xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<8x4xf32>)
  return %l : tensor<f32>
}
"""


def dense(a):
    return "[" + ", ".join(
        dense(r) if np.ndim(r) else "%.6f" % r for r in a) + "]"


class Checker:
    def __init__(self):
        self.failures = []

    def check(self, what, ok):
        print("%s: %s" % (what, "ok" if ok else "FAIL"))
        if not ok:
            self.failures.append(what)


def compile_step(mp_opt, text, passes, tmp, name):
    src = os.path.join(tmp, name + ".mlir")
    out = os.path.join(tmp, name + ".g.mlir")
    with open(src, "w") as f:
        f.write(text)
    subprocess.run([mp_opt, src] + passes + ["--mlir-print-op-generic", "-o",
                                             out], check=True)
    return mp_interp.Module.parse_file(out)


class Trainer:
    def __init__(self, mod, batch):
        self.mod, self.f = mod, mod.funcs["train_step"]
        self.args = []
        for a in self.f.arg_attrs:
            if a.get("mp.role") in ("input", "label"):
                self.args.append(batch[a["mp.name"]])
            else:
                self.args.append(np.asarray(a["mp.init"]))

    def arg(self, name):
        return self.args[self.f.arg_index(name)]

    def set_input(self, name, value):
        self.args[self.f.arg_index(name)] = value

    def step(self):
        outs = self.mod.run("train_step", self.args)
        for i, a in enumerate(self.f.res_attrs):
            if "mp.updates" in a:
                self.args[a["mp.updates"]] = outs[i]
        return {a.get("mp.name"): outs[i]
                for i, a in enumerate(self.f.res_attrs)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mp-opt", required=True)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    text = MODEL.replace("%W1%", dense(rng.standard_normal((6, 16)) * 0.5)) \
                .replace("%W2%", dense(rng.standard_normal((16, 4)) * 0.5))
    batch = {"x": rng.standard_normal((8, 6)).astype(np.float32),
             "y": rng.integers(0, 4, 8)}
    c = Checker()
    params = ["w1", "b1", "w2"]
    with tempfile.TemporaryDirectory() as tmp:
        build = ["--mp-build-training=optimizer=momentum lr=0.1"]
        scaled = Trainer(compile_step(
            args.mp_opt, text, build + ["--mp-loss-scaling=scale=8 interval=3 "
                                        "min=2 max=32"], tmp, "scaled"), batch)
        plain = Trainer(compile_step(args.mp_opt, text, build, tmp, "plain"),
                        batch)

        # 1. Clean steps.
        scales, trackers, worst = [], [], 0.0
        for _ in range(9):
            r, q = scaled.step(), plain.step()
            scales.append(float(r["loss_scale"]))
            trackers.append(int(r["growth_tracker"]))
            for n in params:
                ref = plain.arg(n)
                worst = max(worst, float(np.max(np.abs(scaled.arg(n) - ref)) /
                                         np.max(np.abs(ref))))
            if bool(r["skipped"]):
                c.check("clean step not skipped", False)
        print("scale after each clean step: %s" % scales)
        c.check("clean steps match the unscaled step (max relative error "
                "%.2g)" % worst, worst < 1e-6)
        c.check("growth tracker counts 1, 2, then resets at the interval",
                trackers[:3] == [1, 2, 0])
        c.check("scale doubles every 3 clean steps up to the cap 32",
                scales == [8, 8, 16, 16, 16, 32, 32, 32, 32])

        # 2. One overflow.
        before = {n: scaled.arg(n).copy() for n in
                  params + ["w1.momentum_buffer", "step"]}
        bad = batch["x"].copy()
        bad[0, 0] = np.inf
        scaled.set_input("x", bad)
        r = scaled.step()
        c.check("an overflowing step is skipped", bool(r["skipped"]))
        c.check("a skipped step changes no parameter, buffer or step",
                all(np.array_equal(scaled.arg(n), v)
                    for n, v in before.items()))
        c.check("the scale halves (32 -> %g) and the tracker resets" %
                float(r["loss_scale"]),
                float(r["loss_scale"]) == 16 and int(r["growth_tracker"]) == 0)

        # 3. The floor.
        floor = []
        for _ in range(5):
            floor.append(float(scaled.step()["loss_scale"]))
        print("scale after repeated overflows: %s" % floor)
        c.check("the scale backs off to the floor 2 and stays there",
                floor == [8, 4, 2, 2, 2])
        scaled.set_input("x", batch["x"])
        r = scaled.step()
        c.check("training resumes after the overflows",
                not bool(r["skipped"]) and int(r["step"]) == 10)

        # 4. f16 with a huge initial scale.
        amp = Trainer(compile_step(
            args.mp_opt, text,
            ["--mp-amp-pipeline=target=f16 optimizer=adam lr=0.01 "
             "loss-scale=16777216 interval=100"], tmp, "amp"), batch)
        log = []
        for _ in range(12):
            r = amp.step()
            log.append((bool(r["skipped"]), float(r["loss_scale"]),
                        float(r["loss"])))
        skipped = [s for s, _, _ in log]
        nskip = skipped.index(False) if False in skipped else len(skipped)
        print("f16: %d steps skipped while the scale backed off to %g; "
              "loss %.4f -> %.4f" % (nskip, log[nskip][1], log[nskip][2],
                                     log[-1][2]))
        c.check("f16: overflowing steps come first, then none",
                0 < nskip < 12 and not any(skipped[nskip:]))
        c.check("f16: the scale halves on each skipped step",
                all(log[i][1] == 2.0 ** (23 - i) for i in range(nskip)))
        c.check("f16: the loss decreases once steps apply",
                log[-1][2] < log[nskip][2])
    for f in c.failures:
        print("FAIL " + f)
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
