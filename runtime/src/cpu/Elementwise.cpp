//===- Elementwise.cpp - unary, binary, variadic, select, clip, cast ------===//
//
// Elementwise kernels with numpy broadcasting. Floating-point storage types
// compute in f32 (f64 in f64) and round the result once into the result's
// dtype; integer types compute in int64 and wrap on store.
//
//===----------------------------------------------------------------------===//
#include "Kernel.h"

#include <cstring>
#include <limits>
#include <unordered_map>

namespace mp::rt::cpu {
namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

enum class Allow { Float, Numeric, Bool, Any };

bool allowed(DType t, Allow a) {
  switch (a) {
  case Allow::Float:
    return isFloat(t);
  case Allow::Numeric:
    return t != DType::Bool;
  case Allow::Bool:
    return t == DType::Bool;
  case Allow::Any:
    return true;
  }
  return false;
}

Status sameTypeAndShape(KernelContext &c, const TensorView &x,
                        const TensorView &y) {
  if (x.dtype != y.dtype)
    return c.error(std::string("result dtype ") + dtypeName(y.dtype) +
                   " differs from operand dtype " + dtypeName(x.dtype));
  if (x.shape != y.shape)
    return c.error("result shape " + shapeStr(y.shape) +
                   " differs from operand shape " + shapeStr(x.shape));
  return Status::success();
}

enum class U {
  Neg,
  Abs,
  Sqrt,
  Reciprocal,
  Exp,
  Log,
  Erf,
  Tanh,
  Sigmoid,
  Relu,
  LeakyRelu,
  Gelu,
  GeluTanh
};

U unaryOp(const std::string &k) {
  static const std::unordered_map<std::string, U> m = {
      {"neg", U::Neg},
      {"abs", U::Abs},
      {"sqrt", U::Sqrt},
      {"reciprocal", U::Reciprocal},
      {"exp", U::Exp},
      {"log", U::Log},
      {"erf", U::Erf},
      {"tanh", U::Tanh},
      {"sigmoid", U::Sigmoid},
      {"relu", U::Relu},
      {"leaky_relu", U::LeakyRelu},
      {"gelu", U::Gelu}};
  return m.at(k);
}

template <typename T> T applyUnary(U op, T x, T alpha) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
    case U::Neg:
      return -x;
    case U::Abs:
      return std::fabs(x);
    case U::Sqrt:
      return std::sqrt(x);
    case U::Reciprocal:
      return T(1) / x;
    case U::Exp:
      return std::exp(x);
    case U::Log:
      return std::log(x);
    case U::Erf:
      return std::erf(x);
    case U::Tanh:
      return std::tanh(x);
    case U::Sigmoid:
      return T(1) / (T(1) + std::exp(-x));
    case U::Relu:
      return x > T(0) ? x : (std::isnan(x) ? x : T(0));
    case U::LeakyRelu:
      return x >= T(0) ? x : alpha * x;
    case U::GeluTanh:
      return T(0.5) * x *
             (T(1) +
              std::tanh(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x)));
    case U::Gelu:
      return T(0.5) * x * (T(1) + std::erf(x * T(kSqrt1_2)));
    }
  } else {
    switch (op) {
    case U::Neg:
      return T(0) - x;
    case U::Abs:
      return x < 0 ? T(0) - x : x;
    case U::Relu:
      return x > 0 ? x : T(0);
    default:
      break;
    }
  }
  return x;
}

/// Unary kernels that compute (not identity/not).
template <Allow A> Status unaryKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  U op = unaryOp(c.ins.kernel);
  double alpha = 0;
  if (op == U::LeakyRelu)
    alpha = float(c.f64("alpha", 0.01)); // an F32Attr in the dialect
  if (op == U::Gelu) {
    std::string a = c.str("approximate", "none");
    if (a != "none" && a != "tanh")
      return c.error("approximate must be \"none\" or \"tanh\", got '" + a +
                     "'");
    if (a == "tanh")
      op = U::GeluTanh;
  }
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameTypeAndShape(c, x, y));
  if (!allowed(x.dtype, A))
    return c.unsupported(std::string("dtype ") + dtypeName(x.dtype) +
                         " is not supported");
  if (c.validateOnly)
    return Status::success();
  return dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    Input<T> a(x);
    Output<T> o(y);
    int64_t n = x.numel();
    T al = T(alpha);
    for (int64_t i = 0; i < n; ++i)
      o[i] = applyUnary<T>(op, a[i], al);
    o.commit();
    return Status::success();
  });
}

Status identityKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  MP_RT_TRY(sameTypeAndShape(c, c.in(0), c.out(0)));
  if (!c.validateOnly && c.in(0).data != c.out(0).data)
    std::memmove(c.out(0).data, c.in(0).data, c.in(0).bytes());
  return Status::success();
}

Status notKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  MP_RT_TRY(sameTypeAndShape(c, c.in(0), c.out(0)));
  if (c.in(0).dtype != DType::Bool)
    return c.unsupported("operand must be bool");
  if (c.validateOnly)
    return Status::success();
  const uint8_t *a = c.in(0).data;
  uint8_t *o = c.out(0).data;
  for (int64_t i = 0, n = c.in(0).numel(); i < n; ++i)
    o[i] = a[i] == 0;
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Binary and variadic with broadcasting
//===----------------------------------------------------------------------===//

enum class BinKind { Arith, Pow, Compare, Logic };

BinKind binKind(const std::string &k) {
  if (k == "pow")
    return BinKind::Pow;
  if (k == "and" || k == "or")
    return BinKind::Logic;
  if (k == "equal" || k == "less" || k == "less_equal" || k == "greater" ||
      k == "greater_equal")
    return BinKind::Compare;
  return BinKind::Arith;
}

Status checkBroadcast(KernelContext &c, const std::vector<TensorView *> &ins,
                      const TensorView &y) {
  std::vector<const Shape *> shapes;
  for (TensorView *t : ins)
    shapes.push_back(&t->shape);
  Shape out;
  if (!broadcastShapes(shapes, out)) {
    std::string s;
    for (TensorView *t : ins)
      s += (s.empty() ? "" : " and ") + shapeStr(t->shape);
    return c.error("shapes " + s + " do not broadcast");
  }
  if (out != y.shape)
    return c.error("result shape " + shapeStr(y.shape) +
                   " differs from the broadcast shape " + shapeStr(out));
  return Status::success();
}

enum class B { Add, Sub, Mul, Div, Pow, Eq, Lt, Le, Gt, Ge };

B binaryCode(const std::string &k) {
  static const std::unordered_map<std::string, B> m = {
      {"add", B::Add},          {"sub", B::Sub},       {"mul", B::Mul},
      {"div", B::Div},          {"pow", B::Pow},       {"equal", B::Eq},
      {"less", B::Lt},          {"less_equal", B::Le}, {"greater", B::Gt},
      {"greater_equal", B::Ge}, {"and", B::Add},       {"or", B::Add}};
  return m.at(k);
}

template <typename T> T binaryOp(B k, T a, T b, bool &divZero) {
  if (k == B::Add)
    return a + b;
  if (k == B::Sub)
    return a - b;
  if (k == B::Mul)
    return a * b;
  if (k == B::Div) {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) {
        divZero = true;
        return 0;
      }
      if (b == -1)
        return T(0) - a; // avoids INT64_MIN / -1
    }
    return a / b;
  }
  if (k == B::Pow) {
    if constexpr (std::is_integral_v<T>)
      return T(std::pow(double(a), double(b)));
    else
      return std::pow(a, b);
  }
  return a;
}

template <typename T> bool compareOp(B k, T a, T b) {
  if (k == B::Eq)
    return a == b;
  if (k == B::Lt)
    return a < b;
  if (k == B::Le)
    return a <= b;
  if (k == B::Gt)
    return a > b;
  return a >= b; // greater_equal
}

Status binaryKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  const std::string &k = c.ins.kernel;
  TensorView &a = c.in(0), &b = c.in(1), &y = c.out(0);
  BinKind kind = binKind(k);
  if (kind != BinKind::Pow && a.dtype != b.dtype)
    return c.error(std::string("operand dtypes differ: ") + dtypeName(a.dtype) +
                   " and " + dtypeName(b.dtype));
  DType want = kind == BinKind::Compare ? DType::Bool : a.dtype;
  if (y.dtype != want)
    return c.error(std::string("result dtype must be ") + dtypeName(want) +
                   ", got " + dtypeName(y.dtype));
  if (kind == BinKind::Logic
          ? a.dtype != DType::Bool
          : (a.dtype == DType::Bool ||
             (kind == BinKind::Pow && b.dtype == DType::Bool)))
    return c.unsupported(std::string("dtype ") + dtypeName(a.dtype) +
                         " is not supported");
  MP_RT_TRY(checkBroadcast(c, {&a, &b}, y));
  if (c.validateOnly)
    return Status::success();

  std::vector<std::vector<int64_t>> st = {broadcastStrides(a.shape, y.shape),
                                          broadcastStrides(b.shape, y.shape)};
  if (kind == BinKind::Logic) {
    const uint8_t *pa = a.data, *pb = b.data;
    uint8_t *py = y.data;
    bool isAnd = k == "and";
    forEachBroadcast(
        y.shape, st,
        [&](int64_t s, int64_t n, const int64_t *o, const int64_t *in) {
          for (int64_t i = 0; i < n; ++i) {
            bool x = pa[o[0] + i * in[0]], z = pb[o[1] + i * in[1]];
            py[s + i] = isAnd ? (x && z) : (x || z);
          }
        });
    return Status::success();
  }
  bool divZero = false;
  B code = binaryCode(k);
  dispatchCompute(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    Input<T> ia(a), ib(b);
    if (kind == BinKind::Compare) {
      uint8_t *py = y.data;
      forEachBroadcast(
          y.shape, st,
          [&](int64_t s, int64_t n, const int64_t *o, const int64_t *in) {
            for (int64_t i = 0; i < n; ++i)
              py[s + i] = compareOp<T>(code, ia[o[0] + i * in[0]],
                                       ib[o[1] + i * in[1]]);
          });
      return 0;
    }
    Output<T> oy(y);
    forEachBroadcast(
        y.shape, st,
        [&](int64_t s, int64_t n, const int64_t *o, const int64_t *in) {
          for (int64_t i = 0; i < n; ++i)
            oy[s + i] = binaryOp<T>(code, ia[o[0] + i * in[0]],
                                    ib[o[1] + i * in[1]], divZero);
        });
    oy.commit();
    return 0;
  });
  if (divZero)
    return c.execError("integer division by zero");
  return Status::success();
}

Status variadicKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, c.numOperands() ? c.numOperands() : 1, 1, 1));
  const std::string &k = c.ins.kernel;
  TensorView &y = c.out(0);
  for (TensorView *t : c.operands) {
    if (!t)
      return c.error("absent operand");
    if (t->dtype != y.dtype)
      return c.error("all operands and the result must have one dtype");
  }
  if (y.dtype == DType::Bool)
    return c.unsupported("bool is not supported");
  MP_RT_TRY(checkBroadcast(c, c.operands, y));
  if (c.validateOnly)
    return Status::success();
  std::vector<std::vector<int64_t>> st;
  for (TensorView *t : c.operands)
    st.push_back(broadcastStrides(t->shape, y.shape));
  dispatchCompute(y.dtype, [&](auto tag) {
    using T = decltype(tag);
    std::vector<Input<T>> ins;
    ins.reserve(c.numOperands());
    for (TensorView *t : c.operands)
      ins.emplace_back(*t);
    Output<T> oy(y);
    size_t m = ins.size();
    const bool isSum = k == "sum", isMin = k == "min";
    forEachBroadcast(
        y.shape, st,
        [&](int64_t s, int64_t n, const int64_t *o, const int64_t *in) {
          for (int64_t i = 0; i < n; ++i) {
            T r = ins[0][o[0] + i * in[0]];
            for (size_t j = 1; j < m; ++j) {
              T v = ins[j][o[j] + i * in[j]];
              if (isSum)
                r = r + v;
              else if constexpr (std::is_floating_point_v<T>) {
                if (std::isnan(v) || std::isnan(r))
                  r = std::isnan(r) ? r : v;
                else
                  r = isMin ? std::min(r, v) : std::max(r, v);
              } else {
                r = isMin ? std::min(r, v) : std::max(r, v);
              }
            }
            oy[s + i] = r;
          }
        });
    oy.commit();
    return 0;
  });
  return Status::success();
}

Status whereKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(3, 3, 1, 1));
  TensorView &cond = c.in(0), &x = c.in(1), &yv = c.in(2), &out = c.out(0);
  if (cond.dtype != DType::Bool)
    return c.error("condition must be bool");
  if (x.dtype != yv.dtype || x.dtype != out.dtype)
    return c.error("X, Y and the result must have one dtype");
  MP_RT_TRY(checkBroadcast(c, {&cond, &x, &yv}, out));
  if (c.validateOnly)
    return Status::success();
  std::vector<std::vector<int64_t>> st = {
      broadcastStrides(cond.shape, out.shape),
      broadcastStrides(x.shape, out.shape),
      broadcastStrides(yv.shape, out.shape)};
  size_t es = dtypeSize(out.dtype);
  forEachBroadcast(
      out.shape, st,
      [&](int64_t s, int64_t n, const int64_t *o, const int64_t *in) {
        for (int64_t i = 0; i < n; ++i) {
          bool t = cond.data[o[0] + i * in[0]] != 0;
          const uint8_t *src = t ? x.data + (o[1] + i * in[1]) * es
                                 : yv.data + (o[2] + i * in[2]) * es;
          std::memmove(out.data + (s + i) * es, src, es);
        }
      });
  return Status::success();
}

Status clipKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  bool hasMin = c.has("min"), hasMax = c.has("max");
  double lo = c.f64("min", 0), hi = c.f64("max", 0);
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameTypeAndShape(c, x, y));
  if (x.dtype == DType::Bool)
    return c.unsupported("bool is not supported");
  if (c.validateOnly)
    return Status::success();
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    T l = hasMin ? T(lo) : std::numeric_limits<T>::lowest();
    T h = hasMax ? T(hi) : std::numeric_limits<T>::max();
    Input<T> a(x);
    Output<T> o(y);
    for (int64_t i = 0, n = x.numel(); i < n; ++i) {
      T v = a[i];
      o[i] = v < l ? l : (v > h ? h : v);
    }
    o.commit();
    return 0;
  });
  return Status::success();
}

Status castKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  TensorView &x = c.in(0), &y = c.out(0);
  std::string to = c.str("to", "");
  DType want;
  if (!to.empty() && (!parseDType(to, want) || want != y.dtype))
    return c.error("attribute to = '" + to +
                   "' does not match the result dtype " + dtypeName(y.dtype));
  if (x.shape != y.shape)
    return c.error("result shape differs from operand shape");
  if (c.validateOnly)
    return Status::success();
  int64_t n = x.numel();
  if (x.dtype == y.dtype) {
    if (x.data != y.data)
      std::memmove(y.data, x.data, x.bytes());
    return Status::success();
  }
  auto f32ish = [](DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::BF16;
  };
  // Chunked so in-place casts between same-size types stay correct.
  const int64_t chunk = 4096;
  if (f32ish(x.dtype) && f32ish(y.dtype)) {
    std::vector<float> tmp(static_cast<size_t>(std::min(n, chunk)));
    for (int64_t s = 0; s < n; s += chunk) {
      int64_t m = std::min(chunk, n - s);
      loadAs<float>(x.dtype, x.data + s * dtypeSize(x.dtype), tmp.data(), m);
      storeAs<float>(tmp.data(), y.dtype, y.data + s * dtypeSize(y.dtype), m);
    }
  } else if (isFloat(x.dtype)) {
    std::vector<double> tmp(static_cast<size_t>(std::min(n, chunk)));
    for (int64_t s = 0; s < n; s += chunk) {
      int64_t m = std::min(chunk, n - s);
      loadAs<double>(x.dtype, x.data + s * dtypeSize(x.dtype), tmp.data(), m);
      storeAs<double>(tmp.data(), y.dtype, y.data + s * dtypeSize(y.dtype), m);
    }
  } else {
    std::vector<int64_t> tmp(static_cast<size_t>(std::min(n, chunk)));
    for (int64_t s = 0; s < n; s += chunk) {
      int64_t m = std::min(chunk, n - s);
      loadAs<int64_t>(x.dtype, x.data + s * dtypeSize(x.dtype), tmp.data(), m);
      storeAs<int64_t>(tmp.data(), y.dtype, y.data + s * dtypeSize(y.dtype), m);
    }
  }
  return Status::success();
}

} // namespace

//===----------------------------------------------------------------------===//
// fused_elementwise
//===----------------------------------------------------------------------===//

namespace {
std::vector<std::string> splitList(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos)
      comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}
} // namespace

bool ElementwiseChain::present(KernelContext &c, const std::string &prefix) {
  return c.has(prefix + "ops");
}

Status ElementwiseChain::parse(KernelContext &c, const std::string &prefix,
                               size_t firstOperand, bool fed,
                               const Shape &shape) {
  first = firstOperand;
  numLeaves = c.numOperands() - std::min(first, c.numOperands());
  std::vector<std::string> ops = splitList(c.str(prefix + "ops", ""));
  std::vector<std::string> typeNames = splitList(c.str(prefix + "types", ""));
  args = c.ints(prefix + "args");
  size_t n = ops.size();
  std::vector<double> al(n, 0.0);
  if (c.has(prefix + "alphas")) {
    const Attribute *a = c.ins.findAttr(prefix + "alphas");
    if (!a || a->kind != Attribute::Kind::F64s || a->floats.size() != n)
      return c.error(prefix + "alphas must hold one float per step");
    c.usedAttrs.insert(prefix + "alphas");
    al = a->floats;
  }
  if (n == 0 || typeNames.size() != n || args.size() != 2 * n)
    return c.error(prefix + "ops, " + prefix + "types and " + prefix +
                   "args (two per step) must describe the same steps");
  types.assign(n, DType::F32);
  kind.assign(n, 0);
  code.assign(n, 0);
  alphas.assign(al.begin(), al.end());
  for (size_t i = 0; i < n; ++i) {
    if (!parseDType(typeNames[i], types[i]) ||
        (types[i] != DType::F32 && types[i] != DType::F16 &&
         types[i] != DType::BF16))
      return c.error("step dtype '" + typeNames[i] + "' is not f32/f16/bf16");
    const std::string &k = ops[i];
    if (k == "cast") {
      kind[i] = 2;
    } else if (k == "add" || k == "sub" || k == "mul" || k == "div") {
      kind[i] = 1;
      code[i] = int(binaryCode(k));
    } else if (k == "neg" || k == "abs" || k == "sqrt" || k == "reciprocal" ||
               k == "exp" || k == "log" || k == "erf" || k == "tanh" ||
               k == "sigmoid" || k == "relu" || k == "leaky_relu" ||
               k == "gelu") {
      U u = unaryOp(k);
      if (k == "gelu" && alphas[i] != 0)
        u = U::GeluTanh;
      code[i] = int(u);
    } else {
      return c.unsupported("op '" + k + "' cannot be fused");
    }
    int64_t want = kind[i] == 1 ? 2 : 1;
    for (int64_t j = 0; j < 2; ++j) {
      int64_t a = args[2 * i + j];
      bool ok = j < want ? (a >= 0 ? a < int64_t(numLeaves)
                                   : (a == -1 && (i > 0 || fed)))
                         : a == -2;
      if (!ok)
        return c.error("step " + std::to_string(i) + " has a bad argument");
    }
  }
  std::vector<const Shape *> shapes = {&shape};
  for (size_t i = 0; i < numLeaves; ++i) {
    TensorView *t = c.opt(first + i);
    if (!t || !isFloat(t->dtype) || t->dtype == DType::F64)
      return c.error("chain operands must be f32/f16/bf16 tensors");
    shapes.push_back(&t->shape);
  }
  Shape out;
  if (!broadcastShapes(shapes, out) || out != shape)
    return c.error("chain operands do not broadcast to the result shape " +
                   shapeStr(shape));
  return Status::success();
}

void ElementwiseChain::run(KernelContext &c, const float *fed,
                           TensorView &y) const {
  // Block by block: gather each operand's block (broadcast operands walk
  // their strides), then run every step over the block, rounding each
  // step to its dtype exactly as the step's own kernel does.
  constexpr int64_t kBlock = 512;
  size_t m = numLeaves, n = kind.size(), rank = y.shape.size();
  std::vector<Input<float>> ins;
  std::vector<std::vector<int64_t>> strides(m);
  std::vector<int> mode(m); // 0 same shape as y, 1 one element, 2 broadcast
  std::vector<std::vector<float>> gathered(m);
  ins.reserve(m);
  for (size_t i = 0; i < m; ++i) {
    const TensorView &t = c.in(first + i);
    ins.emplace_back(t);
    mode[i] = t.shape == y.shape ? 0 : t.numel() == 1 ? 1 : 2;
    if (mode[i] != 0)
      gathered[i].resize(kBlock);
    if (mode[i] == 1)
      std::fill(gathered[i].begin(), gathered[i].end(), ins[i][0]);
    if (mode[i] == 2)
      strides[i] = broadcastStrides(t.shape, y.shape);
  }
  // Each step rounds to its dtype: f32 stays, f16/bf16 round like an
  // accumulator of that type (accRound).
  std::vector<Acc> rounding(n, Acc::Native);
  for (size_t s = 0; s < n; ++s)
    rounding[s] = types[s] == DType::F16    ? Acc::F16
                  : types[s] == DType::BF16 ? Acc::BF16
                                            : Acc::Native;
  Output<float> o(y);
  int64_t total = y.numel();
  std::vector<int64_t> idx(rank, 0); // multi-index of the block's start
  std::vector<float> bufA(kBlock), bufB(kBlock);
  std::vector<const float *> leaf(m);
  for (int64_t base = 0; base < total; base += kBlock) {
    int64_t len = std::min(kBlock, total - base);
    for (size_t i = 0; i < m; ++i) {
      if (mode[i] == 0) {
        leaf[i] = &ins[i][base];
        continue;
      }
      leaf[i] = gathered[i].data();
      if (mode[i] == 1)
        continue;
      // Walk the operand's offset along with the multi-index.
      const std::vector<int64_t> &st = strides[i];
      std::vector<int64_t> at = idx;
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d)
        off += at[d] * st[d];
      for (int64_t j = 0; j < len; ++j) {
        gathered[i][size_t(j)] = ins[i][off];
        for (size_t d = rank; d-- > 0;) {
          off += st[d];
          if (++at[d] < y.shape[d])
            break;
          off -= st[d] * y.shape[d];
          at[d] = 0;
        }
      }
    }
    const float *prev = fed ? fed + base : nullptr;
    float *cur = bufA.data();
    for (size_t s = 0; s < n; ++s) {
      auto arg = [&](int64_t a) { return a == -1 ? prev : leaf[size_t(a)]; };
      const float *a = arg(args[2 * s]);
      if (kind[s] == 1) {
        const float *b = arg(args[2 * s + 1]);
        bool divZero = false;
        B k = B(code[s]);
        for (int64_t j = 0; j < len; ++j)
          cur[j] = binaryOp<float>(k, a[j], b[j], divZero);
      } else if (kind[s] == 0) {
        U k = U(code[s]);
        float al = alphas[s];
        for (int64_t j = 0; j < len; ++j)
          cur[j] = applyUnary<float>(k, a[j], al);
      } else {
        std::copy(a, a + len, cur);
      }
      if (rounding[s] != Acc::Native)
        for (int64_t j = 0; j < len; ++j)
          cur[j] = accRound(cur[j], rounding[s]);
      prev = cur;
      cur = cur == bufA.data() ? bufB.data() : bufA.data();
    }
    std::copy(prev, prev + len, &o[base]);
    // Advance the block's start index by len.
    for (int64_t left = len, d = int64_t(rank) - 1; left > 0 && d >= 0; --d) {
      int64_t sz = y.shape[size_t(d)];
      int64_t v = idx[size_t(d)] + left;
      idx[size_t(d)] = v % sz;
      left = v / sz;
    }
  }
  o.commit();
}

namespace {

/// A chain of float elementwise ops (the compiler's fusion of an op whose
/// only user is the next op) evaluated per element of the result; see
/// ElementwiseChain. The result equals running the steps one by one.
Status fusedKernel(KernelContext &c) {
  if (c.numOperands() < 1 || c.numResults() != 1)
    return c.error("needs operands and one result");
  TensorView &y = c.out(0);
  ElementwiseChain chain;
  MP_RT_TRY(chain.parse(c, "", 0, /*fed=*/false, y.shape));
  if (y.dtype != chain.resultType())
    return c.error("the result dtype differs from the last step's");
  if (!c.validateOnly)
    chain.run(c, nullptr, y);
  return Status::success();
}

} // namespace

void registerElementwiseKernels(Registry &r) {
  for (const char *k : {"sqrt", "reciprocal", "exp", "log", "erf", "tanh",
                        "sigmoid", "leaky_relu", "gelu"})
    r[k] = {unaryKernel<Allow::Float>, true};
  for (const char *k : {"neg", "abs", "relu"})
    r[k] = {unaryKernel<Allow::Numeric>, true};
  r["identity"] = {identityKernel, true};
  r["not"] = {notKernel, true};
  for (const char *k : {"add", "sub", "mul", "div", "pow", "and", "or", "equal",
                        "less", "less_equal", "greater", "greater_equal"})
    r[k] = {binaryKernel, true};
  for (const char *k : {"min", "max", "sum"})
    r[k] = {variadicKernel, true};
  r["where"] = {whereKernel, true};
  r["clip"] = {clipKernel, true};
  r["cast"] = {castKernel, false};
  r["fused_elementwise"] = {fusedKernel, false};
}

} // namespace mp::rt::cpu
