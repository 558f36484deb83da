#!/usr/bin/env python3
"""The ONNX node tests executed by mp's own runtime.

Interpreter: the project venv (`.venv/bin/python`: onnx, numpy).

For every test under the data dir (Debian's libonnx-testdata by default)
that mp imports, this compiles model.onnx with `mp-compile`, runs the
program's `forward` with `mp-run` on test_data_set_0's inputs (bound by
position to the graph's non-initializer inputs), and compares every output
with output_N.pb: shape exactly, values with |a - b| <= 1e-7 + 1e-3 * |b|
(NaN matches NaN), integers and bools exactly. Tests mp does not import, or
that need what the runtime does not do (dynamic shapes, a dtype .npy cannot
carry, random outputs), are counted apart and not compared.

Usage: runtime_conformance.py BIN_DIR [--data-dir DIR] [-k SUBSTR] [-j N]
Last line:  runtime conformance: supported=S passed=P failed=F skipped=K
where S = P + F counts the tests whose ops mp supports and the runtime can
run (a static-shaped program with numpy-representable data).
"""
import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"
TIMEOUT_S = 60
RNG_OPS = ("mp.dropout",)


def save_npz(path, arrays):
    """np.savez without keyword arguments (np.savez would swallow an input
    named `like` as numpy's own argument)."""
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, a in arrays.items():
            with z.open(name + ".npy", "w") as f:
                np.lib.format.write_array(f, np.ascontiguousarray(a))


def run_one(args):
    bin_dir, test_dir, tmp = args
    import onnx
    from onnx_conformance import BAD_TEST_DATA, load_tensor
    name = os.path.basename(test_dir)
    if name in BAD_TEST_DATA:
        return name, "skip_bad_data", BAD_TEST_DATA[name]
    work = os.path.join(tmp, name)
    os.makedirs(work, exist_ok=True)
    mpb = os.path.join(work, "p.mpb")
    try:
        p = subprocess.run([os.path.join(bin_dir, "mp-compile"),
                            os.path.join(test_dir, "model.onnx"), "-o", mpb,
                            "--emit-mlir"], capture_output=True, text=True,
                           timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return name, "failed", "mp-compile timed out"
    if p.returncode != 0:
        err = p.stderr
        if "no static shape" in err:
            return name, "skip_dynamic", ""
        return name, "unsupported", err.strip().splitlines()[-1] if err else ""
    if any(op in p.stdout for op in RNG_OPS) and "training_mode = 1" in p.stdout:
        return name, "skip_rng", ""
    p = subprocess.run([os.path.join(bin_dir, "mp-compile"),
                        os.path.join(test_dir, "model.onnx"), "-o", mpb],
                       capture_output=True, text=True, timeout=TIMEOUT_S)
    if p.returncode != 0:
        if "no static shape" in p.stderr:
            return name, "skip_dynamic", ""
        if "has no runtime dtype" in p.stderr:
            return name, "skip_dtype", ""
        return name, "failed", "mp-compile: " + p.stderr.strip()[-500:]

    model = onnx.load(os.path.join(test_dir, "model.onnx"))
    inits = {t.name for t in model.graph.initializer}
    inputs = [vi for vi in model.graph.input if vi.name not in inits]
    data = os.path.join(test_dir, "test_data_set_0")
    feeds = {}
    for i, vi in enumerate(inputs):
        path = os.path.join(data, "input_%d.pb" % i)
        if not os.path.exists(path):
            continue
        array, code = load_tensor(path)
        if array.dtype not in (np.float32, np.float16, np.float64, np.int64,
                               np.int32, np.int8, np.uint8, np.bool_):
            return name, "skip_dtype", str(array.dtype)
        if code == 16:  # bfloat16 stored as uint16
            return name, "skip_dtype", "bfloat16"
        feeds[vi.name] = array
    wants = []
    while os.path.exists(os.path.join(data, "output_%d.pb" % len(wants))):
        array, code = load_tensor(os.path.join(data, "output_%d.pb" % len(wants)))
        if code == 16:
            return name, "skip_dtype", "bfloat16"
        wants.append(array)
    inputs_npz = os.path.join(work, "in.npz")
    save_npz(inputs_npz, feeds)
    out_npz = os.path.join(work, "out.npz")
    # The ONNX test data holds NaN/inf on purpose (Cast, IsNaN, Max...):
    # mp-run's input checks are off.
    cmd = [os.path.join(bin_dir, "mp-run"), mpb, "--function", "forward",
           "--save-outputs", out_npz, "--allow-nonfinite"]
    if feeds:
        cmd += ["--inputs", inputs_npz]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    if p.returncode != 0:
        msg = p.stderr.strip()[-500:] or "signal %d" % -p.returncode
        if ".npy cannot hold" in msg:
            return name, "skip_dtype", msg
        if "not supported" in msg or "(unsupported)" in msg:
            return name, "skip_runtime", msg
        return name, "failed", "mp-run: " + msg
    got = np.load(out_npz)
    for i, want in enumerate(wants):
        key = "forward." + model.graph.output[i].name
        if key not in got.files:
            return name, "failed", "no output %s" % key
        g = got[key]
        if g.shape != want.shape:
            return name, "failed", "output %d: shape %s, expected %s" % (
                i, g.shape, want.shape)
        if np.issubdtype(want.dtype, np.floating):
            a, b = g.astype(np.float64), want.astype(np.float64)
            bad = ~((np.abs(a - b) <= 1e-7 + 1e-3 * np.abs(b)) |
                    (np.isnan(a) & np.isnan(b)) | (a == b))
            if bad.any():
                j = np.unravel_index(np.argmax(bad), bad.shape)
                return name, "failed", "output %d differs at %s: %r vs %r" % (
                    i, j, a[j], b[j])
        elif not np.array_equal(g.astype(want.dtype), want):
            return name, "failed", "output %d differs" % i
    return name, "passed", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir")
    ap.add_argument("--data-dir", default=DEFAULT_DATA)
    ap.add_argument("-k", default="")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    tests = sorted(
        os.path.join(a.data_dir, d) for d in os.listdir(a.data_dir)
        if d.startswith("test_") and a.k in d and
        os.path.isfile(os.path.join(a.data_dir, d, "model.onnx")))
    counts = {}
    with tempfile.TemporaryDirectory(prefix="mp-rt-conformance-") as tmp:
        with multiprocessing.Pool(a.j) as pool:
            results = pool.map(run_one, [(a.bin_dir, t, tmp) for t in tests],
                               chunksize=4)
    for name, status, text in results:
        counts[status] = counts.get(status, 0) + 1
        if status == "failed":
            print("FAILED: %s: %s" % (name, text.replace("\n", " | ")))
        elif a.verbose and status != "unsupported":
            print("%s: %s %s" % (status, name, text))
    skipped = sum(v for k, v in counts.items() if k.startswith("skip_"))
    print("skipped: dynamic shapes=%d, dtypes .npy cannot carry=%d, random "
          "outputs=%d, kernels the runtime lacks=%d, test data contradicting "
          "its model=%d; not imported: %d" % (
              counts.get("skip_dynamic", 0), counts.get("skip_dtype", 0),
              counts.get("skip_rng", 0), counts.get("skip_runtime", 0),
              counts.get("skip_bad_data", 0), counts.get("unsupported", 0)))
    passed, failed = counts.get("passed", 0), counts.get("failed", 0)
    print("runtime conformance: supported=%d passed=%d failed=%d skipped=%d" % (
        passed + failed, passed, failed, skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
