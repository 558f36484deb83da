#!/usr/bin/env python3
"""A small numpy interpreter for mp IR, the reference for mp's training tests.

Interpreter: the project venv, `/work/main/.venv/bin/python` (lit's %python),
which sees Debian's numpy and scipy.

It reads mp IR as `mp-opt --mlir-print-op-generic` prints it (op name,
operands, properties and attributes, result types, regions), with dense and
dense_resource constants and the functions' `mp.init` argument values, and
runs one function. Every op computes in float64 and its result is then
rounded to the element type the IR declares (f32, f16, bf16 with
round-to-nearest-even); `exact=True` keeps every float in float64 instead
(used for the finite-difference gradient checks). Semantics are ONNX's for
the forward ops and the ones documented in MPTrainingOps.td for the
gradient, optimizer and loss-scaling ops.

Library use:
    mod = Module.parse(text)               # or Module.parse_file(path)
    f = mod.funcs["train_step"]
    outs = mod.run("train_step", [arrays...], exact=False)
    f.arg_attrs[i]["mp.init"]              # numpy value of an initializer

Command line (runs a function on its mp.init values and random inputs):
    mp_interp.py model.mlir --func forward [--exact] [--seed N]
"""

import argparse
import math
import re
import sys

import numpy as np

try:
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover
    _erf = np.vectorize(math.erf)

# --------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------


class TensorType:
    def __init__(self, shape, elt):
        self.shape = shape  # list of int, None = dynamic
        self.elt = elt      # "f32", "f16", "bf16", "f64", "i64", "i32", "i1", ...

    def __repr__(self):
        dims = "x".join("?" if d is None else str(d) for d in self.shape)
        return "tensor<%s%s%s>" % (dims, "x" if dims else "", self.elt)

    @property
    def is_float(self):
        return self.elt in FLOATS


FLOATS = {"f16", "bf16", "f32", "f64"}
NP_DTYPE = {"f16": np.float16, "f32": np.float32, "f64": np.float64,
            "bf16": np.float32, "i1": np.bool_, "i8": np.int8,
            "i16": np.int16, "i32": np.int32, "i64": np.int64,
            "ui8": np.uint8, "ui16": np.uint16, "ui32": np.uint32,
            "ui64": np.uint64, "index": np.int64}
ELT_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8, "i8": 1, "i16": 2,
             "i32": 4, "i64": 8, "ui8": 1, "ui16": 2, "ui32": 4, "ui64": 8}


def round_bf16(a):
    """Rounds float values to bfloat16 (nearest even), kept as float32."""
    a = np.asarray(a, np.float32)
    bits = a.view(np.uint32).astype(np.uint64)
    sixteen = np.uint64(16)
    rounding = ((bits >> sixteen) & np.uint64(1)) + np.uint64(0x7FFF)
    out = ((bits + rounding) >> sixteen) << sixteen
    out = out.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(a), a, out)


def coerce(value, elt, exact=False):
    """Gives a computed value the storage type `elt`."""
    value = np.asarray(value)
    if elt in FLOATS:
        if exact:
            return value.astype(np.float64)
        if elt == "bf16":
            return round_bf16(value)
        return value.astype(NP_DTYPE[elt])
    if elt == "i1":
        return value.astype(np.bool_)
    return value.astype(NP_DTYPE.get(elt, np.int64))


# --------------------------------------------------------------------------
# Parser of the generic form
# --------------------------------------------------------------------------


class Op:
    __slots__ = ("name", "results", "operands", "attrs", "result_types",
                 "operand_types", "regions")

    def __init__(self):
        self.results, self.operands, self.attrs = [], [], {}
        self.result_types, self.operand_types, self.regions = [], [], []

    def get(self, key, default=None):
        return self.attrs.get(key, default)


class Block:
    def __init__(self):
        self.args, self.arg_types, self.ops = [], [], []


class ParseError(Exception):
    pass


class Parser:
    def __init__(self, text, resources):
        self.s = text
        self.i = 0
        self.resources = resources

    # -- low level ---------------------------------------------------------
    def ws(self):
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif s.startswith("//", self.i):
                j = s.find("\n", self.i)
                self.i = n if j < 0 else j + 1
            else:
                break

    def peek(self, tok):
        self.ws()
        return self.s.startswith(tok, self.i)

    def accept(self, tok):
        if self.peek(tok):
            self.i += len(tok)
            return True
        return False

    def expect(self, tok):
        if not self.accept(tok):
            raise ParseError("expected %r at %d: %r" %
                             (tok, self.i, self.s[self.i:self.i + 60]))

    def regex(self, pattern):
        self.ws()
        m = re.compile(pattern).match(self.s, self.i)
        if not m:
            raise ParseError("expected /%s/ at %d: %r" %
                             (pattern, self.i, self.s[self.i:self.i + 60]))
        self.i = m.end()
        return m.group(0)

    def string(self):
        self.ws()
        if self.s[self.i] != '"':
            raise ParseError("expected string at %d" % self.i)
        j = self.i + 1
        out = []
        while self.s[j] != '"':
            if self.s[j] == "\\":
                nxt = self.s[j + 1]
                if nxt in '"\\':
                    out.append(nxt)
                    j += 2
                elif nxt == "n":
                    out.append("\n")
                    j += 2
                elif nxt == "t":
                    out.append("\t")
                    j += 2
                else:
                    out.append(chr(int(self.s[j + 1:j + 3], 16)))
                    j += 3
            else:
                out.append(self.s[j])
                j += 1
        self.i = j + 1
        return "".join(out)

    def balanced(self, open_="<", close=">"):
        """Returns the text between a balanced pair, consuming both."""
        self.expect(open_)
        depth, j = 1, self.i
        while depth:
            c = self.s[j]
            if c == '"':
                j += 1
                while self.s[j] != '"':
                    j += 2 if self.s[j] == "\\" else 1
            elif c == open_:
                depth += 1
            elif c == close:
                depth -= 1
            j += 1
        text = self.s[self.i:j - 1]
        self.i = j
        return text

    # -- types ---------------------------------------------------------------
    def type(self):
        self.ws()
        if self.peek("tensor<"):
            self.i += len("tensor")
            return parse_tensor_type(self.balanced())
        if self.peek("("):
            ins = self.type_list_paren()
            self.expect("->")
            outs = self.type_list_paren() if self.peek("(") else [self.type()]
            return ("fn", ins, outs)
        if self.peek("!") or self.peek("vector<") or self.peek("memref<"):
            t = self.regex(r"[!\w.]+")
            if self.peek("<"):
                t += "<" + self.balanced() + ">"
            return t
        return self.regex(r"[a-z]+[0-9]*")

    def type_list_paren(self):
        self.expect("(")
        out = []
        if not self.accept(")"):
            out.append(self.type())
            while self.accept(","):
                out.append(self.type())
            self.expect(")")
        return out

    # -- attributes --------------------------------------------------------
    def attr_dict(self, open_="{", close="}"):
        out = {}
        self.expect(open_)
        if self.accept(close):
            return out
        while True:
            self.ws()
            key = self.string() if self.peek('"') else self.regex(r"[\w.$\-]+")
            if self.accept("="):
                out[key] = self.value()
            else:
                out[key] = True  # unit attribute
            if self.accept(close):
                return out
            self.expect(",")

    def value(self):
        self.ws()
        s = self.s
        if self.peek("dense_resource<"):
            self.i += len("dense_resource")
            name = self.balanced().strip()
            self.expect(":")
            t = self.type()
            return make_resource(self.resources, name, t)
        if self.peek("dense<"):
            self.i += len("dense")
            body = self.balanced()
            self.expect(":")
            t = self.type()
            return parse_dense(body, t)
        if self.peek("array<"):
            self.i += len("array")
            body = self.balanced()
            elt, _, rest = body.partition(":")
            vals = [v.strip() for v in rest.split(",") if v.strip()]
            if elt.strip().startswith("f"):
                return [float(v) for v in vals]
            return [int(v) if v not in ("true", "false") else v == "true"
                    for v in vals]
        if self.peek('"'):
            return self.string()
        if self.peek("{"):
            return self.attr_dict()
        if self.peek("["):
            self.expect("[")
            out = []
            if not self.accept("]"):
                out.append(self.value())
                while self.accept(","):
                    out.append(self.value())
                self.expect("]")
            return out
        if self.peek("#"):
            name = self.regex(r"#[\w.]+")
            if self.peek("<"):
                return (name, self.balanced())
            return name
        if self.peek("@"):
            return self.regex(r"@[\w.$\"]+")
        if self.peek("true"):
            self.i += 4
            return True
        if self.peek("false"):
            self.i += 5
            return False
        if self.peek("unit"):
            self.i += 4
            return True
        m = re.compile(r"-?0x[0-9A-Fa-f]+|[-+]?\d+(\.\d*)?([eE][-+]?\d+)?|"
                       r"[-+]?(inf|nan)").match(s, self.i)
        if m and m.group(0):
            self.i = m.end()
            text = m.group(0)
            t = None
            if self.accept(":"):
                t = self.type()
            if text.lower().lstrip("-").startswith("0x") and t in FLOATS:
                return hex_float(text, t)
            if t in FLOATS or (t is None and re.search(r"[.eEn]", text)):
                return float(text)
            return int(text, 0)
        return self.type()

    # -- ops and regions -----------------------------------------------------
    def value_ref(self):
        name = self.regex(r"%[\w.$\-]+")
        if self.accept("#"):
            name += "#" + self.regex(r"\d+")
        return name

    def op(self):
        op = Op()
        self.ws()
        if self.peek("%"):
            while True:
                name = self.regex(r"%[\w.$\-]+")
                count = 1
                if self.accept(":"):
                    count = int(self.regex(r"\d+"))
                if count == 1:
                    op.results.append(name)
                else:
                    op.results.extend("%s#%d" % (name, k) for k in range(count))
                if not self.accept(","):
                    break
            self.expect("=")
        op.name = self.string()
        self.expect("(")
        if not self.accept(")"):
            op.operands.append(self.value_ref())
            while self.accept(","):
                op.operands.append(self.value_ref())
            self.expect(")")
        if self.peek("["):
            self.balanced("[", "]")  # successors: unused here
        if self.peek("<{"):
            self.i += 1
            op.attrs.update(self.attr_dict())
            self.expect(">")
        if self.peek("("):
            self.expect("(")
            op.regions.append(self.region())
            while self.accept(","):
                op.regions.append(self.region())
            self.expect(")")
        if self.peek("{"):
            op.attrs.update(self.attr_dict())
        self.expect(":")
        ft = self.type()
        op.operand_types, op.result_types = ft[1], ft[2]
        if self.peek("loc("):
            self.i += 3
            self.balanced("(", ")")
        return op

    def region(self):
        self.expect("{")
        blocks = []
        block = Block()
        while not self.accept("}"):
            if self.peek("^"):
                if block.ops or block.args:
                    blocks.append(block)
                    block = Block()
                self.regex(r"\^[\w]+")
                if self.accept("("):
                    while True:
                        block.args.append(self.regex(r"%[\w.$\-]+"))
                        self.expect(":")
                        block.arg_types.append(self.type())
                        if self.peek("loc("):
                            self.i += 3
                            self.balanced("(", ")")
                        if not self.accept(","):
                            break
                    self.expect(")")
                self.expect(":")
                continue
            block.ops.append(self.op())
        blocks.append(block)
        return blocks


def parse_tensor_type(body):
    parts = body.split("x")
    # The element type may contain no 'x'; dims are the leading parts.
    dims, elt = [], None
    for k, p in enumerate(parts):
        p = p.strip()
        if re.fullmatch(r"\d+|\?", p) and k < len(parts) - 1:
            dims.append(None if p == "?" else int(p))
        else:
            elt = "x".join(parts[k:]).strip()
            break
    return TensorType(dims, elt)


def hex_float(text, elt):
    neg = text.startswith("-")
    v = int(text.lstrip("-"), 16)
    if elt == "f32":
        out = np.array([v], np.uint32).view(np.float32)[0]
    elif elt == "f16":
        out = np.array([v], np.uint16).view(np.float16)[0]
    elif elt == "bf16":
        out = np.array([v << 16], np.uint32).view(np.float32)[0]
    else:
        out = np.array([v], np.uint64).view(np.float64)[0]
    return -float(out) if neg else float(out)


def decode_bytes(data, t):
    """Raw little-endian element bytes of type t as a numpy array."""
    n = int(np.prod([d for d in t.shape])) if t.shape else 1
    elt = t.elt
    if elt == "i1":
        raw = np.frombuffer(data, np.uint8)
        if len(raw) == n:
            return raw.astype(np.bool_).reshape(t.shape)
        bits = np.unpackbits(raw, bitorder="little")[:n]
        return bits.astype(np.bool_).reshape(t.shape)
    if elt == "bf16":
        u = np.frombuffer(data, np.uint16).astype(np.uint32) << 16
        return u.view(np.float32).reshape(t.shape)
    return np.frombuffer(data, NP_DTYPE[elt]).copy().reshape(t.shape)


def parse_dense(body, t):
    body = body.strip()
    shape = t.shape
    n = int(np.prod(shape)) if shape else 1
    if body.startswith('"0x'):
        data = bytes.fromhex(body[3:-1])
        if t.elt == "i1":
            if len(data) == 1 and n != 1 and n > 8:
                return np.full(shape, data[0] != 0, np.bool_)
            raw = np.frombuffer(data, np.uint8)
            if len(raw) == 1 and n <= 8 and raw[0] in (0, 0xFF):
                return np.full(shape, raw[0] != 0, np.bool_)
            return decode_bytes(data, t)
        size = ELT_BYTES[t.elt]
        if len(data) == size and n != 1:
            one = decode_bytes(data, TensorType([], t.elt))
            return np.full(shape, one, one.dtype)
        return decode_bytes(data, t)
    tokens = re.findall(r"-?0x[0-9A-Fa-f]+|true|false|[-+]?(?:inf|nan)|"
                        r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", body)

    def conv(tok):
        if tok == "true":
            return True
        if tok == "false":
            return False
        if tok.lower().lstrip("-").startswith("0x"):
            if t.elt in FLOATS:
                return hex_float(tok, t.elt)
            return int(tok, 16)
        return float(tok) if t.elt in FLOATS else int(float(tok))

    vals = [conv(x) for x in tokens]
    dtype = np.float64 if t.elt in FLOATS else NP_DTYPE[t.elt]
    if len(vals) == 1 and n != 1:
        return coerce(np.full(shape, vals[0], dtype), t.elt)
    return coerce(np.array(vals, dtype).reshape(shape), t.elt)


class Resource:
    """A dense_resource reference, decoded lazily from the module's blobs."""

    def __init__(self, blobs, name, t):
        self.blobs, self.name, self.type = blobs, name, t

    def value(self):
        hexdata = self.blobs[self.name]
        data = bytes.fromhex(hexdata[2:])
        return decode_bytes(data[4:], self.type)  # 4 bytes of alignment


def make_resource(blobs, name, t):
    return Resource(blobs, name, t)


def attr_value(v):
    return v.value() if isinstance(v, Resource) else v


def parse_resources(text):
    blobs = {}
    start = text.find("{-#")
    if start < 0:
        return text, blobs
    for m in re.finditer(r'([\w.$\-]+|"[^"]*")\s*:\s*"(0x[0-9A-Fa-f]*)"',
                         text[start:]):
        blobs[m.group(1).strip('"')] = m.group(2)
    return text[:start], blobs


class Func:
    def __init__(self, op):
        self.name = op.attrs["sym_name"]
        self.op = op
        self.block = op.regions[0][0]
        ft = op.attrs["function_type"]
        self.arg_types, self.result_types = ft[1], ft[2]
        self.arg_attrs = [dict((k, attr_value(v)) for k, v in d.items())
                          for d in op.attrs.get("arg_attrs",
                                                [{}] * len(self.arg_types))]
        self.res_attrs = op.attrs.get("res_attrs",
                                      [{}] * len(self.result_types))

    def arg_index(self, name):
        for i, a in enumerate(self.arg_attrs):
            if a.get("mp.name") == name:
                return i
        raise KeyError(name)

    def result_index(self, name):
        for i, a in enumerate(self.res_attrs):
            if a.get("mp.name") == name:
                return i
        raise KeyError(name)


class Module:
    def __init__(self, funcs):
        self.funcs = funcs

    @staticmethod
    def parse(text):
        body, blobs = parse_resources(text)
        p = Parser(body, blobs)
        top = p.op()
        funcs = {}
        for block in top.regions[0]:
            for op in block.ops:
                if op.name == "func.func":
                    f = Func(op)
                    funcs[f.name] = f
        return Module(funcs)

    @staticmethod
    def parse_file(path):
        with open(path) as f:
            return Module.parse(f.read())

    def run(self, name, args, exact=False, seed=0, trace=None):
        return Interpreter(exact, seed, trace).run(self.funcs[name], args)


# --------------------------------------------------------------------------
# Op semantics
# --------------------------------------------------------------------------

OPS = {}


def op(*names):
    def register(fn):
        for n in names:
            OPS["mp." + n] = fn
        return fn
    return register


def F(x):
    """Compute type: float64 for floats, unchanged otherwise."""
    x = np.asarray(x)
    return x.astype(np.float64) if x.dtype.kind == "f" else x


def norm_axis(axis, rank):
    return axis + rank if axis < 0 else axis


@op("neg")
def _neg(o, x):
    return [-F(x)]


@op("abs")
def _abs(o, x):
    return [np.abs(F(x))]


for _n, _f in [("sqrt", np.sqrt), ("exp", np.exp), ("log", np.log),
               ("tanh", np.tanh)]:
    OPS["mp." + _n] = (lambda f: lambda o, x: [f(F(x))])(_f)


@op("reciprocal")
def _recip(o, x):
    return [1.0 / F(x)]


@op("erf")
def _erf_op(o, x):
    return [_erf(F(x))]


@op("sigmoid")
def _sigmoid(o, x):
    x = F(x)
    return [np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))),
                     np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))]


@op("relu")
def _relu(o, x):
    return [np.maximum(F(x), 0)]


@op("not")
def _not(o, x):
    return [np.logical_not(x)]


@op("identity")
def _identity(o, x):
    return [x]


@op("leaky_relu")
def _leaky(o, x):
    x, a = F(x), o.get("alpha", 0.01)
    return [np.where(x >= 0, x, a * x)]


def gelu(x, approx):
    if approx == "tanh":
        u = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
        return 0.5 * x * (1 + np.tanh(u))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


@op("gelu")
def _gelu(o, x):
    return [gelu(F(x), o.get("approximate", "none"))]


@op("gelu_grad")
def _gelu_grad(o, dy, x):
    x = F(x)
    if o.get("approximate", "none") == "tanh":
        c = math.sqrt(2 / math.pi)
        u = c * (x + 0.044715 * x ** 3)
        t = np.tanh(u)
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    else:
        d = 0.5 * (1 + _erf(x / math.sqrt(2))) + \
            x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return [F(dy) * d]


def int_div(a, b):
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


@op("add")
def _add(o, a, b):
    return [F(a) + F(b)]


@op("sub")
def _sub(o, a, b):
    return [F(a) - F(b)]


@op("mul")
def _mul(o, a, b):
    return [F(a) * F(b)]


@op("div")
def _div(o, a, b):
    if np.asarray(a).dtype.kind in "iu":
        return [int_div(a, b)]
    return [F(a) / F(b)]


@op("pow")
def _pow(o, x, y):
    return [np.power(F(x), F(y).astype(np.float64))]


@op("and")
def _and(o, a, b):
    return [np.logical_and(a, b)]


@op("or")
def _or(o, a, b):
    return [np.logical_or(a, b)]


for _n, _f in [("equal", np.equal), ("less", np.less),
               ("less_equal", np.less_equal), ("greater", np.greater),
               ("greater_equal", np.greater_equal)]:
    OPS["mp." + _n] = (lambda f: lambda o, a, b: [f(F(a), F(b))])(_f)


@op("min")
def _min(o, *xs):
    out = F(xs[0])
    for x in xs[1:]:
        out = np.minimum(out, F(x))
    return [out]


@op("max")
def _max(o, *xs):
    out = F(xs[0])
    for x in xs[1:]:
        out = np.maximum(out, F(x))
    return [out]


@op("sum")
def _sum(o, *xs):
    out = F(xs[0])
    for x in xs[1:]:
        out = out + F(x)
    return [out]


@op("where")
def _where(o, c, x, y):
    return [np.where(c, F(x), F(y))]


@op("clip")
def _clip(o, x):
    x = F(x)
    if o.get("min") is not None:
        x = np.maximum(x, o.get("min"))
    if o.get("max") is not None:
        x = np.minimum(x, o.get("max"))
    return [x]


@op("cast")
def _cast(o, x):
    to = o.get("to")
    x = np.asarray(x)
    if to == "i1":
        return [x != 0]
    if to not in FLOATS and x.dtype.kind == "f":
        return [np.trunc(x)]
    return [x]


@op("matmul")
def _matmul(o, a, b):
    return [np.matmul(F(a), F(b))]


@op("gemm")
def _gemm(o, a, b, c=None):
    a, b = F(a), F(b)
    if o.get("transA", 0):
        a = a.T
    if o.get("transB", 0):
        b = b.T
    y = o.get("alpha", 1.0) * (a @ b)
    if c is not None:
        y = y + o.get("beta", 1.0) * F(c)
    return [y]


# -- windows ------------------------------------------------------------------


def window_out(n, k, s, d, pb, pe, ceil):
    span = n + pb + pe - ((k - 1) * d + 1)
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + pb:
        out -= 1
    return out


def resolve_window(o, xshape, kernel=None):
    """(kernel, strides, pads, dilations, ceil) with auto_pad resolved."""
    n = len(xshape) - 2
    kernel = list(kernel if kernel is not None else o.get("kernel_shape"))
    strides = list(o.get("strides") or [1] * n)
    dil = list(o.get("dilations") or [1] * n)
    pads = list(o.get("pads") or [0] * (2 * n))
    auto = o.get("auto_pad", "NOTSET")
    if auto == "VALID":
        pads = [0] * (2 * n)
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(n):
            size, s = xshape[i + 2], strides[i]
            out = -(-size // s)
            total = max(0, (out - 1) * s + (kernel[i] - 1) * dil[i] + 1 - size)
            small, large = total // 2, total - total // 2
            pads[i], pads[i + n] = ((small, large) if auto == "SAME_UPPER"
                                    else (large, small))
    ceil = bool(o.get("ceil_mode", 0)) and auto not in ("SAME_UPPER",
                                                         "SAME_LOWER")
    return kernel, strides, pads, dil, ceil


def window_views(xpad, kernel, strides, dil, out):
    """Yields (kernel index, view of xpad[..., o*s + k*d]) for each offset."""
    import itertools
    for ks in itertools.product(*[range(k) for k in kernel]):
        idx = [slice(None), slice(None)]
        for i, k in enumerate(ks):
            start = k * dil[i]
            idx.append(slice(start, start + strides[i] * (out[i] - 1) + 1,
                             strides[i]))
        yield ks, tuple(idx)


def pad_spatial(x, pads, value, extra=None):
    n = x.ndim - 2
    extra = extra or [0] * n
    width = [(0, 0), (0, 0)] + [(pads[i], pads[i + n] + extra[i])
                                for i in range(n)]
    return np.pad(x, width, constant_values=value)


def extra_end(xshape, kernel, strides, pads, dil, out):
    """Padding needed after the end pads so every window fits (ceil mode)."""
    n = len(kernel)
    ext = []
    for i in range(n):
        need = (out[i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1
        have = xshape[i + 2] + pads[i] + pads[i + n]
        ext.append(max(0, need - have))
    return ext


@op("conv")
def _conv(o, x, w, b=None):
    x, w = F(x), F(w)
    kernel, strides, pads, dil, _ = resolve_window(o, x.shape, w.shape[2:])
    g = o.get("group", 1)
    n = x.ndim - 2
    out = [window_out(x.shape[i + 2], kernel[i], strides[i], dil[i], pads[i],
                      pads[i + n], False) for i in range(n)]
    xp = pad_spatial(x, pads, 0.0)
    N, C = x.shape[:2]
    M = w.shape[0]
    cg, mg = C // g, M // g
    y = np.zeros([N, M] + out)
    for ks, idx in window_views(xp, kernel, strides, dil, out):
        xv = xp[idx]
        for gi in range(g):
            wk = w[(slice(gi * mg, (gi + 1) * mg), slice(None)) + ks]
            y[:, gi * mg:(gi + 1) * mg] += np.einsum(
                "nc...,mc->nm...", xv[:, gi * cg:(gi + 1) * cg], wk)
    if b is not None:
        y += F(b).reshape([1, M] + [1] * n)
    return [y]


@op("conv_grad_input")
def _conv_grad_input(o, dy, w):
    dy, w = F(dy), F(w)
    shape = list(o.get("input_shape"))
    shape[0] = dy.shape[0]
    kernel, strides, pads, dil = (o.get("kernel_shape"), o.get("strides"),
                                  o.get("pads"), o.get("dilations"))
    g = o.get("group", 1)
    n = dy.ndim - 2
    out = list(dy.shape[2:])
    N, C = shape[:2]
    M = w.shape[0]
    cg, mg = C // g, M // g
    ext = extra_end(shape, kernel, strides, pads, dil, out)
    dxp = np.zeros([N, C] + [shape[i + 2] + pads[i] + pads[i + n] + ext[i]
                             for i in range(n)])
    for ks, idx in window_views(dxp, kernel, strides, dil, out):
        for gi in range(g):
            wk = w[(slice(gi * mg, (gi + 1) * mg), slice(None)) + ks]
            contrib = np.einsum("nm...,mc->nc...",
                                dy[:, gi * mg:(gi + 1) * mg], wk)
            view = dxp[idx]
            view[:, gi * cg:(gi + 1) * cg] += contrib
    crop = (slice(None), slice(None)) + tuple(
        slice(pads[i], pads[i] + shape[i + 2]) for i in range(n))
    return [dxp[crop]]


@op("conv_grad_filter")
def _conv_grad_filter(o, x, dy):
    x, dy = F(x), F(dy)
    kernel, strides, pads, dil = (o.get("kernel_shape"), o.get("strides"),
                                  o.get("pads"), o.get("dilations"))
    g = o.get("group", 1)
    out = list(dy.shape[2:])
    ext = extra_end(x.shape, kernel, strides, pads, dil, out)
    xp = pad_spatial(x, pads, 0.0, ext)
    N, C = x.shape[:2]
    M = dy.shape[1]
    cg, mg = C // g, M // g
    dw = np.zeros([M, cg] + list(kernel))
    for ks, idx in window_views(xp, kernel, strides, dil, out):
        xv = xp[idx]
        for gi in range(g):
            d = dy[:, gi * mg:(gi + 1) * mg].reshape(N, mg, -1)
            xx = xv[:, gi * cg:(gi + 1) * cg].reshape(N, cg, -1)
            dw[(slice(gi * mg, (gi + 1) * mg), slice(None)) + ks] = np.einsum(
                "nmp,ncp->mc", d, xx)
    return [dw]


def pool_setup(o, xshape):
    kernel, strides, pads, dil, ceil = resolve_window(o, xshape)
    n = len(xshape) - 2
    out = [window_out(xshape[i + 2], kernel[i], strides[i], dil[i], pads[i],
                      pads[i + n], ceil) for i in range(n)]
    ext = extra_end(xshape, kernel, strides, pads, dil, out)
    return kernel, strides, pads, dil, out, ext


@op("max_pool")
def _max_pool(o, x):
    x = F(x)
    kernel, strides, pads, dil, out, ext = pool_setup(o, x.shape)
    xp = pad_spatial(x, pads, -np.inf, ext)
    y = np.full(list(x.shape[:2]) + out, -np.inf)
    for _, idx in window_views(xp, kernel, strides, dil, out):
        y = np.maximum(y, xp[idx])
    return [y]


@op("max_pool_grad")
def _max_pool_grad(o, dy, x):
    x, dy = F(x), F(dy)
    kernel, strides, pads, dil = (o.get("kernel_shape"), o.get("strides"),
                                  o.get("pads"), o.get("dilations"))
    n = x.ndim - 2
    out = list(dy.shape[2:])
    ext = extra_end(x.shape, kernel, strides, pads, dil, out)
    xp = pad_spatial(x, pads, -np.inf, ext)
    best = np.full(dy.shape, -np.inf)
    arg = np.zeros(dy.shape, np.int64)
    views = list(window_views(xp, kernel, strides, dil, out))
    for j, (_, idx) in enumerate(views):
        v = xp[idx]
        take = v > best  # strict: the first maximum in row-major order wins
        best = np.where(take, v, best)
        arg = np.where(take, j, arg)
    dxp = np.zeros(xp.shape)
    for j, (_, idx) in enumerate(views):
        view = dxp[idx]
        view += np.where(arg == j, dy, 0.0)
    crop = (slice(None), slice(None)) + tuple(
        slice(pads[i], pads[i] + x.shape[i + 2]) for i in range(n))
    return [dxp[crop]]


def avg_counts(xshape, kernel, strides, pads, dil, out, ext, include_pad):
    n = len(kernel)
    inside = np.zeros([1, 1] + [xshape[i + 2] + pads[i] + pads[i + n] + ext[i]
                                for i in range(n)])
    region = (slice(None), slice(None)) + tuple(
        slice(0 if include_pad else pads[i],
              (xshape[i + 2] + pads[i] + pads[i + n]) if include_pad
              else pads[i] + xshape[i + 2]) for i in range(n))
    inside[region] = 1.0
    cnt = np.zeros([1, 1] + out)
    for _, idx in window_views(inside, kernel, strides, dil, out):
        cnt = cnt + inside[idx]
    return cnt


@op("average_pool")
def _average_pool(o, x):
    x = F(x)
    kernel, strides, pads, dil, out, ext = pool_setup(o, x.shape)
    xp = pad_spatial(x, pads, 0.0, ext)
    s = np.zeros(list(x.shape[:2]) + out)
    for _, idx in window_views(xp, kernel, strides, dil, out):
        s = s + xp[idx]
    cnt = avg_counts(x.shape, kernel, strides, pads, dil, out, ext,
                     o.get("count_include_pad", 0))
    return [s / cnt]


@op("average_pool_grad")
def _average_pool_grad(o, dy):
    dy = F(dy)
    shape = list(o.get("input_shape"))
    kernel, strides, pads, dil = (o.get("kernel_shape"), o.get("strides"),
                                  o.get("pads"), o.get("dilations"))
    n = dy.ndim - 2
    out = list(dy.shape[2:])
    ext = extra_end(shape, kernel, strides, pads, dil, out)
    cnt = avg_counts(shape, kernel, strides, pads, dil, out, ext,
                     o.get("count_include_pad", 0))
    share = dy / cnt
    dxp = np.zeros(list(dy.shape[:2]) + [shape[i + 2] + pads[i] + pads[i + n]
                                         + ext[i] for i in range(n)])
    for _, idx in window_views(dxp, kernel, strides, dil, out):
        view = dxp[idx]
        view += share
    crop = (slice(None), slice(None)) + tuple(
        slice(pads[i], pads[i] + shape[i + 2]) for i in range(n))
    return [dxp[crop]]


@op("global_average_pool")
def _gap(o, x):
    x = F(x)
    return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)]


# -- softmax, norms -------------------------------------------------------------


def log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


@op("softmax")
def _softmax(o, x):
    x = F(x)
    return [np.exp(log_softmax(x, norm_axis(o.get("axis", -1), x.ndim)))]


@op("log_softmax")
def _log_softmax(o, x):
    x = F(x)
    return [log_softmax(x, norm_axis(o.get("axis", -1), x.ndim))]


@op("softmax_grad")
def _softmax_grad(o, dy, y):
    dy, y = F(dy), F(y)
    ax = norm_axis(o.get("axis", -1), y.ndim)
    return [y * (dy - np.sum(dy * y, axis=ax, keepdims=True))]


@op("log_softmax_grad")
def _log_softmax_grad(o, dy, y):
    dy, y = F(dy), F(y)
    ax = norm_axis(o.get("axis", -1), y.ndim)
    return [dy - np.exp(y) * np.sum(dy, axis=ax, keepdims=True)]


@op("layer_norm")
def _layer_norm(o, x, scale, b=None):
    x = F(x)
    ax = norm_axis(o.get("axis", -1), x.ndim)
    axes = tuple(range(ax, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(var + o.get("epsilon", 1e-5))
    y = (x - mean) * inv * F(scale)
    if b is not None:
        y = y + F(b)
    return [y, mean, inv]


@op("layer_norm_grad")
def _layer_norm_grad(o, dy, x, scale, mean, inv):
    dy, x, scale, mean, inv = map(F, (dy, x, scale, mean, inv))
    ax = norm_axis(o.get("axis", -1), x.ndim)
    axes = tuple(range(ax, x.ndim))
    lead = tuple(range(ax))
    xhat = (x - mean) * inv
    dxhat = dy * scale
    dx = inv * (dxhat - dxhat.mean(axis=axes, keepdims=True) -
                xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))
    return [dx, np.sum(dy * xhat, axis=lead), np.sum(dy, axis=lead)]


def bn_shape(x):
    return [1, x.shape[1]] + [1] * (x.ndim - 2)


@op("batch_norm")
def _batch_norm(o, x, scale, b, mean, var):
    x = F(x)
    eps, mom = o.get("epsilon", 1e-5), o.get("momentum", 0.9)
    sh = bn_shape(x)
    axes = tuple([0] + list(range(2, x.ndim)))
    if o.get("training_mode", 0):
        bm = x.mean(axis=axes)
        bv = ((x - bm.reshape(sh)) ** 2).mean(axis=axes)
        rm = F(mean) * mom + bm * (1 - mom)
        rv = F(var) * mom + bv * (1 - mom)
    else:
        bm, bv, rm, rv = F(mean), F(var), mean, var
    y = (x - bm.reshape(sh)) / np.sqrt(bv.reshape(sh) + eps) * \
        F(scale).reshape(sh) + F(b).reshape(sh)
    return [y, rm, rv]


@op("batch_norm_grad")
def _batch_norm_grad(o, dy, x, scale):
    dy, x, scale = F(dy), F(x), F(scale)
    sh = bn_shape(x)
    axes = tuple([0] + list(range(2, x.ndim)))
    m = x.mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(((x - m) ** 2).mean(axis=axes, keepdims=True) +
                        o.get("epsilon", 1e-5))
    xhat = (x - m) * inv
    dx = scale.reshape(sh) * inv * (
        dy - dy.mean(axis=axes, keepdims=True) -
        xhat * (dy * xhat).mean(axis=axes, keepdims=True))
    return [dx, np.sum(dy * xhat, axis=axes), np.sum(dy, axis=axes)]


# -- reductions -----------------------------------------------------------------


def reduce_axes(o, x):
    axes = o.get("axes")
    if not axes:
        if o.get("noop_with_empty_axes", 0):
            return None
        return tuple(range(x.ndim))
    return tuple(norm_axis(a, x.ndim) for a in axes)


def make_reduce(fn):
    def run(o, x):
        axes = reduce_axes(o, np.asarray(x))
        if axes is None:
            return [x]
        return [fn(F(x), axis=axes, keepdims=bool(o.get("keepdims", 1)))]
    return run


OPS["mp.reduce_sum"] = make_reduce(np.sum)
OPS["mp.reduce_mean"] = make_reduce(np.mean)
OPS["mp.reduce_max"] = make_reduce(np.max)


# -- data movement ------------------------------------------------------------


@op("reshape")
def _reshape(o, x, shape):
    x = np.asarray(x)
    shape = [int(d) for d in shape]
    if not o.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


@op("flatten")
def _flatten(o, x):
    x = np.asarray(x)
    ax = o.get("axis", 1)
    ax = ax + x.ndim if ax < 0 else ax
    return [x.reshape(int(np.prod(x.shape[:ax])), -1)]


@op("transpose")
def _transpose(o, x):
    return [np.transpose(x, o.get("perm"))]


@op("squeeze")
def _squeeze(o, x):
    x = np.asarray(x)
    axes = o.get("axes")
    if axes is None:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(norm_axis(a, x.ndim) for a in axes))]


@op("unsqueeze")
def _unsqueeze(o, x):
    x = np.asarray(x)
    axes = o.get("axes")
    r = x.ndim + len(axes)
    out = x
    for a in sorted(norm_axis(a, r) for a in axes):
        out = np.expand_dims(out, a)
    return [out]


@op("concat")
def _concat(o, *xs):
    return [np.concatenate(xs, axis=o.get("axis"))]


@op("split")
def _split(o, x):
    x = np.asarray(x)
    ax = norm_axis(o.get("axis", 0), x.ndim)
    cuts = np.cumsum(o.get("split"))[:-1]
    return list(np.split(x, cuts, axis=ax))


def slice_index(o, shape):
    starts, ends = o.get("starts"), o.get("ends")
    axes = o.get("axes") or list(range(len(starts)))
    steps = o.get("steps") or [1] * len(starts)
    idx = [slice(None)] * len(shape)
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = norm_axis(a, len(shape))
        dim = shape[a]
        s = s + dim if s < 0 else s
        e = e + dim if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), dim), min(max(e, 0), dim)
        else:
            s, e = min(max(s, 0), dim - 1), min(max(e, -1), dim - 1)
        idx[a] = slice(s, e if e >= 0 else None, st)
    return tuple(idx)


@op("slice")
def _slice(o, x):
    x = np.asarray(x)
    return [x[slice_index(o, x.shape)]]


@op("slice_grad")
def _slice_grad(o, dy):
    shape = o.get("input_shape")
    dx = np.zeros(shape)
    dx[slice_index(o, shape)] = F(dy)
    return [dx]


@op("pad")
def _pad(o, x):
    x = np.asarray(x)
    pads = o.get("pads")
    n = x.ndim
    # Negative pads crop first.
    crop = tuple(slice(max(-pads[i], 0), x.shape[i] - max(-pads[i + n], 0))
                 for i in range(n))
    x = x[crop]
    width = [(max(pads[i], 0), max(pads[i + n], 0)) for i in range(n)]
    return [np.pad(F(x), width, constant_values=o.get("value", 0.0))]


@op("gather")
def _gather(o, x, idx):
    x = np.asarray(x)
    ax = norm_axis(o.get("axis", 0), x.ndim)
    idx = np.asarray(idx).astype(np.int64)
    idx = np.where(idx < 0, idx + x.shape[ax], idx)
    return [np.take(x, idx, axis=ax)]


@op("gather_elements")
def _gather_elements(o, x, idx):
    x = np.asarray(x)
    ax = norm_axis(o.get("axis", 0), x.ndim)
    idx = np.asarray(idx).astype(np.int64)
    idx = np.where(idx < 0, idx + x.shape[ax], idx)
    return [np.take_along_axis(x, idx, axis=ax)]


def reduce_into(out, index, upd, red):
    if red == "none":
        out[index] = upd
    elif red == "add":
        out[index] += upd
    elif red == "mul":
        out[index] *= upd
    elif red == "max":
        out[index] = max(out[index], upd)
    elif red == "min":
        out[index] = min(out[index], upd)


@op("scatter_elements")
def _scatter_elements(o, x, idx, upd):
    out = F(np.array(x, copy=True))
    ax = norm_axis(o.get("axis", 0), out.ndim)
    idx = np.asarray(idx).astype(np.int64)
    upd = F(upd)
    red = o.get("reduction", "none")
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        i = idx[pos]
        tgt[ax] = i + out.shape[ax] if i < 0 else i
        reduce_into(out, tuple(tgt), upd[pos], red)
    return [out]


@op("scatter_nd")
def _scatter_nd(o, x, idx, upd):
    out = F(np.array(x, copy=True))
    idx = np.asarray(idx).astype(np.int64)
    upd = F(upd)
    red = o.get("reduction", "none")
    k = idx.shape[-1]
    for pos in np.ndindex(*idx.shape[:-1]):
        tgt = tuple(int(i) + (out.shape[j] if i < 0 else 0)
                    for j, i in enumerate(idx[pos]))
        if red == "none":
            out[tgt] = upd[pos]
        elif red == "add":
            out[tgt] += upd[pos]
        elif red == "mul":
            out[tgt] *= upd[pos]
        elif red == "max":
            out[tgt] = np.maximum(out[tgt], upd[pos])
        else:
            out[tgt] = np.minimum(out[tgt], upd[pos])
    del k
    return [out]


@op("expand")
def _expand(o, x, shape):
    x = np.asarray(x)
    shape = [int(d) for d in shape]
    target = np.broadcast_shapes(x.shape, tuple(shape))
    return [np.broadcast_to(x, target).copy()]


@op("trilu")
def _trilu(o, x):
    x = np.asarray(x)
    k = o.get("k", 0)
    if o.get("upper", 1):
        return [np.triu(x, k)]
    return [np.tril(x, k)]


@op("shape")
def _shape(o, x):
    r = np.asarray(x).ndim
    start, end = o.get("start", 0), o.get("end", r)
    start = min(max(start + r if start < 0 else start, 0), r)
    end = min(max(end + r if end < 0 else end, 0), r)
    return [np.array(np.asarray(x).shape[start:max(start, end)], np.int64)]


@op("size")
def _size(o, x):
    return [np.array(np.asarray(x).size, np.int64)]


@op("range")
def _range(o, start, limit, delta):
    return [np.arange(start, limit, delta)]


@op("constant")
def _constant(o):
    return [attr_value(o.get("value"))]


@op("constant_of_shape")
def _constant_of_shape(o, shape):
    v = o.get("value")
    v = 0.0 if v is None else np.asarray(attr_value(v)).reshape(-1)[0]
    return [np.full([int(d) for d in shape], v)]


# -- training-mode ops and losses ---------------------------------------------


@op("dropout")
def _dropout(o, x, interp=None):
    x = F(x)
    ratio = o.get("ratio", 0.5)
    if not o.get("training_mode", 0) or ratio == 0:
        return [x, np.ones(x.shape, np.bool_)]
    rng = interp.rng if interp is not None else np.random.default_rng(0)
    mask = rng.random(x.shape) >= ratio
    return [np.where(mask, x / (1 - ratio), 0.0), mask]


def loss_parts(o, logp, labels, weights):
    """Per-element -w*logp[label], weights and the valid mask (N x D...)."""
    labels = np.asarray(labels).astype(np.int64)
    ign = o.get("ignore_index")
    valid = np.ones(labels.shape, np.bool_) if ign is None else labels != ign
    safe = np.where(valid, labels, 0)
    picked = np.take_along_axis(logp, np.expand_dims(safe, 1), axis=1)[:, 0]
    w = np.ones(labels.shape) if weights is None else F(weights)[safe]
    w = np.where(valid, w, 0.0)
    return -picked * w, w, safe, valid


def reduce_loss(o, per, w):
    red = o.get("reduction", "mean")
    if red == "none":
        return per
    if red == "sum":
        return np.sum(per)
    return np.sum(per) / np.sum(w)


@op("softmax_cross_entropy_loss")
def _sce(o, scores, labels, weights=None):
    logp = log_softmax(F(scores), 1)
    per, w, _, _ = loss_parts(o, logp, labels, weights)
    return [reduce_loss(o, per, w), logp]


@op("nll_loss")
def _nll(o, x, labels, weights=None):
    per, w, _, _ = loss_parts(o, F(x), labels, weights)
    return [reduce_loss(o, per, w)]


def loss_grad(o, dloss, primal, labels, weights, softmax):
    primal = F(primal)
    _, w, safe, valid = loss_parts(o, primal, labels, weights)
    red = o.get("reduction", "mean")
    dloss = F(dloss)
    if red == "none":
        scale = w * dloss
    elif red == "sum":
        scale = w * dloss
    else:
        scale = w * dloss / np.sum(w)
    onehot = np.zeros(primal.shape)
    np.put_along_axis(onehot, np.expand_dims(safe, 1), 1.0, axis=1)
    base = (np.exp(primal) - onehot) if softmax else -onehot
    return base * np.expand_dims(scale, 1)


@op("softmax_cross_entropy_loss_grad")
def _sce_grad(o, dloss, logp, labels, weights=None):
    return [loss_grad(o, dloss, logp, labels, weights, True)]


@op("nll_loss_grad")
def _nll_grad(o, dloss, x, labels, weights=None):
    return [loss_grad(o, dloss, x, labels, weights, False)]


# -- optimizers and loss scaling ----------------------------------------------


def segments(o, names, operands):
    """Maps the operands of an AttrSizedOperandSegments op to names."""
    sizes = o.get("operandSegmentSizes")
    out, k = {}, 0
    for name, size in zip(names, sizes):
        out[name] = operands[k] if size else None
        k += size
    return out


def f32(x):
    return np.float32(x)


@op("sgd_update")
def _sgd(o, *operands):
    a = segments(o, ["param", "grad", "momentum_buffer", "step", "lr",
                     "inv_scale", "found_inf"], operands)
    p, g = F(a["param"]), F(a["grad"])
    buf = a["momentum_buffer"]
    if a["found_inf"] is not None and bool(a["found_inf"]):
        return [p] + ([buf] if buf is not None else [])
    lr = float(a["lr"])
    mom, damp = o.get("momentum", 0.0), o.get("dampening", 0.0)
    wd, nest = o.get("weight_decay", 0.0), o.get("nesterov", False)
    if a["inv_scale"] is not None:
        g = g * float(a["inv_scale"])
    if wd:
        g = g + wd * p
    outs = []
    if mom:
        first = a.get("step") is not None and int(a["step"]) == 1
        b = g if first else mom * F(buf) + (1 - damp) * g
        g = g + mom * b if nest else b
        outs = [b]
    return [p - lr * g] + outs


@op("adam_update")
def _adam(o, *operands):
    a = segments(o, ["param", "grad", "exp_avg", "exp_avg_sq", "step", "lr",
                     "inv_scale", "found_inf"], operands)
    p, g, m, v = F(a["param"]), F(a["grad"]), F(a["exp_avg"]), \
        F(a["exp_avg_sq"])
    if a["found_inf"] is not None and bool(a["found_inf"]):
        return [p, m, v]
    lr, t = float(a["lr"]), float(a["step"])
    b1, b2 = o.get("beta1", 0.9), o.get("beta2", 0.999)
    eps, wd = o.get("eps", 1e-8), o.get("weight_decay", 0.0)
    if a["inv_scale"] is not None:
        g = g * float(a["inv_scale"])
    if o.get("decoupled_weight_decay", False):
        p = p * (1 - lr * wd)
    elif wd:
        g = g + wd * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
    denom = np.sqrt(v) / math.sqrt(bc2) + eps
    return [p - (lr / bc1) * m / denom, m, v]


@op("all_finite")
def _all_finite(o, *xs):
    return [np.array(all(np.all(np.isfinite(F(x))) for x in xs))]


@op("global_norm")
def _global_norm(o, *xs):
    return [np.sqrt(sum(np.sum(F(x) ** 2) for x in xs))]


@op("loss_scale_update")
def _loss_scale_update(o, scale, tracker, found_inf):
    scale, tracker = float(scale), int(tracker)
    g, b = o.get("growth_factor", 2.0), o.get("backoff_factor", 0.5)
    interval = o.get("growth_interval", 2000)
    lo, hi = o.get("min_scale", 1.0), o.get("max_scale", 2.0 ** 24)
    if bool(found_inf):
        return [np.float32(max(f32(scale * b), lo)), np.int64(0)]
    tracker += 1
    if tracker >= interval:
        grown = f32(scale * g)
        if np.isfinite(grown):
            scale = min(float(grown), hi)
        tracker = 0
    return [np.float32(scale), np.int64(tracker)]


# --------------------------------------------------------------------------
# The interpreter
# --------------------------------------------------------------------------


class Interpreter:
    def __init__(self, exact=False, seed=0, trace=None):
        self.exact = exact
        self.rng = np.random.default_rng(seed)
        self.trace = trace

    def run(self, func, args):
        # Overflow to inf and NaN are values here, not errors (loss scaling).
        with np.errstate(all="ignore"):
            return self._run(func, args)

    def _run(self, func, args):
        if len(args) != len(func.arg_types):
            raise ValueError("@%s takes %d arguments, got %d" %
                             (func.name, len(func.arg_types), len(args)))
        env = {}
        for name, t, a in zip(func.block.args, func.arg_types, args):
            env[name] = coerce(a, t.elt, self.exact)
        for o in func.block.ops:
            if o.name == "func.return":
                return [env[v] for v in o.operands]
            fn = OPS.get(o.name)
            if fn is None:
                raise NotImplementedError("no semantics for '%s'" % o.name)
            ins = [env[v] for v in o.operands]
            if o.name == "mp.dropout":
                outs = fn(o, *ins, interp=self)
            else:
                outs = fn(o, *ins)
            if len(outs) != len(o.results):
                raise RuntimeError("%s returned %d values for %d results" %
                                   (o.name, len(outs), len(o.results)))
            for name, t, v in zip(o.results, o.result_types, outs):
                v = coerce(v, t.elt, self.exact)
                want = [d for d in t.shape]
                if list(v.shape) != [d if d is not None else v.shape[i]
                                     for i, d in enumerate(want)]:
                    raise RuntimeError("%s: result %s has shape %s, the IR "
                                       "says %s" % (o.name, name,
                                                    list(v.shape), t))
                env[name] = v
                if self.trace is not None:
                    self.trace(o, name, v)
        raise RuntimeError("@%s has no func.return" % func.name)


def default_args(func, rng, int_high=10):
    """mp.init values for state, random values for inputs and labels."""
    args = []
    for t, attrs in zip(func.arg_types, func.arg_attrs):
        init = attrs.get("mp.init")
        shape = [d if d is not None else 1 for d in t.shape]
        if init is not None:
            args.append(np.asarray(init))
        elif t.is_float:
            args.append(rng.standard_normal(shape))
        elif t.elt == "i1":
            args.append(rng.random(shape) < 0.5)
        else:
            args.append(rng.integers(0, int_high, shape))
    return args


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("input", help="mp IR in the generic form")
    p.add_argument("--func", default="forward")
    p.add_argument("--exact", action="store_true",
                   help="keep every float in float64")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--int-high", type=int, default=10,
                   help="random integer inputs lie in [0, N)")
    args = p.parse_args(argv)
    mod = Module.parse_file(args.input)
    f = mod.funcs[args.func]
    rng = np.random.default_rng(args.seed)
    outs = mod.run(args.func, default_args(f, rng, args.int_high),
                   exact=args.exact, seed=args.seed)
    for attrs, v in zip(f.res_attrs, outs):
        name = attrs.get("mp.name", "?")
        v = np.asarray(v)
        print("%s: %s %s %s" % (name, v.dtype, list(v.shape),
                                np.array2string(v.reshape(-1)[:4],
                                                precision=6)))


if __name__ == "__main__":
    main()
