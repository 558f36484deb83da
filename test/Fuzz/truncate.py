# Every truncation of a model or program is a clean error: the tools exit
# with status 1 and an "error:" message, never a signal, a hang or a zero
# status. Files: an ONNX model (text test model made binary), the bundled
# digits MLP, and .mpb programs compiled from them. Small files are cut at
# every byte, larger ones at a stride (and at every byte of their first 64).
#
# REQUIRES: onnx
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %mp_bin %mp_src %t | FileCheck %s
# CHECK-LABEL: truncate: mlp.onnx
# CHECK: truncate: mlp.onnx: {{[0-9]+}} cuts, all clean
# CHECK-LABEL: truncate: digits_mlp.onnx
# CHECK: truncate: digits_mlp.onnx: {{[0-9]+}} cuts, all clean
# CHECK-LABEL: truncate: mlp.mpb
# CHECK: truncate: mlp.mpb: {{[0-9]+}} cuts, all clean
# CHECK-LABEL: truncate: mlp-f16.mpb
# CHECK: truncate: mlp-f16.mpb: {{[0-9]+}} cuts, all clean
# CHECK-LABEL: truncate: digits.mpb
# CHECK: truncate: digits.mpb: {{[0-9]+}} cuts, all clean
import concurrent.futures
import os
import subprocess
import sys

import onnx.parser

bindir, src, tmp = sys.argv[1:4]
EVERY_BYTE = 1024  # files up to this size are cut at every byte
MAX_CUTS = 160     # larger ones at about this many offsets


def offsets(size):
    if size <= EVERY_BYTE:
        return list(range(size))
    stride = max(1, (size - 64) // (MAX_CUTS - 64))
    return sorted(set(list(range(64)) + list(range(64, size, stride))))


def run_cut(args):
    data, n, path, cmd = args
    with open(path, "wb") as f:
        f.write(data[:n])
    try:
        r = subprocess.run(cmd + [path] if cmd[-1] != "@" else
                           [c if c != "@" else path for c in cmd],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=120)
    except subprocess.TimeoutExpired:
        return "cut at %d: timed out" % n
    err = r.stderr.decode(errors="replace")
    if r.returncode < 0:
        return "cut at %d: killed by signal %d\n%s" % (n, -r.returncode, err)
    if r.returncode != 1:
        return "cut at %d: exit status %d (want 1)\n%s" % (n, r.returncode, err)
    if "error:" not in err:
        return "cut at %d: no error message\n%s" % (n, err)
    return None


def check(name, path, cmd):
    data = open(path, "rb").read()
    print("truncate: %s (%d bytes)" % (name, len(data)))
    cuts = offsets(len(data))
    jobs = [(data, n, os.path.join(tmp, "%s.cut%d" % (name, n % 2)) + "." +
             str(n), cmd) for n in cuts]
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        problems = [p for p in ex.map(run_cut, jobs) if p]
    for j in jobs:
        if os.path.exists(j[2]):
            os.remove(j[2])
    if problems:
        print("truncate: %s: %d of %d cuts failed:\n%s" %
              (name, len(problems), len(cuts), "\n".join(problems[:5])))
        sys.exit(1)
    print("truncate: %s: %d cuts, all clean" % (name, len(cuts)))


text = open(os.path.join(src, "test/e2e/Inputs/mlp.onnxtxt")).read()
mlp = os.path.join(tmp, "mlp.onnx")
with open(mlp, "wb") as f:
    f.write(onnx.parser.parse_model(text).SerializeToString())
digits = os.path.join(src, "examples/digits_mlp.onnx")
translate = [os.path.join(bindir, "mp-translate"), "--import-onnx", "-o",
             os.devnull]
compile_ = os.path.join(bindir, "mp-compile")
progs = {}
for name, model, extra in [("mlp.mpb", mlp, ["--amp", "off"]),
                           ("mlp-f16.mpb", mlp, ["--amp", "f16"]),
                           ("digits.mpb", digits, ["--amp", "f16"])]:
    progs[name] = os.path.join(tmp, name)
    subprocess.check_call([compile_, model, "-o", progs[name]] + extra)

check("mlp.onnx", mlp, translate)
check("digits_mlp.onnx", digits, translate)
run = [os.path.join(bindir, "mp-run"), "@", "--synthetic", "--int-high", "2"]
for name in ["mlp.mpb", "mlp-f16.mpb", "digits.mpb"]:
    check(name, progs[name], run)
