"""Writes an ONNX model in the standard training form and its reference.

usage: make_training_info.py OUTDIR     (Debian's onnx 1.12 and numpy)
model.onnx: inference graph Y = X @ W; TrainingInfoProto algorithm: the mean
squared error L against Y_gold, G = Gradient(xs=[W], y=L), W, V updated by
Momentum (standard, alpha 0.9, beta 1), the counter T incremented; bindings
W <- W_new, V <- V_new, T <- T_new. data.npz holds X and Y_gold; ref.txt
the loss of the first step and W after 20 steps, computed here with numpy.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)
X = rng.standard_normal((8, 2)).astype(np.float32)
W_true = np.array([[2.0], [-1.0]], np.float32)
Y_gold = X @ W_true
W0 = np.zeros((2, 1), np.float32)

graph = helper.make_graph(
    [helper.make_node("MatMul", ["X", "W"], ["Y"], name="predict")], "linreg",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, [8, 2])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [8, 1])],
    [numpy_helper.from_array(W0, "W")])
algo = helper.make_graph(
    [helper.make_node("Sub", ["Y", "Y_gold"], ["D"], name="diff"),
     helper.make_node("Mul", ["D", "D"], ["D2"], name="square"),
     helper.make_node("ReduceMean", ["D2"], ["L"], name="mse", keepdims=0),
     helper.make_node("Gradient", ["W"], ["G"], name="grad", xs=["W"], y="L",
                      domain="ai.onnx.preview.training"),
     helper.make_node("Momentum", ["R", "T", "W", "G", "V"], ["W_new", "V_new"],
                      name="momentum", alpha=0.9, beta=1.0, mode="standard",
                      norm_coefficient=0.0, domain="ai.onnx.preview.training"),
     helper.make_node("Add", ["T", "one"], ["T_new"], name="count")],
    "train",
    [helper.make_tensor_value_info("Y_gold", TensorProto.FLOAT, [8, 1])],
    [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 1]) for n in ("W_new", "V_new")] +
    [helper.make_tensor_value_info("T_new", TensorProto.INT64, []),
     helper.make_tensor_value_info("L", TensorProto.FLOAT, [])],
    [numpy_helper.from_array(np.array(0.05, np.float32), "R"),
     numpy_helper.from_array(np.array(0, np.int64), "T"),
     numpy_helper.from_array(np.zeros((2, 1), np.float32), "V"),
     numpy_helper.from_array(np.array(1, np.int64), "one")])
info = helper.make_training_info(algo, [("W", "W_new"), ("V", "V_new"), ("T", "T_new")], None, None)
model = helper.make_model(graph, opset_imports=[
    helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.preview.training", 1)])
model.training_info.append(info)
onnx.save(model, os.path.join(out, "model.onnx"))
np.savez(os.path.join(out, "data.npz"), X=X, Y_gold=Y_gold)

# numpy reference of the same algorithm.
W, V, T = W0.astype(np.float64), np.zeros((2, 1)), 0
losses = []
for _ in range(20):
    D = X @ W - Y_gold
    losses.append(float(np.mean(D * D)))
    G = 2 * X.T @ D / D.size
    b = 1.0 if T > 0 else 1.0
    V = 0.9 * V + b * G
    W = W - 0.05 * V
    T += 1
with open(os.path.join(out, "ref.txt"), "w") as f:
    f.write("first loss %.5f\nW after 20 steps %.4f %.4f\n" % (losses[0], W[0, 0], W[1, 0]))
