"""Times mp-autocast and mp-insert-casts on synthetic graphs of N ops.

usage: autocast_scaling.py BIN_DIR [--sizes 1000,10000,100000,1000000]
The graph repeats a transformer-like block (matmul, bias add, layer norm,
gelu, softmax, exp, residual add, reshape) so every painting rule fires.
Prints one line per size with the pass times from --mlir-timing. Any Python 3.
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

BLOCK = """\
  %m{i} = mp.matmul %x{p}, %w : (tensor<8x64xf32>, tensor<64x64xf32>) -> tensor<8x64xf32>
  %a{i} = mp.add %m{i}, %b : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  %n{i}:3 = mp.layer_norm %a{i}, %g : (tensor<8x64xf32>, tensor<64xf32>) -> (tensor<8x64xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  %e{i} = mp.gelu %n{i}#0 : (tensor<8x64xf32>) -> tensor<8x64xf32>
  %s{i} = mp.softmax %e{i} : (tensor<8x64xf32>) -> tensor<8x64xf32>
  %x{i} = mp.add %s{i}, %x{p} : (tensor<8x64xf32>, tensor<8x64xf32>) -> tensor<8x64xf32>
  %r{i} = mp.reshape %x{i}, %shape : (tensor<8x64xf32>, tensor<2xi64>) -> tensor<8x64xf32>
  %t{i} = mp.exp %r{i} : (tensor<8x64xf32>) -> tensor<8x64xf32>
"""
OPS_PER_BLOCK = 8


def make(n_ops, path):
    blocks = max(1, n_ops // OPS_PER_BLOCK)
    with open(path, "w") as f:
        f.write("func.func @forward(%x0: tensor<8x64xf32>, %w: tensor<64x64xf32>, "
                "%b: tensor<64xf32>, %g: tensor<64xf32>) -> tensor<8x64xf32> {\n")
        f.write("  %shape = mp.constant dense<[8, 64]> : tensor<2xi64>\n")
        for i in range(1, blocks + 1):
            f.write(BLOCK.format(i=i, p=i - 1))
        f.write(f"  return %x{blocks} : tensor<8x64xf32>\n}}\n")
    return blocks * OPS_PER_BLOCK


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    a = ap.parse_args()
    opt = os.path.join(a.bin, "mp-opt")
    print(f"{'ops':>9} {'parse(s)':>9} {'autocast(s)':>12} {'insert-casts(s)':>16} {'total(s)':>9}")
    with tempfile.TemporaryDirectory() as d:
        for n in [int(s) for s in a.sizes.split(",")]:
            path = os.path.join(d, f"g{n}.mlir")
            ops = make(n, path)
            t0 = time.time()
            out = subprocess.run([opt, path, "--mp-autocast", "--mp-insert-casts",
                                  "--mlir-timing", "-o", os.devnull],
                                 capture_output=True, text=True, check=True).stderr
            wall = time.time() - t0
            def t(name):
                m = re.search(r"([0-9.]+) \(\s*[0-9.]+%\)\s+" + re.escape(name), out)
                return float(m.group(1)) if m else float("nan")
            print(f"{ops:>9} {t('Parser'):>9.3f} {t('MPAutocastPass'):>12.3f} "
                  f"{t('MPInsertCastsPass'):>16.3f} {wall:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
