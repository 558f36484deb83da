"""The benchmark workloads of bench/cuda_bench.py, shared by the ONNX export
(here, Debian's torch) and the PyTorch reference run (on the GPU machine).

  mlp   5 Linear layers 4096 -> 4096 (ReLU) x4 -> 1000, batch 8192, AdamW
  gpt2  GPT-2 124M shape: 12 layers, d=768, 12 heads, vocab 50257, T=1024,
        B=8, naive causal attention (MatMul + masked Softmax + MatMul) as an
        ONNX export holds it, exact GELU, untied head; AdamW

The model classes are python/gen_models.py's, so mp and PyTorch train the
very same network. `LossOnly` drops the logits output: a training step
returns the loss alone in both systems.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
import gen_models  # noqa: E402

WORKLOADS = {
    "mlp": dict(batch=8192, features=4096, hidden=(4096,) * 4, classes=1000),
    "gpt2": dict(batch=8, block=1024, vocab=50257, d=768, heads=12, layers=12),
}


class LossOnly(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        return self.model(x, y)[0]


def build(work, scale=None):
    """The model and (x, y) example inputs on the CPU."""
    torch.manual_seed(0)
    w = WORKLOADS[work]
    if work == "mlp":
        m = gen_models.MLP(w["features"], w["hidden"], w["classes"])
        x = torch.randn(w["batch"], w["features"])
        y = torch.randint(0, w["classes"], (w["batch"],))
    else:
        m = gen_models.GPT(w["vocab"], w["block"], w["d"], w["heads"],
                           w["layers"])
        for mod in m.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.normal_(mod.weight, std=0.02)
        x = torch.randint(0, w["vocab"], (w["batch"], w["block"]))
        y = torch.randint(0, w["vocab"], (w["batch"], w["block"]))
    return LossOnly(m), x, y


def flops_per_step(work, params):
    """Model FLOPs of one training step (forward + backward), as
    ../shared/bench's baseline counts them."""
    w = WORKLOADS[work]
    if work == "mlp":
        return 6 * params * w["batch"]
    tokens = w["batch"] * w["block"]
    return 6 * params * tokens + 12 * w["layers"] * w["d"] * w["block"] * tokens
