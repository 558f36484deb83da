#!/usr/bin/env python3
"""Checks mp's @train_step against PyTorch: loss, gradients and optimizer steps.

Interpreter: the project venv, `/work/main/.venv/bin/python` (lit's %python):
Debian's torch 1.13 and numpy.

For a model of python/gen_models.py (mlp, cnn, gpt) this exports the ONNX
training model, runs `mp-opt --mp-build-training="optimizer=..."` on it,
executes @train_step with python/mp_interp.py, and compares with the same
PyTorch model (same initial state, same batch):
  - optimizer=none: the loss and every parameter's gradient;
  - each optimizer (sgd, momentum, nesterov, adam, adamw): the parameters
    and optimizer state after --steps steps on the batch, feeding each
    updated result back into the argument its mp.updates names (which
    checks the state layout), and BatchNorm's running statistics (the
    running variance as ONNX defines it, from the population variance;
    PyTorch's uses the unbiased one).
Errors are relative to the reference tensor: max|mp - torch| / max|torch|.
`--precision fp32` runs the IR in f32 (each op computed in f64, rounded to
f32); `--precision fp64` keeps every value in float64 (the hyperparameter
inputs then get their exact values). The reference is PyTorch in float64
(`--reference fp32` for float32). Parameters whose true gradient is zero
(a conv bias right before training-mode BatchNorm, attention's key bias)
have gradients made of rounding noise, which Adam amplifies to O(lr)
steps: such elements (below 1e-6 of the model's largest gradient) are
checked to be ~0 on both sides and left out of the optimizer comparisons,
and parameters made only of them are frozen on both sides (option
frozen=...), since their noise would move BatchNorm statistics. Fails (exit 1) when an error exceeds --tol.

`--variants` adds other exports of the families (opset 20, dynamic batch,
pooling heads, NLL head).

Example:
  check_training.py --mp-opt build/bin/mp-opt mlp cnn gpt --tol 1e-5
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_models  # noqa: E402
import mp_interp  # noqa: E402

CONFIGS = {
    # name: (mp-build-training options, torch optimizer factory)
    "sgd": ("optimizer=sgd lr=0.1 wd=0.01",
            lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01)),
    "momentum": ("optimizer=momentum lr=0.1 momentum=0.9 dampening=0.1 wd=0.01",
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9,
                                           dampening=0.1, weight_decay=0.01)),
    "nesterov": ("optimizer=sgd lr=0.05 momentum=0.9 nesterov=true",
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9,
                                           nesterov=True)),
    "adam": ("optimizer=adam lr=0.001 wd=0.01 eps=1e-6",
             lambda p: torch.optim.Adam(p, lr=0.001, weight_decay=0.01,
                                        eps=1e-6)),
    "adamw": ("optimizer=adamw lr=0.002 beta1=0.8 beta2=0.99",
              lambda p: torch.optim.AdamW(p, lr=0.002, betas=(0.8, 0.99))),
}


# Other exports of the same families (gen_models.py options): opset 20's
# Gelu op, a dynamic-batch export (Shape/Gather/Concat chains), average,
# mean and max pooling heads, the NLL head.
VARIANTS = [("gpt", ["--opset", "20"]),
            ("gpt", ["--dynamic-batch", "--batch", "2"]),
            ("cnn", ["--pool", "avg"]),
            ("cnn", ["--pool", "mean", "--opset", "18"]),
            ("cnn", ["--pool", "max"]),
            ("mlp", ["--loss", "nll"])]


def export(model_name, workdir, extra):
    """Exports the ONNX model; returns (torch model, input tensors, path)."""
    captured = {}
    original = gen_models.export

    def capture(args):
        captured["args"] = args
        original(args)

    path = os.path.join(workdir, model_name + ".onnx")
    gen_models.export = capture
    try:
        gen_models.main([model_name, "-o", path] + extra)
    finally:
        gen_models.export = original
    args = captured["args"]
    torch.manual_seed(args.seed)
    model, _, inputs = gen_models.build(args)
    return model, inputs, path


def build_step(mp_opt, onnx_path, options, out):
    cmd = [mp_opt, onnx_path, "--mp-build-training=" + options,
           "--mlir-print-op-generic", "-o", out]
    subprocess.run(cmd, check=True)
    return mp_interp.Module.parse_file(out)


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.max(np.abs(b)), 1e-30)
    return float(np.max(np.abs(a - b))) / scale


class Report:
    def __init__(self, tol):
        self.tol, self.worst, self.count, self.failures = tol, 0.0, 0, []
        self.by_kind = {}

    def check(self, what, mine, ref, kind="steps"):
        if np.shape(mine) != np.shape(ref):
            self.failures.append("%s: shape %s vs torch %s" %
                                 (what, np.shape(mine), np.shape(ref)))
            return
        e = rel_err(mine, ref)
        self.count += 1
        self.worst = max(self.worst, e)
        self.by_kind[kind] = max(self.by_kind.get(kind, 0.0), e)
        if not e <= self.tol:
            self.failures.append("%s: relative error %.3g" % (what, e))


def step_args(func, inputs):
    """Arguments of @train_step: mp.init for state, the batch for inputs."""
    args, batch = [], list(inputs)
    for t, attrs in zip(func.arg_types, func.arg_attrs):
        role = attrs.get("mp.role")
        if role in ("input", "label"):
            args.append(batch.pop(0).numpy())
        else:
            args.append(np.asarray(attrs["mp.init"]))
    return args


def run_model(model_name, mp_opt, precision, reference, steps, configs,
              report, extra):
    with tempfile.TemporaryDirectory() as tmp:
        model, inputs, onnx_path = export(model_name, tmp, extra)
        dtype = torch.float64 if reference == "fp64" else torch.float32
        exact = precision == "fp64"
        base_state = {k: v.clone() for k, v in model.state_dict().items()}

        def fresh():
            model.load_state_dict(base_state)
            mm = model.to(dtype)
            mm.train()
            return mm

        def torch_inputs():
            return [x.to(dtype) if x.is_floating_point() else x
                    for x in inputs]

        # Gradients.
        mod = build_step(mp_opt, onnx_path, "optimizer=none",
                         os.path.join(tmp, "grad.mlir"))
        f = mod.funcs["train_step"]
        outs = mod.run("train_step", step_args(f, inputs), exact=exact)
        m = fresh()
        m.zero_grad()
        loss, _ = m(*torch_inputs())
        loss.backward()
        params = dict(m.named_parameters())
        grads = {n: p.grad.numpy().copy() for n, p in params.items()
                 if p.grad is not None}
        scale = max(float(np.max(np.abs(g))) for g in grads.values())
        # Elements whose true gradient is zero hold rounding noise.
        noise = {n: np.abs(g) < 1e-6 * scale for n, g in grads.items()}
        frozen = sorted(n for n, z in noise.items() if z.all())
        report.check("%s loss" % model_name, outs[f.result_index("loss")],
                     loss.detach().numpy(), "loss")
        ngrads = nzero = 0
        for i, attrs in enumerate(f.res_attrs):
            name = attrs.get("mp.name", "")
            if not name.endswith(".grad"):
                continue
            pname = name[:-5]
            ngrads += 1
            z = noise[pname]
            nzero += int(z.sum())
            if np.any(np.abs(outs[i][z]) >= 1e-6 * scale):
                report.failures.append("%s d%s: elements with a zero gradient "
                                       "are not ~0" % (model_name, pname))
            if not z.all():
                report.check("%s d%s" % (model_name, pname),
                             np.where(z, 0, outs[i]), np.where(z, 0,
                                                               grads[pname]),
                             "gradients")
        missing = sorted(set(grads) - {a.get("mp.name", "")[:-5]
                                       for a in f.res_attrs})
        if missing:
            report.failures.append("%s: no gradient for %s" %
                                   (model_name, ", ".join(missing)))
        print("%s: loss and %d gradients checked; %d elements have a zero "
              "gradient%s" % (model_name, ngrads, nzero,
                              " (frozen below: %s)" % " ".join(frozen)
                              if frozen else ""))

        # Optimizer steps. Parameters with an all-zero gradient are frozen
        # on both sides (their noise would move downstream statistics).
        regex = "|".join("^%s$" % re.escape(n) for n in frozen)
        for cfg in configs:
            options, make_opt = CONFIGS[cfg]
            if regex:
                options += " frozen=" + regex
            mod = build_step(mp_opt, onnx_path, options,
                             os.path.join(tmp, cfg + ".mlir"))
            f = mod.funcs["train_step"]
            args = step_args(f, inputs)
            m = fresh()
            onnx_var = track_onnx_running_var(m)
            trained = [p for n, p in m.named_parameters() if n not in frozen]
            opt = make_opt(trained)
            if exact:  # the hyperparameter inputs, without f32 rounding
                args[f.arg_index("lr")] = np.float64(
                    opt.param_groups[0]["lr"])
            for _ in range(steps):
                outs = mod.run("train_step", args, exact=exact)
                for i, attrs in enumerate(f.res_attrs):
                    if "mp.updates" in attrs:
                        args[attrs["mp.updates"]] = outs[i]
                opt.zero_grad()
                loss, _ = m(*torch_inputs())
                loss.backward()
                opt.step()
            sd = m.state_dict()
            named = dict(m.named_parameters())
            checked = 0
            for i, attrs in enumerate(f.arg_attrs):
                name, role = attrs.get("mp.name"), attrs.get("mp.role")
                if role == "buffer" and name in onnx_var:
                    ref, pname = onnx_var[name], name
                elif role in ("param", "buffer") and name in sd:
                    ref = sd[name].numpy()
                    pname = name
                elif role == "opt_state":
                    pname, _, key = name.rpartition(".")
                    ref = opt.state[named[pname]][key].numpy()
                else:
                    continue
                z = noise.get(pname, np.zeros(ref.shape, np.bool_))
                report.check("%s/%s %s" % (model_name, cfg, name),
                             np.where(z, 0, args[i]), np.where(z, 0, ref))
                checked += 1
            print("%s/%s: %d steps, %d tensors checked" %
                  (model_name, cfg, steps, checked))


def track_onnx_running_var(model):
    """BatchNorm running variances as ONNX (and mp) define them: updated
    with the population variance of the batch, where PyTorch uses the
    unbiased one. Returns {buffer name: array}, updated by forward hooks."""
    out = {}
    for mname, mod in model.named_modules():
        if not isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            continue
        key = mname + ".running_var"
        out[key] = mod.running_var.detach().numpy().copy()

        def hook(mod, inp, _out, key=key):
            x = inp[0].detach().double()
            dims = [0] + list(range(2, x.dim()))
            var = x.var(dim=dims, unbiased=False).numpy()
            out[key] = (1 - mod.momentum) * out[key] + mod.momentum * var
        mod.register_forward_hook(hook)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("models", nargs="+", choices=["mlp", "cnn", "gpt"])
    p.add_argument("--mp-opt", required=True)
    p.add_argument("--precision", choices=["fp32", "fp64"], default="fp32",
                   help="precision mp's step runs in")
    p.add_argument("--reference", choices=["fp32", "fp64"], default="fp64",
                   help="precision of the PyTorch reference")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--optimizers", default=",".join(CONFIGS))
    p.add_argument("--tol", type=float, default=1e-5)
    p.add_argument("--variants", action="store_true",
                   help="also check the VARIANTS exports (sgd and adamw)")
    args = p.parse_args(argv)
    report = Report(args.tol)
    configs = [c for c in args.optimizers.split(",") if c]
    for name in args.models:
        run_model(name, args.mp_opt, args.precision, args.reference,
                  args.steps, configs, report, [])
    if args.variants:
        for name, extra in VARIANTS:
            if name in args.models:
                print("variant %s %s:" % (name, " ".join(extra)))
                run_model(name, args.mp_opt, args.precision, args.reference,
                          args.steps, ["sgd", "adamw"], report, extra)
    print("checked %d tensors, mp %s vs PyTorch %s: max relative error %.3g"
          " (%s)" % (report.count, args.precision, args.reference,
                     report.worst, ", ".join("%s %.3g" % kv for kv in
                                             sorted(report.by_kind.items()))))
    for f in report.failures:
        print("FAIL " + f)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
