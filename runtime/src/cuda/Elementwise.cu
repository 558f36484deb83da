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
// vectorised path: 8 elements per thread, 16-byte loads and stores. On it,
// an unfused op over f32/f16/bf16/bool/u8 runs a kernel with the op fixed
// at compile time (fixedKernel: 27-40 registers, full memory bandwidth),
// and a chain over those dtypes loads and stores at their own width; the
// any-dtype interpreter (up to 200 registers, one block per SM) is left for
// f64 and integer operands.
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

/// One step over 8 elements: the op is chosen once, then a tight unrolled
/// loop; uncommon ops go through applyStep per element.
template <typename T>
__device__ __forceinline__ void applyStep8(const Step &st, const T (&a)[8],
                                           const T (&b)[8], const T (&c)[8],
                                           T (&o)[8], const ChainArgs &g) {
#define MP_EW8(expr)                                                           \
  _Pragma("unroll") for (int j = 0; j < 8; ++j) {                              \
    T x = a[j], y = b[j], z = c[j];                                            \
    (void)y;                                                                   \
    (void)z;                                                                   \
    o[j] = (expr);                                                             \
  }                                                                            \
  return;
  constexpr bool isF = std::is_floating_point<T>::value;
  switch (st.op) {
  case kAdd:
    MP_EW8(x + y)
  case kSub:
    MP_EW8(x - y)
  case kMul:
    MP_EW8(x * y)
  case kCopy:
    MP_EW8(x)
  case kScale:
    MP_EW8(x * T(st.alpha))
  case kWhere:
    MP_EW8(x != T(0) ? y : z)
  case kGt:
    MP_EW8(T(x > y))
  case kLt:
    MP_EW8(T(x < y))
  case kEq:
    MP_EW8(T(x == y))
  case kNeg:
    MP_EW8(isF ? -x : T(0) - x)
  default:
    if (isF && st.op == kDiv) {
      MP_EW8(x / y)
    }
    break;
  }
#undef MP_EW8
#pragma unroll
  for (int j = 0; j < 8; ++j)
    o[j] = applyStep<T>(st, a[j], b[j], c[j], g);
}

/// f16 / bf16 <-> float, round to nearest even.
__device__ __forceinline__ float halfToFloat(__half h) { return __half2float(h); }
__device__ __forceinline__ float halfToFloat(__nv_bfloat16 h) {
  return __bfloat162float(h);
}
template <typename H> __device__ __forceinline__ H floatToHalf(float x) {
  if constexpr (std::is_same<H, __half>::value)
    return __float2half_rn(x);
  else
    return __float2bfloat16_rn(x);
}

/// An element of storage type S in the compute types' terms: f16/bf16
/// widened to float, everything else as it is.
template <typename S> __device__ __forceinline__ auto widen(S x) {
  if constexpr (std::is_same<S, __half>::value ||
                std::is_same<S, __nv_bfloat16>::value)
    return halfToFloat(x);
  else
    return x;
}

/// 8 raw elements stored as S, converted to T (unrolled: registers only).
template <typename S, typename T>
__device__ __forceinline__ void cast8(const Raw8 &r, T (&o)[8]) {
  const S *x = reinterpret_cast<const S *>(r.w);
#pragma unroll
  for (int j = 0; j < 8; ++j)
    o[j] = T(widen(x[j]));
}

/// Converts 8 raw elements of dtype t to T (one switch, unrolled loops, so
/// everything stays in registers).
template <typename T>
__device__ __forceinline__ void convert8(const Raw8 &r, DType t, T (&o)[8]) {
  switch (t) {
  case DType::F32:
    return cast8<float>(r, o);
  case DType::F16:
    return cast8<__half>(r, o);
  case DType::BF16:
    return cast8<__nv_bfloat16>(r, o);
  case DType::F64:
    return cast8<double>(r, o);
  case DType::I64:
    return cast8<int64_t>(r, o);
  case DType::I32:
    return cast8<int32_t>(r, o);
  case DType::I8:
    return cast8<int8_t>(r, o);
  default: // u8, bool
    return cast8<uint8_t>(r, o);
  }
}

/// Stores 8 values of T as dtype t. Float results into f32/f16/bf16 take
/// unrolled fast paths; a double or integer chain goes through stAs, whose
/// f16/bf16 stores round once from double as the CPU reference does (going
/// through float first would round twice).
template <typename T>
__device__ __forceinline__ void pack8(const T (&v)[8], DType t, Raw8 &r) {
  if constexpr (std::is_same<T, float>::value) {
    switch (t) {
    case DType::F32: {
      float *x = reinterpret_cast<float *>(r.w);
#pragma unroll
      for (int j = 0; j < 8; ++j)
        x[j] = v[j];
      return;
    }
    case DType::F16: {
      __half *x = reinterpret_cast<__half *>(r.w);
#pragma unroll
      for (int j = 0; j < 8; ++j)
        x[j] = __float2half_rn(v[j]);
      return;
    }
    case DType::BF16: {
      __nv_bfloat16 *x = reinterpret_cast<__nv_bfloat16 *>(r.w);
#pragma unroll
      for (int j = 0; j < 8; ++j)
        x[j] = __float2bfloat16_rn(v[j]);
      return;
    }
    default:
      break;
    }
  }
#pragma unroll
  for (int j = 0; j < 8; ++j)
    stAs<T>(r.w, t, j, v[j]);
}

/// p ? x : y. For float an explicit selp, so the compiler cannot turn a
/// chain of selects by leaf index back into an indexed (local-memory) load.
template <typename T> __device__ __forceinline__ T select(bool p, T x, T y) {
  if constexpr (std::is_same<T, float>::value) {
    float r;
    asm("{\n\t.reg .pred q;\n\tsetp.ne.u32 q, %3, 0;\n\t"
        "selp.f32 %0, %1, %2, q;\n\t}"
        : "=f"(r)
        : "f"(x), "f"(y), "r"(unsigned(p)));
    return r;
  } else {
    return p ? x : y;
  }
}

/// Dtypes the fixed-op kernels read and write: at most 4 bytes an element,
/// so 8 elements are one or two 16-byte (or one 8-byte) accesses.
bool smallFloatIO(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 ||
         t == DType::Bool || t == DType::U8;
}

/// 8 f16 or bf16 elements from element e: one 16-byte load.
template <typename H>
__device__ __forceinline__ void load8Half(const void *p, int64_t e,
                                          float (&o)[8]) {
  uint4 r = *reinterpret_cast<const uint4 *>(static_cast<const H *>(p) + e);
  const H *h = reinterpret_cast<const H *>(&r);
#pragma unroll
  for (int j = 0; j < 8; ++j)
    o[j] = halfToFloat(h[j]);
}

/// 8 floats stored as f16 or bf16 from element e: one 16-byte store.
template <typename H>
__device__ __forceinline__ void store8Half(void *p, int64_t e,
                                           const float (&v)[8]) {
  uint4 r;
  H *h = reinterpret_cast<H *>(&r);
#pragma unroll
  for (int j = 0; j < 8; ++j)
    h[j] = floatToHalf<H>(v[j]);
  *reinterpret_cast<uint4 *>(static_cast<H *>(p) + e) = r;
}

/// 8 elements of leaf k at vector v (direct) or element offset `off` (a
/// broadcast row, contiguous), as float; f32, f16, bf16, bool or u8 only.
__device__ __forceinline__ void load8Small(const void *p, DType t, int64_t e,
                                           float (&o)[8]) {
  switch (t) {
  case DType::F32: {
    const float4 *q = reinterpret_cast<const float4 *>(
        static_cast<const float *>(p) + e);
    float4 a = q[0], b = q[1];
    o[0] = a.x, o[1] = a.y, o[2] = a.z, o[3] = a.w;
    o[4] = b.x, o[5] = b.y, o[6] = b.z, o[7] = b.w;
    return;
  }
  case DType::F16:
    return load8Half<__half>(p, e, o);
  case DType::BF16:
    return load8Half<__nv_bfloat16>(p, e, o);
  default: { // bool, u8
    uint2 r = *reinterpret_cast<const uint2 *>(static_cast<const uint8_t *>(p) +
                                               e);
    const uint8_t *b = reinterpret_cast<const uint8_t *>(&r);
#pragma unroll
    for (int j = 0; j < 8; ++j)
      o[j] = float(b[j]);
    return;
  }
  }
}

/// Stores 8 floats at element e as f32, f16, bf16, bool or u8 (stAs's
/// conversions: round to nearest even; to bool x != 0; to u8 truncate and
/// saturate).
__device__ __forceinline__ void store8Small(void *p, DType t, int64_t e,
                                            const float (&v)[8]) {
  switch (t) {
  case DType::F32: {
    float4 *q = reinterpret_cast<float4 *>(static_cast<float *>(p) + e);
    q[0] = make_float4(v[0], v[1], v[2], v[3]);
    q[1] = make_float4(v[4], v[5], v[6], v[7]);
    return;
  }
  case DType::F16:
    return store8Half<__half>(p, e, v);
  case DType::BF16:
    return store8Half<__nv_bfloat16>(p, e, v);
  default: {
    uint2 r;
    uint8_t *b = reinterpret_cast<uint8_t *>(&r);
#pragma unroll
    for (int j = 0; j < 8; ++j)
      b[j] = t == DType::Bool ? uint8_t(v[j] != 0.0f) : fToI<uint8_t>(v[j]);
    *reinterpret_cast<uint2 *>(static_cast<uint8_t *>(p) + e) = r;
    return;
  }
  }
}

/// The element offsets at vector v (elements 8v..8v+7) of every broadcast
/// leaf of a vector-path chain (direct and single-element leaves get 0), from
/// one decomposition of 8v in index type I.
template <typename I, typename O, int NL>
__device__ __forceinline__ void vecOffsets(const ChainArgs &g, int64_t v,
                                           O (&boff)[NL]) {
#pragma unroll
  for (int k = 0; k < NL; ++k)
    boff[k] = 0;
  const uint32_t bmask = ~(g.direct | g.scalar) & ((1u << NL) - 1);
  if (!bmask)
    return;
  I i = I(v * 8);
  for (int d = g.bc.rank - 1; d >= 0; --d) {
    I size = I(g.bc.shape[d]);
    I q = i / size;
    I c = i - q * size;
    i = q;
#pragma unroll
    for (int k = 0; k < NL; ++k)
      if ((bmask >> k) & 1)
        boff[k] += O(c) * O(g.bc.stride[k][d]);
  }
}

/// Loads leaf K (and, recursively, the following ones) for the vector
/// path; recursion keeps every index a compile-time constant.
template <typename T, bool Narrow, int K, int NL>
__device__ __forceinline__ void loadLeaf(const ChainArgs &g, int64_t v,
                                         const int64_t (&boff)[NL],
                                         T (&leaf)[NL][8]) {
  if constexpr (K < NL) {
    if constexpr (Narrow) {
      if ((g.direct >> K) & 1 || (g.rowContiguous >> K) & 1)
        load8Small(g.leaf[K], g.leafType[K],
                   (g.direct >> K) & 1 ? v * 8 : boff[K], leaf[K]);
      else {
        T x = ldAs<T>(g.leaf[K], g.leafType[K],
                      (g.scalar >> K) & 1 ? 0 : boff[K]);
#pragma unroll
        for (int j = 0; j < 8; ++j)
          leaf[K][j] = x;
      }
    } else if ((g.direct >> K) & 1 || (g.rowContiguous >> K) & 1) {
      Raw8 raw;
      load8(g.leaf[K], g.leafType[K], (g.direct >> K) & 1 ? v : boff[K] / 8,
            raw);
      convert8<T>(raw, g.leafType[K], leaf[K]);
    } else {
      T x = ldAs<T>(g.leaf[K], g.leafType[K],
                    (g.scalar >> K) & 1 ? 0 : boff[K]);
#pragma unroll
      for (int j = 0; j < 8; ++j)
        leaf[K][j] = x;
    }
    loadLeaf<T, Narrow, K + 1, NL>(g, v, boff, leaf);
  }
}

/// One step with a compile-time op over 8 elements: what every unfused
/// elementwise instruction (and a one-step epilogue) runs. Knowing the op
/// at compile time keeps the kernel to a few dozen registers, so the SMs
/// hold enough warps to reach full memory bandwidth (the interpreter's
/// generic step needs 130-200).
template <typename T, int OP>
__device__ __forceinline__ void applyOp8(const Step &st, const T (&a)[8],
                                         const T (&b)[8], const T (&c)[8],
                                         T (&o)[8]) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    T x = a[j], y = b[j], z = c[j];
    if constexpr (OP == kAdd)
      o[j] = x + y;
    else if constexpr (OP == kSub)
      o[j] = x - y;
    else if constexpr (OP == kMul)
      o[j] = x * y;
    else if constexpr (OP == kDiv)
      o[j] = x / y;
    else if constexpr (OP == kGt)
      o[j] = T(x > y);
    else if constexpr (OP == kLt)
      o[j] = T(x < y);
    else if constexpr (OP == kGe)
      o[j] = T(x >= y);
    else if constexpr (OP == kLe)
      o[j] = T(x <= y);
    else if constexpr (OP == kEq)
      o[j] = T(x == y);
    else if constexpr (OP == kWhere)
      o[j] = x != T(0) ? y : z;
    else if constexpr (OP == kCopy)
      o[j] = x;
    else if constexpr (OP == kScale)
      o[j] = x * T(st.alpha);
    else if constexpr (OP == kNeg)
      o[j] = -x;
    else if constexpr (OP == kRelu)
      o[j] = applyUnary<T>(kRelu, x, T(0));
    else
      static_assert(OP < 0, "no fixed-op kernel for this op");
    (void)y;
    (void)z;
  }
}

/// How many operands a step of `op` reads.
constexpr int arityOf(int op) {
  return op == kWhere ? 3 : op >= kAdd && op <= kMax ? 2 : 1;
}

/// 8 elements per thread with vector loads and stores, for chains over NL
/// leaves: every leaf has the result's shape (bit set in g.direct), is a
/// single element, or is broadcast with innermost stride 1 (read as 8
/// contiguous elements) or 0 (one element repeated); every pointer is
/// aligned to 8 elements. NL is a template parameter so the leaves live in
/// registers. Narrow: every leaf and the result are f32/f16/bf16/bool/u8,
/// loaded and stored at their own width (load8Small, store8Small), which
/// keeps the interpreter within 128 registers so two blocks share an SM;
/// otherwise any dtype through 8-element raw vectors.
template <typename T, typename I, int NL, bool Narrow>
__global__ void __launch_bounds__(kThreads, Narrow ? 2 : 1)
    chainKernelVec(ChainArgs g) {
  const int64_t nv = g.n / 8;
  MP_GRID_STRIDE(v, nv) {
    T leaf[NL][8];
    int64_t boff[NL];
    vecOffsets<I>(g, v, boff);
    loadLeaf<T, Narrow, 0, NL>(g, v, boff, leaf);
    // Steps outside, elements inside: every array index is a compile-time
    // constant, so nothing leaves the registers.
    T out[8];
#pragma unroll
    for (int j = 0; j < 8; ++j)
      out[j] = T(0);
    for (int s = 0; s < g.numSteps; ++s) {
      const Step st = g.steps[s];
      T a[8], b[8], c[8];
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        a[j] = b[j] = c[j] = out[j];
#pragma unroll
        for (int k = 0; k < NL; ++k) {
          a[j] = select(st.a == k, leaf[k][j], a[j]);
          b[j] = select(st.b == k, leaf[k][j], b[j]);
          c[j] = select(st.c == k, leaf[k][j], c[j]);
        }
      }
      applyStep8<T>(st, a, b, c, out, g);
      if constexpr (std::is_same<T, float>::value)
        if (st.round != DType::F32) {
#pragma unroll
          for (int j = 0; j < 8; ++j)
            out[j] = roundTo(out[j], st.round);
        }
    }
    if constexpr (Narrow) {
      store8Small(g.out, g.outType, v * 8, out);
    } else {
      Raw8 raw;
      pack8<T>(out, g.outType, raw);
      store8(g.out, g.outType, v, raw);
    }
  }
}

/// One step of a compile-time op over NL leaves in order, 8 elements per
/// thread, float compute, every leaf and the result of at most 4 bytes an
/// element (smallFloatIO): what unfused elementwise instructions run. The
/// op and the narrow dtypes keep it to a few dozen registers, so an SM
/// holds enough warps in flight to reach full memory bandwidth.
template <typename I, int NL, int OP>
__global__ void __launch_bounds__(kThreads) fixedKernel(ChainArgs g) {
  const int64_t nv = g.n / 8;
  MP_GRID_STRIDE(v, nv) {
    I boff[NL];
    vecOffsets<I>(g, v, boff);
    float x[NL][8];
#pragma unroll
    for (int k = 0; k < NL; ++k) {
      if ((g.direct >> k) & 1) {
        load8Small(g.leaf[k], g.leafType[k], v * 8, x[k]);
      } else if ((g.rowContiguous >> k) & 1) {
        load8Small(g.leaf[k], g.leafType[k], int64_t(boff[k]), x[k]);
      } else {
        float e = ldAs<float>(g.leaf[k], g.leafType[k],
                              (g.scalar >> k) & 1 ? 0 : int64_t(boff[k]));
#pragma unroll
        for (int j = 0; j < 8; ++j)
          x[k][j] = e;
      }
    }
    constexpr int B = NL > 1 ? 1 : 0, C = NL > 2 ? 2 : B;
    float o[8];
    applyOp8<float, OP>(g.steps[0], x[0], x[B], x[C], o);
    store8Small(g.out, g.outType, v * 8, o);
  }
}

/// Launches the fixed-op kernel for op `op` (float compute), false when
/// there is none.
template <typename I, int NL>
bool launchFixed(int op, const ChainArgs &g, unsigned grid,
                 cudaStream_t stream) {
  switch (op) {
#define MP_FIXED(o)                                                            \
  case o:                                                                      \
    if constexpr (arityOf(o) == NL) {                                          \
      fixedKernel<I, NL, o><<<grid, kThreads, 0, stream>>>(g);                \
      return true;                                                             \
    }                                                                          \
    return false;
    MP_FIXED(kAdd)
    MP_FIXED(kSub)
    MP_FIXED(kMul)
    MP_FIXED(kDiv)
    MP_FIXED(kGt)
    MP_FIXED(kLt)
    MP_FIXED(kGe)
    MP_FIXED(kLe)
    MP_FIXED(kEq)
    MP_FIXED(kWhere)
    MP_FIXED(kCopy)
    MP_FIXED(kScale)
    MP_FIXED(kNeg)
    MP_FIXED(kRelu)
#undef MP_FIXED
  default:
    return false;
  }
}

template <typename T, typename I, int NL>
void launchVecN(const ChainArgs &g, unsigned grid, cudaStream_t stream) {
  const Step &s0 = g.steps[0];
  // One step over leaves 0, 1, 2 in order (every unfused kernel) with no
  // rounding of its own takes a fixed-op kernel where one exists.
  bool simple = g.numSteps == 1 && s0.a == 0 &&
                s0.b == (NL > 1 ? 1 : 0) && (NL < 3 || s0.c == 2) &&
                s0.round == DType::F32;
  bool narrow = smallFloatIO(g.outType);
  for (int k = 0; k < NL; ++k)
    narrow &= smallFloatIO(g.leafType[k]);
  // A fixed op reads exactly its operands: where three leaves, a binary
  // op two, a unary op one.
  if constexpr (std::is_same<T, float>::value)
    if (simple && narrow && arityOf(s0.op) == NL &&
        launchFixed<I, NL>(s0.op, g, grid, stream))
      return;
  // Narrow: f32/f16/bf16/bool/u8 operands and result (every chain the
  // lowering fuses) load and store through 16-byte accesses of their own
  // width, which keeps far fewer registers live than the any-dtype path.
  if constexpr (std::is_same<T, float>::value)
    if (narrow) {
      chainKernelVec<T, I, NL, true><<<grid, kThreads, 0, stream>>>(g);
      return;
    }
  chainKernelVec<T, I, NL, false><<<grid, kThreads, 0, stream>>>(g);
}

template <typename T, typename I>
void launchVec(const ChainArgs &g, unsigned grid, cudaStream_t stream) {
  switch (g.numLeaves) {
  case 1:
    launchVecN<T, I, 1>(g, grid, stream);
    break;
  case 2:
    launchVecN<T, I, 2>(g, grid, stream);
    break;
  case 3:
    launchVecN<T, I, 3>(g, grid, stream);
    break;
  default:
    launchVecN<T, I, 4>(g, grid, stream);
    break;
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
    bool vec = aligned8(y.data, y.dtype) && y.numel() >= 8 &&
               leaves.size() <= 4;
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
          launchVec<float, uint32_t>(g, grid, env.stream);
        else
          launchVec<float, int64_t>(g, grid, env.stream);
        break;
      case Compute::Double:
        launchVec<double, int64_t>(g, grid, env.stream);
        break;
      case Compute::Int:
        launchVec<int64_t, int64_t>(g, grid, env.stream);
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
  // The fed product (an epilogue's) is leaf 0, so a one-step epilogue
  // reads its leaves in order and takes the simplest vector kernel.
  Launch l;
  int shift = fed ? 1 : 0;
  if (fed)
    l.addLeaf(fed);
  for (size_t i = 0; i < ch.numLeaves; ++i)
    l.addLeaf(&c.in(ch.first + i));
  for (size_t s = 0; s < ch.kind.size(); ++s) {
    auto arg = [&](int64_t a) -> int {
      if (a == -2)
        return 0;
      if (a == -1)
        return s == 0 ? 0 : -1; // step 0 reads the product (leaf 0)
      return int(a) + shift;
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
