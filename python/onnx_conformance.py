#!/usr/bin/env python3
"""Conformance run of mp's ONNX importer and exporter over the ONNX node tests.

Interpreter: the project venv (`.venv/bin/python`: onnx, numpy, onnxruntime).

For every test directory `test_*` under the data dir (Debian's
libonnx-testdata by default), this
  1. imports model.onnx with `mp-translate --import-onnx` and classifies the
     result: imported, "unsupported" (the importer says the model uses
     something mp does not claim to support) or FAILED (any other error,
     including crashes and timeouts: those are bugs);
  2. for imported models, exports the IR again with `mp-translate
     --export-onnx`, runs the exported model in onnxruntime on
     test_data_set_0's inputs (bound by position to the original graph's
     non-initializer inputs, by name in the exported model) and compares
     every output with output_N.pb: shape and dtype exactly, values with
     |a - b| <= 1e-7 + 1e-3 * |b| (NaN matches NaN). Tests whose outputs
     depend on a random number generator are counted as "rng" and not
     compared;
  3. checks mp's inferred result types (static dims, element types) of the
     graph outputs and of every inner value against what onnxruntime
     computed for the exported model.
Tests that onnxruntime cannot run, or does not reproduce, from the ORIGINAL
model either are reported as "NOT COMPARED" and counted as neither matched
nor failed. Unsupported tests whose only obstacle is an input that mp keeps
static (axes, slice bounds, split sizes, clip bounds, ...) given as a graph
input are rerun with that input as a Constant node holding the test's value
("constant-input variants", counted on their own line).

Usage: onnx_conformance.py BIN_DIR [--data-dir DIR] [--verbose] [-k SUBSTR]
The last line is the summary that the lit test checks:
  conformance: supported=S imported=I roundtrip_matched=M import_failed=F
               roundtrip_failed=R unsupported=U          (one line; S = I + F)
"""

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"
TIMEOUT_S = 30
ATOL, RTOL = 1e-7, 1e-3

# Importer messages (lib/Target/ONNX/ImportONNX.cpp) that mean "the model uses
# something mp does not support": unsupported ops, opsets and element types,
# foreign op domains, non-tensor values, and features a handler or an op's
# inference rejects as "not supported". Anything else is a bug.
UNSUPPORTED = re.compile(r"unsupported|not supported")

RNG_OPS = {"Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike",
           "RandomUniform", "RandomUniformLike"}


def import_model(bin_dir, model):
    """Returns (status, text): status is 'ok', 'unsupported' or 'failed'."""
    exe = os.path.join(bin_dir, "mp-translate")
    try:
        # With locations, the exported nodes keep the ONNX node names.
        p = subprocess.run([exe, "--import-onnx", model,
                            "--mlir-print-debuginfo"], capture_output=True,
                           text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "failed", "import timed out after %ds" % TIMEOUT_S
    if p.returncode == 0:
        return "ok", p.stdout
    err = p.stderr.strip() or "(no message)"
    if p.returncode < 0:
        return "failed", "import crashed (signal %d): %s" % (-p.returncode,
                                                           err[-2000:])
    first = next((l for l in err.splitlines() if "error:" in l),
                 err.splitlines()[0])
    # Match the message itself, not a path or a quoted model name in it.
    message = re.sub(r"'[^']*'", "''", first.split("error:", 1)[-1])
    if UNSUPPORTED.search(message):
        return "unsupported", first
    return "failed", err[-2000:]


def uses_rng(ir):
    """Whether the imported IR draws random numbers: a training-mode dropout
    with a nonzero ratio (random ops never import)."""
    for m in re.finditer(r"mp\.dropout[^\n]*", ir):
        line = m.group(0)
        ratio = re.search(r"ratio = ([-0-9.e+]+)", line)
        training = re.search(r"training_mode = (\d+)", line)
        if training and int(training.group(1)) != 0 and \
                (ratio is None or float(ratio.group(1)) != 0.0):
            return True
    return False


BF16 = 16     # TensorProto.BFLOAT16
UINT16 = 4    # TensorProto.UINT16


def load_tensor(path):
    """A TensorProto file as (numpy array, ONNX element type). bfloat16
    arrives as its uint16 bit patterns."""
    import onnx
    from onnx import numpy_helper
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t), t.data_type


def declared_type(vi):
    return vi.type.tensor_type.elem_type if vi.type.HasField("tensor_type") \
        else 0


def to_float(array, elem_type):
    import numpy as np
    if elem_type == BF16:
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array


def ort_output(value):
    """An onnxruntime OrtValue as (numpy array, ONNX element type); numpy
    has no bfloat16, so those come back as uint16 bit patterns."""
    import ctypes
    import numpy as np
    from onnx import mapping
    if value.data_type() == "tensor(bfloat16)":
        shape = tuple(value.shape())
        n = int(np.prod(shape)) if shape else 1
        buf = (ctypes.c_uint16 * n).from_address(value.data_ptr())
        return np.frombuffer(buf, dtype=np.uint16).copy().reshape(shape), BF16
    array = value.numpy()
    return array, mapping.NP_TYPE_TO_TENSOR_TYPE[array.dtype]


def compare(name, got, want):
    import numpy as np
    from onnx import TensorProto
    (got, got_type), (want, want_type) = got, want
    if got_type != want_type:
        return "%s: element type %s, expected %s" % (
            name, TensorProto.DataType.Name(got_type),
            TensorProto.DataType.Name(want_type))
    if got.shape != want.shape:
        return "%s: shape %s, expected %s" % (name, got.shape, want.shape)
    got, want = to_float(got, got_type), to_float(want, want_type)
    if want.dtype.kind in "fc":
        g = got.astype(np.float64)
        w = want.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            ok = (g == w) | (np.abs(g - w) <= ATOL + RTOL * np.abs(w)) | \
                 (np.isnan(g) & np.isnan(w))
    else:
        ok = got == want
    if not np.all(ok):
        bad = int(np.size(ok) - np.count_nonzero(ok))
        idx = np.unravel_index(int(np.argmin(ok.reshape(-1))), ok.shape) \
            if ok.ndim else ()
        return "%s: %d of %d values differ, e.g. at %s got %r expected %r" % (
            name, bad, ok.size, tuple(int(i) for i in idx), got[idx], want[idx])
    return None


def roundtrip(bin_dir, test_dir, ir, tmp):
    """Returns (status, text): 'matched', 'failed', or one of the outcomes
    that are not compared: 'rng', 'ort_cannot_run', 'ort_disagrees'."""
    import onnx
    import onnxruntime as ort
    exe = os.path.join(bin_dir, "mp-translate")
    out = os.path.join(tmp, os.path.basename(test_dir) + ".onnx")
    try:
        p = subprocess.run([exe, "--export-onnx", "-o", out], input=ir,
                           capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "failed", "export timed out"
    if p.returncode != 0:
        return "failed", "export failed: " + (p.stderr.strip()[-2000:] or
                                              "signal %d" % -p.returncode)
    if uses_rng(ir):
        return "rng", ""

    model = onnx.load(os.path.join(test_dir, "model.onnx"))
    inits = {t.name for t in model.graph.initializer}
    inputs = [vi for vi in model.graph.input if vi.name not in inits]
    data = os.path.join(test_dir, "test_data_set_0")
    feeds = {}
    for i, vi in enumerate(inputs):
        path = os.path.join(data, "input_%d.pb" % i)
        if not os.path.exists(path):
            continue
        array, elem_type = load_tensor(path)
        # ONNX 1.12 stores bfloat16 test data as uint16 bit patterns.
        if declared_type(vi) == BF16 and elem_type in (BF16, UINT16):
            feeds[vi.name] = ort.OrtValue.ortvalue_from_numpy_with_onnx_type(
                array, BF16)
        else:
            feeds[vi.name] = ort.OrtValue.ortvalue_from_numpy(array)
    wants = []
    while os.path.exists(os.path.join(data, "output_%d.pb" % len(wants))):
        array, elem_type = load_tensor(
            os.path.join(data, "output_%d.pb" % len(wants)))
        if len(wants) < len(model.graph.output) and elem_type == UINT16 and \
                declared_type(model.graph.output[len(wants)]) == BF16:
            elem_type = BF16
        wants.append((array, elem_type))

    got = run_ort(out, feeds)
    # mp's inferred result types are the exported graph's output types; a
    # static dim or element type that the run contradicts is an mp bug
    # (onnxruntime itself only warns).
    declared = declared_mismatch(onnx.load(out), got)
    if declared:
        return "failed", declared
    problems = check(got, wants)
    if not problems:
        inner = intermediate_mismatch(bin_dir, test_dir, out, feeds)
        return ("failed", inner) if inner else ("matched", "")
    # When onnxruntime cannot reproduce the test data from the ORIGINAL model
    # either (a kernel it lacks, test data that contradicts the model), no
    # comparison with the data is possible: the test is reported apart, and
    # counts as neither matched nor failed only if the exported model
    # behaves exactly like the original in onnxruntime.
    ref = run_ort(os.path.join(test_dir, "model.onnx"), feeds)
    if isinstance(ref, str):
        if isinstance(got, str) and ort_code(got) == ort_code(ref):
            return "ort_cannot_run", ref
        return "failed", problems + " (the original model fails too: %s)" % ref
    if check(ref, wants) and not check(got, ref):
        return "ort_disagrees", "the original model in onnxruntime: " + \
            check(ref, wants)
    return "failed", problems


def declared_mismatch(model, got):
    """'' when the outputs of a run agree with the model's declared output
    types (element type, rank, static dims), else the disagreements."""
    from onnx import TensorProto
    if isinstance(got, str):
        return ""
    problems = []
    for vi, (array, elem_type) in zip(model.graph.output, got[1]):
        tt = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None
                for d in tt.shape.dim]
        if tt.elem_type != elem_type or len(dims) != array.ndim or any(
                d is not None and d != a for d, a in zip(dims, array.shape)):
            problems.append("%s: declared %s%s, computed %s%s" % (
                vi.name, TensorProto.DataType.Name(tt.elem_type),
                ["?" if d is None else d for d in dims],
                TensorProto.DataType.Name(elem_type), list(array.shape)))
    return "; ".join(problems)


ELEMENT_TYPES = {"f32": 1, "ui8": 2, "i8": 3, "ui16": 4, "i16": 5, "i32": 6,
                 "i64": 7, "i1": 9, "f16": 10, "f64": 11, "ui32": 12,
                 "ui64": 13, "bf16": 16}


def mp_value_types(bin_dir, model_path):
    """{ONNX node name: [result type]} of the imported IR, each type as
    (ONNX element type, [dim or None]), read from the generic form with
    locations (the importer names each op after its node)."""
    exe = os.path.join(bin_dir, "mp-translate")
    p = subprocess.run([exe, "--import-onnx", model_path,
                        "--mlir-print-op-generic", "--mlir-print-debuginfo"],
                       capture_output=True, text=True, timeout=TIMEOUT_S)
    if p.returncode != 0:
        return {}
    aliases = dict(re.findall(r'^(#loc\d*) = loc\("([^"]*)"', p.stdout, re.M))
    types = {}
    for m in re.finditer(r'^\s*%\S+ = "mp\.[^\n]*\) -> \(?([^\n]*?)\)? '
                         r'loc\((#loc\d*)\)$', p.stdout, re.M):
        results = []
        for t in re.findall(r"tensor<([^>]*)>", m.group(1)):
            *dims, elt = t.split("x")
            results.append((ELEMENT_TYPES.get(elt, 0),
                            [None if d == "?" else int(d) for d in dims]))
        if m.group(2) in aliases:
            types[aliases[m.group(2)]] = results
    return types


def intermediate_mismatch(bin_dir, test_dir, exported, feeds):
    """Checks mp's inferred type of every value inside the graph (not only
    the outputs) against onnxruntime's run of the exported model: each node's
    outputs become graph outputs declared with mp's types. '' when all
    agree, else the disagreements."""
    import onnx
    from onnx import helper
    model = onnx.load(exported)
    types = mp_value_types(bin_dir, os.path.join(test_dir, "model.onnx"))
    known = {o.name for o in model.graph.output}
    added = 0
    for node in model.graph.node:
        for name, (elem_type, dims) in zip(node.output, types.get(node.name,
                                                                 [])):
            if name and name not in known:
                model.graph.output.append(helper.make_tensor_value_info(
                    name, elem_type, [d if d is not None else "d%d" % i
                                      for i, d in enumerate(dims)]))
                known.add(name)
                added += 1
    if not added:
        return ""
    got = run_ort(model.SerializeToString(), feeds)
    if isinstance(got, str):
        return "exported model with its inner values as outputs: " + got
    problems = declared_mismatch(model, got)
    return "inferred types of inner values: " + problems if problems else ""


def ort_code(message):
    m = re.search(r"\[ONNXRuntimeError\] : \d+ : (\w+)", message)
    return m.group(1) if m else message


def run_ort(path, feeds):
    """Runs a model in onnxruntime: its outputs as (names, [(array, type)]),
    or the error message."""
    import onnxruntime as ort
    try:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        sess = ort.InferenceSession(path, so,
                                    providers=["CPUExecutionProvider"])
        outs = [ort_output(v) for v in sess.run_with_ort_values(None, feeds)]
    except Exception as e:  # onnxruntime raises its own exception types.
        return "onnxruntime: " + str(e).strip()[-2000:]
    return [o.name for o in sess.get_outputs()], outs


def check(got, wants):
    """'' when `got` (a run_ort result) matches `wants`, else the problems."""
    if isinstance(got, str):
        return got
    names, outs = got
    if isinstance(wants, tuple):
        wants = wants[1]
    if len(outs) != len(wants):
        return "%d outputs, expected %d" % (len(outs), len(wants))
    return "; ".join(c for c in (compare(n, g, w)
                                 for n, g, w in zip(names, outs, wants)) if c)


def freeze(test_dir, tmp):
    """A copy of the test whose graph inputs that feed only non-data node
    inputs (axes, bounds, sizes, ratios: input position >= 1) are Constant
    nodes holding the test's values; None when there are none."""
    import onnx
    from onnx import helper
    model = onnx.load(os.path.join(test_dir, "model.onnx"))
    inits = {t.name for t in model.graph.initializer}
    inputs = [vi for vi in model.graph.input if vi.name not in inits]
    first_use = {}
    for node in model.graph.node:
        for pos, name in enumerate(node.input):
            first_use[name] = min(pos, first_use.get(name, pos))
    data = os.path.join(test_dir, "test_data_set_0")
    frozen = [i for i, vi in enumerate(inputs) if first_use.get(vi.name, 0) >= 1
              and os.path.exists(os.path.join(data, "input_%d.pb" % i))]
    if not frozen:
        return None
    out_dir = os.path.join(tmp, "frozen", os.path.basename(test_dir))
    os.makedirs(os.path.join(out_dir, "test_data_set_0"))
    constants = []
    for i in frozen:
        t = onnx.TensorProto()
        with open(os.path.join(data, "input_%d.pb" % i), "rb") as f:
            t.ParseFromString(f.read())
        t.name = inputs[i].name
        constants.append(helper.make_node("Constant", [], [inputs[i].name],
                                          name="frozen_" + inputs[i].name,
                                          value=t))
        model.graph.input.remove(inputs[i])
    nodes = constants + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, os.path.join(out_dir, "model.onnx"))
    kept = [i for i in range(len(inputs)) if i not in frozen]
    links = [("input_%d.pb" % k, "input_%d.pb" % i) for k, i in enumerate(kept)]
    links += [(f, f) for f in os.listdir(data) if f.startswith("output_")]
    for new, old in links:
        os.symlink(os.path.join(data, old),
                   os.path.join(out_dir, "test_data_set_0", new))
    return out_dir


# Tests whose data contradicts their own model (checked by hand): compared
# to nothing, reported apart.
BAD_TEST_DATA = {
    "test_adam_multiple": "its data was generated with epsilon=1e-2, which "
                          "the node does not carry (the spec's default is "
                          "1e-6; onnx/backend/test/case/node/adam.py)",
}


def check_test(bin_dir, test_dir, tmp):
    """Imports, round-trips and compares one test: (status, text)."""
    status, text = import_model(bin_dir, os.path.join(test_dir, "model.onnx"))
    if status != "ok":
        return status, text
    if os.path.basename(test_dir) in BAD_TEST_DATA:
        return "roundtrip_ort_disagrees", BAD_TEST_DATA[os.path.basename(test_dir)]
    try:
        status, text = roundtrip(bin_dir, test_dir, text, tmp)
    except Exception as e:  # A harness problem is reported, not hidden.
        status, text = "failed", "harness: %s: %s" % (type(e).__name__, e)
    return "roundtrip_" + status, text


def run_one(args):
    """The test's outcome, and for a test that mp cannot import only because
    it computes what mp keeps static, the outcome of its constant-input
    variant (or None)."""
    bin_dir, test_dir, tmp = args
    status, text = check_test(bin_dir, test_dir, tmp)
    variant = None
    if status == "unsupported" and "must be a constant" in text:
        frozen = freeze(test_dir, tmp)
        if frozen:
            variant = check_test(bin_dir, frozen, tmp)
    return os.path.basename(test_dir), status, text, variant


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir", help="the build's bin dir (holds mp-translate)")
    ap.add_argument("--data-dir", default=DEFAULT_DATA)
    ap.add_argument("--verbose", action="store_true",
                    help="also list unsupported and matched tests")
    ap.add_argument("-k", default="", help="only tests whose name contains this")
    ap.add_argument("-j", type=int, default=2, help="worker processes")
    opts = ap.parse_args()

    tests = sorted(
        os.path.join(opts.data_dir, d) for d in os.listdir(opts.data_dir)
        if d.startswith("test_") and opts.k in d and
        os.path.isfile(os.path.join(opts.data_dir, d, "model.onnx")))
    counts = {"roundtrip_matched": 0, "roundtrip_rng": 0,
              "roundtrip_ort_cannot_run": 0, "roundtrip_ort_disagrees": 0,
              "roundtrip_failed": 0, "failed": 0, "unsupported": 0}
    with tempfile.TemporaryDirectory(prefix="mp-conformance-") as tmp:
        with multiprocessing.Pool(opts.j) as pool:
            results = pool.map(run_one, [(opts.bin_dir, t, tmp) for t in tests],
                               chunksize=4)
    variants = {}
    for name, status, text, variant in results:
        counts[status] += 1
        if variant:
            vstatus, vtext = variant
            variants[vstatus] = variants.get(vstatus, 0) + 1
            if vstatus in ("failed", "roundtrip_failed"):
                print("CONSTANT-INPUT VARIANT FAILED: %s: %s" % (
                    name, vtext.replace("\n", " | ")))
            elif opts.verbose:
                print("constant-input variant %s: %s" % (vstatus, name))
        if status == "failed":
            print("IMPORT FAILED: %s: %s" % (name, text.replace("\n", " | ")))
        elif status == "roundtrip_failed":
            print("ROUNDTRIP FAILED: %s: %s" % (name, text.replace("\n", " | ")))
        elif status in ("roundtrip_ort_cannot_run", "roundtrip_ort_disagrees"):
            print("NOT COMPARED (%s): %s: %s" % (
                status[len("roundtrip_"):], name, text.replace("\n", " | ")))
        elif opts.verbose and status == "unsupported":
            print("unsupported: %s: %s" % (name, text))
        elif opts.verbose:
            print("%s: %s" % (status, name))
    imported = sum(v for k, v in counts.items() if k.startswith("roundtrip_"))
    print("not compared: random outputs=%d, onnxruntime cannot run the "
          "original model=%d, onnxruntime disagrees with the test data on the "
          "original model (the exported model agrees with it)=%d" % (
              counts["roundtrip_rng"], counts["roundtrip_ort_cannot_run"],
              counts["roundtrip_ort_disagrees"]))
    # Unsupported tests whose only obstacle is a computed axes/bounds/size
    # input, rerun with those inputs as constants: mp's semantics of these
    # ops on the tests' own data (not part of the counts above).
    print("constant-input variants: tested=%d matched=%d failed=%d "
          "unsupported=%d not_compared=%d" % (
              sum(variants.values()), variants.get("roundtrip_matched", 0),
              variants.get("failed", 0) + variants.get("roundtrip_failed", 0),
              variants.get("unsupported", 0),
              sum(v for k, v in variants.items() if k in (
                  "roundtrip_rng", "roundtrip_ort_cannot_run",
                  "roundtrip_ort_disagrees"))))
    print("conformance: supported=%d imported=%d roundtrip_matched=%d "
          "import_failed=%d roundtrip_failed=%d unsupported=%d" % (
              imported + counts["failed"], imported,
              counts["roundtrip_matched"], counts["failed"],
              counts["roundtrip_failed"], counts["unsupported"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
