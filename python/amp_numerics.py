"""The loss of a mixed-precision forward pass against f32, on mp's CPU runtime.

usage: amp_numerics.py BIN_DIR OUTDIR [--models mlp,cnn,gpt] [--tol-f16 X] [--tol-bf16 Y]
For each PyTorch-exported model (python/gen_models.py, Debian's torch), it
compiles f32, AMP f16 and AMP bf16 programs with mp-compile, runs each on the
same seeded synthetic batch with mp-run, and prints the relative error of the
loss. Exits non-zero when an error exceeds its tolerance. Python: the repo's
.venv (it runs gen_models.py, which needs torch).
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INT_HIGH = {"mlp": 10, "cnn": 10, "gpt": 64}


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("out")
    ap.add_argument("--models", default="mlp,cnn,gpt")
    ap.add_argument("--tol-f16", type=float, default=1e-2)
    ap.add_argument("--tol-bf16", type=float, default=3e-2)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    bad = False
    for m in a.models.split(","):
        onnx = os.path.join(a.out, m + ".onnx")
        run([sys.executable, os.path.join(HERE, "gen_models.py"), m, "-o", onnx])
        losses = {}
        for amp in ("off", "f16", "bf16"):
            mpb = os.path.join(a.out, f"{m}_{amp}.mpb")
            run([os.path.join(a.bin, "mp-compile"), onnx, "--amp", amp, "-o", mpb])
            out = run([os.path.join(a.bin, "mp-run"), mpb, "--synthetic", "--seed", "3",
                       "--int-high", str(INT_HIGH[m])])
            losses[amp] = float(re.search(r"loss ([-0-9.e+naif]+)", out).group(1))
        ref = losses["off"]
        line = f"{m}: f32 loss {ref:.6f}"
        for amp, tol in (("f16", a.tol_f16), ("bf16", a.tol_bf16)):
            rel = abs(losses[amp] - ref) / max(abs(ref), 1e-12)
            ok = rel <= tol
            bad |= not ok
            line += f", {amp} {losses[amp]:.6f} (rel. error {rel:.2e}{'' if ok else ' > ' + str(tol)})"
        print(line, flush=True)
    print("amp numerics: " + ("FAILED" if bad else "ok"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
