"""Exports the benchmark workloads (bench/models.py) to ONNX and compiles
each in fp32, AMP f16 and AMP bf16 with AdamW (lr 1e-4) into DIR, without
parameter data (mp-compile --no-state-data; mp-run --init-params fills the
parameters on the GPU machine), so the programs travel in a few MiB.

    python3 bench/export_bench_models.py build/bin DIR [--keep-onnx] [mlp gpt2]

--keep-onnx leaves DIR/<work>.onnx (with its .data) for recompiling
without exporting again.
"""
import os
import subprocess
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402


def main():
    bindir, out = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    keep = "--keep-onnx" in rest
    works = [w for w in rest if w != "--keep-onnx"] or ["mlp", "gpt2"]
    os.makedirs(out, exist_ok=True)
    for work in works:
        m, x, y = models.build(work)
        # Traced at batch 1 with a symbolic batch axis (tracing at the full
        # batch would run a big forward pass on the CPU), then pinned to the
        # workload's batch by mp-compile --batch.
        x, y = x[:1], y[:1]
        batch = models.WORKLOADS[work]["batch"]
        path = os.path.join(out, work + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m, (x, y), path, opset_version=17,
                              training=torch.onnx.TrainingMode.TRAINING,
                              do_constant_folding=False,
                              input_names=["x", "y"], output_names=["loss"],
                              dynamic_axes={"x": {0: "batch"},
                                            "y": {0: "batch"}})
        for amp, tag in (("off", "fp32"), ("f16", "amp-fp16"),
                         ("bf16", "amp-bf16")):
            mpb = os.path.join(out, "%s-%s.mpb" % (work, tag))
            subprocess.run([os.path.join(bindir, "mp-compile"), path,
                            "--amp", amp, "--optimizer", "adamw",
                            "--lr", "1e-4", "--loss", "loss",
                            "--batch", str(batch),
                            "--no-state-data", "-o", mpb], check=True)
            print("wrote", mpb, os.path.getsize(mpb), "bytes", flush=True)
        if keep:
            continue
        os.remove(path)
        data = path + ".data"
        if os.path.exists(data):
            os.remove(data)


if __name__ == "__main__":
    main()
