//===- Training.cu - optimizer updates, loss scaling, dropout on CUDA -----===//
//
// The training kernels of Training.cpp on the device, with no host
// decision anywhere: the learning rate, step count, inverse loss scale and
// skip flag are scalar tensors read by every thread, so one captured CUDA
// graph serves every step.
// - sgd_update / adam_update / adamw_update: one elementwise pass computing
//   PyTorch's formulas in the CPU reference's operation order, predicated on
//   found_inf (a skipped step copies the old state), writing the new master,
//   moments and the low-precision working copy in the same pass. A step
//   counter the kernel increments is bumped by a one-thread kernel after the
//   update, so no block reads a half-updated count. The adam/adamw updates
//   of one step (same attributes and device scalars, f32 masters updated
//   in place) also run batched: adamKernelMulti takes up to kAdamPerLaunch
//   tensors per launch (the backend groups them through
//   KernelInfo::batchKey), with each element's arithmetic unchanged.
// - all_finite / global_norm: multi-tensor launches, up to kMaxTensors
//   operands per launch (blockIdx.y picks the tensor).
// - loss_scale_update: GradScaler's state machine in one thread.
// - dropout: the shared Philox4x32-10 stream, so masks equal the CPU's.
//
//===----------------------------------------------------------------------===//
#include "../common/Philox.h"
#include "Device.cuh"

#include <algorithm>

namespace mp::rt::cuda {
namespace {

/// A scalar operand read on the device (any dtype), or `def` when absent.
struct Scalar {
  const void *p = nullptr;
  DType t = DType::F32;
  __device__ double get(double def) const {
    return p ? ldAs<double>(p, t, 0) : def;
  }
};

Scalar scalarOf(const TensorView *v) {
  Scalar s;
  if (v) {
    s.p = v->data;
    s.t = v->dtype;
  }
  return s;
}

/// Where an update writes: the state operands themselves (no results) or
/// one result per present state operand, then an optional working copy.
struct Targets {
  std::vector<TensorView *> dst;
  TensorView *copy = nullptr;
};

Targets targetsOf(KernelContext &c, const std::vector<size_t> &slots) {
  Targets t;
  size_t r = 0;
  for (size_t s : slots) {
    TensorView *src = c.opt(s);
    if (c.numResults() == 0 || !src)
      t.dst.push_back(src);
    else
      t.dst.push_back(c.results[r++]);
  }
  if (c.numResults() && r < c.numResults())
    t.copy = c.results[r];
  return t;
}

struct Arr {
  void *p = nullptr;
  DType t = DType::F32;
};
Arr arrOf(const TensorView *v) {
  Arr a;
  if (v) {
    a.p = v->data;
    a.t = v->dtype;
  }
  return a;
}

__global__ void bumpStep(Scalar step, Arr dst, Scalar found, int checkFound) {
  if (checkFound && found.get(0) != 0)
    return;
  stAs<double>(dst.p, dst.t, 0, step.get(0) + 1);
}

//===----------------------------------------------------------------------===//
// sgd_update
//===----------------------------------------------------------------------===//

struct SgdArgs {
  Arr p, g, buf, outP, outBuf, copy;
  Scalar lr, inv, found, step;
  double lrAttr, momentum, dampening, wd;
  int nesterov, hasBuf, hasInv;
  int64_t n;
};

template <typename T> __global__ void sgdKernelDev(SgdArgs a) {
  // NaN counts as set, as on the CPU.
  double f = a.found.get(0);
  bool skip = a.found.p && f != 0;
  bool first = a.step.p && a.step.get(0) == 0;
  const T m = T(a.momentum), damp = T(1 - a.dampening), w = T(a.wd),
          nlr = T(-a.lr.get(a.lrAttr)), inv = T(a.inv.get(1));
  MP_GRID_STRIDE(i, a.n) {
    T pv = ldAs<T>(a.p.p, a.p.t, i);
    if (skip) {
      if (a.outP.p != a.p.p)
        stAs<T>(a.outP.p, a.outP.t, i, pv);
      if (a.hasBuf && a.outBuf.p != a.buf.p)
        stAs<T>(a.outBuf.p, a.outBuf.t, i, ldAs<T>(a.buf.p, a.buf.t, i));
    } else {
      T g = ldAs<T>(a.g.p, a.g.t, i);
      if (a.hasInv)
        g = g * inv;
      if (a.wd != 0)
        g = g + w * pv;
      if (a.hasBuf) {
        T b = first ? g : ldAs<T>(a.buf.p, a.buf.t, i) * m + damp * g;
        stAs<T>(a.outBuf.p, a.outBuf.t, i, b);
        g = a.nesterov ? g + m * b : b;
      }
      pv = pv + nlr * g;
      stAs<T>(a.outP.p, a.outP.t, i, pv);
    }
    if (a.copy.p)
      stAs<T>(a.copy.p, a.copy.t, i, ldAs<T>(a.outP.p, a.outP.t, i));
  }
}

Status sgdKernel(KernelContext &c, Env &env) {
  SgdArgs a;
  a.lrAttr = c.f64("lr", 1e-3);
  a.momentum = c.f64("momentum", 0);
  a.dampening = c.f64("dampening", 0);
  a.wd = c.f64("weight_decay", 0);
  a.nesterov = c.i64("nesterov", 0) != 0;
  Targets t = targetsOf(c, {0, 2});
  TensorView &p = c.in(0);
  a.p = arrOf(&p);
  a.g = arrOf(&c.in(1));
  a.buf = arrOf(c.opt(2));
  a.hasBuf = c.opt(2) != nullptr;
  a.outP = arrOf(t.dst[0]);
  a.outBuf = arrOf(t.dst[1]);
  a.copy = arrOf(t.copy);
  a.lr = scalarOf(c.opt(3));
  a.inv = scalarOf(c.opt(4));
  a.hasInv = c.opt(4) != nullptr;
  a.found = scalarOf(c.opt(5));
  a.step = scalarOf(c.opt(6));
  a.n = p.numel();
  if (p.dtype == DType::F64)
    sgdKernelDev<double><<<gridFor(a.n, 4), kThreads, 0, env.stream>>>(a);
  else
    sgdKernelDev<float><<<gridFor(a.n, 4), kThreads, 0, env.stream>>>(a);
  MP_RT_TRY(checkLaunch(c, "sgd update"));
  if (TensorView *step = c.opt(6)) {
    bumpStep<<<1, 1, 0, env.stream>>>(a.step, arrOf(step), a.found,
                                      a.found.p != nullptr);
    MP_RT_TRY(checkLaunch(c, "step increment"));
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// adam_update / adamw_update
//===----------------------------------------------------------------------===//

struct AdamArgs {
  Arr p, g, m, v, outP, outM, outV, copy;
  Scalar step, lr, inv, found;
  double lrAttr, beta1, beta2, eps, wd;
  int decoupled, increment, hasInv;
  int64_t n;
};

/// The step's constants, computed once per block from the device scalars.
template <typename T> struct AdamConsts {
  bool skip;
  T stepSize, bc2Sqrt, inv, w, decay, weight, b2, omb2, e;
};

template <typename T> __device__ AdamConsts<T> adamConsts(const AdamArgs &a) {
  __shared__ double sh[3];
  if (threadIdx.x == 0) {
    double t = a.step.get(0) + (a.increment ? 1 : 0);
    double lr = a.lr.get(a.lrAttr);
    sh[0] = lr;
    sh[1] = 1 - pow(a.beta1, t);
    sh[2] = 1 - pow(a.beta2, t);
  }
  __syncthreads();
  double lr = sh[0], bc1 = sh[1], bc2 = sh[2];
  AdamConsts<T> k;
  k.skip = a.found.p && a.found.get(0) != 0;
  k.stepSize = T(-(lr / bc1));
  k.bc2Sqrt = T(sqrt(bc2));
  k.inv = T(a.inv.get(1));
  k.w = T(a.wd);
  k.decay = T(1 - lr * a.wd);
  k.weight = T(1 - a.beta1);
  k.b2 = T(a.beta2);
  k.omb2 = T(1 - a.beta2);
  k.e = T(a.eps);
  return k;
}

/// One element's update, in the CPU reference's operation order.
template <typename T>
__device__ __forceinline__ void adamElement(const AdamArgs &a,
                                            const AdamConsts<T> &k, T &pv,
                                            T g, T &m, T &v) {
  if (a.hasInv)
    g = g * k.inv;
  if (a.decoupled)
    pv = pv * k.decay;
  else if (a.wd != 0)
    g = g + k.w * pv;
  m = k.weight < T(0.5) ? m + k.weight * (g - m)
                        : g - (g - m) * (T(1) - k.weight);
  v = v * k.b2 + k.omb2 * g * g;
  T denom = sqrt(v) / k.bc2Sqrt + k.e;
  pv = pv + k.stepSize * m / denom;
}

/// Element i through ldAs/stAs (any dtype).
template <typename T>
__device__ __forceinline__ void adamScalar(const AdamArgs &a,
                                           const AdamConsts<T> &k, int64_t i) {
  T pv = ldAs<T>(a.p.p, a.p.t, i);
  if (k.skip) {
    if (a.outP.p != a.p.p)
      stAs<T>(a.outP.p, a.outP.t, i, pv);
    if (a.outM.p != a.m.p)
      stAs<T>(a.outM.p, a.outM.t, i, ldAs<T>(a.m.p, a.m.t, i));
    if (a.outV.p != a.v.p)
      stAs<T>(a.outV.p, a.outV.t, i, ldAs<T>(a.v.p, a.v.t, i));
  } else {
    T m = ldAs<T>(a.m.p, a.m.t, i), v = ldAs<T>(a.v.p, a.v.t, i);
    adamElement<T>(a, k, pv, ldAs<T>(a.g.p, a.g.t, i), m, v);
    stAs<T>(a.outP.p, a.outP.t, i, pv);
    stAs<T>(a.outM.p, a.outM.t, i, m);
    stAs<T>(a.outV.p, a.outV.t, i, v);
  }
  if (a.copy.p)
    stAs<T>(a.copy.p, a.copy.t, i, ldAs<T>(a.outP.p, a.outP.t, i));
}

template <typename T> __global__ void adamKernelDev(AdamArgs a) {
  const AdamConsts<T> k = adamConsts<T>(a);
  MP_GRID_STRIDE(i, a.n)
    adamScalar<T>(a, k, i);
}

/// 4 consecutive values of a f32, f16 or bf16 array as float.
__device__ __forceinline__ float4 load4(const void *p, DType t, int64_t q) {
  if (t == DType::F32)
    return static_cast<const float4 *>(p)[q];
  uint2 r = static_cast<const uint2 *>(p)[q];
  float4 o;
  if (t == DType::F16) {
    const __half *h = reinterpret_cast<const __half *>(&r);
    o = make_float4(__half2float(h[0]), __half2float(h[1]),
                    __half2float(h[2]), __half2float(h[3]));
  } else {
    const __nv_bfloat16 *h = reinterpret_cast<const __nv_bfloat16 *>(&r);
    o = make_float4(__bfloat162float(h[0]), __bfloat162float(h[1]),
                    __bfloat162float(h[2]), __bfloat162float(h[3]));
  }
  return o;
}

__device__ __forceinline__ void store4(void *p, DType t, int64_t q,
                                       float4 v) {
  if (t == DType::F32) {
    static_cast<float4 *>(p)[q] = v;
    return;
  }
  uint2 r;
  if (t == DType::F16) {
    __half *h = reinterpret_cast<__half *>(&r);
    h[0] = __float2half_rn(v.x), h[1] = __float2half_rn(v.y);
    h[2] = __float2half_rn(v.z), h[3] = __float2half_rn(v.w);
  } else {
    __nv_bfloat16 *h = reinterpret_cast<__nv_bfloat16 *>(&r);
    h[0] = __float2bfloat16_rn(v.x), h[1] = __float2bfloat16_rn(v.y);
    h[2] = __float2bfloat16_rn(v.z), h[3] = __float2bfloat16_rn(v.w);
  }
  static_cast<uint2 *>(p)[q] = r;
}

/// Quad q (elements 4q .. 4q+3) of the f32 master path (adamVectorizable):
/// 16-byte accesses (8-byte for a f16/bf16 gradient or copy), the same
/// arithmetic per element as adamScalar.
__device__ __forceinline__ void adamQuad(const AdamArgs &a,
                                         const AdamConsts<float> &k,
                                         int64_t q) {
  float4 p = static_cast<const float4 *>(a.p.p)[q];
  float4 m = static_cast<const float4 *>(a.m.p)[q];
  float4 v = static_cast<const float4 *>(a.v.p)[q];
  if (!k.skip) {
    float4 g = load4(a.g.p, a.g.t, q);
    adamElement<float>(a, k, p.x, g.x, m.x, v.x);
    adamElement<float>(a, k, p.y, g.y, m.y, v.y);
    adamElement<float>(a, k, p.z, g.z, m.z, v.z);
    adamElement<float>(a, k, p.w, g.w, m.w, v.w);
  }
  if (!k.skip || a.outP.p != a.p.p)
    static_cast<float4 *>(a.outP.p)[q] = p;
  if (!k.skip || a.outM.p != a.m.p)
    static_cast<float4 *>(a.outM.p)[q] = m;
  if (!k.skip || a.outV.p != a.v.p)
    static_cast<float4 *>(a.outV.p)[q] = v;
  if (a.copy.p)
    store4(a.copy.p, a.copy.t, q, p);
}

/// One tensor through adamQuad; the last n % 4 elements through adamScalar.
__global__ void adamKernelVec(AdamArgs a) {
  const AdamConsts<float> k = adamConsts<float>(a);
  const int64_t n4 = a.n / 4;
  MP_GRID_STRIDE(q, n4)
    adamQuad(a, k, q);
  int64_t tail = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (tail < a.n % 4)
    adamScalar<float>(a, k, n4 * 4 + tail);
}

/// True when every array is f32 except a f16/bf16 gradient or copy, each
/// aligned for adamKernelVec's accesses.
bool adamVectorizable(const AdamArgs &a) {
  auto f32 = [](const Arr &x) {
    return x.t == DType::F32 && uintptr_t(x.p) % 16 == 0;
  };
  auto low = [](const Arr &x) {
    return x.t == DType::F32 ? uintptr_t(x.p) % 16 == 0
           : x.t == DType::F16 || x.t == DType::BF16
               ? uintptr_t(x.p) % 8 == 0
               : false;
  };
  return f32(a.p) && f32(a.m) && f32(a.v) && f32(a.outP) && f32(a.outM) &&
         f32(a.outV) && low(a.g) && (!a.copy.p || low(a.copy));
}

AdamArgs adamArgsOf(KernelContext &c) {
  bool isW = c.ins.kernel == "adamw_update";
  AdamArgs a;
  a.decoupled = c.i64("decoupled_weight_decay", isW) != 0;
  a.increment = c.i64("increment_step", 0) != 0;
  a.lrAttr = c.f64("lr", 1e-3);
  a.beta1 = c.f64("beta1", 0.9);
  a.beta2 = c.f64("beta2", 0.999);
  a.eps = c.f64("eps", 1e-8);
  a.wd = c.f64("weight_decay", isW ? 1e-2 : 0);
  Targets t = targetsOf(c, {0, 2, 3});
  TensorView &p = c.in(0);
  a.p = arrOf(&p);
  a.g = arrOf(&c.in(1));
  a.m = arrOf(&c.in(2));
  a.v = arrOf(&c.in(3));
  a.outP = arrOf(t.dst[0]);
  a.outM = arrOf(t.dst[1]);
  a.outV = arrOf(t.dst[2]);
  a.copy = arrOf(t.copy);
  a.step = scalarOf(&c.in(4));
  a.lr = scalarOf(c.opt(5));
  a.inv = scalarOf(c.opt(6));
  a.hasInv = c.opt(6) != nullptr;
  a.found = scalarOf(c.opt(7));
  a.n = p.numel();
  return a;
}

Status adamKernel(KernelContext &c, Env &env) {
  AdamArgs a = adamArgsOf(c);
  if (c.in(0).dtype == DType::F64)
    adamKernelDev<double><<<gridFor(a.n, 4), kThreads, 0, env.stream>>>(a);
  else if (adamVectorizable(a))
    adamKernelVec<<<gridFor(a.n / 4 + 4, 2), kThreads, 0, env.stream>>>(a);
  else
    adamKernelDev<float><<<gridFor(a.n, 4), kThreads, 0, env.stream>>>(a);
  MP_RT_TRY(checkLaunch(c, "adam update"));
  if (a.increment) {
    bumpStep<<<1, 1, 0, env.stream>>>(a.step, arrOf(&c.in(4)), a.found,
                                      a.found.p != nullptr);
    MP_RT_TRY(checkLaunch(c, "step increment"));
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// The multi-tensor adam_update / adamw_update
//===----------------------------------------------------------------------===//
//
// A training step updates every parameter with the same hyper-parameters
// and the same device scalars (step, learning rate, inverse loss scale,
// skip flag), so consecutive updates of f32 masters share launches of one
// kernel: up to kAdamPerLaunch tensors in its parameter block, each given a
// contiguous range of blocks (blockStart) that stride over its quads. Each
// element sees exactly adamQuad / adamScalar, so results equal the
// one-launch-per-tensor path bit for bit.

constexpr int kAdamPerLaunch = 48;

/// What differs between the tensors of one launch.
struct AdamTensor {
  void *p, *m, *v, *copy;
  const void *g;
  int64_t n;
  DType gt, copyT;
};

struct AdamMultiArgs {
  AdamArgs shared; ///< attributes and scalars; its arrays are unused
  int count;
  int blockStart[kAdamPerLaunch + 1];
  AdamTensor t[kAdamPerLaunch];
};
static_assert(sizeof(AdamMultiArgs) <= 4000,
              "a kernel's parameter block holds at most 4 KiB");

__global__ void adamKernelMulti(const __grid_constant__ AdamMultiArgs ma) {
  int ti = 0;
  while (ti + 1 < ma.count && ma.blockStart[ti + 1] <= int(blockIdx.x))
    ++ti;
  const AdamTensor &t = ma.t[ti];
  AdamArgs a = ma.shared;
  a.p = a.outP = {t.p, DType::F32};
  a.m = a.outM = {t.m, DType::F32};
  a.v = a.outV = {t.v, DType::F32};
  a.g = {const_cast<void *>(t.g), t.gt};
  a.copy = {t.copy, t.copyT};
  a.n = t.n;
  const AdamConsts<float> k = adamConsts<float>(a);
  const int64_t n4 = a.n / 4;
  const int64_t block = int64_t(blockIdx.x) - ma.blockStart[ti];
  const int64_t blocks = ma.blockStart[ti + 1] - ma.blockStart[ti];
  for (int64_t q = block * blockDim.x + threadIdx.x; q < n4;
       q += blocks * blockDim.x)
    adamQuad(a, k, q);
  if (block == 0 && int64_t(threadIdx.x) < a.n % 4)
    adamScalar<float>(a, k, n4 * 4 + threadIdx.x);
}

/// Instructions share a launch when they have the same kernel, attributes
/// and scalar operands, update f32 masters and moments in place through
/// adamQuad's aligned accesses, and do not bump the step themselves.
std::string adamBatchKey(KernelContext &c) {
  AdamArgs a = adamArgsOf(c);
  if (c.in(0).dtype != DType::F32 || a.increment || !adamVectorizable(a) ||
      a.outP.p != a.p.p || a.outM.p != a.m.p || a.outV.p != a.v.p)
    return "";
  std::string key = c.ins.kernel;
  char buf[160];
  std::snprintf(buf, sizeof(buf), " %d %.17g %.17g %.17g %.17g %.17g",
                a.decoupled, a.lrAttr, a.beta1, a.beta2, a.eps, a.wd);
  key += buf;
  for (size_t i = 4; i < 8; ++i)
    key += " " + (c.opt(i) ? std::to_string(c.opt(i)->id) : std::string("-"));
  return key;
}

Status adamBatch(std::vector<KernelContext> &group, Env &env) {
  AdamMultiArgs ma;
  size_t at = 0;
  while (at < group.size()) {
    ma.shared = adamArgsOf(group[at]);
    ma.count = 0;
    int blocks = 0;
    for (; at < group.size() && ma.count < kAdamPerLaunch; ++at) {
      AdamArgs a = adamArgsOf(group[at]);
      int64_t want = (a.n / 4 + kThreads * 4 - 1) / (kThreads * 4);
      want = std::max<int64_t>(1, std::min<int64_t>(want, 65536));
      ma.t[ma.count] = {a.p.p, a.m.p, a.v.p, a.copy.p, a.g.p,
                        a.n, a.g.t, a.copy.t};
      ma.blockStart[ma.count++] = blocks;
      blocks += int(want);
    }
    ma.blockStart[ma.count] = blocks;
    adamKernelMulti<<<blocks, kThreads, 0, env.stream>>>(ma);
    MP_RT_TRY(checkLaunch(group[at - 1], "multi-tensor adam update"));
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// all_finite, global_norm (multi-tensor)
//===----------------------------------------------------------------------===//

constexpr int kMaxTensors = 48;

struct TensorList {
  int count = 0;
  const void *p[kMaxTensors];
  int64_t n[kMaxTensors];
  DType t[kMaxTensors];
};

template <typename F> void forChunks(KernelContext &c, F &&launch) {
  TensorList l;
  for (TensorView *v : c.operands) {
    l.p[l.count] = v->data;
    l.n[l.count] = v->numel();
    l.t[l.count] = v->dtype;
    if (++l.count == kMaxTensors) {
      launch(l);
      l.count = 0;
    }
  }
  if (l.count)
    launch(l);
}

__device__ __forceinline__ bool finiteBits(const void *p, DType t,
                                           int64_t i) {
  switch (t) {
  case DType::F32:
    return (static_cast<const uint32_t *>(p)[i] & 0x7F800000u) != 0x7F800000u;
  case DType::F64:
    return (static_cast<const uint64_t *>(p)[i] &
            0x7FF0000000000000ull) != 0x7FF0000000000000ull;
  case DType::F16:
    return (static_cast<const uint16_t *>(p)[i] & 0x7C00u) != 0x7C00u;
  default:
    return (static_cast<const uint16_t *>(p)[i] & 0x7F80u) != 0x7F80u;
  }
}

__global__ void allFiniteDev(TensorList l, uint8_t *y) {
  int k = blockIdx.y;
  const void *p = l.p[k];
  DType t = l.t[k];
  bool ok = true;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
       i < l.n[k] && ok; i += int64_t(blockDim.x) * gridDim.x)
    ok = finiteBits(p, t, i);
  if (__syncthreads_or(!ok) && threadIdx.x == 0)
    *y = 0;
}

unsigned blocksFor(const TensorList &l) {
  int64_t most = 1;
  for (int i = 0; i < l.count; ++i)
    most = std::max(most, l.n[i]);
  return std::min<unsigned>(gridFor(most, 8), 1024u);
}

Status allFiniteKernel(KernelContext &c, Env &env) {
  uint8_t *y = c.out(0).data;
  MP_RT_TRY(checkCuda(c, cudaMemsetAsync(y, 1, 1, env.stream), "memset"));
  Status st;
  forChunks(c, [&](const TensorList &l) {
    dim3 grid(blocksFor(l), unsigned(l.count));
    allFiniteDev<<<grid, kThreads, 0, env.stream>>>(l, y);
    if (st.ok())
      st = checkLaunch(c, "finiteness check");
  });
  return st;
}

__global__ void sumSquaresDev(TensorList l, float *acc) {
  __shared__ float sh[32];
  int k = blockIdx.y;
  float s = 0;
  MP_GRID_STRIDE(i, l.n[k]) {
    float v = ldAs<float>(l.p[k], l.t[k], i);
    s += v * v;
  }
  s = blockSum(s, sh);
  if (threadIdx.x == 0)
    atomicAdd(acc, s);
}

__global__ void sqrtStore(const float *acc, void *y, DType t) {
  stAs<float>(y, t, 0, sqrtf(*acc));
}

Status globalNormKernel(KernelContext &c, Env &env) {
  float *acc = static_cast<float *>(env.scratch);
  MP_RT_TRY(
      checkCuda(c, cudaMemsetAsync(acc, 0, sizeof(float), env.stream), "memset"));
  Status st;
  forChunks(c, [&](const TensorList &l) {
    dim3 grid(blocksFor(l), unsigned(l.count));
    sumSquaresDev<<<grid, kThreads, 0, env.stream>>>(l, acc);
    if (st.ok())
      st = checkLaunch(c, "sum of squares");
  });
  MP_RT_TRY(st);
  sqrtStore<<<1, 1, 0, env.stream>>>(acc, c.out(0).data, c.out(0).dtype);
  return checkLaunch(c, "global norm");
}

size_t globalNormScratch(KernelContext &) { return sizeof(float); }

//===----------------------------------------------------------------------===//
// loss_scale_update
//===----------------------------------------------------------------------===//

struct ScaleArgs {
  Scalar scale, tracker, found;
  Arr outScale, outTracker;
  double growth, backoff, minScale, maxScale;
  int64_t interval;
};

__global__ void lossScaleDev(ScaleArgs a) {
  double s = a.scale.get(0);
  int64_t t = int64_t(a.tracker.get(0));
  if (a.found.get(0) != 0) {
    s = fmax(s * a.backoff, a.minScale);
    t = 0;
  } else {
    t = t >= a.interval - 1 ? a.interval : t + 1;
    if (t >= a.interval) {
      double grown = fmin(s * a.growth, a.maxScale);
      // Keep a scale that would overflow in the scale's dtype, as
      // GradScaler does.
      double stored = double(roundTo(float(grown), a.outScale.t));
      if (a.outScale.t == DType::F64)
        stored = grown;
      if (isfinite(stored))
        s = grown;
      t = 0;
    }
  }
  stAs<double>(a.outScale.p, a.outScale.t, 0, s);
  stAs<double>(a.outTracker.p, a.outTracker.t, 0, double(t));
}

Status lossScaleUpdateKernel(KernelContext &c, Env &env) {
  ScaleArgs a;
  a.growth = c.f64("growth_factor", 2.0);
  a.backoff = c.f64("backoff_factor", 0.5);
  a.interval = c.i64("growth_interval", 2000);
  a.minScale = c.f64("min_scale", 1.0);
  a.maxScale = c.f64("max_scale", 16777216.0);
  Targets t = targetsOf(c, {0, 1});
  a.scale = scalarOf(&c.in(0));
  a.tracker = scalarOf(&c.in(1));
  a.found = scalarOf(&c.in(2));
  a.outScale = arrOf(t.dst[0]);
  a.outTracker = arrOf(t.dst[1]);
  lossScaleDev<<<1, 1, 0, env.stream>>>(a);
  return checkLaunch(c, "loss scale update");
}

//===----------------------------------------------------------------------===//
// dropout
//===----------------------------------------------------------------------===//

struct DropoutArgs {
  Arr x, y;
  uint8_t *mask;
  Scalar offset;
  uint64_t seed;
  float ratio;
  int active;
  int64_t n;
};

__global__ void dropoutDev(DropoutArgs a) {
  uint64_t offset = a.offset.p ? uint64_t(int64_t(a.offset.get(0))) : 0;
  const float scale = a.ratio < 1 ? 1.0f / (1.0f - a.ratio) : 0.0f;
  MP_GRID_STRIDE(i, a.n) {
    bool keep = true;
    if (a.active)
      keep = dropoutUniform(a.seed, offset, uint64_t(i)) >= a.ratio;
    if (a.x.t == DType::F64) {
      double s = a.ratio < 1 ? 1.0 / (1.0 - double(a.ratio)) : 0.0;
      double v = ldAs<double>(a.x.p, a.x.t, i);
      stAs<double>(a.y.p, a.y.t, i, a.active ? (keep ? v * s : 0.0) : v);
    } else {
      float v = ldAs<float>(a.x.p, a.x.t, i);
      stAs<float>(a.y.p, a.y.t, i, a.active ? (keep ? v * scale : 0.0f) : v);
    }
    if (a.mask)
      a.mask[i] = keep;
  }
}

Status dropoutKernel(KernelContext &c, Env &env) {
  DropoutArgs a;
  a.ratio = float(c.f64("ratio", 0.5));
  bool training = c.i64("training_mode", 0) != 0;
  bool hasSeed = c.has("seed");
  a.seed = uint64_t(c.i64("seed", 0));
  if (!hasSeed)
    a.seed = 0x9E3779B97F4A7C15ull ^ c.instructionIndex;
  a.x = arrOf(&c.in(0));
  a.y = arrOf(&c.out(0));
  a.mask = c.numResults() == 2 ? c.out(1).data : nullptr;
  a.offset = scalarOf(c.opt(1));
  a.active = training && a.ratio != 0;
  a.n = c.in(0).numel();
  dropoutDev<<<gridFor(a.n, 4), kThreads, 0, env.stream>>>(a);
  return checkLaunch(c, "dropout");
}

} // namespace

void registerTrainingKernels(Registry &r) {
  r["sgd_update"] = {sgdKernel, true, nullptr};
  r["adam_update"] = {adamKernel, true, nullptr, adamBatchKey, adamBatch};
  r["adamw_update"] = {adamKernel, true, nullptr, adamBatchKey, adamBatch};
  r["all_finite"] = {allFiniteKernel, false, nullptr};
  r["global_norm"] = {globalNormKernel, false, globalNormScratch};
  r["loss_scale_update"] = {lossScaleUpdateKernel, true, nullptr};
  r["dropout"] = {dropoutKernel, true, nullptr};
}

} // namespace mp::rt::cuda
