#!/usr/bin/env python3
"""Round-trips an ONNX model through mp and checks the numbers against PyTorch.

Interpreter: the project venv, `/work/main/.venv/bin/python` (lit's %python),
which has onnxruntime.

    check_roundtrip.py MODEL.onnx REFERENCE.npz BIN [--work-dir DIR]

BIN is the directory holding mp-translate (or the mp-translate executable).

1. Runs MODEL.onnx itself in onnxruntime (CPU, graph optimizations off) on
   the reference inputs and compares with PyTorch's outputs: a sanity check
   of the model and the reference, independent of mp.
2. `mp-translate --import-onnx MODEL.onnx` -> MODEL.mp.mlir, then
   `mp-translate --export-onnx` -> MODEL.roundtrip.onnx (opset 20).
3. Runs the exported model in onnxruntime on the same inputs (bound by
   name) and compares every output with PyTorch's (rtol 1e-4, atol 1e-5).

REFERENCE.npz is what gen_models.py --reference writes: 'input:<name>' and
'output:<name>' arrays. Prints `roundtrip ok: MODEL` and exits 0, or prints
what went wrong to stderr and exits 1.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

RTOL = 1e-4
ATOL = 1e-5


class CheckError(Exception):
    pass


def load_reference(path):
    ref = np.load(path)
    inputs = {k[len("input:"):]: ref[k] for k in ref.files
              if k.startswith("input:")}
    outputs = {k[len("output:"):]: ref[k] for k in ref.files
               if k.startswith("output:")}
    if not inputs or not outputs:
        raise CheckError("%s has no 'input:*' or no 'output:*' arrays" % path)
    return inputs, outputs


def run_ort(model_path, inputs, what):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # No graph optimizations: onnxruntime 1.20's basic level shares equal
    # initializers (bn1.bias and bn1.running_mean are both zeros at init)
    # and training-mode BatchNormalization then updates the running mean in
    # place over its own bias input, giving wrong outputs.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        sess = ort.InferenceSession(model_path, opts,
                                    providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise CheckError("onnxruntime cannot load the %s model %s:\n  %s" %
                         (what, model_path, e))
    names = [i.name for i in sess.get_inputs()]
    missing = [n for n in names if n not in inputs]
    extra = [n for n in inputs if n not in names]
    if missing or extra:
        raise CheckError(
            "the %s model's inputs %s do not match the reference inputs %s"
            % (what, names, sorted(inputs)))
    try:
        values = sess.run(None, {n: inputs[n] for n in names})
    except Exception as e:
        raise CheckError("onnxruntime fails running the %s model %s:\n  %s" %
                         (what, model_path, e))
    return {o.name: v for o, v in zip(sess.get_outputs(), values)}


def compare(got, want, what):
    problems = []
    for name, ref in want.items():
        if name not in got:
            problems.append("output '%s' is missing (outputs: %s)" %
                            (name, sorted(got)))
            continue
        val = got[name]
        if val.shape != ref.shape:
            problems.append("output '%s' has shape %s, PyTorch %s" %
                            (name, val.shape, ref.shape))
            continue
        if val.dtype != ref.dtype:
            problems.append("output '%s' has dtype %s, PyTorch %s" %
                            (name, val.dtype, ref.dtype))
            continue
        if not np.allclose(val, ref, rtol=RTOL, atol=ATOL, equal_nan=True):
            diff = np.abs(val.astype(np.float64) - ref.astype(np.float64))
            bad = diff > ATOL + RTOL * np.abs(ref.astype(np.float64))
            i = np.unravel_index(np.argmax(diff), diff.shape)
            problems.append(
                "output '%s' differs from PyTorch: %d of %d elements off, "
                "max |diff| %.3g at %s (got %r, want %r)" %
                (name, int(bad.sum()), bad.size, float(diff[i]), tuple(i),
                 val[i].item(), ref[i].item()))
    if problems:
        raise CheckError("%s:\n  %s" % (what, "\n  ".join(problems)))


def run_tool(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        raise CheckError("command failed (exit %d): %s\n%s" %
                         (proc.returncode, " ".join(cmd),
                          proc.stderr.strip()))


def check(model, reference, bin_dir, work_dir):
    inputs, outputs = load_reference(reference)
    compare(run_ort(model, inputs, "original"), outputs,
            "the ORIGINAL model in onnxruntime disagrees with PyTorch "
            "(bad model or reference, not an mp bug)")

    translate = bin_dir
    if os.path.isdir(bin_dir):
        translate = os.path.join(bin_dir, "mp-translate")
    if not os.access(translate, os.X_OK):
        raise CheckError("no mp-translate executable at %s" % translate)
    base = os.path.join(work_dir, os.path.splitext(os.path.basename(model))[0])
    mlir = base + ".mp.mlir"
    exported = base + ".roundtrip.onnx"
    run_tool([translate, "--import-onnx", model, "-o", mlir])
    run_tool([translate, "--export-onnx", mlir, "-o", exported])
    compare(run_ort(exported, inputs, "exported"), outputs,
            "the model exported by mp (%s) disagrees with PyTorch" % exported)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("model")
    p.add_argument("reference")
    p.add_argument("bin_dir", metavar="BIN",
                   help="build/bin, or the mp-translate executable")
    p.add_argument("--work-dir", help="where the .mlir and exported .onnx go "
                   "(default: beside the model)")
    args = p.parse_args(argv)
    work_dir = args.work_dir or os.path.dirname(os.path.abspath(args.model))
    try:
        check(args.model, args.reference, args.bin_dir, work_dir)
    except CheckError as e:
        print("roundtrip FAILED: %s: %s" % (args.model, e), file=sys.stderr)
        return 1
    print("roundtrip ok: %s" % args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
