"""Writes binary ONNX fixtures for the importer tests (Debian's onnx 1.12).

usage: make_models.py OUTDIR
  external.onnx + external.bin   weights in an external data file
  missing.onnx                   external data file that does not exist
  outside.onnx                   external data location outside the model dir
  short.onnx + short.bin         external data shorter than the dims need
  truncated.onnx                 the first half of external.onnx
  badraw.onnx                    raw_data with the wrong byte count
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def model(weight):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")
    g = helper.make_graph([node], "ext", [x], [y], [weight])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "w")
m = model(w)
onnx.save_model(m, os.path.join(out, "external.onnx"), save_as_external_data=True,
                all_tensors_to_one_file=True, location="external.bin", size_threshold=0)


def external(name, location, length=None):
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", location
    if length is not None:
        e = t.external_data.add()
        e.key, e.value = "length", str(length)
    onnx.save_model(model(t), os.path.join(out, name))


external("missing.onnx", "nowhere.bin")
external("outside.onnx", "../../etc/passwd")
with open(os.path.join(out, "short.bin"), "wb") as f:
    f.write(b"\0" * 20)
external("short.onnx", "short.bin")

data = open(os.path.join(out, "external.onnx"), "rb").read()
open(os.path.join(out, "truncated.onnx"), "wb").write(data[: len(data) // 2])

bad = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3], raw_data=b"\0" * 7)
onnx.save_model(model(bad), os.path.join(out, "badraw.onnx"))
