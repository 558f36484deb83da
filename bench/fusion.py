"""Elementwise fusion on the CPU runtime: fused vs one kernel per op.

usage: bench/fusion.py BIN_DIR [--steps N] [--amp f16|bf16|off]
Run with the project venv (.venv/bin/python: Debian's torch + numpy).

For each PyTorch model of python/gen_models.py (mlp, cnn, gpt, at sizes a
little larger than the tests'), exports ONNX, compiles an AdamW training
step with `mp-compile --amp` twice (--fuse-elementwise=true / false) and
prints, per model: the instructions of train_step, how many of them are
fused (fused_elementwise, or a matmul/gemm epilogue), its transient arena
(from mp-translate --mp-to-runtime-text), and steps/s over --steps synthetic
steps of mp-run. For scale, the same line gives PyTorch eager CPU fp32
(torch.optim.AdamW on the same model, one thread per core like the
runtime's matmul/conv) measured in the same run: the CPU runtime is a
reference implementation, not a fast one. Step rates on a shared 2-core
machine move by +-15% from run to run; compare instruction counts first.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import gen_models  # noqa: E402
import torch  # noqa: E402

# name: (gen_models.py arguments, class/token count for synthetic labels)
MODELS = {
    "mlp": (["mlp", "--batch", "64", "--hidden", "256", "256"], 10),
    "cnn": (["cnn", "--batch", "16", "--image", "16"], 10),
    "gpt": (["gpt", "--batch", "4", "--block", "32", "--d-model", "64",
            "--heads", "4"], 64),
}


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return r.stdout


def program_stats(bindir, mlir, fuse):
    text = sh([os.path.join(bindir, "mp-translate"), "--mp-to-runtime-text",
               "--mp-fuse-elementwise=" + ("true" if fuse else "false"),
               mlir])
    arena = int(re.search(r"arena (\d+) bytes", text).group(1))
    body = text.split("func train_step", 1)[1]
    body = body.split("\nfunc ", 1)[0]
    instrs = sum(1 for l in body.splitlines() if l.startswith("  %"))
    fused = body.count("fused_elementwise(") + body.count("epilogue_ops=")
    return instrs, fused, arena


def mp_steps_per_s(bindir, mpb, steps, vocab):
    out = sh([os.path.join(bindir, "mp-run"), mpb, "--synthetic",
              "--int-high", str(vocab), "--steps", str(steps)])
    return float(re.search(r"([\d.]+) steps/s", out).group(1))


def torch_steps_per_s(argv, steps):
    model, _, inputs = gen_models.build(
        gen_models.parse_args(argv + ["-o", os.devnull]))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(*inputs)
        loss = loss[0] if isinstance(loss, tuple) else loss
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("bindir")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--amp", default="f16")
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"AdamW train_step, --amp {a.amp}, {a.steps} steps, "
          f"{os.cpu_count()} cores")
    print(f"{'model':5} {'instrs':>13} {'fused':>5} {'arena KiB':>15} "
          f"{'mp steps/s':>17} {'speedup':>7} {'torch fp32 steps/s':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (argv, classes) in MODELS.items():
            onnx = os.path.join(tmp, name + ".onnx")
            sh([sys.executable, os.path.join(HERE, "..", "python",
                                             "gen_models.py")] + argv +
               ["-o", onnx])
            mlir = os.path.join(tmp, name + ".mlir")
            compile_ = [os.path.join(a.bindir, "mp-compile"), onnx,
                        "--amp", a.amp, "--optimizer", "adamw"]
            sh(compile_ + ["--emit-mlir", "-o", mlir])
            row = {}
            for fuse in (False, True):
                mpb = os.path.join(tmp, f"{name}-{fuse}.mpb")
                sh(compile_ + ["-o", mpb,
                               "--fuse-elementwise=" + str(fuse).lower()])
                row[fuse] = program_stats(a.bindir, mlir, fuse) + (
                    mp_steps_per_s(a.bindir, mpb, a.steps, classes),)
            ts = torch_steps_per_s(argv, a.steps)
            (i0, _, a0, s0), (i1, f1, a1, s1) = row[False], row[True]
            print(f"{name:5} {i0:>6} -> {i1:<5} {f1:>5} "
                  f"{a0 / 1024:>6.1f} -> {a1 / 1024:<6.1f} "
                  f"{s0:>7.1f} -> {s1:<7.1f} {s1 / s0:>6.2f}x {ts:>18.1f}")


if __name__ == "__main__":
    main()
