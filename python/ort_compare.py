"""Runs two ONNX models in onnxruntime on the same random inputs and compares
their outputs (by position). Exits non-zero on a mismatch.

usage: ort_compare.py REFERENCE.onnx CANDIDATE.onnx [--rtol R] [--atol A] [--seed S]
Integer inputs are drawn from [0, --int-high). Python: the repo's .venv.
"""
import argparse
import sys

import numpy as np
import onnxruntime as ort

ONNX_TO_NP = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_,
}


def inputs_for(sess, rng, int_high):
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 2 for d in i.shape]
        dt = ONNX_TO_NP[i.type]
        if np.issubdtype(dt, np.floating):
            feeds[i.name] = rng.standard_normal(shape).astype(dt)
        elif dt == np.bool_:
            feeds[i.name] = rng.integers(0, 2, shape).astype(np.bool_)
        else:
            feeds[i.name] = rng.integers(0, int_high, shape).astype(dt)
    return feeds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("reference")
    p.add_argument("candidate")
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--int-high", type=int, default=2)
    a = p.parse_args()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(a.reference, opts, providers=["CPUExecutionProvider"])
    cand = ort.InferenceSession(a.candidate, opts, providers=["CPUExecutionProvider"])
    feeds = inputs_for(ref, np.random.default_rng(a.seed), a.int_high)
    cand_names = [i.name for i in cand.get_inputs()]
    missing = [n for n in cand_names if n not in feeds]
    if missing:
        sys.exit(f"candidate inputs {missing} are not reference inputs")
    r = ref.run(None, feeds)
    c = cand.run(None, {n: feeds[n] for n in cand_names})
    if len(r) != len(c):
        sys.exit(f"{len(r)} reference outputs, {len(c)} candidate outputs")
    worst = 0.0
    for k, (x, y) in enumerate(zip(r, c)):
        if x.shape != y.shape:
            sys.exit(f"output {k}: shape {y.shape}, expected {x.shape}")
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        err = np.abs(x64 - y64) - (a.atol + a.rtol * np.abs(x64))
        if np.any(err > 0):
            i = np.unravel_index(np.argmax(err), err.shape)
            sys.exit(f"output {k} differs at {i}: {y64[i]} vs reference {x64[i]}")
        worst = max(worst, float(np.max(np.abs(x64 - y64))) if x.size else 0.0)
    print(f"outputs match: {len(r)} outputs, max abs difference {worst:.3g}")


if __name__ == "__main__":
    main()
