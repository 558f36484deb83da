//===- Norm.cu - softmax, layer_norm, batch_norm and their gradients ------===//
//
// softmax / log_softmax, softmax_grad / log_softmax_grad, layer_norm,
// layer_norm_grad, batch_norm and batch_norm_grad with the CPU reference's
// formulas (runtime/src/cpu/Norm.cpp, Grad.cpp): float math for
// f32/f16/bf16 (double for f64), each result rounded once. Row operations
// over the last axis take one of two paths. Rows of up to 1024 elements in
// f32/f16/bf16 are held in the registers of one warp (16-byte vector
// accesses where the row length and alignment allow), read once and
// written once, with warps looping over rows. Longer rows (and f64) use one
// block per row and re-read the row from global memory (L2). Softmax over
// a non-last axis runs one thread per (outer, inner) column. The column
// sums of layer_norm_grad (dScale, dB) are reduced in two deterministic
// stages: each block sums its rows into a slice of env.scratch, then a
// second kernel sums the slices in a fixed order. batch_norm statistics
// split every channel into parts reduced into env.scratch, then finalised
// per channel (two passes: mean, then squared deviations, as on the CPU).
// Summation orders differ from the CPU's sequential order; everything else
// (max with NaN propagation, formulas, rounding points) is the same.
//
//===----------------------------------------------------------------------===//
#include "Device.cuh"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace mp::rt::cuda {
namespace {

using cpu::Acc;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Device math in the compute type.
__device__ __forceinline__ float dExp(float v) { return expf(v); }
__device__ __forceinline__ double dExp(double v) { return exp(v); }
__device__ __forceinline__ float dLog(float v) { return logf(v); }
__device__ __forceinline__ double dLog(double v) { return log(v); }
__device__ __forceinline__ float dSqrt(float v) { return sqrtf(v); }
__device__ __forceinline__ double dSqrt(double v) { return sqrt(v); }

template <typename T> __device__ __forceinline__ T negInf() {
  return -std::numeric_limits<T>::infinity();
}

/// max that propagates NaN, as the CPU's `p > mx || isnan(p)` scan.
template <typename T> __device__ __forceinline__ T nanMax(T a, T b) {
  return (a > b || a != a) ? a : b;
}
template <typename T> __device__ __forceinline__ T warpNanMax(T v) {
  for (int o = 16; o > 0; o >>= 1)
    v = nanMax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <typename T> __device__ T blockNanMax(T v, T *shared) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warpNanMax(v);
  __syncthreads();
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  v = lane < int(blockDim.x >> 5) ? shared[lane] : negInf<T>();
  return warpNanMax(v);
}

/// Online softmax statistics: (max, sum of exp(x - max)). A component with
/// max -inf has sum 0; +inf or NaN make the sum NaN as on the CPU.
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

/// Storage element <-> float for the vectorised warp kernels.
__device__ __forceinline__ float toF(float v) { return v; }
__device__ __forceinline__ float toF(__half v) { return __half2float(v); }
__device__ __forceinline__ float toF(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <typename S> __device__ __forceinline__ S fromF(float v);
template <> __device__ __forceinline__ float fromF<float>(float v) { return v; }
template <> __device__ __forceinline__ __half fromF<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 fromF<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

template <typename S, int V> struct alignas(sizeof(S) * V) Pack { S v[V]; };
template <typename S, int V>
__device__ __forceinline__ void loadPack(const S *p, float (&out)[V]) {
  Pack<S, V> k = *reinterpret_cast<const Pack<S, V> *>(p);
#pragma unroll
  for (int i = 0; i < V; ++i)
    out[i] = toF(k.v[i]);
}
template <typename S, int V>
__device__ __forceinline__ void storePack(S *p, const float (&in)[V]) {
  Pack<S, V> k;
#pragma unroll
  for (int i = 0; i < V; ++i)
    k.v[i] = fromF<S>(in[i]);
  *reinterpret_cast<Pack<S, V> *>(p) = k;
}

template <typename S> struct Tag { using type = S; };
/// Calls f(Tag<S>{}) for the f32/f16/bf16 storage type of t.
template <typename F> bool dispatchHalfFloat(DType t, F &&f) {
  switch (t) {
  case DType::F32:
    f(Tag<float>{});
    return true;
  case DType::F16:
    f(Tag<__half>{});
    return true;
  case DType::BF16:
    f(Tag<__nv_bfloat16>{});
    return true;
  default:
    return false;
  }
}

bool aligned16(const void *p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

/// Calls f(integral_constant<int, NV>) with the smallest instantiated NV
/// such that one warp of NV vectors of V elements per lane covers D
/// (NV * V <= 32, so rows of at most 1024 elements). False if none does.
template <int V, typename F> bool pickNV(int64_t D, F &&f) {
  using std::integral_constant;
  int64_t need = (D + 32 * V - 1) / (32 * V);
  if (need <= 1) {
    f(integral_constant<int, 1>{});
    return true;
  }
  if (need <= 2) {
    f(integral_constant<int, 2>{});
    return true;
  }
  if constexpr (V > 1)
    if (need <= 3) {
      f(integral_constant<int, 3>{});
      return true;
    }
  if (need <= 4) {
    f(integral_constant<int, 4>{});
    return true;
  }
  if constexpr (V == 4)
    if (need <= 6) {
      f(integral_constant<int, 6>{});
      return true;
    }
  if constexpr (V <= 4)
    if (need <= 8) {
      f(integral_constant<int, 8>{});
      return true;
    }
  if constexpr (V == 1) {
    if (need <= 16) {
      f(integral_constant<int, 16>{});
      return true;
    }
    if (need <= 32) {
      f(integral_constant<int, 32>{});
      return true;
    }
  }
  return false;
}

constexpr int kWarpBlock = 256; // threads of the warp-per-row kernels

unsigned warpGrid(const Env &env, int64_t rows) {
  int64_t perBlock = kWarpBlock / 32;
  int64_t b = (rows + perBlock - 1) / perBlock;
  return unsigned(std::max<int64_t>(
      1, std::min<int64_t>(b, int64_t(std::max(env.numSMs, 1)) * 16)));
}
unsigned rowGrid(const Env &env, int64_t rows) {
  return unsigned(std::max<int64_t>(
      1, std::min<int64_t>(rows, int64_t(std::max(env.numSMs, 1)) * 32)));
}
int rowThreads(int64_t D) { return D <= 2048 ? 128 : D <= 16384 ? 256 : 512; }

Status accCheck(KernelContext &c, DType t) {
  if (c.acc(t) != Acc::Native)
    return c.unsupported("cuda accumulates in f32");
  return Status::success();
}

//===----------------------------------------------------------------------===//
// softmax / log_softmax
//===----------------------------------------------------------------------===//

// One warp per row of D <= NV * V * 32 elements, held in registers.
template <typename S, int V, int NV>
__global__ void __launch_bounds__(kWarpBlock)
    softmaxWarpKernel(const S *__restrict__ x, S *__restrict__ y, int64_t rows,
                      int D, bool isLog) {
  const int lane = threadIdx.x & 31;
  const int64_t step = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t row =
           int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
       row < rows; row += step) {
    const S *px = x + row * D;
    S *py = y + row * D;
    float v[NV][V];
    float mx = negInf<float>();
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
        loadPack<S, V>(px + col, v[j]);
#pragma unroll
        for (int k = 0; k < V; ++k)
          mx = nanMax(mx, v[j][k]);
      }
    }
    mx = warpNanMax(mx);
    float sum = 0;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
#pragma unroll
        for (int k = 0; k < V; ++k) {
          float e = expf(v[j][k] - mx);
          sum += e;
          if (!isLog)
            v[j][k] = e;
        }
      }
    }
    sum = warpSum(sum);
    float ls = isLog ? logf(sum) : 0.f;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
#pragma unroll
        for (int k = 0; k < V; ++k)
          v[j][k] = isLog ? v[j][k] - mx - ls : v[j][k] / sum;
        storePack<S, V>(py + col, v[j]);
      }
    }
  }
}

// One block per row (any length, any float dtype): online max/sum in one
// read, then one read + write.
template <typename T>
__global__ void softmaxBlockKernel(const void *x, void *y, DType t,
                                   int64_t rows, int64_t D, bool isLog) {
  __shared__ T shared[64];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    int64_t base = row * D;
    T m = negInf<T>(), s = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      T v = ldAs<T>(x, t, base + i);
      // exp(v - v): 1, or NaN for +inf / NaN.
      combine(m, s, v, v == negInf<T>() ? T(0) : (v - v) + T(1));
    }
    blockCombine(m, s, shared);
    T ls = isLog ? dLog(s) : T(0);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      T v = ldAs<T>(x, t, base + i);
      stAs<T>(y, t, base + i, isLog ? v - m - ls : dExp(v - m) / s);
    }
  }
}

// One thread per (outer, inner) column when the axis is not the last.
template <typename T>
__global__ void softmaxColumnKernel(const void *x, void *y, DType t,
                                    int64_t outer, int64_t D, int64_t inner,
                                    bool isLog) {
  MP_GRID_STRIDE(idx, outer * inner) {
    int64_t o = idx / inner, i = idx - o * inner;
    int64_t base = o * D * inner + i;
    T mx = negInf<T>();
    for (int64_t d = 0; d < D; ++d)
      mx = nanMax(mx, ldAs<T>(x, t, base + d * inner));
    T sum = 0;
    for (int64_t d = 0; d < D; ++d)
      sum += dExp(ldAs<T>(x, t, base + d * inner) - mx);
    T ls = isLog ? dLog(sum) : T(0);
    for (int64_t d = 0; d < D; ++d) {
      T v = ldAs<T>(x, t, base + d * inner);
      stAs<T>(y, t, base + d * inner, isLog ? v - mx - ls : dExp(v - mx) / sum);
    }
  }
}

Status softmaxKernel(KernelContext &c, Env &env) {
  int64_t axis = c.i64("axis", -1);
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(accCheck(c, x.dtype));
  cpu::normAxis(axis, x.rank());
  if (x.numel() == 0)
    return Status::success();
  bool isLog = c.ins.kernel == "log_softmax";
  int64_t D = x.shape[size_t(axis)], outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[size_t(d)];
  if (inner > 1) {
    if (x.dtype == DType::F64)
      softmaxColumnKernel<double>
          <<<gridFor(outer * inner), kThreads, 0, env.stream>>>(
              x.data, y.data, x.dtype, outer, D, inner, isLog);
    else
      softmaxColumnKernel<float>
          <<<gridFor(outer * inner), kThreads, 0, env.stream>>>(
              x.data, y.data, x.dtype, outer, D, inner, isLog);
    return checkLaunch(c, "softmax (column)");
  }
  bool done = false;
  if (D <= 1024)
    done = dispatchHalfFloat(x.dtype, [&](auto tag) {
      using S = typename decltype(tag)::type;
      constexpr int V = 16 / sizeof(S);
      bool vec = D % V == 0 && aligned16(x.data) && aligned16(y.data);
      if (vec)
        pickNV<V>(D, [&](auto nv) {
          softmaxWarpKernel<S, V, decltype(nv)::value>
              <<<warpGrid(env, outer), kWarpBlock, 0, env.stream>>>(
                  x.as<S>(), y.as<S>(), outer, int(D), isLog);
        });
      else
        pickNV<1>(D, [&](auto nv) {
          softmaxWarpKernel<S, 1, decltype(nv)::value>
              <<<warpGrid(env, outer), kWarpBlock, 0, env.stream>>>(
                  x.as<S>(), y.as<S>(), outer, int(D), isLog);
        });
    });
  if (!done) {
    if (x.dtype == DType::F64)
      softmaxBlockKernel<double>
          <<<rowGrid(env, outer), rowThreads(D), 0, env.stream>>>(
              x.data, y.data, x.dtype, outer, D, isLog);
    else
      softmaxBlockKernel<float>
          <<<rowGrid(env, outer), rowThreads(D), 0, env.stream>>>(
              x.data, y.data, x.dtype, outer, D, isLog);
  }
  return checkLaunch(c, "softmax");
}

//===----------------------------------------------------------------------===//
// softmax_grad / log_softmax_grad
//===----------------------------------------------------------------------===//

// dX = Y * (dY - sum(dY * Y))  or  dY - exp(Y) * sum(dY), one warp per row.
template <typename S, int V, int NV>
__global__ void __launch_bounds__(kWarpBlock)
    softmaxGradWarpKernel(const S *__restrict__ dy, const S *__restrict__ y,
                          S *__restrict__ dx, int64_t rows, int D, bool isLog) {
  const int lane = threadIdx.x & 31;
  const int64_t step = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t row =
           int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
       row < rows; row += step) {
    int64_t base = row * D;
    float g[NV][V], v[NV][V];
    float sum = 0;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
        loadPack<S, V>(dy + base + col, g[j]);
        loadPack<S, V>(y + base + col, v[j]);
#pragma unroll
        for (int k = 0; k < V; ++k)
          sum += isLog ? g[j][k] : g[j][k] * v[j][k];
      }
    }
    sum = warpSum(sum);
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
#pragma unroll
        for (int k = 0; k < V; ++k)
          v[j][k] =
              isLog ? g[j][k] - expf(v[j][k]) * sum : v[j][k] * (g[j][k] - sum);
        storePack<S, V>(dx + base + col, v[j]);
      }
    }
  }
}

template <typename T>
__global__ void softmaxGradBlockKernel(const void *dy, DType dyt, const void *y,
                                       void *dx, DType t, int64_t rows,
                                       int64_t D, bool isLog) {
  __shared__ T shared[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    int64_t base = row * D;
    T sum = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      T g = ldAs<T>(dy, dyt, base + i);
      sum += isLog ? g : g * ldAs<T>(y, t, base + i);
    }
    sum = blockSum(sum, shared);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      T g = ldAs<T>(dy, dyt, base + i), v = ldAs<T>(y, t, base + i);
      stAs<T>(dx, t, base + i, isLog ? g - dExp(v) * sum : v * (g - sum));
    }
  }
}

template <typename T>
__global__ void softmaxGradColumnKernel(const void *dy, DType dyt,
                                        const void *y, void *dx, DType t,
                                        int64_t outer, int64_t D, int64_t inner,
                                        bool isLog) {
  MP_GRID_STRIDE(idx, outer * inner) {
    int64_t o = idx / inner, i = idx - o * inner;
    int64_t base = o * D * inner + i;
    T sum = 0;
    for (int64_t d = 0; d < D; ++d) {
      int64_t k = base + d * inner;
      T g = ldAs<T>(dy, dyt, k);
      sum += isLog ? g : g * ldAs<T>(y, t, k);
    }
    for (int64_t d = 0; d < D; ++d) {
      int64_t k = base + d * inner;
      T g = ldAs<T>(dy, dyt, k), v = ldAs<T>(y, t, k);
      stAs<T>(dx, t, k, isLog ? g - dExp(v) * sum : v * (g - sum));
    }
  }
}

Status softmaxGradKernel(KernelContext &c, Env &env) {
  int64_t axis = c.i64("axis", -1);
  TensorView &dy = c.in(0), &y = c.in(1), &dx = c.out(0);
  cpu::normAxis(axis, y.rank());
  if (y.numel() == 0)
    return Status::success();
  bool isLog = c.ins.kernel == "log_softmax_grad";
  int64_t D = y.shape[size_t(axis)], outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= y.shape[size_t(d)];
  for (int64_t d = axis + 1; d < y.rank(); ++d)
    inner *= y.shape[size_t(d)];
  bool f64 = y.dtype == DType::F64;
  if (inner > 1) {
    if (f64)
      softmaxGradColumnKernel<double>
          <<<gridFor(outer * inner), kThreads, 0, env.stream>>>(
              dy.data, dy.dtype, y.data, dx.data, y.dtype, outer, D, inner,
              isLog);
    else
      softmaxGradColumnKernel<float>
          <<<gridFor(outer * inner), kThreads, 0, env.stream>>>(
              dy.data, dy.dtype, y.data, dx.data, y.dtype, outer, D, inner,
              isLog);
    return checkLaunch(c, "softmax_grad (column)");
  }
  bool done = false;
  if (D <= 1024 && dy.dtype == y.dtype)
    done = dispatchHalfFloat(y.dtype, [&](auto tag) {
      using S = typename decltype(tag)::type;
      constexpr int V = 16 / sizeof(S);
      bool vec = D % V == 0 && aligned16(dy.data) && aligned16(y.data) &&
                 aligned16(dx.data);
      if (vec)
        pickNV<V>(D, [&](auto nv) {
          softmaxGradWarpKernel<S, V, decltype(nv)::value>
              <<<warpGrid(env, outer), kWarpBlock, 0, env.stream>>>(
                  dy.as<S>(), y.as<S>(), dx.as<S>(), outer, int(D), isLog);
        });
      else
        pickNV<1>(D, [&](auto nv) {
          softmaxGradWarpKernel<S, 1, decltype(nv)::value>
              <<<warpGrid(env, outer), kWarpBlock, 0, env.stream>>>(
                  dy.as<S>(), y.as<S>(), dx.as<S>(), outer, int(D), isLog);
        });
    });
  if (!done) {
    if (f64)
      softmaxGradBlockKernel<double>
          <<<rowGrid(env, outer), rowThreads(D), 0, env.stream>>>(
              dy.data, dy.dtype, y.data, dx.data, y.dtype, outer, D, isLog);
    else
      softmaxGradBlockKernel<float>
          <<<rowGrid(env, outer), rowThreads(D), 0, env.stream>>>(
              dy.data, dy.dtype, y.data, dx.data, y.dtype, outer, D, isLog);
  }
  return checkLaunch(c, "softmax_grad");
}

//===----------------------------------------------------------------------===//
// layer_norm
//===----------------------------------------------------------------------===//

/// Where Scale and B live and how column i of the normalized shape maps
/// onto them (directly when they have its element count, else broadcast).
struct Affine {
  const void *scale = nullptr, *bias = nullptr;
  DType st = DType::F32, bt = DType::F32;
  bool sContig = true, bContig = true;
  Bcast<2> bc;

  __device__ __forceinline__ int64_t sOff(int64_t i) const {
    return sContig ? i : bc.offset(0, i);
  }
  __device__ __forceinline__ int64_t bOff(int64_t i) const {
    return bContig ? i : bc.offset(1, i);
  }
};

Status makeAffine(KernelContext &c, Affine &a, const Shape &norm,
                  const TensorView &scale, const TensorView *bias) {
  int64_t inner = cpu::numElements(norm);
  a.scale = scale.data;
  a.st = scale.dtype;
  a.sContig = scale.numel() == inner;
  a.bias = bias ? bias->data : nullptr;
  a.bt = bias ? bias->dtype : DType::F32;
  a.bContig = !bias || bias->numel() == inner;
  if ((!a.sContig || !a.bContig) &&
      !makeBcast<2>(a.bc, norm, {&scale.shape, bias ? &bias->shape : &norm}))
    return c.unsupported("Scale/B broadcast needs more than 8 dims");
  return Status::success();
}

struct Stash {
  void *mean = nullptr, *inv = nullptr;
  DType mt = DType::F32, it = DType::F32;
};

template <typename S, int V, int NV>
__global__ void __launch_bounds__(kWarpBlock)
    layerNormWarpKernel(const S *__restrict__ x, S *__restrict__ y,
                        int64_t rows, int D, float eps, Affine a, Stash st) {
  const int lane = threadIdx.x & 31;
  // This lane's columns are the same for every row: load Scale/B once.
  float sc[NV][V], bs[NV][V];
#pragma unroll
  for (int j = 0; j < NV; ++j)
#pragma unroll
    for (int k = 0; k < V; ++k) {
      int col = (j * 32 + lane) * V + k;
      sc[j][k] = col < D ? ldAs<float>(a.scale, a.st, a.sOff(col)) : 0.f;
      bs[j][k] =
          col < D && a.bias ? ldAs<float>(a.bias, a.bt, a.bOff(col)) : 0.f;
    }
  const int64_t step = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t row =
           int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
       row < rows; row += step) {
    const S *px = x + row * D;
    S *py = y + row * D;
    float v[NV][V];
    float sum = 0;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
        loadPack<S, V>(px + col, v[j]);
#pragma unroll
        for (int k = 0; k < V; ++k)
          sum += v[j][k];
      }
    }
    float mean = warpSum(sum) / float(D);
    float sq = 0;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D)
#pragma unroll
        for (int k = 0; k < V; ++k) {
          float d = v[j][k] - mean;
          sq += d * d;
        }
    }
    float var = warpSum(sq) / float(D);
    float inv = 1.f / sqrtf(var + eps);
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
#pragma unroll
        for (int k = 0; k < V; ++k)
          v[j][k] = (v[j][k] - mean) * inv * sc[j][k] + bs[j][k];
        storePack<S, V>(py + col, v[j]);
      }
    }
    if (lane == 0) {
      if (st.mean)
        stAs<float>(st.mean, st.mt, row, mean);
      if (st.inv)
        stAs<float>(st.inv, st.it, row, inv);
    }
  }
}

template <typename T>
__global__ void layerNormBlockKernel(const void *x, void *y, DType t,
                                     int64_t rows, int64_t D, T eps, Affine a,
                                     Stash st) {
  __shared__ T shared[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    int64_t base = row * D;
    T sum = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x)
      sum += ldAs<T>(x, t, base + i);
    T mean = blockSum(sum, shared) / T(D);
    T sq = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      T d = ldAs<T>(x, t, base + i) - mean;
      sq += d * d;
    }
    T var = blockSum(sq, shared) / T(D);
    T inv = T(1) / dSqrt(var + eps);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      T s = ldAs<T>(a.scale, a.st, a.sOff(i));
      T b = a.bias ? ldAs<T>(a.bias, a.bt, a.bOff(i)) : T(0);
      stAs<T>(y, t, base + i, (ldAs<T>(x, t, base + i) - mean) * inv * s + b);
    }
    if (threadIdx.x == 0) {
      if (st.mean)
        stAs<T>(st.mean, st.mt, row, mean);
      if (st.inv)
        stAs<T>(st.inv, st.it, row, inv);
    }
  }
}

Status layerNormKernel(KernelContext &c, Env &env) {
  int64_t axis = c.i64("axis", -1);
  double eps = float(c.f64("epsilon", 1e-5));
  (void)c.i64("stash_type", 1);
  TensorView &x = c.in(0), &scale = c.in(1), &y = c.out(0);
  TensorView *b = c.opt(2);
  MP_RT_TRY(accCheck(c, x.dtype));
  cpu::normAxis(axis, x.rank());
  Shape norm(x.shape.begin() + axis, x.shape.end());
  int64_t inner = cpu::numElements(norm);
  int64_t outer =
      cpu::numElements(Shape(x.shape.begin(), x.shape.begin() + axis));
  Stash st;
  if (c.numResults() > 1) {
    st.mean = c.out(1).data;
    st.mt = c.out(1).dtype;
  }
  if (c.numResults() > 2) {
    st.inv = c.out(2).data;
    st.it = c.out(2).dtype;
  }
  if (outer == 0 || (inner == 0 && !st.mean && !st.inv))
    return Status::success();
  Affine a;
  MP_RT_TRY(makeAffine(c, a, norm, scale, b));
  bool done = false;
  if (inner > 0 && inner <= 1024)
    done = dispatchHalfFloat(x.dtype, [&](auto tag) {
      using S = typename decltype(tag)::type;
      constexpr int V = 16 / sizeof(S);
      bool vec = inner % V == 0 && aligned16(x.data) && aligned16(y.data);
      if (vec)
        pickNV<V>(inner, [&](auto nv) {
          layerNormWarpKernel<S, V, decltype(nv)::value>
              <<<warpGrid(env, outer), kWarpBlock, 0, env.stream>>>(
                  x.as<S>(), y.as<S>(), outer, int(inner), float(eps), a, st);
        });
      else
        pickNV<1>(inner, [&](auto nv) {
          layerNormWarpKernel<S, 1, decltype(nv)::value>
              <<<warpGrid(env, outer), kWarpBlock, 0, env.stream>>>(
                  x.as<S>(), y.as<S>(), outer, int(inner), float(eps), a, st);
        });
    });
  if (!done) {
    if (x.dtype == DType::F64)
      layerNormBlockKernel<double>
          <<<rowGrid(env, outer), rowThreads(inner), 0, env.stream>>>(
              x.data, y.data, x.dtype, outer, inner, eps, a, st);
    else
      layerNormBlockKernel<float>
          <<<rowGrid(env, outer), rowThreads(inner), 0, env.stream>>>(
              x.data, y.data, x.dtype, outer, inner, float(eps), a, st);
  }
  return checkLaunch(c, "layer_norm");
}

//===----------------------------------------------------------------------===//
// layer_norm_grad
//===----------------------------------------------------------------------===//

// Stage 1 writes per-block partial column sums of dScale and dB into
// scratch as [2][blocks][inner] in the compute type; stage 2 sums them.
constexpr int64_t kLnGradMaxBlocks = 264; // two per SM on an H100

int64_t lnGradBlocks(int64_t outer) {
  return std::min(outer, kLnGradMaxBlocks);
}

void lnGradShape(KernelContext &c, int64_t &outer, int64_t &inner) {
  int64_t axis = c.i64("axis", -1);
  const TensorView &x = c.in(1);
  cpu::normAxis(axis, x.rank());
  inner = cpu::numElements(Shape(x.shape.begin() + axis, x.shape.end()));
  outer = cpu::numElements(Shape(x.shape.begin(), x.shape.begin() + axis));
}

size_t layerNormGradScratch(KernelContext &c) {
  int64_t outer, inner;
  lnGradShape(c, outer, inner);
  size_t t = c.in(1).dtype == DType::F64 ? 8 : 4;
  return size_t(2 * lnGradBlocks(outer) * inner) * t;
}

struct LnGradParams {
  int64_t rows, D, blocks;
  const void *scale;
  DType st;
  bool sContig;
  Bcast<1> bc;
  const void *mean, *inv;
  DType mt, it;

  __device__ __forceinline__ int64_t sOff(int64_t i) const {
    return sContig ? i : bc.offset(0, i);
  }
};

/// V floats from 16-byte aligned shared memory when V is a multiple of 4.
template <int V>
__device__ __forceinline__ void loadShared(const float *p, float (&o)[V]) {
  if constexpr (V % 4 == 0) {
#pragma unroll
    for (int q = 0; q < V / 4; ++q) {
      float4 f = reinterpret_cast<const float4 *>(p)[q];
      o[4 * q] = f.x;
      o[4 * q + 1] = f.y;
      o[4 * q + 2] = f.z;
      o[4 * q + 3] = f.w;
    }
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k)
      o[k] = p[k];
  }
}

// Warp per row with X and dY in registers; Scale in shared memory; each
// lane accumulates dScale/dB of its columns over the warp's rows.
template <typename S, int V, int NV>
__global__ void __launch_bounds__(kWarpBlock)
    layerNormGradWarpKernel(const S *__restrict__ dy, const S *__restrict__ x,
                            S *__restrict__ dx, float *__restrict__ partial,
                            LnGradParams p) {
  extern __shared__ float4 smemv[]; // scale[D], acc[2][D]
  float *smem = reinterpret_cast<float *>(smemv);
  const int D = int(p.D);
  float *ssc = smem, *acc = smem + D;
  for (int i = threadIdx.x; i < D; i += blockDim.x)
    ssc[i] = ldAs<float>(p.scale, p.st, p.sOff(i));
  __syncthreads();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int nw = blockDim.x >> 5;
  float dS[NV][V], dB[NV][V];
#pragma unroll
  for (int j = 0; j < NV; ++j)
#pragma unroll
    for (int k = 0; k < V; ++k)
      dS[j][k] = dB[j][k] = 0.f;
  const int64_t step = int64_t(gridDim.x) * nw;
  for (int64_t row = int64_t(blockIdx.x) * nw + warp; row < p.rows;
       row += step) {
    int64_t base = row * D;
    float m = ldAs<float>(p.mean, p.mt, row), r = ldAs<float>(p.inv, p.it, row);
    float g[NV][V], v[NV][V];
    float sum1 = 0, sum2 = 0;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
        loadPack<S, V>(dy + base + col, g[j]);
        loadPack<S, V>(x + base + col, v[j]);
        float sc[V];
        loadShared<V>(ssc + col, sc);
#pragma unroll
        for (int k = 0; k < V; ++k) {
          float xhat = (v[j][k] - m) * r;
          float dxhat = g[j][k] * sc[k];
          sum1 += dxhat;
          sum2 += dxhat * xhat;
          dS[j][k] += g[j][k] * xhat;
          dB[j][k] += g[j][k];
        }
      }
    }
    float mean1 = warpSum(sum1) / float(D), mean2 = warpSum(sum2) / float(D);
#pragma unroll
    for (int j = 0; j < NV; ++j) {
      int col = (j * 32 + lane) * V;
      if (col < D) {
        float sc[V];
        loadShared<V>(ssc + col, sc);
#pragma unroll
        for (int k = 0; k < V; ++k) {
          float xhat = (v[j][k] - m) * r;
          float dxhat = g[j][k] * sc[k];
          v[j][k] = r * (dxhat - mean1 - xhat * mean2);
        }
        storePack<S, V>(dx + base + col, v[j]);
      }
    }
  }
  // Sum the warps' partials in warp order, then store the block's slice.
  for (int w = 0; w < nw; ++w) {
    if (warp == w) {
#pragma unroll
      for (int j = 0; j < NV; ++j)
#pragma unroll
        for (int k = 0; k < V; ++k) {
          int col = (j * 32 + lane) * V + k;
          if (col < D) {
            acc[col] = w == 0 ? dS[j][k] : acc[col] + dS[j][k];
            acc[D + col] = w == 0 ? dB[j][k] : acc[D + col] + dB[j][k];
          }
        }
    }
    __syncthreads();
  }
  for (int i = threadIdx.x; i < D; i += blockDim.x) {
    partial[int64_t(blockIdx.x) * D + i] = acc[i];
    partial[(p.blocks + blockIdx.x) * D + i] = acc[D + i];
  }
}

// One block per row (rows blockIdx, blockIdx + gridDim, ...), any length;
// each thread keeps the partial sums of its columns in the block's slice.
template <typename T>
__global__ void layerNormGradBlockKernel(const void *dy, DType dyt,
                                         const void *x, void *dx, DType t,
                                         T *partial, LnGradParams p) {
  __shared__ T shared[32];
  const int64_t D = p.D;
  T *pS = partial + int64_t(blockIdx.x) * D;
  T *pB = partial + (p.blocks + blockIdx.x) * D;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x)
    pS[i] = pB[i] = T(0);
  for (int64_t row = blockIdx.x; row < p.rows; row += gridDim.x) {
    int64_t base = row * D;
    T m = ldAs<T>(p.mean, p.mt, row), r = ldAs<T>(p.inv, p.it, row);
    T sum1 = 0, sum2 = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      T g = ldAs<T>(dy, dyt, base + i);
      T xhat = (ldAs<T>(x, t, base + i) - m) * r;
      T dxhat = g * ldAs<T>(p.scale, p.st, p.sOff(i));
      sum1 += dxhat;
      sum2 += dxhat * xhat;
      pS[i] += g * xhat;
      pB[i] += g;
    }
    T mean1 = blockSum(sum1, shared) / T(D);
    T mean2 = blockSum(sum2, shared) / T(D);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      T g = ldAs<T>(dy, dyt, base + i);
      T xhat = (ldAs<T>(x, t, base + i) - m) * r;
      T dxhat = g * ldAs<T>(p.scale, p.st, p.sOff(i));
      stAs<T>(dx, t, base + i, r * (dxhat - mean1 - xhat * mean2));
    }
  }
}

// Stage 2: out[which][col] = sum over blocks of partial[which][b][col], in
// a fixed order. Block (32, 8): 32 columns, 8 interleaved slices.
template <typename T>
__global__ void columnSumKernel(const T *partial, int64_t blocks, int64_t D,
                                void *dS, DType st, void *dB, DType bt) {
  __shared__ T sh[8][33];
  int64_t col = int64_t(blockIdx.x) * 32 + threadIdx.x;
  int which = blockIdx.y;
  T s = 0;
  if (col < D)
    for (int64_t b = threadIdx.y; b < blocks; b += 8)
      s += partial[(which * blocks + b) * D + col];
  sh[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && col < D) {
    T tot = 0;
    for (int k = 0; k < 8; ++k)
      tot += sh[k][threadIdx.x];
    if (which == 0)
      stAs<T>(dS, st, col, tot);
    else
      stAs<T>(dB, bt, col, tot);
  }
}

Status layerNormGradKernel(KernelContext &c, Env &env) {
  int64_t outer, inner;
  lnGradShape(c, outer, inner);
  TensorView &dy = c.in(0), &x = c.in(1), &sc = c.in(2), &mean = c.in(3),
             &inv = c.in(4);
  TensorView &dx = c.out(0), &dS = c.out(1), &dB = c.out(2);
  if (inner == 0)
    return Status::success();
  const Shape &norm = dS.shape;
  LnGradParams p{};
  p.rows = outer;
  p.D = inner;
  p.blocks = lnGradBlocks(outer);
  p.scale = sc.data;
  p.st = sc.dtype;
  p.sContig = sc.numel() == inner;
  if (!p.sContig && !makeBcast<1>(p.bc, norm, {&sc.shape}))
    return c.unsupported("Scale broadcast needs more than 8 dims");
  p.mean = mean.data;
  p.mt = mean.dtype;
  p.inv = inv.data;
  p.it = inv.dtype;
  bool f64 = x.dtype == DType::F64;
  if (outer > 0) {
    bool done = false;
    if (inner <= 1024 && dy.dtype == x.dtype)
      done = dispatchHalfFloat(x.dtype, [&](auto tag) {
        using S = typename decltype(tag)::type;
        constexpr int V = 16 / sizeof(S);
        bool vec = inner % V == 0 && aligned16(dy.data) && aligned16(x.data) &&
                   aligned16(dx.data);
        // Fewer, fuller blocks: each warp of a block takes several rows.
        LnGradParams q = p;
        q.blocks = std::min<int64_t>(p.blocks, (outer + 7) / 8);
        size_t smem = size_t(3 * inner) * sizeof(float);
        p.blocks = q.blocks;
        auto *part = static_cast<float *>(env.scratch);
        if (vec)
          pickNV<V>(inner, [&](auto nv) {
            layerNormGradWarpKernel<S, V, decltype(nv)::value>
                <<<unsigned(q.blocks), kWarpBlock, smem, env.stream>>>(
                    dy.as<S>(), x.as<S>(), dx.as<S>(), part, q);
          });
        else
          pickNV<1>(inner, [&](auto nv) {
            layerNormGradWarpKernel<S, 1, decltype(nv)::value>
                <<<unsigned(q.blocks), kWarpBlock, smem, env.stream>>>(
                    dy.as<S>(), x.as<S>(), dx.as<S>(), part, q);
          });
      });
    if (!done) {
      if (f64)
        layerNormGradBlockKernel<double>
            <<<unsigned(p.blocks), rowThreads(inner), 0, env.stream>>>(
                dy.data, dy.dtype, x.data, dx.data, x.dtype,
                static_cast<double *>(env.scratch), p);
      else
        layerNormGradBlockKernel<float>
            <<<unsigned(p.blocks), rowThreads(inner), 0, env.stream>>>(
                dy.data, dy.dtype, x.data, dx.data, x.dtype,
                static_cast<float *>(env.scratch), p);
    }
    MP_RT_TRY(checkLaunch(c, "layer_norm_grad"));
  }
  dim3 grid(unsigned((inner + 31) / 32), 2), block(32, 8);
  if (f64)
    columnSumKernel<double><<<grid, block, 0, env.stream>>>(
        static_cast<const double *>(env.scratch), outer > 0 ? p.blocks : 0,
        inner, dS.data, dS.dtype, dB.data, dB.dtype);
  else
    columnSumKernel<float><<<grid, block, 0, env.stream>>>(
        static_cast<const float *>(env.scratch), outer > 0 ? p.blocks : 0,
        inner, dS.data, dS.dtype, dB.data, dB.dtype);
  return checkLaunch(c, "layer_norm_grad (column sums)");
}

//===----------------------------------------------------------------------===//
// batch_norm / batch_norm_grad
//===----------------------------------------------------------------------===//

// Scratch (compute type T): part0[C * P], part1[C * P], then per channel
// mean, inv, a, b, k (see bnFinalizeKernel).
int64_t bnParts(int64_t C, int64_t NS) {
  int64_t p = (NS + 8191) / 8192;
  int64_t cap = std::max<int64_t>(1, 1024 / std::max<int64_t>(C, 1));
  return std::max<int64_t>(1, std::min(p, cap));
}

size_t bnScratch(const TensorView &x) {
  int64_t N = x.shape[0], C = x.shape[1];
  int64_t S = x.numel() / std::max<int64_t>(N * C, 1);
  int64_t P = bnParts(C, N * S);
  return size_t(2 * C * P + 5 * C) * (x.dtype == DType::F64 ? 8 : 4);
}
size_t batchNormScratch(KernelContext &c) { return bnScratch(c.in(0)); }
size_t batchNormGradScratch(KernelContext &c) { return bnScratch(c.in(1)); }

template <typename T> struct BnBuf {
  T *part0, *part1, *mean, *inv, *a, *b, *k;
};
template <typename T> BnBuf<T> bnBuf(void *scratch, int64_t C, int64_t P) {
  T *s = static_cast<T *>(scratch);
  BnBuf<T> b;
  b.part0 = s;
  b.part1 = s + C * P;
  b.mean = s + 2 * C * P;
  b.inv = b.mean + C;
  b.a = b.inv + C;
  b.b = b.a + C;
  b.k = b.b + C;
  return b;
}

// Mode 0: sum x. Mode 1: sum (x - mean)^2. Mode 2: sum dy and
// sum dy * (x - mean) * inv. Block c * P + p reduces part p of channel c.
template <typename T, int MODE>
__global__ void bnPartialKernel(const void *x, DType xt, const void *dy,
                                DType dyt, int64_t C, int64_t S, int64_t NS,
                                int64_t P, BnBuf<T> buf) {
  __shared__ T shared[32];
  int64_t c = blockIdx.x / P, part = blockIdx.x - c * P;
  int64_t len = (NS + P - 1) / P;
  int64_t lo = part * len, hi = std::min(NS, lo + len);
  T mean = MODE > 0 ? buf.mean[c] : T(0);
  T inv = MODE == 2 ? buf.inv[c] : T(0);
  T s0 = 0, s1 = 0;
  for (int64_t j = lo + threadIdx.x; j < hi; j += blockDim.x) {
    int64_t n = j / S;
    int64_t i = (n * C + c) * S + (j - n * S);
    T v = ldAs<T>(x, xt, i);
    if (MODE == 0) {
      s0 += v;
    } else if (MODE == 1) {
      T d = v - mean;
      s0 += d * d;
    } else {
      T g = ldAs<T>(dy, dyt, i);
      s0 += g;
      s1 += g * ((v - mean) * inv);
    }
  }
  s0 = blockSum(s0, shared);
  if (MODE == 2)
    s1 = blockSum(s1, shared);
  if (threadIdx.x == 0) {
    buf.part0[blockIdx.x] = s0;
    if (MODE == 2)
      buf.part1[blockIdx.x] = s1;
  }
}

struct BnFinal {
  int stage; // 0: mean; 1: var/inv/running (training); 2: inference;
             // 3: grad inv; 4: grad dscale/dB
  int64_t C, P;
  double cnt, eps, mom;
  const void *sc, *bb, *im, *iv;
  DType sct, bbt, imt, ivt;
  void *o1, *o2;
  DType o1t, o2t;
};

template <typename T>
__global__ void bnFinalizeKernel(BnFinal f, BnBuf<T> buf) {
  MP_GRID_STRIDE(c, f.C) {
    T s0 = 0, s1 = 0;
    for (int64_t p = 0; f.stage != 2 && p < f.P; ++p) {
      s0 += buf.part0[c * f.P + p];
      if (f.stage == 4)
        s1 += buf.part1[c * f.P + p];
    }
    T cnt = T(f.cnt), eps = T(f.eps), mom = T(f.mom);
    switch (f.stage) {
    case 0:
      buf.mean[c] = s0 / cnt;
      break;
    case 1:
    case 2: {
      T mean = buf.mean[c], var = s0 / cnt;
      T im = ldAs<T>(f.im, f.imt, c), iv = ldAs<T>(f.iv, f.ivt, c);
      T rm = im, rv = iv;
      if (f.stage == 2) {
        mean = im;
        var = iv;
        buf.mean[c] = mean;
      } else {
        rm = im * mom + mean * (T(1) - mom);
        rv = iv * mom + var * (T(1) - mom);
      }
      buf.inv[c] = T(1) / dSqrt(var + eps);
      buf.a[c] = ldAs<T>(f.sc, f.sct, c);
      buf.b[c] = ldAs<T>(f.bb, f.bbt, c);
      if (f.o1)
        stAs<T>(f.o1, f.o1t, c, rm);
      if (f.o2)
        stAs<T>(f.o2, f.o2t, c, rv);
      break;
    }
    case 3:
      buf.inv[c] = T(1) / dSqrt(s0 / cnt + eps);
      break;
    case 4: {
      stAs<T>(f.o1, f.o1t, c, s1); // dscale
      stAs<T>(f.o2, f.o2t, c, s0); // dB
      buf.a[c] = s0 / cnt;
      buf.b[c] = s1 / cnt;
      buf.k[c] = ldAs<T>(f.sc, f.sct, c) * buf.inv[c];
      break;
    }
    }
  }
}

template <typename T>
__global__ void bnApplyKernel(const void *x, DType xt, void *y, int64_t n,
                              int64_t C, int64_t S, BnBuf<T> buf) {
  MP_GRID_STRIDE(i, n) {
    int64_t c = (i / S) % C;
    stAs<T>(y, xt, i,
            (ldAs<T>(x, xt, i) - buf.mean[c]) * buf.inv[c] * buf.a[c] +
                buf.b[c]);
  }
}

template <typename T>
__global__ void bnGradApplyKernel(const void *dy, DType dyt, const void *x,
                                  DType xt, void *dx, int64_t n, int64_t C,
                                  int64_t S, BnBuf<T> buf) {
  MP_GRID_STRIDE(i, n) {
    int64_t c = (i / S) % C;
    T xh = (ldAs<T>(x, xt, i) - buf.mean[c]) * buf.inv[c];
    stAs<T>(dx, xt, i,
            buf.k[c] * (ldAs<T>(dy, dyt, i) - buf.a[c] - xh * buf.b[c]));
  }
}

template <typename T>
Status batchNormRun(KernelContext &c, Env &env, bool training, double eps,
                    double mom) {
  TensorView &x = c.in(0), &y = c.out(0);
  int64_t N = x.shape[0], C = x.shape[1];
  int64_t S = x.numel() / std::max<int64_t>(N * C, 1);
  int64_t NS = N * S, P = bnParts(C, NS);
  if (C == 0)
    return Status::success();
  BnBuf<T> buf = bnBuf<T>(env.scratch, C, P);
  BnFinal f{};
  f.C = C;
  f.P = P;
  f.cnt = double(T(NS));
  f.eps = eps;
  f.mom = mom;
  f.sc = c.in(1).data;
  f.sct = c.in(1).dtype;
  f.bb = c.in(2).data;
  f.bbt = c.in(2).dtype;
  f.im = c.in(3).data;
  f.imt = c.in(3).dtype;
  f.iv = c.in(4).data;
  f.ivt = c.in(4).dtype;
  if (c.numResults() > 1) {
    f.o1 = c.out(1).data;
    f.o1t = c.out(1).dtype;
  }
  if (c.numResults() > 2) {
    f.o2 = c.out(2).data;
    f.o2t = c.out(2).dtype;
  }
  unsigned cg = gridFor(C);
  if (training) {
    bnPartialKernel<T, 0><<<unsigned(C * P), kThreads, 0, env.stream>>>(
        x.data, x.dtype, nullptr, x.dtype, C, S, NS, P, buf);
    f.stage = 0;
    bnFinalizeKernel<T><<<cg, kThreads, 0, env.stream>>>(f, buf);
    bnPartialKernel<T, 1><<<unsigned(C * P), kThreads, 0, env.stream>>>(
        x.data, x.dtype, nullptr, x.dtype, C, S, NS, P, buf);
    f.stage = 1;
  } else {
    f.stage = 2;
  }
  bnFinalizeKernel<T><<<cg, kThreads, 0, env.stream>>>(f, buf);
  if (x.numel() > 0)
    bnApplyKernel<T><<<gridFor(x.numel()), kThreads, 0, env.stream>>>(
        x.data, x.dtype, y.data, x.numel(), C, S, buf);
  return checkLaunch(c, "batch_norm");
}

Status batchNormKernel(KernelContext &c, Env &env) {
  double eps = float(c.f64("epsilon", 1e-5));
  double mom = float(c.f64("momentum", 0.9));
  bool training = c.i64("training_mode", 0) != 0;
  MP_RT_TRY(accCheck(c, c.in(0).dtype));
  if (c.in(0).dtype == DType::F64)
    return batchNormRun<double>(c, env, training, eps, mom);
  return batchNormRun<float>(c, env, training, double(float(eps)),
                             double(float(mom)));
}

template <typename T>
Status batchNormGradRun(KernelContext &c, Env &env, double eps) {
  TensorView &dy = c.in(0), &x = c.in(1), &sc = c.in(2), &dx = c.out(0);
  int64_t N = x.shape[0], C = x.shape[1];
  int64_t S = x.numel() / std::max<int64_t>(N * C, 1);
  int64_t NS = N * S, P = bnParts(C, NS);
  if (C == 0)
    return Status::success();
  BnBuf<T> buf = bnBuf<T>(env.scratch, C, P);
  BnFinal f{};
  f.C = C;
  f.P = P;
  f.cnt = double(T(NS));
  f.eps = eps;
  f.sc = sc.data;
  f.sct = sc.dtype;
  f.o1 = c.out(1).data;
  f.o1t = c.out(1).dtype;
  f.o2 = c.out(2).data;
  f.o2t = c.out(2).dtype;
  unsigned cg = gridFor(C), pg = unsigned(C * P);
  bnPartialKernel<T, 0><<<pg, kThreads, 0, env.stream>>>(
      x.data, x.dtype, nullptr, x.dtype, C, S, NS, P, buf);
  f.stage = 0;
  bnFinalizeKernel<T><<<cg, kThreads, 0, env.stream>>>(f, buf);
  bnPartialKernel<T, 1><<<pg, kThreads, 0, env.stream>>>(
      x.data, x.dtype, nullptr, x.dtype, C, S, NS, P, buf);
  f.stage = 3;
  bnFinalizeKernel<T><<<cg, kThreads, 0, env.stream>>>(f, buf);
  bnPartialKernel<T, 2><<<pg, kThreads, 0, env.stream>>>(
      x.data, x.dtype, dy.data, dy.dtype, C, S, NS, P, buf);
  f.stage = 4;
  bnFinalizeKernel<T><<<cg, kThreads, 0, env.stream>>>(f, buf);
  if (x.numel() > 0)
    bnGradApplyKernel<T><<<gridFor(x.numel()), kThreads, 0, env.stream>>>(
        dy.data, dy.dtype, x.data, x.dtype, dx.data, x.numel(), C, S, buf);
  return checkLaunch(c, "batch_norm_grad");
}

Status batchNormGradKernel(KernelContext &c, Env &env) {
  double eps = float(c.f64("epsilon", 1e-5));
  if (c.in(1).dtype == DType::F64)
    return batchNormGradRun<double>(c, env, eps);
  return batchNormGradRun<float>(c, env, eps);
}

} // namespace

void registerNormKernels(Registry &r) {
  r["softmax"] = {softmaxKernel, false, nullptr};
  r["log_softmax"] = {softmaxKernel, false, nullptr};
  r["softmax_grad"] = {softmaxGradKernel, false, nullptr};
  r["log_softmax_grad"] = {softmaxGradKernel, false, nullptr};
  r["layer_norm"] = {layerNormKernel, false, nullptr};
  r["layer_norm_grad"] = {layerNormGradKernel, false, layerNormGradScratch};
  r["batch_norm"] = {batchNormKernel, false, batchNormScratch};
  r["batch_norm_grad"] = {batchNormGradKernel, false, batchNormGradScratch};
}

} // namespace mp::rt::cuda
