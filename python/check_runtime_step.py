#!/usr/bin/env python3
"""One optimizer step on mp's CPU runtime against PyTorch.

Interpreter: the project venv (`.venv/bin/python`: Debian's torch 1.13).

For each model of python/gen_models.py this compiles the ONNX training model
with `mp-compile --optimizer sgd` (f32, or AMP with --amp), runs one step
with `mp-run` on the exporter's batch, and compares every parameter's update
(new - old) with PyTorch's update from the same initial weights (float32,
float64, or PyTorch's own bf16 AMP with --reference):
error = max|update_mp - update_torch| / max over all parameters of
|update_torch| (the norm-wise ||update_mp - update_torch|| / ||update_torch||
over all parameters is printed too). It also injects an overflow (an infinite input) into the
AMP AdamW program and checks the step is skipped: parameters and optimizer
state (moments, step count) bit-identical, the loss scale halved.

usage: check_runtime_step.py BIN_DIR OUTDIR [--models mlp,cnn,gpt]
       [--amp off|f16|bf16] [--reference fp32|fp64|autocast] [--tol 1e-5]
       [--overflow]
"""
import argparse
import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_training  # noqa: E402

LR = 0.1


def save_npz(path, arrays):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, a in arrays.items():
            with z.open(name + ".npy", "w") as f:
                np.lib.format.write_array(f, np.ascontiguousarray(a))


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("out")
    ap.add_argument("--models", default="mlp,cnn,gpt")
    ap.add_argument("--amp", default="off")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--reference", default="fp32",
                    choices=["fp32", "fp64", "autocast"],
                    help="PyTorch's precision (fp32: what an f32 program "
                         "should reproduce; autocast: PyTorch's own AMP, "
                         "torch.autocast('cpu', bfloat16), for --amp bf16)")
    ap.add_argument("--overflow", action="store_true",
                    help="also check that an overflowing step is skipped")
    a = ap.parse_args()
    if a.reference == "autocast" and a.amp != "bf16":
        ap.error("--reference autocast needs --amp bf16 (PyTorch's CPU "
                 "autocast is bfloat16 only)")
    os.makedirs(a.out, exist_ok=True)
    compile_ = os.path.join(a.bin, "mp-compile")
    mprun = os.path.join(a.bin, "mp-run")
    failed = False
    for name in a.models.split(","):
        work = os.path.join(a.out, name)
        os.makedirs(work, exist_ok=True)
        model, inputs, onnx_path = check_training.export(name, work, [])
        import onnx
        g = onnx.load(onnx_path).graph
        inits = {t.name for t in g.initializer}
        names = [vi.name for vi in g.input if vi.name not in inits]
        batch = os.path.join(work, "batch.npz")
        save_npz(batch, {n: x.numpy() for n, x in zip(names, inputs)})
        mpb = os.path.join(work, "step.mpb")
        run([compile_, onnx_path, "--optimizer", "sgd", "--train-options",
             "lr=%g" % LR, "--amp", a.amp, "-o", mpb])
        before, after = os.path.join(work, "before.npz"), os.path.join(work, "after.npz")
        run([mprun, mpb, "--inputs", batch, "--steps", "0", "--save-params", before])
        run([mprun, mpb, "--inputs", batch, "--steps", "1", "--save-params", after])
        p0, p1 = np.load(before), np.load(after)

        # PyTorch from the same initial weights.
        dt = torch.float64 if a.reference == "fp64" else torch.float32
        m = model.to(dt)
        m.train()
        opt = torch.optim.SGD(m.parameters(), lr=LR)
        x = [t.to(dt) if t.is_floating_point() else t for t in inputs]
        old = {n: p.detach().clone() for n, p in m.named_parameters()}
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16,
                            enabled=a.reference == "autocast"):
            loss, _ = m(*x)
        loss.backward()
        opt.step()
        ref = {n: (p.detach() - old[n]).double().numpy()
               for n, p in m.named_parameters()}
        scale = max(float(np.abs(d).max()) for d in ref.values())
        worst, wname = 0.0, ""
        diff2 = ref2 = 0.0
        for n, d in ref.items():
            if n not in p0.files:
                print("%s: parameter %s missing from the program" % (name, n))
                failed = True
                continue
            mine = p1[n].astype(np.float64) - p0[n].astype(np.float64)
            e = float(np.abs(mine - d).max()) / scale
            diff2 += float(((mine - d) ** 2).sum())
            ref2 += float((d ** 2).sum())
            if e > worst:
                worst, wname = e, n
        ok = worst <= a.tol
        failed |= not ok
        print("%s (%s): one SGD step, %d parameters, max update error %.2e "
              "(%s)%s, norm-wise %.2e" % (
                  name, "f32" if a.amp == "off" else "AMP " + a.amp, len(ref),
                  worst, wname, "" if ok else " > %g" % a.tol,
                  (diff2 / ref2) ** 0.5 if ref2 > 0 else 0.0))

        if a.overflow:
            # An infinite input makes every gradient inf/NaN: the step must
            # change nothing but the scaler state.
            bad = {n: x.numpy().copy() for n, x in zip(names, inputs)}
            first = names[0]
            if not np.issubdtype(bad[first].dtype, np.floating):
                print("%s overflow: not applicable (the first input holds "
                      "token ids)" % name)
                continue
            bad[first].flat[0] = np.inf
            badnpz = os.path.join(work, "overflow.npz")
            save_npz(badnpz, bad)
            # AdamW, so that there is optimizer state (moments, step) too.
            adam = os.path.join(work, "adamw.mpb")
            run([compile_, onnx_path, "--optimizer", "adamw", "--amp", a.amp,
                 "-o", adam])
            s0, s1 = (os.path.join(work, f) for f in ("s0.npz", "s1.npz"))
            run([mprun, adam, "--inputs", batch, "--steps", "0",
                 "--save-state", s0])
            # The infinite input is the point here: mp-run's check is off.
            out = run([mprun, adam, "--inputs", badnpz, "--steps", "1",
                       "--every", "1", "--save-state", s1,
                       "--allow-nonfinite"])
            st0, st1 = np.load(s0), np.load(s1)
            scaler = {"loss_scale", "loss_scale.new", "growth_tracker",
                      "growth_tracker.new"}
            kept = [k for k in st0.files if k not in scaler]
            same = bool(kept) and all(
                st0[k].tobytes() == st1[k].tobytes()
                for k in kept)
            halved = float(st1["loss_scale"]) == float(st0["loss_scale"]) / 2
            skipped_m = re.search(r"skipped steps ([0-9]+)", out)
            print("%s overflow: parameters and optimizer state (%d tensors) "
                  "bit-identical=%s, loss scale %g -> %g, skipped steps=%s" % (
                      name, len(kept), same, float(st0["loss_scale"]),
                      float(st1["loss_scale"]),
                      skipped_m.group(1) if skipped_m else "?"))
            failed |= not (same and halved and skipped_m and
                           skipped_m.group(1) == "1")
    print("runtime step check: " + ("FAILED" if failed else "ok"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
