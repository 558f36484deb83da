#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/) from the repo's own
test material, into OUT/{onnx,policy,mpb}:

  onnx    examples/*.onnx, every model of the .onnxtxt tests (text syntax
          converted to binary protobuf, split at "# -----"), and a sample of
          Debian's libonnx-testdata node models when installed
  policy  the policy files under test/ and a few hand-written edits
  mpb     programs compiled by BIN/mp-compile from the onnx seeds (f32 and
          AMP, several optimizers)
  npy     numpy arrays as .npy (first byte 1) and .npz (first byte 0), the
          selector byte of fuzz/npy_fuzzer.cpp

usage: make_corpus.py REPO BIN OUT   (run with a Python that has onnx)
"""
import glob
import os
import subprocess
import sys

import io

import numpy as np
import onnx
import onnx.parser


def main():
    repo, bindir, out = sys.argv[1:4]
    dirs = {k: os.path.join(out, k) for k in ("onnx", "policy", "mpb", "npy")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)

    # ONNX: binary models.
    models = []
    for path in sorted(glob.glob(os.path.join(repo, "examples", "*.onnx"))):
        models.append((os.path.basename(path), open(path, "rb").read()))
    for path in sorted(glob.glob(os.path.join(repo, "test", "**", "*.onnxtxt"),
                                 recursive=True)):
        text = open(path).read()
        for i, chunk in enumerate(text.split("# -----")):
            body = "\n".join(l for l in chunk.splitlines()
                             if not l.lstrip().startswith("#"))
            if "<" not in body:
                continue
            try:
                model = onnx.parser.parse_model(body)
            except Exception:
                continue  # error tests: not parseable by design
            name = "%s.%d.onnx" % (os.path.basename(path), i)
            models.append((name, model.SerializeToString()))
    node_dir = "/usr/share/libonnx-testdata/data/node"
    if os.path.isdir(node_dir):
        for case in sorted(os.listdir(node_dir))[::6]:
            path = os.path.join(node_dir, case, "model.onnx")
            if os.path.isfile(path) and os.path.getsize(path) < 4096:
                models.append((case + ".onnx", open(path, "rb").read()))
    for name, data in models:
        with open(os.path.join(dirs["onnx"], name), "wb") as f:
            f.write(data)

    # Policy files.
    for path in glob.glob(os.path.join(repo, "test", "**", "*.yaml"),
                          recursive=True) + glob.glob(
                              os.path.join(repo, "test", "**", "policy*.json"),
                              recursive=True):
        data = open(path, "rb").read()
        with open(os.path.join(dirs["policy"], os.path.basename(path)), "wb") as f:
            f.write(data)
    extra = {
        "json.json": b'{"f16": {"deny+": ["Softmax"], "allow-": ["MatMul"]},'
                     b' "nodes": [{"match": "^fc", "precision": "low"}],'
                     b' "pins": [{"op": "LayerNormalization", "operands": [1, 2]}],'
                     b' "large-reduction": 1024}',
        "clear.yaml": b"bf16:\n  clear: [Relu, Exp]\nnodes:\n"
                      b"  - match: \".*\"\n    precision: infer\n",
    }
    for name, data in extra.items():
        with open(os.path.join(dirs["policy"], name), "wb") as f:
            f.write(data)

    # Programs: compile the small training models a few ways.
    compile_ = os.path.join(bindir, "mp-compile")
    variants = [["--amp", "off"], ["--amp", "f16", "--optimizer", "adamw"],
                ["--amp", "bf16", "--optimizer", "momentum"]]
    n = 0
    for name, _ in models:
        if n >= 40:
            break
        main_model = name.startswith(("digits", "mlp"))
        src = os.path.join(dirs["onnx"], name)
        for j, v in enumerate(variants if main_model else variants[:1]):
            dst = os.path.join(dirs["mpb"], "%s.%d.mpb" % (name, j))
            r = subprocess.run([compile_, src, "-o", dst] + v,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0 and os.path.getsize(dst) < (1 << 20):
                n += 1
            elif os.path.exists(dst):
                os.remove(dst)
    # Arrays: each dtype mp-run reads, a scalar, an empty one, an archive.
    arrays = {
        "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
        "f16": np.ones((2, 2), np.float16), "f64": np.zeros(3),
        "i64": np.arange(4, dtype=np.int64), "i32": np.int32(7),
        "i8": np.zeros((0, 3), np.int8), "u8": np.arange(5, dtype=np.uint8),
        "bool": np.array([True, False]),
    }
    for name, a in arrays.items():
        buf = io.BytesIO()
        np.save(buf, a)
        with open(os.path.join(dirs["npy"], name + ".npy"), "wb") as f:
            f.write(b"\x01" + buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, x=arrays["f32"], y=arrays["i64"])
    with open(os.path.join(dirs["npy"], "xy.npz"), "wb") as f:
        f.write(b"\x00" + buf.getvalue())
    print("corpus: %d onnx, %d policy, %d mpb, %d npy" %
          tuple(len(os.listdir(dirs[k]))
                for k in ("onnx", "policy", "mpb", "npy")))


if __name__ == "__main__":
    main()
