//===- Elementwise.cu - every elementwise kernel as one chain evaluator ---===//
//
// Unary, binary, variadic, where, clip, not, cast, identity, the
// fused_elementwise chains and the matmul/gemm epilogues all run through
// one device kernel that evaluates a short program per output element:
// up to kMaxSteps steps over up to kMaxLeaves broadcast operands, in the
// compute type of the CPU reference (float for f32/f16/bf16, double for
// f64, int64 for integers and bool). Each step of a fused chain rounds to
// its own dtype, so a fused program equals the unfused one bit for bit, as
// on the CPU. Dims are collapsed on the host (makeBcast); operands of the
// result's shape are read with the linear index directly, single elements
// once, and broadcast operands through one decomposition of the index per
// element (32-bit when it fits). Chains over aligned data whose broadcast
// operands are contiguous or constant along the innermost dim take a
// vectorised path: 8 elements per thread, 16-byte loads and stores.
//
//===----------------------------------------------------------------------===//
#include "Device.cuh"

#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

namespace mp::rt::cuda {

namespace {

constexpr int kMaxLeaves = 16;
constexpr int kMaxSteps = 24;

enum Op : uint8_t {
  // unary (float): same order as the CPU's U enum
  kNeg,
  kAbs,
  kSqrt,
  kReciprocal,
  kExp,
  kLog,
  kErf,
  kTanh,
  kSigmoid,
  kRelu,
  kLeakyRelu,
  kGelu,
  kGeluTanh,
  // binary
  kAdd,
  kSub,
  kMul,
  kDiv,
  kPow,
  kEq,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kMin,
  kMax,
  // others
  kWhere,
  kClip,
  kNot,
  kCopy,
  kScale, ///< a * alpha
};

struct Step {
  uint8_t op;
  int8_t a, b, c; ///< leaf index, or -1 for the previous step
  DType round;    ///< f16/bf16: round the step's result (fused chains)
  double alpha, beta;
};

struct ChainArgs {
  int numSteps = 0, numLeaves = 0;
  Step steps[kMaxSteps];
  const void *leaf[kMaxLeaves];
  DType leafType[kMaxLeaves];
  uint32_t direct = 0; ///< bit k: leaf k has the result's shape
  uint32_t scalar = 0; ///< bit k: leaf k has one element
  /// bit k: broadcast leaf k has innermost stride 1 (vector path)
  uint32_t rowContiguous = 0;
  Bcast<kMaxLeaves> bc;
  void *out = nullptr;
  DType outType = DType::F32;
  int64_t n = 0;
  int *errorFlag = nullptr;
  int instruction = 0;
};

template <typename T> __device__ __forceinline__ T applyUnary(int op, T x, T al) {
  if constexpr (std::is_floating_point<T>::value) {
    switch (op) {
    case kNeg:
      return -x;
    case kAbs:
      return fabs(x);
    case kSqrt:
      return sqrt(x);
    case kReciprocal:
      return T(1) / x;
    case kExp:
      return exp(x);
    case kLog:
      return log(x);
    case kErf:
      return erf(x);
    case kTanh:
      return tanh(x);
    case kSigmoid:
      return T(1) / (T(1) + exp(-x));
    case kRelu:
      return x > T(0) ? x : (x != x ? x : T(0));
    case kLeakyRelu:
      return x >= T(0) ? x : al * x;
    case kGeluTanh:
      return T(0.5) * x *
             (T(1) + tanh(T(0.79788456080286535588) *
                          (x + T(0.044715) * x * x * x)));
    case kGelu:
      return T(0.5) * x * (T(1) + erf(x * T(0.70710678118654752440)));
    }
  } else {
    switch (op) {
    case kNeg:
      return T(0) - x;
    case kAbs:
      return x < 0 ? T(0) - x : x;
    case kRelu:
      return x > 0 ? x : T(0);
    }
  }
  return x;
}

template <typename T>
__device__ __forceinline__ T applyStep(const Step &s, T a, T b, T c,
                                       const ChainArgs &g) {
  switch (s.op) {
  case kAdd:
    return a + b;
  case kSub:
    return a - b;
  case kMul:
    return a * b;
  case kDiv:
    if constexpr (std::is_integral<T>::value) {
      if (b == 0) {
        deviceFail(g.errorFlag, g.instruction, kDevDivideByZero);
        return 0;
      }
      if (b == -1)
        return T(0) - a;
    }
    return a / b;
  case kPow:
    if constexpr (std::is_integral<T>::value)
      return T(pow(double(a), double(b)));
    else
      return pow(a, b);
  case kEq:
    return a == b;
  case kLt:
    return a < b;
  case kLe:
    return a <= b;
  case kGt:
    return a > b;
  case kGe:
    return a >= b;
  case kAnd:
    return (a != 0) && (b != 0);
  case kOr:
    return (a != 0) || (b != 0);
  case kMin:
  case kMax:
    if constexpr (std::is_floating_point<T>::value) {
      if (a != a || b != b)
        return a != a ? a : b;
    }
    return s.op == kMin ? (b < a ? b : a) : (b > a ? b : a);
  case kWhere:
    return a != 0 ? b : c;
  case kClip: {
    T lo = T(s.alpha), hi = T(s.beta);
    return a < lo ? lo : (a > hi ? hi : a);
  }
  case kNot:
    return a == 0;
  case kCopy:
    return a;
  case kScale:
    return a * T(s.alpha);
  default:
    return applyUnary<T>(s.op, a, T(s.alpha));
  }
}

/// The offsets of every broadcast leaf (neither direct nor scalar) at
/// output index i, from one decomposition of i into coordinates (32-bit
/// arithmetic when the result has fewer than 2^31 elements).
template <typename I>
__device__ __forceinline__ void bcastOffsets(const ChainArgs &g, I i,
                                            int64_t *off) {
  uint32_t bmask = ~(g.direct | g.scalar) & ((1u << g.numLeaves) - 1);
  for (int k = 0; k < g.numLeaves; ++k)
    off[k] = 0;
  for (int d = g.bc.rank - 1; d >= 0 && bmask; --d) {
    I size = I(g.bc.shape[d]);
    I q = i / size;
    I c = i - q * size;
    i = q;
    for (int k = 0; k < g.numLeaves; ++k)
      if ((bmask >> k) & 1)
        off[k] += int64_t(c) * g.bc.stride[k][d];
  }
}

template <typename T, typename I> __global__ void chainKernel(ChainArgs g) {
  MP_GRID_STRIDE(i, g.n) {
    T leaf[kMaxLeaves];
    int64_t boff[kMaxLeaves];
    bcastOffsets<I>(g, I(i), boff);
#pragma unroll 1
    for (int k = 0; k < g.numLeaves; ++k) {
      int64_t off = (g.direct >> k) & 1   ? i
                    : (g.scalar >> k) & 1 ? 0
                                          : boff[k];
      leaf[k] = ldAs<T>(g.leaf[k], g.leafType[k], off);
    }
    T prev = T(0);
#pragma unroll 1
    for (int s = 0; s < g.numSteps; ++s) {
      const Step &st = g.steps[s];
      T a = st.a < 0 ? prev : leaf[st.a];
      T b = st.b < 0 ? prev : leaf[st.b];
      T c = st.c < 0 ? prev : leaf[st.c];
      prev = applyStep<T>(st, a, b, c, g);
      if constexpr (std::is_same<T, float>::value)
        prev = roundTo(prev, st.round);
    }
    stAs<T>(g.out, g.outType, i, prev);
  }
}

/// Eight consecutive elements of any dtype as raw bytes: 8 x size bytes,
/// one to four 16-byte (or one 8-byte) vector accesses.
struct Raw8 {
  uint4 w[4];
};

__device__ __forceinline__ void load8(const void *p, DType t, int64_t v,
                                      Raw8 &r) {
  size_t es = t == DType::F64 || t == DType::I64   ? 8
              : t == DType::F32 || t == DType::I32 ? 4
              : t == DType::F16 || t == DType::BF16 ? 2
                                                    : 1;
  if (es == 1) {
    reinterpret_cast<uint2 *>(r.w)[0] = reinterpret_cast<const uint2 *>(p)[v];
    return;
  }
  const uint4 *q = reinterpret_cast<const uint4 *>(p) + v * (es / 2);
  for (size_t k = 0; k < es / 2; ++k)
    r.w[k] = q[k];
}

__device__ __forceinline__ void store8(void *p, DType t, int64_t v,
                                       const Raw8 &r) {
  size_t es = t == DType::F64 || t == DType::I64   ? 8
              : t == DType::F32 || t == DType::I32 ? 4
              : t == DType::F16 || t == DType::BF16 ? 2
                                                    : 1;
  if (es == 1) {
    reinterpret_cast<uint2 *>(p)[v] = reinterpret_cast<const uint2 *>(r.w)[0];
    return;
  }
  uint4 *q = reinterpret_cast<uint4 *>(p) + v * (es / 2);
  for (size_t k = 0; k < es / 2; ++k)
    q[k] = r.w[k];
}

/// 8 elements per thread with vector loads and stores: every leaf has the
/// result's shape (bit set in g.direct) or is a single element, and every
/// pointer is aligned to 8 elements.
template <typename T, typename I> __global__ void chainKernelVec(ChainArgs g) {
  const int64_t nv = g.n / 8;
  MP_GRID_STRIDE(v, nv) {
    T leaf[kMaxLeaves][8];
    int64_t boff[kMaxLeaves];
    bcastOffsets<I>(g, I(v * 8), boff);
#pragma unroll 1
    for (int k = 0; k < g.numLeaves; ++k) {
      // A broadcast leaf whose innermost stride is 1 reads 8 contiguous
      // elements at an offset that is a multiple of 8; one whose innermost
      // stride is 0 repeats a single element.
      bool contiguous = (g.direct >> k) & 1 || (g.rowContiguous >> k) & 1;
      if (contiguous) {
        Raw8 raw;
        load8(g.leaf[k], g.leafType[k], (g.direct >> k) & 1 ? v : boff[k] / 8,
              raw);
#pragma unroll
        for (int j = 0; j < 8; ++j)
          leaf[k][j] = ldAs<T>(&raw, g.leafType[k], j);
      } else {
        T x = ldAs<T>(g.leaf[k], g.leafType[k],
                      (g.scalar >> k) & 1 ? 0 : boff[k]);
#pragma unroll
        for (int j = 0; j < 8; ++j)
          leaf[k][j] = x;
      }
    }
    Raw8 out;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      T prev = T(0);
#pragma unroll 1
      for (int s = 0; s < g.numSteps; ++s) {
        const Step &st = g.steps[s];
        T a = st.a < 0 ? prev : leaf[st.a][j];
        T b = st.b < 0 ? prev : leaf[st.b][j];
        T c = st.c < 0 ? prev : leaf[st.c][j];
        prev = applyStep<T>(st, a, b, c, g);
        if constexpr (std::is_same<T, float>::value)
          prev = roundTo(prev, st.round);
      }
      stAs<T>(&out, g.outType, j, prev);
    }
    store8(g.out, g.outType, v, out);
  }
}

enum class Compute { Float, Double, Int };

Compute computeOf(DType t) {
  switch (t) {
  case DType::F32:
  case DType::F16:
  case DType::BF16:
    return Compute::Float;
  case DType::F64:
    return Compute::Double;
  default:
    return Compute::Int;
  }
}

/// Builds the launch: leaves, broadcast strides and steps.
struct Launch {
  ChainArgs g;
  std::vector<const TensorView *> leaves;
  std::vector<Step> steps;

  int addLeaf(const TensorView *t) {
    leaves.push_back(t);
    return int(leaves.size()) - 1;
  }
  void add(Op op, int a, int b = -1, int c = -1, double alpha = 0,
           double beta = 0, DType round = DType::F32) {
    steps.push_back(Step{uint8_t(op), int8_t(a), int8_t(b), int8_t(c), round,
                         alpha, beta});
  }

  Status run(KernelContext &c, Env &env, TensorView &y, Compute comp) {
    if (leaves.size() > size_t(kMaxLeaves) || steps.size() > size_t(kMaxSteps))
      return c.unsupported("an elementwise chain of " +
                           std::to_string(steps.size()) + " steps over " +
                           std::to_string(leaves.size()) +
                           " operands exceeds the cuda limit (" +
                           std::to_string(kMaxSteps) + " steps, " +
                           std::to_string(kMaxLeaves) + " operands)");
    g.numSteps = int(steps.size());
    g.numLeaves = int(leaves.size());
    std::vector<const Shape *> shapes;
    // The vector path: leaves of the result's shape or of one element,
    // every array aligned to 8 elements.
    auto aligned8 = [](const void *p, DType t) {
      return uintptr_t(p) % (8 * dtypeSize(t)) == 0;
    };
    bool vec = aligned8(y.data, y.dtype) && y.numel() >= 8;
    for (size_t k = 0; k < leaves.size(); ++k) {
      g.leaf[k] = leaves[k]->data;
      g.leafType[k] = leaves[k]->dtype;
      if (leaves[k]->shape == y.shape) {
        g.direct |= 1u << k;
        vec &= aligned8(leaves[k]->data, leaves[k]->dtype);
      } else if (leaves[k]->numel() == 1) {
        g.scalar |= 1u << k;
      }
      shapes.push_back(&leaves[k]->shape);
    }
    for (size_t s = 0; s < steps.size(); ++s)
      g.steps[s] = steps[s];
    if (!makeBcast(g.bc, y.shape, shapes))
      return c.unsupported("broadcast of rank > 8 after collapsing dims");
    // Broadcast leaves join the vector path when the innermost (collapsed)
    // dim is a multiple of 8 and they either run along it contiguously
    // (strides multiples of 8 elsewhere) or stay constant along it.
    int last = g.bc.rank - 1;
    for (size_t k = 0; k < leaves.size() && vec; ++k) {
      if ((g.direct | g.scalar) >> k & 1)
        continue;
      if (last < 0 || g.bc.shape[last] % 8 != 0) {
        vec = false;
        break;
      }
      int64_t inner = g.bc.stride[k][last];
      if (inner == 1) {
        for (int d = 0; d < last; ++d)
          vec &= g.bc.stride[k][d] % 8 == 0;
        vec &= aligned8(leaves[k]->data, leaves[k]->dtype);
        g.rowContiguous |= 1u << k;
      } else {
        vec &= inner == 0;
      }
    }
    g.out = y.data;
    g.outType = y.dtype;
    g.n = y.numel();
    g.errorFlag = env.errorFlag;
    g.instruction = int(c.instructionIndex);
    if (g.n == 0)
      return Status::success();
    const bool small = g.n < (int64_t(1) << 31);
    if (vec) {
      unsigned grid = gridFor(g.n / 8);
      switch (comp) {
      case Compute::Float:
        if (small)
          chainKernelVec<float, uint32_t><<<grid, kThreads, 0, env.stream>>>(g);
        else
          chainKernelVec<float, int64_t><<<grid, kThreads, 0, env.stream>>>(g);
        break;
      case Compute::Double:
        chainKernelVec<double, int64_t><<<grid, kThreads, 0, env.stream>>>(g);
        break;
      case Compute::Int:
        chainKernelVec<int64_t, int64_t><<<grid, kThreads, 0, env.stream>>>(g);
        break;
      }
      MP_RT_TRY(checkLaunch(c, "vectorised elementwise"));
      if (g.n % 8 == 0)
        return Status::success();
      // The tail: the scalar kernel over the last n % 8 elements.
      // Only direct and scalar leaves can leave a tail (a broadcast leaf
      // needs an innermost dim that is a multiple of 8).
      int64_t start = g.n - g.n % 8;
      ChainArgs t = g;
      t.n = g.n % 8;
      for (int k = 0; k < t.numLeaves; ++k)
        if ((t.direct >> k) & 1)
          t.leaf[k] = static_cast<const uint8_t *>(t.leaf[k]) +
                      start * int64_t(dtypeSize(t.leafType[k]));
      t.out = static_cast<uint8_t *>(t.out) +
              start * int64_t(dtypeSize(t.outType));
      g = t;
    }
    unsigned grid = gridFor(g.n, 4);
    switch (comp) {
    case Compute::Float:
      if (small)
        chainKernel<float, uint32_t><<<grid, kThreads, 0, env.stream>>>(g);
      else
        chainKernel<float, int64_t><<<grid, kThreads, 0, env.stream>>>(g);
      break;
    case Compute::Double:
      chainKernel<double, int64_t><<<grid, kThreads, 0, env.stream>>>(g);
      break;
    case Compute::Int:
      chainKernel<int64_t, int64_t><<<grid, kThreads, 0, env.stream>>>(g);
      break;
    }
    return checkLaunch(c, "elementwise");
  }
};

const std::unordered_map<std::string, Op> &opNames() {
  static const std::unordered_map<std::string, Op> m = {
      {"neg", kNeg},
      {"abs", kAbs},
      {"sqrt", kSqrt},
      {"reciprocal", kReciprocal},
      {"exp", kExp},
      {"log", kLog},
      {"erf", kErf},
      {"tanh", kTanh},
      {"sigmoid", kSigmoid},
      {"relu", kRelu},
      {"leaky_relu", kLeakyRelu},
      {"gelu", kGelu},
      {"add", kAdd},
      {"sub", kSub},
      {"mul", kMul},
      {"div", kDiv},
      {"pow", kPow},
      {"equal", kEq},
      {"less", kLt},
      {"less_equal", kLe},
      {"greater", kGt},
      {"greater_equal", kGe},
      {"and", kAnd},
      {"or", kOr},
      {"min", kMin},
      {"max", kMax},
  };
  return m;
}

Status unaryKernel(KernelContext &c, Env &env) {
  Op op = opNames().at(c.ins.kernel);
  double alpha = 0;
  if (op == kLeakyRelu)
    alpha = float(c.f64("alpha", 0.01));
  if (op == kGelu && c.str("approximate", "none") == "tanh")
    op = kGeluTanh;
  Launch l;
  l.add(op, l.addLeaf(&c.in(0)), 0, 0, alpha);
  return l.run(c, env, c.out(0), computeOf(c.in(0).dtype));
}

Status binaryKernel(KernelContext &c, Env &env) {
  Op op = opNames().at(c.ins.kernel);
  Launch l;
  int a = l.addLeaf(&c.in(0)), b = l.addLeaf(&c.in(1));
  l.add(op, a, b, 0);
  return l.run(c, env, c.out(0), computeOf(c.in(0).dtype));
}

Status variadicKernel(KernelContext &c, Env &env) {
  const std::string &k = c.ins.kernel;
  Op op = k == "sum" ? kAdd : opNames().at(k);
  TensorView &y = c.out(0);
  Compute comp = computeOf(y.dtype);
  // Up to kMaxLeaves operands per launch; later launches fold the result.
  size_t i = 0, n = c.numOperands();
  bool first = true;
  while (i < n || first) {
    Launch l;
    int acc = l.addLeaf(first ? &c.in(i++) : &y);
    l.add(kCopy, acc, 0, 0);
    while (i < n && l.leaves.size() < size_t(kMaxLeaves))
      l.add(op, -1, l.addLeaf(&c.in(i++)), 0);
    MP_RT_TRY(l.run(c, env, y, comp));
    first = false;
  }
  return Status::success();
}

Status whereKernel(KernelContext &c, Env &env) {
  Launch l;
  int a = l.addLeaf(&c.in(0)), b = l.addLeaf(&c.in(1)),
      d = l.addLeaf(&c.in(2));
  l.add(kWhere, a, b, d);
  return l.run(c, env, c.out(0), computeOf(c.in(1).dtype));
}

Status clipKernel(KernelContext &c, Env &env) {
  bool hasMin = c.has("min"), hasMax = c.has("max");
  double lo = c.f64("min", 0), hi = c.f64("max", 0);
  DType t = c.in(0).dtype;
  Compute comp = computeOf(t);
  if (comp == Compute::Int) {
    lo = hasMin ? double(int64_t(lo)) : -9.2233720368547758e18;
    hi = hasMax ? double(int64_t(hi)) : 9.2233720368547758e18;
  } else if (comp == Compute::Float) {
    lo = hasMin ? double(float(lo)) : -double(std::numeric_limits<float>::max());
    hi = hasMax ? double(float(hi)) : double(std::numeric_limits<float>::max());
  } else {
    lo = hasMin ? lo : std::numeric_limits<double>::lowest();
    hi = hasMax ? hi : std::numeric_limits<double>::max();
  }
  Launch l;
  l.add(kClip, l.addLeaf(&c.in(0)), 0, 0, lo, hi);
  return l.run(c, env, c.out(0), comp);
}

Status notKernel(KernelContext &c, Env &env) {
  Launch l;
  l.add(kNot, l.addLeaf(&c.in(0)), 0, 0);
  return l.run(c, env, c.out(0), Compute::Int);
}

Status identityKernel(KernelContext &c, Env &env) {
  return copyAsync(c, env, c.out(0).data, c.in(0).data, c.in(0).bytes());
}

Status castKernel(KernelContext &c, Env &env) {
  c.str("to", "");
  TensorView &x = c.in(0), &y = c.out(0);
  if (x.dtype == y.dtype)
    return copyAsync(c, env, y.data, x.data, x.bytes());
  Compute comp = computeOf(x.dtype) == Compute::Float &&
                         computeOf(y.dtype) == Compute::Float
                     ? Compute::Float
                 : isFloat(x.dtype) ? Compute::Double
                                    : Compute::Int;
  // Element i is read before it is written by the same thread, so an
  // in-place cast between same-size types is safe; the backend gives
  // overlapping casts of different sizes scratch memory.
  Launch l;
  l.add(kCopy, l.addLeaf(&x), 0, 0);
  return l.run(c, env, y, comp);
}

Op chainOp(int kind, int code) {
  static const Op binary[] = {kAdd, kSub, kMul, kDiv};
  if (kind == 2)
    return kCopy;
  if (kind == 1)
    return binary[code];
  return Op(code); // the CPU's U order equals ours
}

} // namespace

Status launchChain(KernelContext &c, Env &env, const cpu::ElementwiseChain &ch,
                   const TensorView *fed, TensorView &y) {
  Launch l;
  for (size_t i = 0; i < ch.numLeaves; ++i)
    l.addLeaf(&c.in(ch.first + i));
  int fedLeaf = fed ? l.addLeaf(fed) : -1;
  for (size_t s = 0; s < ch.kind.size(); ++s) {
    auto arg = [&](int64_t a) -> int {
      if (a == -2)
        return 0;
      if (a == -1)
        return s == 0 ? fedLeaf : -1;
      return int(a);
    };
    Op op = chainOp(ch.kind[s], ch.code[s]);
    l.add(op, arg(ch.args[2 * s]), arg(ch.args[2 * s + 1]), 0,
          double(ch.alphas[s]), 0, ch.types[s]);
  }
  return l.run(c, env, y, Compute::Float);
}

Status broadcastCopy(KernelContext &c, Env &env, const TensorView &src,
                     TensorView &dst) {
  Launch l;
  l.add(kCopy, l.addLeaf(&src), 0, 0);
  return l.run(c, env, dst, computeOf(dst.dtype));
}

Status scaleInPlace(KernelContext &c, Env &env, TensorView &t, double factor) {
  Launch l;
  l.add(kScale, l.addLeaf(&t), 0, 0, factor);
  return l.run(c, env, t, computeOf(t.dtype));
}

namespace {
Status fusedKernel(KernelContext &c, Env &env) {
  cpu::ElementwiseChain chain;
  MP_RT_TRY(chain.parse(c, "", 0, /*fed=*/false, c.out(0).shape));
  return launchChain(c, env, chain, nullptr, c.out(0));
}
} // namespace

void registerElementwiseKernels(Registry &r) {
  for (const char *k : {"sqrt", "reciprocal", "exp", "log", "erf", "tanh",
                        "sigmoid", "leaky_relu", "gelu", "neg", "abs", "relu"})
    r[k] = {unaryKernel, true, nullptr};
  r["identity"] = {identityKernel, true, nullptr};
  r["not"] = {notKernel, true, nullptr};
  for (const char *k : {"add", "sub", "mul", "div", "pow", "and", "or", "equal",
                        "less", "less_equal", "greater", "greater_equal"})
    r[k] = {binaryKernel, true, nullptr};
  for (const char *k : {"min", "max", "sum"})
    r[k] = {variadicKernel, true, nullptr};
  r["where"] = {whereKernel, true, nullptr};
  r["clip"] = {clipKernel, true, nullptr};
  r["cast"] = {castKernel, false, nullptr};
  r["fused_elementwise"] = {fusedKernel, false, nullptr};
}

} // namespace mp::rt::cuda
