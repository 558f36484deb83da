//===- Loss.cu - cross-entropy / NLL losses, their gradients, gelu_grad ---===//
//
// softmax_cross_entropy_loss, nll_loss, softmax_cross_entropy_loss_grad,
// nll_loss_grad and gelu_grad with the CPU reference's formulas
// (runtime/src/cpu/Loss.cpp, Grad.cpp): scores N x C x D..., integer labels
// N x D..., optional class weights, ignore_index, reduction mean / sum /
// none; float math for f32/f16/bf16 (double for f64), results rounded once.
// With no spatial dims and many classes (the LM head: [8192, 50257]) the
// forward runs one block per row: a single read computes the online
// max / sum of exp (16-byte vector loads after a scalar head that reaches
// alignment, as rows of an odd class count are not aligned), then the loss
// of the row, and one more read + write produces log_prob when it is
// requested. Other shapes run one thread per (n, d...) position. Mean and
// sum reductions write per-position losses and weights to env.scratch and
// one block sums them in a fixed order, so no value is read back on the
// host; the gradient's weight sum for `mean` is likewise computed on the
// device into scratch. Labels outside [0, C) that are not ignore_index
// raise kDevIndexOutOfRange and count as ignored.
//
//===----------------------------------------------------------------------===//
#include "Device.cuh"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace mp::rt::cuda {
namespace {

constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

__device__ __forceinline__ float dExp(float v) { return expf(v); }
__device__ __forceinline__ double dExp(double v) { return exp(v); }
__device__ __forceinline__ float dLog(float v) { return logf(v); }
__device__ __forceinline__ double dLog(double v) { return log(v); }
__device__ __forceinline__ float dErf(float v) { return erff(v); }
__device__ __forceinline__ double dErf(double v) { return erf(v); }
__device__ __forceinline__ float dTanh(float v) { return tanhf(v); }
__device__ __forceinline__ double dTanh(double v) { return tanh(v); }

template <typename T> __device__ __forceinline__ T negInf() {
  return -std::numeric_limits<T>::infinity();
}
/// max that propagates NaN, as the CPU's `p > mx || isnan(p)` scan.
template <typename T> __device__ __forceinline__ T nanMax(T a, T b) {
  return (a > b || a != a) ? a : b;
}

/// Online softmax statistics (max, sum of exp(x - max)): a part with max
/// -inf has sum 0; +inf or NaN make the sum NaN, as on the CPU.
template <typename T>
__device__ __forceinline__ void combine(T &m, T &s, T m2, T s2) {
  T nm = nanMax(m, m2);
  T a = m == negInf<T>() ? T(0) : s * dExp(m - nm);
  T b = m2 == negInf<T>() ? T(0) : s2 * dExp(m2 - nm);
  m = nm;
  s = a + b;
}
template <typename T> __device__ void blockCombine(T &m, T &s, T *shared) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1) {
    T m2 = __shfl_xor_sync(0xffffffffu, m, o);
    T s2 = __shfl_xor_sync(0xffffffffu, s, o);
    combine(m, s, m2, s2);
  }
  __syncthreads();
  if (lane == 0) {
    shared[warp] = m;
    shared[32 + warp] = s;
  }
  __syncthreads();
  bool has = lane < int(blockDim.x >> 5);
  m = has ? shared[lane] : negInf<T>();
  s = has ? shared[32 + lane] : T(0);
  for (int o = 16; o > 0; o >>= 1) {
    T m2 = __shfl_xor_sync(0xffffffffu, m, o);
    T s2 = __shfl_xor_sync(0xffffffffu, s, o);
    combine(m, s, m2, s2);
  }
}

/// Storage element <-> compute type (float, or double for f64).
template <typename S> struct CompOf { using type = float; };
template <> struct CompOf<double> { using type = double; };
template <typename S> using Comp = typename CompOf<S>::type;

__device__ __forceinline__ float toC(float v) { return v; }
__device__ __forceinline__ double toC(double v) { return v; }
__device__ __forceinline__ float toC(__half v) { return __half2float(v); }
__device__ __forceinline__ float toC(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
__device__ __forceinline__ void fromC(float &d, float v) { d = v; }
__device__ __forceinline__ void fromC(double &d, double v) { d = v; }
__device__ __forceinline__ void fromC(__half &d, float v) {
  d = __float2half_rn(v);
}
__device__ __forceinline__ void fromC(__nv_bfloat16 &d, float v) {
  d = __float2bfloat16_rn(v);
}

template <typename S, int V> struct alignas(sizeof(S) * V) Pack { S v[V]; };

template <typename S> struct Tag { using type = S; };
/// Calls f(Tag<S>{}) with the storage type of a float dtype.
template <typename F> void dispatchStorage(DType t, F &&f) {
  switch (t) {
  case DType::F16:
    f(Tag<__half>{});
    return;
  case DType::BF16:
    f(Tag<__nv_bfloat16>{});
    return;
  case DType::F64:
    f(Tag<double>{});
    return;
  default:
    f(Tag<float>{});
    return;
  }
}

/// Elements before the first V-aligned element of a row starting at p.
template <typename S, int V>
__device__ __forceinline__ int64_t alignHead(const S *p, int64_t n) {
  if (V == 1)
    return 0;
  int64_t mis = int64_t((reinterpret_cast<uintptr_t>(p) / sizeof(S)) % V);
  return mis ? std::min<int64_t>(n, V - mis) : 0;
}

__device__ __forceinline__ int64_t labelAt(const void *lab, bool is64,
                                           int64_t i) {
  return is64 ? static_cast<const int64_t *>(lab)[i]
              : int64_t(static_cast<const int32_t *>(lab)[i]);
}

enum Reduction { kNone, kSum, kMean };

Reduction reductionOf(KernelContext &c) {
  std::string r = c.str("reduction", "mean");
  return r == "none" ? kNone : r == "sum" ? kSum : kMean;
}

/// Label semantics shared by forward and backward.
struct Labels {
  const void *lab = nullptr;
  bool is64 = true;
  bool hasIgnore = false;
  int64_t ignore = 0;
  const void *w = nullptr; ///< class weights or null
  DType wt = DType::F32;
  int *flag = nullptr;
  int instr = 0;

  /// Class of position i, or -1 when ignored (or out of range: recorded).
  __device__ __forceinline__ int64_t cls(int64_t i, int64_t C) const {
    int64_t l = labelAt(lab, is64, i);
    if (hasIgnore && l == ignore)
      return -1;
    if (l < 0 || l >= C) {
      deviceFail(flag, instr, kDevIndexOutOfRange);
      return -1;
    }
    return l;
  }
  template <typename T> __device__ __forceinline__ T weight(int64_t l) const {
    return w ? ldAs<T>(w, wt, l) : T(1);
  }
};

Labels makeLabels(KernelContext &c, Env &env, const TensorView &lab,
                  const TensorView *w) {
  Labels L;
  L.hasIgnore = c.has("ignore_index");
  L.ignore = c.i64("ignore_index", 0);
  L.lab = lab.data;
  L.is64 = lab.dtype == DType::I64;
  L.w = w ? w->data : nullptr;
  L.wt = w ? w->dtype : DType::F32;
  L.flag = env.errorFlag;
  L.instr = int(c.instructionIndex);
  return L;
}

int rowBlockThreads(int64_t C) {
  return C >= 16384 ? 512 : C >= 2048 ? 256 : 128;
}
unsigned rowGrid(int64_t rows) {
  return unsigned(std::max<int64_t>(1, std::min<int64_t>(rows, 1 << 24)));
}
bool sameAlign16(const void *a, const void *b) {
  return (reinterpret_cast<uintptr_t>(a) - reinterpret_cast<uintptr_t>(b)) %
             16 ==
         0;
}

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

struct LossParams {
  int64_t N, C, S;
  Labels L;
  bool sce;
  Reduction red;
  void *loss; ///< [N, D...] for none, else scalar (written by lossFinal)
  DType lt;
  void *logp; ///< log_prob result (the scores' dtype) or null
  void *per;  ///< scratch: per-position loss then weight (compute type)
};

/// Stores the loss and weight of position `pos`.
template <typename T>
__device__ __forceinline__ void putLoss(const LossParams &p, int64_t pos, T v,
                                        T wt) {
  if (p.red == kNone) {
    stAs<T>(p.loss, p.lt, pos, v);
  } else {
    T *per = static_cast<T *>(p.per);
    per[pos] = v;
    per[p.N * p.S + pos] = wt;
  }
}

// softmax_cross_entropy_loss without spatial dims: one block per row.
template <typename S, int V>
__global__ void sceRowKernel(const S *__restrict__ x, LossParams p) {
  using T = Comp<S>;
  __shared__ T shared[64];
  const int64_t C = p.C;
  for (int64_t row = blockIdx.x; row < p.N; row += gridDim.x) {
    const S *px = x + row * C;
    int64_t head = alignHead<S, V>(px, C);
    int64_t body = (C - head) / V, tail = head + body * V;
    T m = negInf<T>(), s = 0;
    auto one = [&](int64_t i) {
      T v = toC(px[i]);
      // exp(v - v): 1, or NaN for +inf / NaN.
      combine(m, s, v, v == negInf<T>() ? T(0) : (v - v) + T(1));
    };
    for (int64_t i = threadIdx.x; i < head; i += blockDim.x)
      one(i);
    for (int64_t i = tail + threadIdx.x; i < C; i += blockDim.x)
      one(i);
    const Pack<S, V> *pv = reinterpret_cast<const Pack<S, V> *>(px + head);
    // Two vectors per step: more loads in flight, one combine.
    for (int64_t b = threadIdx.x; b < body; b += 2 * blockDim.x) {
      bool two = b + blockDim.x < body;
      Pack<S, V> k0 = pv[b], k1;
      if (two)
        k1 = pv[b + blockDim.x];
      T v[2 * V];
      T cm = negInf<T>();
#pragma unroll
      for (int i = 0; i < V; ++i) {
        v[i] = toC(k0.v[i]);
        v[V + i] = two ? toC(k1.v[i]) : negInf<T>();
      }
#pragma unroll
      for (int i = 0; i < 2 * V; ++i)
        cm = nanMax(cm, v[i]);
      T cs = 0;
      if (cm != negInf<T>())
#pragma unroll
        for (int i = 0; i < 2 * V; ++i)
          cs += dExp(v[i] - cm);
      combine(m, s, cm, cs);
    }
    blockCombine(m, s, shared);
    T ls = dLog(s);
    if (threadIdx.x == 0) {
      int64_t l = p.L.cls(row, C);
      T v = 0, wt = 0;
      if (l >= 0) {
        wt = p.L.weight<T>(l);
        T lp = toC(px[l]) - m - ls;
        v = -lp * wt;
      }
      putLoss<T>(p, row, v, wt);
    }
    if (p.logp) {
      S *q = static_cast<S *>(p.logp) + row * C;
      for (int64_t i = threadIdx.x; i < head; i += blockDim.x)
        fromC(q[i], toC(px[i]) - m - ls);
      for (int64_t i = tail + threadIdx.x; i < C; i += blockDim.x)
        fromC(q[i], toC(px[i]) - m - ls);
      Pack<S, V> *qv = reinterpret_cast<Pack<S, V> *>(q + head);
      for (int64_t b = threadIdx.x; b < body; b += blockDim.x) {
        Pack<S, V> k = pv[b], o;
#pragma unroll
        for (int i = 0; i < V; ++i)
          fromC(o.v[i], toC(k.v[i]) - m - ls);
        qv[b] = o;
      }
    }
  }
}

// One thread per (n, d...) position: softmax_cross_entropy_loss with any
// layout, and nll_loss.
template <typename T>
__global__ void lossPosKernel(const void *x, DType xt, LossParams p) {
  const int64_t C = p.C, S = p.S;
  MP_GRID_STRIDE(pos, p.N * S) {
    int64_t n = pos / S, s = pos - n * S;
    int64_t base = n * C * S + s;
    T mx = 0, ls = 0;
    if (p.sce) {
      mx = negInf<T>();
      for (int64_t k = 0; k < C; ++k)
        mx = nanMax(mx, ldAs<T>(x, xt, base + k * S));
      T sum = 0;
      for (int64_t k = 0; k < C; ++k)
        sum += dExp(ldAs<T>(x, xt, base + k * S) - mx);
      ls = dLog(sum);
      if (p.logp)
        for (int64_t k = 0; k < C; ++k)
          stAs<T>(p.logp, xt, base + k * S,
                  ldAs<T>(x, xt, base + k * S) - mx - ls);
    }
    int64_t l = p.L.cls(pos, C);
    T v = 0, wt = 0;
    if (l >= 0) {
      wt = p.L.weight<T>(l);
      T xl = ldAs<T>(x, xt, base + l * S);
      T lp = p.sce ? xl - mx - ls : xl;
      v = -lp * wt;
    }
    putLoss<T>(p, pos, v, wt);
  }
}

// Sum / mean of the per-position losses in scratch, one block.
template <typename T> __global__ void lossFinalKernel(LossParams p) {
  __shared__ T shared[32];
  const T *per = static_cast<const T *>(p.per);
  int64_t n = p.N * p.S;
  T tot = 0, ws = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    tot += per[i];
    ws += per[n + i];
  }
  tot = blockSum(tot, shared);
  ws = blockSum(ws, shared);
  if (threadIdx.x == 0)
    stAs<T>(p.loss, p.lt, 0, p.red == kSum ? tot : tot / ws);
}

void lossDims(const TensorView &x, int64_t &N, int64_t &C, int64_t &S) {
  N = x.shape[0];
  C = x.shape[1];
  S = 1;
  for (size_t d = 2; d < x.shape.size(); ++d)
    S *= x.shape[d];
}

size_t compSize(DType t) { return t == DType::F64 ? 8 : 4; }

size_t lossScratch(KernelContext &c) {
  if (reductionOf(c) == kNone)
    return 0;
  int64_t N, C, S;
  lossDims(c.in(0), N, C, S);
  return size_t(2 * N * S) * compSize(c.in(0).dtype);
}

Status lossKernel(KernelContext &c, Env &env) {
  bool sce = c.ins.kernel == "softmax_cross_entropy_loss";
  TensorView &x = c.in(0), &lab = c.in(1), &loss = c.out(0);
  LossParams p{};
  p.L = makeLabels(c, env, lab, c.opt(2));
  p.red = reductionOf(c);
  lossDims(x, p.N, p.C, p.S);
  p.sce = sce;
  p.loss = loss.data;
  p.lt = loss.dtype;
  p.logp = sce && c.numResults() > 1 ? c.out(1).data : nullptr;
  p.per = env.scratch;
  bool f64 = x.dtype == DType::F64;
  int64_t positions = p.N * p.S;
  if (positions > 0) {
    if (sce && p.S == 1 && p.C >= 256) {
      dispatchStorage(x.dtype, [&](auto tag) {
        using S = typename decltype(tag)::type;
        constexpr int V = 16 / sizeof(S);
        bool vec = !p.logp || sameAlign16(x.data, p.logp);
        unsigned g = rowGrid(p.N);
        int th = rowBlockThreads(p.C);
        if (vec)
          sceRowKernel<S, V><<<g, th, 0, env.stream>>>(x.as<S>(), p);
        else
          sceRowKernel<S, 1><<<g, th, 0, env.stream>>>(x.as<S>(), p);
      });
    } else if (f64) {
      lossPosKernel<double>
          <<<gridFor(positions), kThreads, 0, env.stream>>>(x.data, x.dtype, p);
    } else {
      lossPosKernel<float>
          <<<gridFor(positions), kThreads, 0, env.stream>>>(x.data, x.dtype, p);
    }
    MP_RT_TRY(checkLaunch(c, sce ? "softmax_cross_entropy_loss" : "nll_loss"));
  }
  if (p.red != kNone) {
    if (f64)
      lossFinalKernel<double><<<1, 1024, 0, env.stream>>>(p);
    else
      lossFinalKernel<float><<<1, 1024, 0, env.stream>>>(p);
    MP_RT_TRY(checkLaunch(c, "loss reduction"));
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

struct LossGradParams {
  int64_t N, C, S;
  Labels L;
  bool sce;
  Reduction red;
  const void *dl;
  DType dlt;
  void *wsum; ///< scratch: sum of the weights of non-ignored positions
};

// Sum of weights over the non-ignored positions (mean), one block; also
// validates the labels.
template <typename T> __global__ void weightSumKernel(LossGradParams p) {
  __shared__ T shared[32];
  int64_t n = p.N * p.S;
  T ws = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    int64_t l = p.L.cls(i, p.C);
    if (l >= 0)
      ws += p.L.weight<T>(l);
  }
  ws = blockSum(ws, shared);
  if (threadIdx.x == 0)
    *static_cast<T *>(p.wsum) = ws;
}

/// Class of position `pos` (-1: none) and its gradient factor
/// w[l] * dloss (/ wsum for mean).
template <typename T>
__device__ __forceinline__ T gradFactor(const LossGradParams &p, int64_t pos,
                                        int64_t &l) {
  l = p.L.cls(pos, p.C);
  T scale = p.red == kNone ? ldAs<T>(p.dl, p.dlt, pos)
            : p.red == kSum
                ? ldAs<T>(p.dl, p.dlt, 0)
                : ldAs<T>(p.dl, p.dlt, 0) / *static_cast<const T *>(p.wsum);
  return l < 0 ? T(0) : p.L.weight<T>(l) * scale;
}

template <typename T>
__device__ __forceinline__ T gradOf(bool sce, T lp, bool hot, T f) {
  T onehot = hot ? T(1) : T(0);
  return sce ? (dExp(lp) - onehot) * f : -onehot * f;
}

// Rows without spatial dims: one block per row, vectorised.
template <typename S, int V>
__global__ void lossGradRowKernel(const S *__restrict__ x, S *__restrict__ dx,
                                  LossGradParams p) {
  using T = Comp<S>;
  const int64_t C = p.C;
  for (int64_t row = blockIdx.x; row < p.N; row += gridDim.x) {
    int64_t l;
    T f = gradFactor<T>(p, row, l);
    const S *px = x + row * C;
    S *q = dx + row * C;
    int64_t head = alignHead<S, V>(q, C);
    int64_t body = (C - head) / V, tail = head + body * V;
    auto one = [&](int64_t i) {
      fromC(q[i], gradOf<T>(p.sce, p.sce ? toC(px[i]) : T(0), i == l, f));
    };
    for (int64_t i = threadIdx.x; i < head; i += blockDim.x)
      one(i);
    for (int64_t i = tail + threadIdx.x; i < C; i += blockDim.x)
      one(i);
    const Pack<S, V> *pv = reinterpret_cast<const Pack<S, V> *>(px + head);
    Pack<S, V> *qv = reinterpret_cast<Pack<S, V> *>(q + head);
    for (int64_t b = threadIdx.x; b < body; b += blockDim.x) {
      Pack<S, V> k, o;
      if (p.sce)
        k = pv[b];
      int64_t c0 = head + b * V;
#pragma unroll
      for (int i = 0; i < V; ++i)
        fromC(o.v[i],
              gradOf<T>(p.sce, p.sce ? toC(k.v[i]) : T(0), c0 + i == l, f));
      qv[b] = o;
    }
  }
}

// Any layout: one thread per element.
template <typename T>
__global__ void lossGradElemKernel(const void *x, DType xt, void *dx,
                                   LossGradParams p) {
  const int64_t C = p.C, S = p.S;
  MP_GRID_STRIDE(i, p.N * C * S) {
    int64_t q = i / S, s = i - q * S;
    int64_t n = q / C, k = q - n * C;
    int64_t l;
    T f = gradFactor<T>(p, n * S + s, l);
    T lp = p.sce ? ldAs<T>(x, xt, i) : T(0);
    stAs<T>(dx, xt, i, gradOf<T>(p.sce, lp, k == l, f));
  }
}

size_t lossGradScratch(KernelContext &c) {
  return reductionOf(c) == kMean ? compSize(c.in(1).dtype) : 0;
}

Status lossGradKernel(KernelContext &c, Env &env) {
  bool sce = c.ins.kernel == "softmax_cross_entropy_loss_grad";
  TensorView &dl = c.in(0), &x = c.in(1), &lab = c.in(2), &dx = c.out(0);
  LossGradParams p{};
  p.L = makeLabels(c, env, lab, c.opt(3));
  p.red = reductionOf(c);
  lossDims(x, p.N, p.C, p.S);
  p.sce = sce;
  p.dl = dl.data;
  p.dlt = dl.dtype;
  p.wsum = env.scratch;
  bool f64 = x.dtype == DType::F64;
  if (p.red == kMean) {
    if (f64)
      weightSumKernel<double><<<1, 1024, 0, env.stream>>>(p);
    else
      weightSumKernel<float><<<1, 1024, 0, env.stream>>>(p);
    MP_RT_TRY(checkLaunch(c, "loss grad weight sum"));
  }
  if (x.numel() == 0)
    return Status::success();
  if (p.S == 1 && p.C >= 256) {
    dispatchStorage(x.dtype, [&](auto tag) {
      using S = typename decltype(tag)::type;
      constexpr int V = 16 / sizeof(S);
      bool vec = sameAlign16(x.data, dx.data);
      unsigned g = rowGrid(p.N);
      int th = rowBlockThreads(p.C);
      if (vec)
        lossGradRowKernel<S, V>
            <<<g, th, 0, env.stream>>>(x.as<S>(), dx.as<S>(), p);
      else
        lossGradRowKernel<S, 1>
            <<<g, th, 0, env.stream>>>(x.as<S>(), dx.as<S>(), p);
    });
  } else if (f64) {
    lossGradElemKernel<double><<<gridFor(x.numel()), kThreads, 0, env.stream>>>(
        x.data, x.dtype, dx.data, p);
  } else {
    lossGradElemKernel<float><<<gridFor(x.numel()), kThreads, 0, env.stream>>>(
        x.data, x.dtype, dx.data, p);
  }
  return checkLaunch(c,
                     sce ? "softmax_cross_entropy_loss_grad" : "nll_loss_grad");
}

//===----------------------------------------------------------------------===//
// gelu_grad
//===----------------------------------------------------------------------===//

template <typename T> __device__ __forceinline__ T geluD(T v, bool tanhForm) {
  if (tanhForm) {
    T k = T(kSqrt2OverPi), a = T(0.044715);
    T t = dTanh(k * (v + a * v * v * v));
    return T(0.5) * (T(1) + t) +
           T(0.5) * v * (T(1) - t * t) * k * (T(1) + T(3) * a * v * v);
  }
  return T(0.5) * (T(1) + dErf(v * T(kSqrt1_2))) +
         v * T(kInvSqrt2Pi) * dExp(T(-0.5) * v * v);
}

// dX = dY * gelu'(X); 8 (or 4) elements per thread. May run in place.
template <typename S, int V>
__global__ void geluGradVecKernel(const S *dy, const S *x, S *dx, int64_t n,
                                  bool tanhForm) {
  using T = Comp<S>;
  int64_t nv = n / V;
  MP_GRID_STRIDE(b, nv) {
    Pack<S, V> g = reinterpret_cast<const Pack<S, V> *>(dy)[b];
    Pack<S, V> v = reinterpret_cast<const Pack<S, V> *>(x)[b], o;
#pragma unroll
    for (int i = 0; i < V; ++i)
      fromC(o.v[i], toC(g.v[i]) * geluD<T>(toC(v.v[i]), tanhForm));
    reinterpret_cast<Pack<S, V> *>(dx)[b] = o;
  }
  MP_GRID_STRIDE(i, n - nv * V) {
    int64_t k = nv * V + i;
    fromC(dx[k], toC(dy[k]) * geluD<T>(toC(x[k]), tanhForm));
  }
}

template <typename T>
__global__ void geluGradKernelAny(const void *dy, DType dyt, const void *x,
                                  void *dx, DType t, int64_t n, bool tanhForm) {
  MP_GRID_STRIDE(i, n) {
    T v = ldAs<T>(x, t, i);
    stAs<T>(dx, t, i, ldAs<T>(dy, dyt, i) * geluD<T>(v, tanhForm));
  }
}

Status geluGradKernel(KernelContext &c, Env &env) {
  bool tanhForm = c.str("approximate", "none") == "tanh";
  TensorView &dy = c.in(0), &x = c.in(1), &dx = c.out(0);
  int64_t n = x.numel();
  if (n == 0)
    return Status::success();
  bool aligned = reinterpret_cast<uintptr_t>(dy.data) % 16 == 0 &&
                 reinterpret_cast<uintptr_t>(x.data) % 16 == 0 &&
                 reinterpret_cast<uintptr_t>(dx.data) % 16 == 0;
  if (dy.dtype == x.dtype && aligned && x.dtype != DType::F64) {
    dispatchStorage(x.dtype, [&](auto tag) {
      using S = typename decltype(tag)::type;
      constexpr int V = 16 / sizeof(S);
      geluGradVecKernel<S, V><<<gridFor(n, V), kThreads, 0, env.stream>>>(
          dy.as<S>(), x.as<S>(), dx.as<S>(), n, tanhForm);
    });
  } else if (x.dtype == DType::F64) {
    geluGradKernelAny<double><<<gridFor(n), kThreads, 0, env.stream>>>(
        dy.data, dy.dtype, x.data, dx.data, x.dtype, n, tanhForm);
  } else {
    geluGradKernelAny<float><<<gridFor(n), kThreads, 0, env.stream>>>(
        dy.data, dy.dtype, x.data, dx.data, x.dtype, n, tanhForm);
  }
  return checkLaunch(c, "gelu_grad");
}

} // namespace

void registerLossKernels(Registry &r) {
  r["softmax_cross_entropy_loss"] = {lossKernel, false, lossScratch};
  r["nll_loss"] = {lossKernel, false, lossScratch};
  r["softmax_cross_entropy_loss_grad"] = {lossGradKernel, false,
                                          lossGradScratch};
  r["nll_loss_grad"] = {lossGradKernel, false, lossGradScratch};
  r["gelu_grad"] = {geluGradKernel, true, nullptr};
}

} // namespace mp::rt::cuda
