"""Runs one program on the cpu and the cuda backend from the same initial
state and inputs, and compares the loss at every step.

    python3 bench/compare_backends.py MP_RUN PROGRAM.mpb [--steps 20]
        [--tol 1e-2] [mp-run options...]

Prints the largest relative loss difference and exits 1 when it exceeds
--tol (the issue's bar: 1e-2 for AMP programs over 20 steps, 1e-4 for
fp32). Extra options go to both mp-run calls (e.g. --synthetic
--int-high 10).
"""
import argparse
import re
import subprocess
import sys


def losses(mp_run, program, device, steps, extra):
    out = subprocess.run([mp_run, program, "--device", device, "--steps",
                          str(steps), "--every", "1"] + extra,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("%s on %s failed: %s" % (program, device, out.stderr.strip()))
    return [float(m.group(1)) for m in
            re.finditer(r"^step +\d+ +loss (\S+)", out.stdout, re.M)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mp_run")
    ap.add_argument("program")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--tol", type=float, default=1e-2)
    a, extra = ap.parse_known_args()
    cpu = losses(a.mp_run, a.program, "cpu", a.steps, extra)
    gpu = losses(a.mp_run, a.program, "cuda", a.steps, extra)
    if len(cpu) != a.steps or len(gpu) != a.steps:
        sys.exit("expected %d losses, got %d (cpu) and %d (cuda)" %
                 (a.steps, len(cpu), len(gpu)))
    worst = max(abs(c - g) / max(abs(c), 1e-12) for c, g in zip(cpu, gpu))
    ok = worst <= a.tol
    print("%s: %d steps, cpu loss %.6g -> %.6g, cuda %.6g -> %.6g, max "
          "relative difference %.3g (tolerance %g): %s" % (
              a.program, a.steps, cpu[0], cpu[-1], gpu[0], gpu[-1], worst,
              a.tol, "ok" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
