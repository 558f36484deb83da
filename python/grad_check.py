#!/usr/bin/env python3
"""Checks every mp op's gradient rule against central finite differences.

Interpreter: the project venv, `/work/main/.venv/bin/python` (lit's %python).

Each case is a small `@forward` in float64: the op under test applied to
parameters (mp.role = "param", random values away from kinks and outside
the op's domain limits), every float result projected onto a random tensor
(loss = sum_i reduce_sum(y_i * r_i)). `mp-opt --mp-build-training=
"optimizer=none"` differentiates it; python/mp_interp.py runs @train_step,
whose results are the gradients and the loss, in exact float64. The
reference is a central difference of the same @train_step's loss,
(L(p + h e_k) - L(p - h e_k)) / 2h with h = 1e-6, on up to --samples
elements of every parameter. The error of a case is
max_k |analytic_k - fd_k| / max(max_k |fd_k|, 1e-8).

The script also checks coverage: every op defined in MPOps.td and
MPTrainingOps.td must appear in some case (as the op under test, or as a
backward op built for one), except the optimizer and loss-scaling ops,
which python/check_training.py and the loss-scaling tests check.

Usage: grad_check.py --mp-opt build/bin/mp-opt [--td-dir include/...]
                     [--only NAME] [--tol 1e-6] [-v]
Prints "gradient check: N cases, M ops, max relative error E" and exits 1
on any failure.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mp_interp  # noqa: E402


class Case:
    """args: (name, shape, kind); kind is a value generator name or an
    integer/bool input; params are the float args not marked as inputs."""

    def __init__(self, name, args, body, outs, inputs=(), values=None):
        self.name, self.args, self.body, self.outs = name, args, body, outs
        self.inputs = set(inputs)
        self.values = values or {}


def T(shape, elt="f64"):
    dims = "x".join(str(d) for d in shape)
    return "tensor<%s%s%s>" % (dims, "x" if dims else "", elt)


def gen(kind, shape, rng):
    if isinstance(kind, tuple):
        if kind[0] == "int":
            return rng.integers(kind[1], kind[2], shape).astype(np.int64)
        if kind[0] == "const":
            return np.asarray(kind[1])
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "pos":
        return np.abs(rng.standard_normal(shape)) + 0.5
    if kind == "away":  # |x| >= 0.2: no kink within h
        x = rng.standard_normal(shape)
        return np.sign(x) * (np.abs(x) + 0.2)
    if kind == "clip":  # away from the bounds +-0.5
        x = rng.uniform(-1.2, 1.2, shape)
        return np.where(np.abs(np.abs(x) - 0.5) < 0.1, x + 0.25, x)
    if kind == "distinct":  # no ties for max/min/pooling
        n = int(np.prod(shape)) if shape else 1
        return (rng.permutation(n) * 0.37 + rng.uniform(0, 0.1, n)
                - n * 0.15).reshape(shape)
    if kind == "bool":
        return rng.random(shape) < 0.5
    raise ValueError(kind)


def arg_type(shape, kind):
    if isinstance(kind, tuple) and (kind[0] == "int" or (
            kind[0] == "const" and np.asarray(kind[1]).dtype.kind == "i")):
        return T(shape, "i64")
    if kind == "bool":
        return T(shape, "i1")
    return T(shape)


def module_text(case):
    sig, extra = [], []
    for name, shape, kind in case.args:
        role = "input" if (name in case.inputs or not
                           (kind in ("normal", "pos", "away", "clip",
                                     "distinct"))) else "param"
        sig.append('%%%s: %s {mp.name = "%s", mp.role = "%s"}' %
                   (name, arg_type(shape, kind), name, role))
    proj = []
    for k, (val, shape) in enumerate(case.outs):
        sig.append('%%r%d: %s {mp.name = "r%d", mp.role = "input"}' %
                   (k, T(shape), k))
        proj.append(
            "  %%m%d = mp.mul %s, %%r%d : (%s, %s) -> %s\n"
            "  %%s%d = mp.reduce_sum %%m%d {keepdims = 0 : i64} : (%s) -> %s"
            % (k, val, k, T(shape), T(shape), T(shape), k, k, T(shape), T([])))
    total = "%s0"
    lines = ["func.func @forward(%s) -> (%s {mp.name = \"loss\"}) {" %
             (", ".join(sig), T([]))]
    lines += ["  " + l.strip() for l in case.body.strip().splitlines()]
    lines += proj
    for k in range(1, len(case.outs)):
        lines.append("  %%t%d = mp.add %s, %%s%d : (%s, %s) -> %s" %
                     (k, total, k, T([]), T([]), T([])))
        total = "%%t%d" % k
    lines.append("  return %s : %s" % (total, T([])))
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# The cases. `f` is tensor<...xf64>; shapes are small.
# --------------------------------------------------------------------------


def unary(op, kind="normal", attrs="", name=None):
    return Case(name or op, [("x", [3, 4], kind)],
                "%%y = mp.%s %%x %s : (%s) -> %s" %
                (op, attrs, T([3, 4]), T([3, 4])), [("%y", [3, 4])])


def binary(op, sa, sb, so, kb="normal", ka="normal", name=None):
    return Case(name or op, [("a", sa, ka), ("b", sb, kb)],
                "%%y = mp.%s %%a, %%b : (%s, %s) -> %s" %
                (op, T(sa), T(sb), T(so)), [("%y", so)])


def cases():
    c = []
    for op, kind in [("neg", "normal"), ("abs", "away"), ("sqrt", "pos"),
                     ("reciprocal", "pos"), ("exp", "normal"),
                     ("log", "pos"), ("erf", "normal"), ("tanh", "normal"),
                     ("sigmoid", "normal"), ("relu", "away"),
                     ("identity", "normal")]:
        c.append(unary(op, kind))
    c.append(unary("leaky_relu", "away", "{alpha = 1.000000e-01 : f32}"))
    c.append(unary("gelu", "normal"))
    c.append(unary("gelu", "normal", '{approximate = "tanh"}', "gelu_tanh"))
    c.append(unary("clip", "clip", "{min = -5.000000e-01 : f64, max = "
                   "5.000000e-01 : f64}"))
    c.append(binary("add", [3, 4], [4], [3, 4]))
    c.append(binary("sub", [2, 1, 4], [3, 1], [2, 3, 4]))
    c.append(binary("mul", [3, 1], [1, 4], [3, 4]))
    c.append(binary("div", [3, 4], [3, 1], [3, 4], kb="pos"))
    c.append(binary("pow", [3, 4], [4], [3, 4], ka="pos"))
    c.append(Case("pow_const", [("a", [3, 4], "normal")], """
        %e = mp.constant dense<2.0> : tensor<f64>
        %y = mp.pow %a, %e : (tensor<3x4xf64>, tensor<f64>) -> tensor<3x4xf64>
        """, [("%y", [3, 4])]))
    c.append(Case("where_less_not_and_or", [
        ("a", [3, 4], "distinct"), ("b", [4], "normal"), ("c", [3, 4], "bool")],
        """
        %l = mp.less %a, %b : (tensor<3x4xf64>, tensor<4xf64>) -> tensor<3x4xi1>
        %n = mp.not %c : (tensor<3x4xi1>) -> tensor<3x4xi1>
        %o = mp.or %l, %n : (tensor<3x4xi1>, tensor<3x4xi1>) -> tensor<3x4xi1>
        %d = mp.and %o, %c : (tensor<3x4xi1>, tensor<3x4xi1>) -> tensor<3x4xi1>
        %y = mp.where %d, %a, %b : (tensor<3x4xi1>, tensor<3x4xf64>, tensor<4xf64>) -> tensor<3x4xf64>
        """, [("%y", [3, 4])], inputs=["c"]))
    c.append(Case("compare_masks", [("a", [3, 4], "distinct"),
                                    ("b", [3, 4], "normal")], """
        %z = mp.constant dense<0.1> : tensor<f64>
        %e = mp.equal %a, %a : (tensor<3x4xf64>, tensor<3x4xf64>) -> tensor<3x4xi1>
        %g = mp.greater %a, %z : (tensor<3x4xf64>, tensor<f64>) -> tensor<3x4xi1>
        %ge = mp.greater_equal %b, %z : (tensor<3x4xf64>, tensor<f64>) -> tensor<3x4xi1>
        %le = mp.less_equal %a, %b : (tensor<3x4xf64>, tensor<3x4xf64>) -> tensor<3x4xi1>
        %m1 = mp.and %e, %g : (tensor<3x4xi1>, tensor<3x4xi1>) -> tensor<3x4xi1>
        %m2 = mp.or %ge, %le : (tensor<3x4xi1>, tensor<3x4xi1>) -> tensor<3x4xi1>
        %y1 = mp.where %m1, %a, %b : (tensor<3x4xi1>, tensor<3x4xf64>, tensor<3x4xf64>) -> tensor<3x4xf64>
        %y = mp.where %m2, %y1, %a : (tensor<3x4xi1>, tensor<3x4xf64>, tensor<3x4xf64>) -> tensor<3x4xf64>
        """, [("%y", [3, 4])]))
    for op in ["min", "max"]:
        c.append(Case(op, [("a", [3, 4], "distinct"), ("b", [4], "distinct"),
                           ("c", [3, 1], "distinct")],
                      "%%y = mp.%s %%a, %%b, %%c : (%s, %s, %s) -> %s" %
                      (op, T([3, 4]), T([4]), T([3, 1]), T([3, 4])),
                      [("%y", [3, 4])]))
    c.append(Case("sum", [("a", [3, 4], "normal"), ("b", [4], "normal"),
                          ("c", [3, 1], "normal")],
                  "%%y = mp.sum %%a, %%b, %%c : (%s, %s, %s) -> %s" %
                  (T([3, 4]), T([4]), T([3, 1]), T([3, 4])), [("%y", [3, 4])]))
    c.append(Case("cast", [("a", [3, 4], "normal")], """
        %h = mp.cast %a : tensor<3x4xf64> to f32
        %y = mp.cast %h : tensor<3x4xf32> to f64
        """, [("%y", [3, 4])]))
    # Contractions.
    for name, sa, sb, so in [("matmul", [2, 3, 4], [4, 5], [2, 3, 5]),
                             ("matmul_1d_a", [4], [2, 4, 3], [2, 3]),
                             ("matmul_1d_b", [3, 4], [4], [3]),
                             ("matmul_1d_both", [4], [4], []),
                             ("matmul_batch_bcast", [2, 1, 3, 4], [3, 4, 2],
                              [2, 3, 3, 2])]:
        c.append(binary("matmul", sa, sb, so, name=name))
    for ta in (0, 1):
        for tb in (0, 1):
            sa = [4, 3] if ta else [3, 4]
            sb = [5, 4] if tb else [4, 5]
            for cs in ([5], [3, 1]):
                c.append(Case("gemm_t%d%d_c%d" % (ta, tb, len(cs)),
                              [("a", sa, "normal"), ("b", sb, "normal"),
                               ("c", cs, "normal")],
                              "%%y = mp.gemm %%a, %%b, %%c {alpha = 1.5 : f32,"
                              " beta = 0.5 : f32, transA = %d : i64, transB = "
                              "%d : i64} : (%s, %s, %s) -> %s" %
                              (ta, tb, T(sa), T(sb), T(cs), T([3, 5])),
                              [("%y", [3, 5])]))
    c.append(Case("gemm_no_c", [("a", [3, 4], "normal"),
                                ("b", [4, 5], "normal")],
                  "%y = mp.gemm %a, %b : (tensor<3x4xf64>, tensor<4x5xf64>) "
                  "-> tensor<3x5xf64>", [("%y", [3, 5])]))
    # Convolution.
    conv = [
        ("conv", [2, 2, 5, 5], [3, 2, 3, 3], [3],
         "pads = array<i64: 1, 1, 1, 1>", [2, 3, 5, 5]),
        ("conv_stride_dilation", [1, 2, 7, 6], [2, 2, 2, 3], [2],
         "strides = array<i64: 2, 1>, dilations = array<i64: 2, 1>, "
         "pads = array<i64: 1, 0, 0, 1>", [1, 2, 3, 5]),
        ("conv_group", [1, 4, 4, 4], [6, 2, 3, 3], [6],
         "group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, "
         "strides = array<i64: 2, 2>", [1, 6, 2, 2]),
        ("conv_1d_same", [2, 3, 7], [2, 3, 4], None,
         'auto_pad = "SAME_UPPER", strides = array<i64: 2>', [2, 2, 4]),
    ]
    for name, sx, sw, sb, attrs, so in conv:
        args = [("x", sx, "normal"), ("w", sw, "normal")]
        ops = "%x, %w"
        types = [T(sx), T(sw)]
        if sb:
            args.append(("b", sb, "normal"))
            ops += ", %b"
            types.append(T(sb))
        c.append(Case(name, args, "%%y = mp.conv %s {%s} : (%s) -> %s" %
                      (ops, attrs, ", ".join(types), T(so)), [("%y", so)]))
    # Softmax and norms.
    c.append(unary("softmax", "normal", "{axis = 0 : i64}"))
    c.append(unary("log_softmax", "normal"))
    c.append(Case("layer_norm", [("x", [2, 3, 4], "normal"),
                                 ("s", [4], "normal"), ("b", [4], "normal")],
                  "%y, %m, %i = mp.layer_norm %x, %s, %b {stash_type = 11 : "
                  "i64} : (tensor<2x3x4xf64>, tensor<4xf64>, tensor<4xf64>) "
                  "-> (tensor<2x3x4xf64>, tensor<2x3x1xf64>, "
                  "tensor<2x3x1xf64>)", [("%y", [2, 3, 4])]))
    c.append(Case("layer_norm_axis1_stats", [("x", [2, 3, 4], "normal"),
                                             ("s", [4], "normal")],
                  "%y, %m, %i = mp.layer_norm %x, %s {axis = 1 : i64, "
                  "epsilon = 1.0e-3 : f32, stash_type = 11 : i64} : "
                  "(tensor<2x3x4xf64>, tensor<4xf64>) -> (tensor<2x3x4xf64>, "
                  "tensor<2x1x1xf64>, tensor<2x1x1xf64>)",
                  [("%y", [2, 3, 4]), ("%m", [2, 1, 1]), ("%i", [2, 1, 1])]))
    for name, shape in [("batch_norm", [4, 3, 2, 2]),
                        ("batch_norm_3d", [3, 2, 5])]:
        ch = [shape[1]]
        c.append(Case(name, [("x", shape, "normal"), ("s", ch, "normal"),
                             ("b", ch, "normal"), ("mean", ch, "normal"),
                             ("var", ch, "pos")],
                      "%%y, %%rm, %%rv = mp.batch_norm %%x, %%s, %%b, %%mean, "
                      "%%var {training_mode = 1 : i64} : (%s, %s, %s, %s, %s)"
                      " -> (%s, %s, %s)" %
                      (T(shape), T(ch), T(ch), T(ch), T(ch), T(shape), T(ch),
                       T(ch)), [("%y", shape)], inputs=["mean", "var"]))
    c.append(Case("batch_norm_inference", [
        ("x", [4, 3, 2], "normal"), ("s", [3], "normal"), ("b", [3], "normal"),
        ("mean", [3], "normal"), ("var", [3], "pos")],
        "%y, %rm, %rv = mp.batch_norm %x, %s, %b, %mean, %var : "
        "(tensor<4x3x2xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, "
        "tensor<3xf64>) -> (tensor<4x3x2xf64>, tensor<3xf64>, tensor<3xf64>)",
        [("%y", [4, 3, 2])], inputs=["mean", "var"]))
    # Pooling.
    pools = [
        ("max_pool", "max_pool", [2, 2, 4, 4],
         "kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>",
         [2, 2, 2, 2]),
        ("max_pool_pad_overlap", "max_pool", [1, 2, 5, 5],
         "kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>",
         [1, 2, 5, 5]),
        ("max_pool_ceil_dilation", "max_pool", [1, 1, 6, 7],
         "kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, "
         "dilations = array<i64: 1, 2>, ceil_mode = 1 : i64", [1, 1, 3, 3]),
        ("average_pool", "average_pool", [2, 2, 4, 4],
         "kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>",
         [2, 2, 2, 2]),
        ("average_pool_pads", "average_pool", [1, 2, 5, 5],
         "kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, "
         "strides = array<i64: 2, 2>", [1, 2, 3, 3]),
        ("average_pool_count_pad_ceil", "average_pool", [1, 1, 5, 6],
         "kernel_shape = array<i64: 2, 3>, pads = array<i64: 1, 0, 0, 1>, "
         "strides = array<i64: 2, 2>, count_include_pad = 1 : i64, "
         "ceil_mode = 1 : i64", [1, 1, 3, 3]),
        ("average_pool_same_lower", "average_pool", [1, 1, 5, 5],
         'kernel_shape = array<i64: 2, 2>, auto_pad = "SAME_LOWER"',
         [1, 1, 5, 5]),
    ]
    for name, op, sx, attrs, so in pools:
        c.append(Case(name, [("x", sx, "distinct")],
                      "%%y = mp.%s %%x {%s} : (%s) -> %s" %
                      (op, attrs, T(sx), T(so)), [("%y", so)]))
    c.append(Case("global_average_pool", [("x", [2, 3, 2, 3], "normal")],
                  "%y = mp.global_average_pool %x : (tensor<2x3x2x3xf64>) -> "
                  "tensor<2x3x1x1xf64>", [("%y", [2, 3, 1, 1])]))
    # Reductions.
    for name, op, attrs, so, kind in [
            ("reduce_sum", "reduce_sum", "{axes = array<i64: 1>, keepdims = "
             "0 : i64}", [2, 4], "normal"),
            ("reduce_sum_all", "reduce_sum", "", [1, 1, 1], "normal"),
            ("reduce_mean", "reduce_mean", "{axes = array<i64: 0, -1>}",
             [1, 3, 1], "normal"),
            ("reduce_max", "reduce_max", "{axes = array<i64: 1>, keepdims = "
             "0 : i64}", [2, 4], "distinct")]:
        c.append(Case(name, [("x", [2, 3, 4], kind)],
                      "%%y = mp.%s %%x %s : (tensor<2x3x4xf64>) -> %s" %
                      (op, attrs, T(so)), [("%y", so)]))
    # Data movement.
    c.append(Case("reshape_flatten_squeeze_unsqueeze",
                  [("x", [2, 3, 4], "normal")], """
        %s = mp.constant dense<[4, 6]> : tensor<2xi64>
        %a = mp.reshape %x, %s : (tensor<2x3x4xf64>, tensor<2xi64>) -> tensor<4x6xf64>
        %b = mp.unsqueeze %a {axes = array<i64: 0, 2>} : (tensor<4x6xf64>) -> tensor<1x4x1x6xf64>
        %c = mp.squeeze %b {axes = array<i64: 0>} : (tensor<1x4x1x6xf64>) -> tensor<4x1x6xf64>
        %y = mp.flatten %c {axis = 2 : i64} : (tensor<4x1x6xf64>) -> tensor<4x6xf64>
        """, [("%y", [4, 6])]))
    c.append(Case("transpose", [("x", [2, 3, 4], "normal")],
                  "%y = mp.transpose %x {perm = array<i64: 1, 2, 0>} : "
                  "(tensor<2x3x4xf64>) -> tensor<3x4x2xf64>",
                  [("%y", [3, 4, 2])]))
    c.append(Case("transpose_default", [("x", [2, 3], "normal")],
                  "%y = mp.transpose %x : (tensor<2x3xf64>) -> tensor<3x2xf64>",
                  [("%y", [3, 2])]))
    c.append(Case("concat", [("a", [2, 1, 3], "normal"),
                             ("b", [2, 2, 3], "normal"),
                             ("c", [2, 3, 3], "normal")],
                  "%y = mp.concat %a, %b, %c {axis = -2 : i64} : "
                  "(tensor<2x1x3xf64>, tensor<2x2x3xf64>, tensor<2x3x3xf64>) "
                  "-> tensor<2x6x3xf64>", [("%y", [2, 6, 3])]))
    c.append(Case("split_unused_output", [("x", [2, 6], "normal")],
                  "%a, %b, %c = mp.split %x {axis = 1 : i64, split = "
                  "array<i64: 1, 2, 3>} : (tensor<2x6xf64>) -> (tensor<2x1xf64>,"
                  " tensor<2x2xf64>, tensor<2x3xf64>)",
                  [("%a", [2, 1]), ("%c", [2, 3])]))
    c.append(Case("slice", [("x", [5, 6], "normal")],
                  "%y = mp.slice %x {starts = array<i64: 1, -1>, ends = "
                  "array<i64: 5, 0>, steps = array<i64: 2, -2>} : "
                  "(tensor<5x6xf64>) -> tensor<2x3xf64>", [("%y", [2, 3])]))
    c.append(Case("slice_axes", [("x", [3, 6], "normal")],
                  "%y = mp.slice %x {starts = array<i64: 2>, ends = "
                  "array<i64: 100>, axes = array<i64: 1>} : (tensor<3x6xf64>) "
                  "-> tensor<3x4xf64>", [("%y", [3, 4])]))
    c.append(Case("pad", [("x", [3, 4], "normal")],
                  "%y = mp.pad %x {pads = array<i64: 1, -1, 2, 0>, value = 0.5 :"
                  " f64} : (tensor<3x4xf64>) -> tensor<6x3xf64>",
                  [("%y", [6, 3])]))
    c.append(Case("gather_embedding", [("w", [5, 3], "normal"),
                                       ("i", [2, 4], ("int", -5, 5))],
                  "%y = mp.gather %w, %i : (tensor<5x3xf64>, tensor<2x4xi64>) "
                  "-> tensor<2x4x3xf64>", [("%y", [2, 4, 3])]))
    c.append(Case("gather_axis1", [("w", [2, 5, 3], "normal"),
                                   ("i", [4], ("int", 0, 5))],
                  "%y = mp.gather %w, %i {axis = 1 : i64} : (tensor<2x5x3xf64>,"
                  " tensor<4xi64>) -> tensor<2x4x3xf64>", [("%y", [2, 4, 3])]))
    c.append(Case("gather_elements", [("w", [3, 4], "normal"),
                                      ("i", [3, 5], ("int", -4, 4))],
                  "%y = mp.gather_elements %w, %i {axis = 1 : i64} : "
                  "(tensor<3x4xf64>, tensor<3x5xi64>) -> tensor<3x5xf64>",
                  [("%y", [3, 5])]))
    perm_idx = np.array([[2, 0, 1], [0, 1, 2]], np.int64)
    for red in ["none", "add"]:
        c.append(Case("scatter_elements_" + red,
                      [("d", [3, 3], "normal"), ("i", [2, 3],
                                                ("const", perm_idx)),
                       ("u", [2, 3], "normal")],
                      "%%y = mp.scatter_elements %%d, %%i, %%u {axis = 0 : "
                      "i64, reduction = \"%s\"} : (tensor<3x3xf64>, "
                      "tensor<2x3xi64>, tensor<2x3xf64>) -> tensor<3x3xf64>"
                      % red, [("%y", [3, 3])]))
        c.append(Case("scatter_nd_" + red,
                      [("d", [4, 3, 2], "normal"),
                       ("i", [2, 2], ("const", np.array([[1, 2], [-1, 0]]))),
                       ("u", [2, 2], "normal")],
                      "%%y = mp.scatter_nd %%d, %%i, %%u {reduction = \"%s\"} :"
                      " (tensor<4x3x2xf64>, tensor<2x2xi64>, tensor<2x2xf64>) "
                      "-> tensor<4x3x2xf64>" % red, [("%y", [4, 3, 2])]))
    c.append(Case("expand", [("x", [3, 1], "normal")], """
        %s = mp.constant dense<[2, 3, 4]> : tensor<3xi64>
        %y = mp.expand %x, %s : (tensor<3x1xf64>, tensor<3xi64>) -> tensor<2x3x4xf64>
        """, [("%y", [2, 3, 4])]))
    c.append(Case("trilu", [("x", [2, 4, 4], "normal")],
                  "%y = mp.trilu %x {upper = 0 : i64, k = 1 : i64} : "
                  "(tensor<2x4x4xf64>) -> tensor<2x4x4xf64>",
                  [("%y", [2, 4, 4])]))
    c.append(Case("shape_size_range_constant_of_shape",
                  [("x", [2, 3], "normal"), ("z", [3, 2], "normal")], """
        %sh = mp.shape %x : (tensor<2x3xf64>) -> tensor<2xi64>
        %r = mp.reshape %z, %sh : (tensor<3x2xf64>, tensor<2xi64>) -> tensor<?x?xf64>
        %n = mp.size %x : (tensor<2x3xf64>) -> tensor<i64>
        %nf = mp.cast %n : tensor<i64> to f64
        %c0 = mp.constant dense<0> : tensor<i64>
        %c3 = mp.constant dense<3> : tensor<i64>
        %c1 = mp.constant dense<1> : tensor<i64>
        %rg = mp.range %c0, %c3, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<3xi64>
        %rf = mp.cast %rg : tensor<3xi64> to f64
        %k = mp.constant_of_shape %sh {value = dense<2.0> : tensor<1xf64>} : (tensor<2xi64>) -> tensor<2x3xf64>
        %a = mp.mul %x, %r : (tensor<2x3xf64>, tensor<?x?xf64>) -> tensor<2x3xf64>
        %b = mp.mul %a, %k : (tensor<2x3xf64>, tensor<2x3xf64>) -> tensor<2x3xf64>
        %d = mp.mul %b, %rf : (tensor<2x3xf64>, tensor<3xf64>) -> tensor<2x3xf64>
        %y = mp.mul %d, %nf : (tensor<2x3xf64>, tensor<f64>) -> tensor<2x3xf64>
        """, [("%y", [2, 3])]))
    # Training-mode ops and losses.
    c.append(Case("dropout_training", [("x", [4, 5], "normal")],
                  "%y, %m = mp.dropout %x {ratio = 0.3 : f32, training_mode = "
                  "1 : i64, seed = 7 : i64} : (tensor<4x5xf64>) -> "
                  "(tensor<4x5xf64>, tensor<4x5xi1>)", [("%y", [4, 5])]))
    c.append(Case("dropout_inference", [("x", [4, 5], "normal")],
                  "%y, %m = mp.dropout %x : (tensor<4x5xf64>) -> "
                  "(tensor<4x5xf64>, tensor<4x5xi1>)", [("%y", [4, 5])]))
    labels = np.array([2, 0, -100, 3, 1], np.int64)
    for red, so in [("mean", []), ("sum", []), ("none", [5])]:
        c.append(Case("softmax_cross_entropy_loss_" + red,
                      [("s", [5, 4], "normal"), ("y", [5], ("const", labels)),
                       ("w", [4], ("const", np.array([0.5, 1.0, 2.0, 1.5])))],
                      "%%l, %%p = mp.softmax_cross_entropy_loss %%s, %%y, %%w "
                      "{ignore_index = -100 : i64, reduction = \"%s\"} : "
                      "(tensor<5x4xf64>, tensor<5xi64>, tensor<4xf64>) -> "
                      "(%s, tensor<5x4xf64>)" % (red, T(so)),
                      [("%l", so)]))
        c.append(Case("nll_loss_" + red,
                      [("s", [5, 4], "normal"), ("y", [5], ("const", labels)),
                       ("w", [4], ("const", np.array([0.5, 1.0, 2.0, 1.5])))],
                      "%%l = mp.nll_loss %%s, %%y, %%w {ignore_index = -100 : "
                      "i64, reduction = \"%s\"} : (tensor<5x4xf64>, "
                      "tensor<5xi64>, tensor<4xf64>) -> %s" % (red, T(so)),
                      [("%l", so)]))
    c.append(Case("softmax_cross_entropy_loss_3d_log_prob",
                  [("s", [2, 3, 4], "normal"), ("y", [2, 4], ("int", 0, 3))],
                  "%l, %p = mp.softmax_cross_entropy_loss %s, %y : "
                  "(tensor<2x3x4xf64>, tensor<2x4xi64>) -> (tensor<f64>, "
                  "tensor<2x3x4xf64>)", [("%l", []), ("%p", [2, 3, 4])]))
    return c


# Checked by python/check_training.py and the loss-scaling tests.
CHECKED_ELSEWHERE = {"sgd_update", "adam_update", "all_finite",
                     "global_norm", "loss_scale_update"}


def td_mnemonics(td_dir):
    names = set()
    for f in ("MPOps.td", "MPTrainingOps.td"):
        with open(os.path.join(td_dir, f)) as fh:
            text = fh.read()
        for m in re.finditer(r'^def MP_\w+\s*:\s*MP_\w+<"(\w+)"', text, re.M):
            names.add(m.group(1))
        # Ops defined through helper classes: def MP_NegOp : MP_UnaryOp<"neg", ...
        for m in re.finditer(r'^def MP_\w+Op\s*:\s*MP_\w+<\s*"(\w+)"', text,
                             re.M):
            names.add(m.group(1))
    return names


def ops_in(func):
    return {o.name[3:] for o in func.block.ops if o.name.startswith("mp.")}


def run_case(case, mp_opt, tmp, samples, rng, verbose):
    text = module_text(case)
    src = os.path.join(tmp, case.name + ".mlir")
    out = os.path.join(tmp, case.name + ".g.mlir")
    with open(src, "w") as f:
        f.write(text)
    r = subprocess.run([mp_opt, src, "--mp-build-training=optimizer=none",
                        "--mlir-print-op-generic", "-o", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, "mp-opt failed:\n" + r.stderr + "\n" + text, set()
    mod = mp_interp.Module.parse_file(out)
    fwd, step = mod.funcs["forward"], mod.funcs["train_step"]
    covered = ops_in(fwd) | ops_in(step)
    # Arguments of @train_step by name.
    values = {}
    for name, shape, kind in case.args:
        values[name] = gen(kind, shape, rng)
    for k, (_, shape) in enumerate(case.outs):
        values["r%d" % k] = rng.standard_normal(shape)
    args = [values[a["mp.name"]] for a in step.arg_attrs]
    seed = 11

    def loss(a):
        return float(mod.run("train_step", a, exact=True,
                             seed=seed)[-1])

    outs = mod.run("train_step", args, exact=True, seed=seed)
    worst = 0.0
    for i, attrs in enumerate(step.res_attrs):
        name = attrs.get("mp.name", "")
        if not name.endswith(".grad"):
            continue
        k = step.arg_index(name[:-5])
        analytic = np.asarray(outs[i], np.float64).reshape(-1)
        base = np.asarray(args[k], np.float64)
        n = base.size
        pick = np.arange(n) if n <= samples else rng.choice(n, samples,
                                                             replace=False)
        fd = np.zeros(len(pick))
        h = 1e-6
        for j, e in enumerate(pick):
            plus, minus = base.copy().reshape(-1), base.copy().reshape(-1)
            plus[e] += h
            minus[e] -= h
            a1, a2 = list(args), list(args)
            a1[k], a2[k] = plus.reshape(base.shape), minus.reshape(base.shape)
            fd[j] = (loss(a1) - loss(a2)) / (2 * h)
        err = np.max(np.abs(analytic[pick] - fd)) / max(np.max(np.abs(fd)),
                                                         1e-8)
        worst = max(worst, err)
        if verbose:
            print("  %s d%s: %.3g" % (case.name, name[:-5], err))
    nparams = sum(1 for a in step.res_attrs
                  if a.get("mp.name", "").endswith(".grad"))
    if nparams == 0:
        return None, "no gradients built", covered
    return worst, None, covered


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--mp-opt", required=True)
    p.add_argument("--td-dir", default=os.path.join(
        here, "..", "include", "mp", "Dialect", "MP", "IR"))
    p.add_argument("--only", help="run only cases whose name contains this")
    p.add_argument("--samples", type=int, default=24)
    p.add_argument("--tol", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    failures, covered, worst, ran = [], set(), (0.0, ""), 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases():
            if args.only and args.only not in case.name:
                continue
            err, msg, ops = run_case(case, args.mp_opt, tmp, args.samples,
                                     rng, args.verbose)
            covered |= ops
            ran += 1
            if msg:
                failures.append("%s: %s" % (case.name, msg))
                continue
            if err > worst[0]:
                worst = (err, case.name)
            if not err <= args.tol:
                failures.append("%s: relative error %.3g" % (case.name, err))
    if not args.only:
        missing = sorted(td_mnemonics(args.td_dir) - covered -
                         CHECKED_ELSEWHERE)
        if missing:
            failures.append("ops without a gradient check: " +
                            ", ".join(missing))
    checked = len(covered - CHECKED_ELSEWHERE)
    print("gradient check: %d cases, %d ops, max relative error %.3g (%s)" %
          (ran, checked, worst[0], worst[1]))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
