#!/usr/bin/env python3
"""Exports small, realistic PyTorch training models to ONNX for mp's tests.

Interpreter: the project venv, `/work/main/.venv/bin/python` (lit's %python):
Debian's torch 1.13 (CPU) and onnx 1.12, plus pip onnxruntime (used only by
check_roundtrip.py). Everything is deterministic (torch.manual_seed).

Every model is exported the way an ONNX training consumer needs it:

    torch.onnx.export(model, args, training=TrainingMode.TRAINING,
                      do_constant_folding=False, opset_version=17,
                      export_params=True, input_names=..., output_names=...)

so every parameter (and buffer) is its own named initializer ("fc1.weight"),
BatchNormalization keeps training_mode=1 with its running-statistics outputs,
and the loss is part of the graph. Outputs are (loss, logits), or
(loss, log_probs) for `mlp --loss nll`.

Models (subcommands):
  mlp  Linear/ReLU stack on x[B,64] (8x8 digits), labels y[B] int64, 10 classes,
       cross-entropy loss. Also the digits demo model.
  cnn  Conv(+bias) -> BatchNorm (training) -> ReLU -> MaxPool -> Conv -> ReLU
       -> global average pool -> Flatten -> Linear, cross-entropy; x[B,1,8,8].
  gpt  2-layer GPT-2-style transformer: token + position embeddings, pre-LN,
       naive causal self-attention (MatMul, mask from a registered tril
       buffer, Softmax, MatMul), GELU MLP, residuals, final LN, LM head,
       cross-entropy over the flattened logits; idx/targets [B,T] int64.

Newer opsets (--opset 18|20) rewrite the opset-17 export with onnx.helper,
as a newer exporter would have written it:
  >= 18  Reduce* `axes` attribute -> constant int64 input; Split gets
         `num_outputs` (equal parts) or keeps/gets its `split` input.
  >= 20  the exported erf-GELU chain x*(erf(x/sqrt2)+1)*0.5 becomes one Gelu.

Other options: --dynamic-batch exports with a symbolic batch axis (so the
graph computes its reshapes through Shape/Gather/Unsqueeze/Concat and arange
through Range) and then pins the batch to --batch in the graph's inputs and
outputs; --external-data writes every initializer to <output>.data;
--reference NPZ saves the inputs ('input:<name>') and PyTorch's outputs
('output:<name>') for check_roundtrip.py. The initializers hold the model's
initial state (the export's trace would otherwise have moved BatchNorm's
running statistics).

Examples:
  gen_models.py mlp -o mlp.onnx --reference mlp.npz
  gen_models.py cnn --opset 18 --pool mean -o cnn.onnx
  gen_models.py gpt --opset 20 --external-data -o gpt.onnx --reference gpt.npz
"""

import argparse
import copy
import math
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper

# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


class MLP(nn.Module):
    """x[B,in] -> (Linear -> ReLU) * (len(hidden)) -> Linear -> logits[B,C]."""

    def __init__(self, in_features=64, hidden=(128, 128), classes=10,
                 loss="ce"):
        super().__init__()
        self.loss = loss
        sizes = [in_features] + list(hidden) + [classes]
        # Named fc1, fc2, ... so the ONNX initializers read "fc1.weight".
        self.layers = len(sizes) - 1
        for i in range(self.layers):
            setattr(self, "fc%d" % (i + 1), nn.Linear(sizes[i], sizes[i + 1]))

    def forward(self, x, y):
        h = x
        for i in range(self.layers):
            h = getattr(self, "fc%d" % (i + 1))(h)
            if i + 1 < self.layers:
                h = F.relu(h)
        if self.loss == "nll":
            # The PyTorch MNIST-example head: the model outputs
            # log-probabilities and the loss is NLL on them. torch's
            # exporter fuses log_softmax + nll_loss into
            # SoftmaxCrossEntropyLoss on the logits and keeps a LogSoftmax
            # for the log-probability output.
            logp = F.log_softmax(h, dim=1)
            return F.nll_loss(logp, y), logp
        return F.cross_entropy(h, y), h  # -> SoftmaxCrossEntropyLoss


class CNN(nn.Module):
    """x[B,C,H,W] -> conv1 -> bn1 -> relu -> maxpool -> conv2 -> relu -> pool
    -> flatten -> fc."""

    def __init__(self, in_channels=1, c1=8, c2=16, classes=10, image=8,
                 pool="adaptive"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(c1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1, bias=True)
        self.pool_kind = pool
        if pool == "adaptive":
            self.pool2 = nn.AdaptiveAvgPool2d(1)  # -> GlobalAveragePool
        elif pool == "avg":
            self.pool2 = nn.AvgPool2d(image // 2)  # -> AveragePool
        elif pool not in ("mean", "max"):
            raise ValueError("unknown pool " + pool)
        self.fc = nn.Linear(c2, classes)

    def forward(self, x, y):
        h = self.pool1(F.relu(self.bn1(self.conv1(x))))
        h = F.relu(self.conv2(h))
        if self.pool_kind == "mean":
            h = h.mean(dim=(2, 3), keepdim=True)  # -> ReduceMean
        elif self.pool_kind == "max":
            h = h.amax(dim=(2, 3), keepdim=True)  # -> ReduceMax
        else:
            h = self.pool2(h)
        h = torch.flatten(h, 1)
        logits = self.fc(h)
        loss = F.cross_entropy(logits, y)
        return loss, logits


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads, block):
        super().__init__()
        assert d % heads == 0
        self.heads = heads
        self.d = d
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        # GPT-2 keeps the causal mask as a (bool) buffer and slices it to T.
        self.register_buffer(
            "mask",
            torch.tril(torch.ones(block, block, dtype=torch.bool)).view(
                1, 1, block, block))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        hd = C // self.heads
        q = q.view(B, T, self.heads, hd).transpose(1, 2)
        k = k.view(B, T, self.heads, hd).transpose(1, 2)
        v = v.view(B, T, self.heads, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, d, heads, block):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads, block)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(d, 4 * d))
        self.mlp.add_module("gelu", nn.GELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * d, d))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, vocab=64, block=16, d=32, heads=2, layers=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(block, d)
        self.h = nn.ModuleList([Block(d, heads, block) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx, targets):
        B, T = idx.size()
        pos = torch.arange(0, T, dtype=torch.long, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for blk in self.h:
            x = blk(x)
        x = self.ln_f(x)
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)),
                               targets.view(-1))
        return loss, logits


def build(args):
    """Returns (model, input names, example inputs)."""
    g = torch.Generator().manual_seed(args.seed + 1)
    if args.model == "mlp":
        model = MLP(args.in_features, args.hidden, args.classes, args.loss)
        x = torch.randn(args.batch, args.in_features, generator=g)
        y = torch.randint(0, args.classes, (args.batch,), generator=g)
        return model, ["x", "y"], (x, y)
    if args.model == "cnn":
        model = CNN(args.in_channels, args.c1, args.c2, args.classes,
                    args.image, args.pool)
        x = torch.randn(args.batch, args.in_channels, args.image, args.image,
                        generator=g)
        y = torch.randint(0, args.classes, (args.batch,), generator=g)
        return model, ["x", "y"], (x, y)
    if args.model == "gpt":
        model = GPT(args.vocab, args.block, args.d_model, args.heads,
                    args.layers)
        idx = torch.randint(0, args.vocab, (args.batch, args.block),
                            generator=g)
        targets = torch.randint(0, args.vocab, (args.batch, args.block),
                                generator=g)
        return model, ["idx", "targets"], (idx, targets)
    raise ValueError(args.model)


# --------------------------------------------------------------------------
# Opset rewriting (17 -> 18 / 20)
# --------------------------------------------------------------------------

# Reduce ops whose `axes` moved from attribute to input at opset 18
# (ReduceSum moved at 13 already).
REDUCE_AXES_18 = {
    "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
    "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
}

# IR version that goes with each opset (onnx's own table).
IR_VERSION = {17: 8, 18: 8, 19: 9, 20: 9}


class Namer:
    def __init__(self, graph):
        self.used = set()
        for n in graph.node:
            self.used.add(n.name)
            self.used.update(n.output)
        for t in graph.initializer:
            self.used.add(t.name)
        for v in list(graph.input) + list(graph.output):
            self.used.add(v.name)

    def __call__(self, base):
        name, i = base, 0
        while name in self.used:
            i += 1
            name = "%s_%d" % (base, i)
        self.used.add(name)
        return name


def _attr(node, name):
    for a in node.attribute:
        if a.name == name:
            return a
    return None


def _drop_attr(node, name):
    keep = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(keep)


def constant_value(graph, name):
    """The numpy value of `name` if a Constant node or an initializer makes
    it, else None."""
    for t in graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            a = _attr(n, "value")
            if a is not None:
                return numpy_helper.to_array(a.t)
            for key in ("value_float", "value_int"):
                a = _attr(n, key)
                if a is not None:
                    return np.array(helper.get_attribute_value(a))
    return None


def _const_node(namer, base, array):
    out = namer(base)
    node = helper.make_node(
        "Constant", [], [out], name=namer(base + "_Constant"),
        value=numpy_helper.from_array(np.asarray(array), out))
    return node, out


def to_opset18(model, split_form="num_outputs"):
    graph = model.graph
    namer = Namer(graph)
    nodes = []
    for n in graph.node:
        if n.op_type in REDUCE_AXES_18:
            axes = _attr(n, "axes")
            if axes is not None:
                c, name = _const_node(namer, n.name + "_axes",
                                      np.array(list(axes.ints), np.int64))
                nodes.append(c)
                _drop_attr(n, "axes")
                del n.input[1:]
                n.input.append(name)
        elif n.op_type == "Split":
            # Split-13 takes `split` as an optional input; Split-18 needs
            # either that input or the new `num_outputs` attribute.
            num = len(n.output)
            sizes = constant_value(graph, n.input[1]) if (
                len(n.input) > 1 and n.input[1]) else None
            if len(n.input) < 2 or not n.input[1]:
                n.attribute.append(helper.make_attribute("num_outputs", num))
            elif (split_form == "num_outputs" and sizes is not None and
                  len(set(sizes.tolist())) == 1):
                del n.input[1:]
                n.attribute.append(helper.make_attribute("num_outputs", num))
            # else: keep the split input (valid at 18).
        nodes.append(n)
    del graph.node[:]
    graph.node.extend(nodes)


def _producers(graph):
    return {o: n for n in graph.node for o in n.output}


def _consumers(graph):
    users = {}
    for n in graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    for o in graph.output:
        users.setdefault(o.name, []).append(None)
    return users


def _scalar_is(graph, name, value, tol=1e-6):
    v = constant_value(graph, name)
    return v is not None and v.size == 1 and abs(float(v.reshape(())) -
                                                 value) <= tol


def fuse_gelu(model):
    """Rewrites torch's erf-GELU export
        d = Div(x, sqrt2); e = Erf(d); a = Add(e, 1); m = Mul(x, a);
        y = Mul(m, 0.5)
    into y = Gelu(x) (opset 20). Returns the number of fused patterns."""
    graph = model.graph
    prod = _producers(graph)
    users = _consumers(graph)
    dead = set()
    replace = {}  # id(final Mul) -> Gelu node
    for n in graph.node:
        if n.op_type != "Erf":
            continue
        div = prod.get(n.input[0])
        if div is None or div.op_type != "Div" or not _scalar_is(
                graph, div.input[1], math.sqrt(2.0)):
            continue
        x = div.input[0]
        adds = users.get(n.output[0], [])
        if len(adds) != 1 or adds[0] is None or adds[0].op_type != "Add":
            continue
        add = adds[0]
        one = add.input[1] if add.input[0] == n.output[0] else add.input[0]
        if not _scalar_is(graph, one, 1.0):
            continue
        muls = users.get(add.output[0], [])
        if len(muls) != 1 or muls[0] is None or muls[0].op_type != "Mul":
            continue
        mul = muls[0]
        if set(mul.input) != {x, add.output[0]}:
            continue
        muls2 = users.get(mul.output[0], [])
        if len(muls2) != 1 or muls2[0] is None or muls2[0].op_type != "Mul":
            continue
        mul2 = muls2[0]
        half = mul2.input[1] if mul2.input[0] == mul.output[0] else \
            mul2.input[0]
        if not _scalar_is(graph, half, 0.5):
            continue
        if any(len(users.get(v.output[0], [])) != 1
               for v in (div, n)):
            continue
        gelu = helper.make_node("Gelu", [x], [mul2.output[0]],
                                name=mul2.name.replace("Mul", "Gelu")
                                if "Mul" in mul2.name else mul2.name + "_gelu")
        replace[id(mul2)] = gelu
        dead.update(id(v) for v in (div, n, add, mul))
    if not replace:
        return 0
    nodes = []
    for n in graph.node:
        if id(n) in dead:
            continue
        nodes.append(replace.get(id(n), n))
    del graph.node[:]
    graph.node.extend(nodes)
    remove_dead(graph)
    return len(replace)


def remove_dead(graph):
    """Drops nodes and initializers nothing uses any more (the GELU
    constants)."""
    while True:
        used = {i for n in graph.node for i in n.input}
        used.update(o.name for o in graph.output)
        keep = [n for n in graph.node
                if any(o in used for o in n.output) or not n.output]
        if len(keep) == len(graph.node):
            break
        del graph.node[:]
        graph.node.extend(keep)
    used = {i for n in graph.node for i in n.input}
    inits = [t for t in graph.initializer if t.name in used]
    if len(inits) != len(graph.initializer):
        del graph.initializer[:]
        graph.initializer.extend(inits)


def set_opset(model, opset):
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            imp.version = opset
    model.ir_version = IR_VERSION[opset]


def upgrade(model, opset, split_form="num_outputs"):
    if opset == 17:
        return model
    model = copy.deepcopy(model)
    if opset >= 18:
        to_opset18(model, split_form)
    if opset >= 20:
        if fuse_gelu(model) == 0 and any(n.op_type == "Erf"
                                         for n in model.graph.node):
            raise RuntimeError("found Erf but no erf-GELU pattern to fuse")
    set_opset(model, opset)
    return model


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


def pin_batch(model, batch):
    """Gives the symbolic batch axis its value again in the graph's inputs
    and outputs (as onnx.tools.update_model_dims would), keeping the shape
    arithmetic the dynamic export put inside the graph."""
    graph = model.graph
    for vi in list(graph.input) + list(graph.output):
        for dim in vi.type.tensor_type.shape.dim:
            if dim.dim_param == "batch":
                dim.Clear()
                dim.dim_value = batch
    # Intermediate shapes computed with the symbolic batch are stale.
    del graph.value_info[:]


def restore_initial_state(model, state):
    """The export traces one training-mode forward pass, which moves
    BatchNorm's running statistics; put the model's initial values back so
    the initializers are exactly the untrained PyTorch state."""
    for i, t in enumerate(model.graph.initializer):
        if t.name in state:
            value = state[t.name].numpy()
            old = numpy_helper.to_array(t)
            if old.shape != value.shape or old.dtype != value.dtype:
                raise RuntimeError("initializer %s: ONNX %s %s vs torch %s %s"
                                   % (t.name, old.dtype, old.shape,
                                      value.dtype, value.shape))
            model.graph.initializer[i].CopyFrom(
                numpy_helper.from_array(value, t.name))


def export(args):
    if not args.verbose:
        # Shapes are meant to be traced as constants here.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    torch.manual_seed(args.seed)
    model, input_names, inputs = build(args)
    output_names = ["loss", "logits"]
    if getattr(args, "loss", "ce") == "nll":
        output_names = ["loss", "log_probs"]
    # Reference outputs first, from a copy: the training-mode trace updates
    # BatchNorm's running statistics (which do not feed loss or logits).
    ref_model = copy.deepcopy(model).train()
    with torch.no_grad():
        ref = [t.numpy() for t in ref_model(*inputs)]

    dynamic_axes = None
    if args.dynamic_batch:
        # As deployed models are exported: a symbolic batch axis, so the
        # graph computes its reshapes from Shape/Gather/Concat chains.
        dynamic_axes = {name: {0: "batch"} for name in input_names}
        dynamic_axes["logits"] = {0: "batch"}
    initial_state = {k: v.detach().clone()
                     for k, v in model.state_dict().items()}
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.output + ".torch17.onnx"
    model.train()
    torch.onnx.export(model, inputs, tmp,
                      export_params=True,
                      training=torch.onnx.TrainingMode.TRAINING,
                      do_constant_folding=False,
                      opset_version=17,
                      input_names=input_names,
                      output_names=output_names,
                      keep_initializers_as_inputs=False,
                      dynamic_axes=dynamic_axes)
    onnx_model = onnx.load(tmp)
    os.remove(tmp)
    restore_initial_state(onnx_model, initial_state)
    onnx_model.producer_name = "pytorch+mp-gen_models"
    onnx_model.graph.name = "main_graph"
    if args.dynamic_batch and not args.keep_dynamic:
        pin_batch(onnx_model, args.batch)
    onnx_model = upgrade(onnx_model, args.opset, args.split_form)

    if args.external_data:
        location = os.path.basename(args.output) + ".data"
        data_path = os.path.join(out_dir, location)
        if os.path.exists(data_path):
            os.remove(data_path)  # onnx appends to an existing file
        onnx.save_model(onnx_model, args.output, save_as_external_data=True,
                        all_tensors_to_one_file=True, location=location,
                        size_threshold=0)
    else:
        onnx.save_model(onnx_model, args.output)

    if args.reference:
        arrays = {}
        for name, t in zip(input_names, inputs):
            arrays["input:" + name] = t.numpy()
        for name, a in zip(output_names, ref):
            arrays["output:" + name] = a
        np.savez(args.reference, **arrays)
    if args.verbose:
        ops = sorted({n.op_type for n in onnx_model.graph.node})
        print("%s: opset %d, %d nodes, %d initializers; ops: %s" %
              (args.output, args.opset, len(onnx_model.graph.node),
               len(onnx_model.graph.initializer), " ".join(ops)),
              file=sys.stderr)


def parse_args(argv=None):
    """The command line as a namespace (build() takes it)."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-o", "--output", required=True,
                        help="where to write the .onnx model")
    common.add_argument("--opset", type=int, default=17,
                        choices=[17, 18, 20])
    common.add_argument("--split-form", choices=["num_outputs", "input"],
                        default="num_outputs",
                        help="opset >= 18: write an equal Split with the "
                        "num_outputs attribute, or keep its `split` input")
    common.add_argument("--external-data", action="store_true",
                        help="store initializers in <output>.data beside it")
    common.add_argument("--reference", metavar="NPZ",
                        help="write inputs ('input:<name>') and PyTorch's "
                        "outputs ('output:<name>') to this .npz")
    common.add_argument("--batch", type=int, default=None)
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--dynamic-batch", action="store_true",
                        help="export with a symbolic batch axis (Shape/Gather"
                        " chains in the graph), then pin it to --batch")
    common.add_argument("--keep-dynamic", action="store_true",
                        help="with --dynamic-batch: leave the batch axis "
                        "symbolic (dim_param \"batch\") in the file")
    common.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="model", required=True)

    m = sub.add_parser("mlp", parents=[common], help="Linear/ReLU classifier")
    m.add_argument("--in-features", type=int, default=64)
    m.add_argument("--hidden", type=int, nargs="+", default=[128, 128],
                   help="hidden layer sizes (default: 128 128 -> 3 Linear)")
    m.add_argument("--classes", type=int, default=10)
    m.add_argument("--loss", choices=["ce", "nll"], default="ce",
                   help="F.cross_entropy on the logits, or the MNIST-example "
                   "head: log_softmax output + F.nll_loss (torch exports "
                   "SoftmaxCrossEntropyLoss + a LogSoftmax output)")

    c = sub.add_parser("cnn", parents=[common], help="small conv net")
    c.add_argument("--in-channels", type=int, default=1)
    c.add_argument("--image", type=int, default=8)
    c.add_argument("--c1", type=int, default=8)
    c.add_argument("--c2", type=int, default=16)
    c.add_argument("--classes", type=int, default=10)
    c.add_argument("--pool", choices=["adaptive", "avg", "mean", "max"],
                   default="adaptive",
                   help="final pool: AdaptiveAvgPool2d(1) (GlobalAveragePool)"
                   ", AvgPool2d (AveragePool), x.mean((2,3)) (ReduceMean) or "
                   "x.amax((2,3)) (ReduceMax)")

    g = sub.add_parser("gpt", parents=[common], help="tiny GPT-2")
    g.add_argument("--vocab", type=int, default=64)
    g.add_argument("--block", type=int, default=16, help="sequence length T")
    g.add_argument("--d-model", type=int, default=32)
    g.add_argument("--heads", type=int, default=2)
    g.add_argument("--layers", type=int, default=2)

    args = p.parse_args(argv)
    if args.batch is None:
        args.batch = {"mlp": 8, "cnn": 4, "gpt": 2}[args.model]
    return args


def main(argv=None):
    export(parse_args(argv))


if __name__ == "__main__":
    main()
