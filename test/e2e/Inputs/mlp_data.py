"""Writes inputs for Inputs/mlp.onnxtxt and the numpy reference outputs.

usage: mlp_data.py OUTDIR   (the repo's .venv python: numpy)
x.npy f32[8,3] (two batches of 4), y.npy i64[8], bad_shape.npy f32[4,5],
x64.npy (float64 x, converted on load), batch.npz {x, y} (first batch),
ref.txt: the loss and logits of each batch, computed here in float64.
"""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1)
x = rng.standard_normal((8, 3)).astype(np.float32)
y = np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=np.int64)
w = np.array([[0.5, -1.0, 0.25], [1.5, 0.75, -0.5]])
b = np.array([0.1, -0.2])
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "x64.npy"), x.astype(np.float64))
np.save(os.path.join(out, "y.npy"), y)
np.save(os.path.join(out, "bad_shape.npy"), np.zeros((4, 5), np.float32))
np.savez(os.path.join(out, "batch.npz"), x=x[:4], y=y[:4])
with open(os.path.join(out, "ref.txt"), "w") as f:
    for k in range(2):
        logits = x[4 * k:4 * k + 4].astype(np.float64) @ w.T + b
        logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        loss = -logp[np.arange(4), y[4 * k:4 * k + 4]].mean()
        f.write(f"batch {k} loss {loss:.5f}\n")
