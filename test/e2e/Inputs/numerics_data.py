"""Writes hostile numerics for Inputs/mlp.onnxtxt (test/e2e/numerics.mlir).

usage: numerics_data.py MLP.onnxtxt OUTDIR   (numpy, onnx)
x_nan.npy  f32[8,3], two batches of 4; element 4 of batch 1 (row 5) is NaN
x_inf.npy  f32[4,3], one batch; element 2 is +inf
x_big.npy  f32[4,3], finite but 3e38: the logits overflow to inf in f32
y.npy      i64[8]
nan_w.onnx the model with w[0, 1] = NaN
"""
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import onnx.parser

src, out = sys.argv[1:3]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1)
x = rng.standard_normal((8, 3)).astype(np.float32)
x_nan = x.copy()
x_nan[5, 1] = np.nan
np.save(os.path.join(out, "x_nan.npy"), x_nan)
x_inf = x[:4].copy()
x_inf[0, 2] = np.inf
np.save(os.path.join(out, "x_inf.npy"), x_inf)
np.save(os.path.join(out, "x_big.npy"), np.full((4, 3), 3e38, np.float32))
np.save(os.path.join(out, "y.npy"),
        np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=np.int64))

model = onnx.parser.parse_model(open(src).read())
for i, t in enumerate(model.graph.initializer):
    if t.name == "w":
        w = onnx.numpy_helper.to_array(t).copy()
        w[0, 1] = np.nan
        model.graph.initializer[i].CopyFrom(onnx.numpy_helper.from_array(w, "w"))
onnx.save(model, os.path.join(out, "nan_w.onnx"))
