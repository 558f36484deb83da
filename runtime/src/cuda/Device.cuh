//===- Device.cuh - device-side helpers shared by the CUDA kernels -*- C++ -*-//
//
// Loading and storing any runtime dtype as a compute type (float for
// f32/f16/bf16 with round-to-nearest-even stores, double for f64, int64
// for integers and bool), index arithmetic for broadcasting with dims
// collapsed on the host (Bcast), launch geometry, and the device error flag.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_CUDA_DEVICE_CUH
#define MP_RT_CUDA_DEVICE_CUH

#include "CudaKernel.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <vector>

namespace mp::rt::cuda {

constexpr int kMaxRank = 8;
constexpr int kThreads = 256;

/// Grid size for n elements at `perThread` elements per thread, capped so
/// grid-stride loops cover the rest.
inline unsigned gridFor(int64_t n, int perThread = 1) {
  int64_t blocks = (n + int64_t(kThreads) * perThread - 1) /
                   (int64_t(kThreads) * perThread);
  if (blocks < 1)
    blocks = 1;
  if (blocks > (int64_t(1) << 20))
    blocks = int64_t(1) << 20;
  return unsigned(blocks);
}

#define MP_GRID_STRIDE(i, n)                                                   \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);    \
       i += int64_t(blockDim.x) * gridDim.x)

//===----------------------------------------------------------------------===//
// Loads and stores
//===----------------------------------------------------------------------===//

template <typename T>
__device__ __forceinline__ T ldAs(const void *p, DType t, int64_t i) {
  switch (t) {
  case DType::F32:
    return T(static_cast<const float *>(p)[i]);
  case DType::F16:
    return T(__half2float(static_cast<const __half *>(p)[i]));
  case DType::BF16:
    return T(__bfloat162float(static_cast<const __nv_bfloat16 *>(p)[i]));
  case DType::F64:
    return T(static_cast<const double *>(p)[i]);
  case DType::I64:
    return T(static_cast<const int64_t *>(p)[i]);
  case DType::I32:
    return T(static_cast<const int32_t *>(p)[i]);
  case DType::I8:
    return T(static_cast<const int8_t *>(p)[i]);
  case DType::U8:
  case DType::Bool:
    return T(static_cast<const uint8_t *>(p)[i]);
  }
  return T(0);
}

/// Float to integer as the CPU reference does it: truncate, NaN -> 0,
/// saturate.
template <typename I, typename F> __device__ __forceinline__ I fToI(F x) {
  if (x != x)
    return 0;
  F t = trunc(x);
  const I lo = I(I(1) << (sizeof(I) * 8 - 1)), hi = I(~lo);
  if (sizeof(I) == 1 && lo > 0) { // uint8_t
    if (t <= F(0))
      return 0;
    if (t >= F(255))
      return I(255);
    return I(t);
  }
  if (t <= F(lo))
    return lo;
  if (t >= F(hi))
    return hi;
  return I(t);
}

template <typename T>
__device__ __forceinline__ void stAs(void *p, DType t, int64_t i, T v) {
  constexpr bool isF = std::is_floating_point<T>::value;
  switch (t) {
  case DType::F32:
    static_cast<float *>(p)[i] = float(v);
    return;
  case DType::F16:
    // From double or an integer: one rounding from double, as the CPU
    // does (f64ToF16).
    if constexpr (!std::is_same<T, float>::value)
      static_cast<__half *>(p)[i] = __double2half(double(v));
    else
      static_cast<__half *>(p)[i] = __float2half_rn(float(v));
    return;
  case DType::BF16:
    if constexpr (!std::is_same<T, float>::value)
      static_cast<__nv_bfloat16 *>(p)[i] = __double2bfloat16(double(v));
    else
      static_cast<__nv_bfloat16 *>(p)[i] = __float2bfloat16_rn(float(v));
    return;
  case DType::F64:
    static_cast<double *>(p)[i] = double(v);
    return;
  case DType::I64:
    static_cast<int64_t *>(p)[i] = isF ? fToI<int64_t>(v) : int64_t(v);
    return;
  case DType::I32:
    static_cast<int32_t *>(p)[i] = isF ? fToI<int32_t>(v) : int32_t(v);
    return;
  case DType::I8:
    static_cast<int8_t *>(p)[i] = isF ? fToI<int8_t>(v) : int8_t(v);
    return;
  case DType::U8:
    static_cast<uint8_t *>(p)[i] = isF ? fToI<uint8_t>(v) : uint8_t(v);
    return;
  case DType::Bool:
    static_cast<uint8_t *>(p)[i] = v != T(0);
    return;
  }
}

/// Rounds a float to f16 / bf16 precision (a step of a fused chain).
__device__ __forceinline__ float roundTo(float v, DType t) {
  if (t == DType::F16)
    return __half2float(__float2half_rn(v));
  if (t == DType::BF16)
    return __bfloat162float(__float2bfloat16_rn(v));
  return v;
}

//===----------------------------------------------------------------------===//
// Broadcasting
//===----------------------------------------------------------------------===//

/// Output shape and per-operand strides (0 on broadcast dims) with
/// adjacent dims merged where every operand allows it.
template <int N> struct Bcast {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t stride[N][kMaxRank];

  /// Offset of operand k for linear output index i.
  __device__ __forceinline__ int64_t offset(int k, int64_t i) const {
    int64_t off = 0;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t q = i / shape[d];
      off += (i - q * shape[d]) * stride[k][d];
      i = q;
    }
    return off;
  }
};

/// Builds a Bcast for `out` from operand shapes (each broadcastable to it).
/// Returns false when the collapsed rank exceeds kMaxRank.
template <int N>
bool makeBcast(Bcast<N> &b, const Shape &out,
               const std::vector<const Shape *> &ins) {
  std::vector<std::vector<int64_t>> st;
  for (const Shape *s : ins)
    st.push_back(cpu::broadcastStrides(*s, out));
  std::vector<int64_t> shape;
  std::vector<std::vector<int64_t>> cst(ins.size());
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1)
      continue;
    bool merge = !shape.empty();
    for (size_t k = 0; merge && k < ins.size(); ++k)
      merge = cst[k].back() == st[k][d] * out[d];
    if (merge) {
      shape.back() *= out[d];
      for (size_t k = 0; k < ins.size(); ++k)
        cst[k].back() = st[k][d];
    } else {
      shape.push_back(out[d]);
      for (size_t k = 0; k < ins.size(); ++k)
        cst[k].push_back(st[k][d]);
    }
  }
  if (shape.size() > size_t(kMaxRank) || ins.size() > size_t(N))
    return false;
  b.rank = int(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    b.shape[d] = shape[d];
    for (size_t k = 0; k < ins.size(); ++k)
      b.stride[k][d] = cst[k][d];
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Errors raised on the device
//===----------------------------------------------------------------------===//

/// Records the first device-side failure: instruction index + 1 and code.
__device__ __forceinline__ void deviceFail(int *flag, int instruction,
                                           int code) {
  if (atomicCAS(flag, 0, instruction + 1) == 0)
    flag[1] = code;
}

//===----------------------------------------------------------------------===//
// Block reductions
//===----------------------------------------------------------------------===//

template <typename T> __device__ __forceinline__ T warpSum(T v) {
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename T> __device__ __forceinline__ T warpMax(T v) {
  for (int o = 16; o > 0; o >>= 1)
    v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// Sum over the block (blockDim.x a multiple of 32, <= 1024); every
/// thread gets the result. `shared` holds 32 values.
template <typename T> __device__ T blockSum(T v, T *shared) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warpSum(v);
  __syncthreads();
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  int nw = blockDim.x >> 5;
  v = lane < nw ? shared[lane] : T(0);
  v = warpSum(v);
  return v;
}

template <typename T> __device__ T blockMax(T v, T *shared, T lowest) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  int nw = blockDim.x >> 5;
  v = lane < nw ? shared[lane] : lowest;
  v = warpMax(v);
  return v;
}

} // namespace mp::rt::cuda

#endif // MP_RT_CUDA_DEVICE_CUH
