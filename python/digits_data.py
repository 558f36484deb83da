"""Writes the 8x8 digits data set (1797 images, Debian's python3-sklearn) as
.npz files mp-run can read: train.npz and test.npz with x f32[N, 64]
(pixels scaled to [0, 1]) and y i64[N]. N is cut to a multiple of --batch so
every step sees a whole batch. A fixed shuffle (seed 0) splits 80/20.

usage: digits_data.py OUTDIR [--batch 64]     (any python with numpy; reads
the CSV shipped by python3-sklearn, so sklearn itself need not import)
"""
import argparse
import glob
import gzip
import os

import numpy as np


def load():
    paths = glob.glob("/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz")
    if not paths:
        raise SystemExit("digits.csv.gz not found: apt-get install python3-sklearn")
    with gzip.open(paths[0], "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :64].astype(np.float32) / 16.0, data[:, 64].astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    x, y = load()
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    n_train = int(0.8 * len(x))
    os.makedirs(a.out, exist_ok=True)
    for name, xs, ys in (("train", x[:n_train], y[:n_train]), ("test", x[n_train:], y[n_train:])):
        n = len(xs) // a.batch * a.batch
        np.savez(os.path.join(a.out, name + ".npz"), x=xs[:n], y=ys[:n])
        print(f"{name}: {n} samples ({n // a.batch} batches of {a.batch})")


if __name__ == "__main__":
    main()
