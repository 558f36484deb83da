//===- Window.cu - conv, pooling and their gradients on CUDA --------------===//
//
// Sliding-window kernels: conv, conv_grad_input, conv_grad_filter,
// max_pool, max_pool_grad, average_pool, average_pool_grad and
// global_average_pool, for 1 to 6 spatial dims (specialised for 1-, 2- and
// 3-D). The window geometry comes from the CPU reference's makeWindow
// (cpu/Window.h), so pads / auto_pad / ceil_mode resolve identically, and is
// passed by value as a WinGeom. The kernels are direct: one thread per
// output element looping over its window (and channels for conv), summing in
// the CPU's order in float (double for f64) and rounding once. The
// gradients are gathers with no atomics: conv_grad_input and the pooling
// gradients run one thread per input element over the windows that contain
// it, visiting them in ascending output order as the CPU's scatter does;
// max_pool_grad first records each window's argmax in scratch;
// conv_grad_filter runs one warp per filter element reducing over batch and
// output positions. `acc` = f16/bf16 is rejected (CUDA accumulates in f32).
//
//===----------------------------------------------------------------------===//
#include "Device.cuh"

#include "../cpu/Window.h"

#include <type_traits>

namespace mp::rt::cuda {
namespace {

constexpr int kMaxSp = kMaxRank - 2;

/// Window geometry over the spatial dims (row-major), from cpu::Window.
struct WinGeom {
  int nd = 0;
  int64_t in[kMaxSp], out[kMaxSp], k[kMaxSp], s[kMaxSp], dl[kMaxSp], pb[kMaxSp],
      pe[kMaxSp];
  int64_t inSp = 1, P = 1, kprod = 1;
};

Status toGeom(KernelContext &c, const cpu::Window &w, WinGeom &g) {
  size_t nd = w.rank();
  if (nd < 1 || nd > size_t(kMaxSp))
    return c.unsupported("cuda window kernels take 1 to " +
                         std::to_string(kMaxSp) + " spatial dims");
  g.nd = int(nd);
  for (size_t d = 0; d < nd; ++d) {
    g.in[d] = w.in[d];
    g.out[d] = w.out[d];
    g.k[d] = w.kernel[d];
    g.s[d] = w.strides[d];
    g.dl[d] = w.dilations[d];
    g.pb[d] = w.padBegin[d];
    g.pe[d] = w.padEnd[d];
    g.inSp *= w.in[d];
    g.P *= w.out[d];
    g.kprod *= w.kernel[d];
  }
  return Status::success();
}

Status accF32(KernelContext &c, DType t) {
  if (c.acc(t) != cpu::Acc::Native)
    return c.unsupported("cuda accumulates in f32");
  return Status::success();
}

/// Calls f(T{}, std::integral_constant<int, ND>{}) with T the compute type
/// (double for f64, else float) and ND the spatial rank when specialised
/// (1..3), else 0 (read at run time from WinGeom::nd).
template <typename F> void dispatch(DType t, int nd, F &&f) {
  auto withNd = [&](auto tag) {
    switch (nd) {
    case 1:
      f(tag, std::integral_constant<int, 1>());
      break;
    case 2:
      f(tag, std::integral_constant<int, 2>());
      break;
    case 3:
      f(tag, std::integral_constant<int, 3>());
      break;
    default:
      f(tag, std::integral_constant<int, 0>());
      break;
    }
  };
  if (t == DType::F64)
    withNd(double());
  else
    withNd(float());
}

#define MP_ND (ND > 0 ? ND : g.nd)

/// Splits a linear spatial index into per-dim coordinates over `dims`.
template <int ND>
__device__ __forceinline__ void unflatten(const WinGeom &g, const int64_t *dims,
                                          int64_t lin, int64_t *idx) {
  for (int d = MP_ND - 1; d >= 0; --d) {
    int64_t q = lin / dims[d];
    idx[d] = lin - q * dims[d];
    lin = q;
  }
}

/// Next kernel position in row-major order.
template <int ND>
__device__ __forceinline__ void nextTap(const WinGeom &g, int64_t *kk) {
  for (int d = MP_ND - 1; d >= 0; --d) {
    if (++kk[d] < g.k[d])
      return;
    kk[d] = 0;
  }
}

/// Previous kernel position in row-major order (wrapping from 0 to last).
template <int ND>
__device__ __forceinline__ void prevTap(const WinGeom &g, int64_t *kk) {
  for (int d = MP_ND - 1; d >= 0; --d) {
    if (--kk[d] >= 0)
      return;
    kk[d] = g.k[d] - 1;
  }
}

/// The output position whose window has tap `kk` on input position `pos`:
/// its linear index, or -1 when there is none.
template <int ND>
__device__ __forceinline__ int64_t windowAt(const WinGeom &g,
                                            const int64_t *pos,
                                            const int64_t *kk, int64_t *o) {
  int64_t p = 0;
  for (int d = 0; d < MP_ND; ++d) {
    int64_t t = pos[d] + g.pb[d] - kk[d] * g.dl[d];
    if (t < 0)
      return -1;
    int64_t q = t / g.s[d];
    if (q * g.s[d] != t || q >= g.out[d])
      return -1;
    o[d] = q;
    p = p * g.out[d] + q;
  }
  return p;
}

//===----------------------------------------------------------------------===//
// conv
//===----------------------------------------------------------------------===//

struct ConvDims {
  int64_t N, C, M, Cg, Mg;
};

// y[n, m, p] = sum over (cg, ki) of W[m, cg, ki] * X[n, g*Cg + cg, tap]
// (+ B[m]), in the CPU's im2col order r = cg * kprod + ki; padded taps
// contribute W * 0 as the CPU's zero-filled columns do.
template <typename T, int ND>
__global__ void convFwdDev(const void *x, const void *w, const void *b, void *y,
                           DType dt, ConvDims a, WinGeom g) {
  int64_t total = a.N * a.M * g.P;
  MP_GRID_STRIDE(i, total) {
    int64_t p = i % g.P, nm = i / g.P, m = nm % a.M, n = nm / a.M;
    int64_t base[kMaxSp];
    unflatten<ND>(g, g.out, p, base);
    for (int d = 0; d < MP_ND; ++d)
      base[d] = base[d] * g.s[d] - g.pb[d];
    int64_t grp = m / a.Mg;
    int64_t wRow = m * a.Cg * g.kprod;
    T acc = 0;
    for (int64_t cg = 0; cg < a.Cg; ++cg) {
      int64_t xPlane = (n * a.C + grp * a.Cg + cg) * g.inSp;
      int64_t kk[kMaxSp];
      for (int d = 0; d < MP_ND; ++d)
        kk[d] = 0;
      for (int64_t ki = 0; ki < g.kprod; ++ki) {
        int64_t off = 0;
        bool inside = true;
        for (int d = 0; d < MP_ND; ++d) {
          int64_t ii = base[d] + kk[d] * g.dl[d];
          inside = inside && ii >= 0 && ii < g.in[d];
          off = off * g.in[d] + ii;
        }
        T xv = inside ? ldAs<T>(x, dt, xPlane + off) : T(0);
        acc += ldAs<T>(w, dt, wRow + cg * g.kprod + ki) * xv;
        nextTap<ND>(g, kk);
      }
    }
    if (b)
      acc = acc + ldAs<T>(b, dt, m);
    stAs<T>(y, dt, i, acc);
  }
}

Status convKernel(KernelContext &c, Env &env) {
  TensorView &x = c.in(0), &w = c.in(1), &y = c.out(0);
  TensorView *bias = c.opt(2);
  MP_RT_TRY(accF32(c, x.dtype));
  int64_t group = c.i64("group", 1);
  (void)c.has("kernel_shape");
  (void)c.ints("kernel_shape");
  Shape kernel(w.shape.begin() + 2, w.shape.end());
  cpu::Window win;
  MP_RT_TRY(cpu::makeWindow(c, Shape(x.shape.begin() + 2, x.shape.end()),
                            kernel, false, win));
  WinGeom g;
  MP_RT_TRY(toGeom(c, win, g));
  ConvDims a{x.shape[0], x.shape[1], w.shape[0], x.shape[1] / group,
             w.shape[0] / group};
  int64_t total = y.numel();
  if (total == 0)
    return Status::success();
  const void *bp = bias ? bias->data : nullptr;
  dispatch(x.dtype, g.nd, [&](auto tag, auto nd) {
    using T = decltype(tag);
    convFwdDev<T, decltype(nd)::value>
        <<<gridFor(total), kThreads, 0, env.stream>>>(x.data, w.data, bp,
                                                      y.data, x.dtype, a, g);
  });
  return checkLaunch(c, "conv");
}

//===----------------------------------------------------------------------===//
// conv_grad_input
//===----------------------------------------------------------------------===//

// dX[n, c, pos] = sum over taps ki (ascending) whose window p covers pos of
// (sum over m of W[g*Mg + m, cg, ki] * dY[n, g*Mg + m, p]): the CPU's column
// sums added in its order.
template <typename T, int ND>
__global__ void convGradInputDev(const void *dy, const void *w, void *dx,
                                 DType dt, ConvDims a, WinGeom g) {
  int64_t total = a.N * a.C * g.inSp;
  int64_t R = a.Cg * g.kprod;
  MP_GRID_STRIDE(i, total) {
    int64_t sp = i % g.inSp, nc = i / g.inSp, ch = nc % a.C, n = nc / a.C;
    int64_t grp = ch / a.Cg, cg = ch - grp * a.Cg;
    int64_t pos[kMaxSp], kk[kMaxSp], o[kMaxSp];
    unflatten<ND>(g, g.in, sp, pos);
    for (int d = 0; d < MP_ND; ++d)
      kk[d] = 0;
    const int64_t wBase = grp * a.Mg * R + cg * g.kprod;
    const int64_t dyBase = (n * a.M + grp * a.Mg) * g.P;
    T acc = 0;
    for (int64_t ki = 0; ki < g.kprod; ++ki) {
      int64_t p = windowAt<ND>(g, pos, kk, o);
      if (p >= 0) {
        T col = 0;
        for (int64_t m = 0; m < a.Mg; ++m)
          col += ldAs<T>(w, dt, wBase + m * R + ki) *
                 ldAs<T>(dy, dt, dyBase + m * g.P + p);
        acc += col;
      }
      nextTap<ND>(g, kk);
    }
    stAs<T>(dx, dt, i, acc);
  }
}

Status convGradInputKernel(KernelContext &c, Env &env) {
  Shape inShape = c.ints("input_shape");
  TensorView &dy = c.in(0), &w = c.in(1), &dx = c.out(0);
  MP_RT_TRY(accF32(c, dy.dtype));
  int64_t group = c.i64("group", 1);
  (void)c.ints("kernel_shape");
  Shape kernel(w.shape.begin() + 2, w.shape.end());
  cpu::Window win;
  MP_RT_TRY(cpu::makeWindow(c, Shape(inShape.begin() + 2, inShape.end()),
                            kernel, false, win));
  WinGeom g;
  MP_RT_TRY(toGeom(c, win, g));
  ConvDims a{inShape[0], inShape[1], w.shape[0], inShape[1] / group,
             w.shape[0] / group};
  int64_t total = dx.numel();
  if (total == 0)
    return Status::success();
  dispatch(dy.dtype, g.nd, [&](auto tag, auto nd) {
    using T = decltype(tag);
    convGradInputDev<T, decltype(nd)::value>
        <<<gridFor(total), kThreads, 0, env.stream>>>(dy.data, w.data, dx.data,
                                                      dy.dtype, a, g);
  });
  return checkLaunch(c, "conv_grad_input");
}

//===----------------------------------------------------------------------===//
// conv_grad_filter
//===----------------------------------------------------------------------===//

// dW[m, cg, ki] = sum over n, p of dY[n, m, p] * X[n, g*Cg + cg, tap(ki, p)]:
// one warp per filter element, lanes over output positions.
template <typename T, int ND>
__global__ void convGradFilterDev(const void *x, const void *dy, void *dw,
                                  DType dt, ConvDims a, WinGeom g) {
  int64_t total = a.M * a.Cg * g.kprod;
  int lane = threadIdx.x & 31;
  int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t e = warp; e < total; e += warps) {
    int64_t ki = e % g.kprod, mc = e / g.kprod, cg = mc % a.Cg, m = mc / a.Cg;
    int64_t grp = m / a.Mg, ch = grp * a.Cg + cg;
    int64_t kk[kMaxSp], o[kMaxSp];
    unflatten<ND>(g, g.k, ki, kk);
    for (int d = 0; d < MP_ND; ++d)
      kk[d] = kk[d] * g.dl[d] - g.pb[d];
    T acc = 0;
    // (n, p) flattened so that small planes still fill the warp.
    for (int64_t q = lane; q < a.N * g.P; q += 32) {
      int64_t n = q / g.P, p = q - n * g.P;
      unflatten<ND>(g, g.out, p, o);
      int64_t off = 0;
      bool inside = true;
      for (int d = 0; d < MP_ND; ++d) {
        int64_t ii = o[d] * g.s[d] + kk[d];
        inside = inside && ii >= 0 && ii < g.in[d];
        off = off * g.in[d] + ii;
      }
      T xv = inside ? ldAs<T>(x, dt, (n * a.C + ch) * g.inSp + off) : T(0);
      acc += ldAs<T>(dy, dt, (n * a.M + m) * g.P + p) * xv;
    }
    acc = warpSum(acc);
    if (lane == 0)
      stAs<T>(dw, dt, e, acc);
  }
}

Status convGradFilterKernel(KernelContext &c, Env &env) {
  TensorView &x = c.in(0), &dy = c.in(1), &dw = c.out(0);
  MP_RT_TRY(accF32(c, x.dtype));
  Shape ks = c.ints("kernel_shape");
  int64_t group = c.i64("group", 1);
  cpu::Window win;
  MP_RT_TRY(cpu::makeWindow(c, Shape(x.shape.begin() + 2, x.shape.end()), ks,
                            false, win));
  WinGeom g;
  MP_RT_TRY(toGeom(c, win, g));
  ConvDims a{x.shape[0], x.shape[1], dy.shape[1], x.shape[1] / group,
             dy.shape[1] / group};
  int64_t total = dw.numel();
  if (total == 0)
    return Status::success();
  dispatch(x.dtype, g.nd, [&](auto tag, auto nd) {
    using T = decltype(tag);
    convGradFilterDev<T, decltype(nd)::value>
        <<<gridFor(total * 32), kThreads, 0, env.stream>>>(
            x.data, dy.data, dw.data, x.dtype, a, g);
  });
  return checkLaunch(c, "conv_grad_filter");
}

//===----------------------------------------------------------------------===//
// max_pool, average_pool
//===----------------------------------------------------------------------===//

/// Taps of output position `o`'s window per dim: inside X, and inside the
/// padded extent (the window may reach past it in ceil mode). Their
/// products are the CPU's taps.size() and taps.size() + padTaps.
template <int ND>
__device__ __forceinline__ void windowCounts(const WinGeom &g, const int64_t *o,
                                             int64_t &inside, int64_t &padded) {
  inside = 1;
  padded = 1;
  for (int d = 0; d < MP_ND; ++d) {
    int64_t a = 0, b = 0, i0 = o[d] * g.s[d] - g.pb[d];
    for (int64_t k = 0; k < g.k[d]; ++k) {
      int64_t i = i0 + k * g.dl[d];
      a += i >= 0 && i < g.in[d];
      b += i >= -g.pb[d] && i < g.in[d] + g.pe[d];
    }
    inside *= a;
    padded *= b;
  }
}

/// Offset within the plane of tap kk of the window at `base`, or -1 outside.
template <int ND>
__device__ __forceinline__ int64_t tapOffset(const WinGeom &g,
                                             const int64_t *base,
                                             const int64_t *kk) {
  int64_t off = 0;
  for (int d = 0; d < MP_ND; ++d) {
    int64_t ii = base[d] + kk[d] * g.dl[d];
    if (ii < 0 || ii >= g.in[d])
      return -1;
    off = off * g.in[d] + ii;
  }
  return off;
}

// One thread per (n*c, p). Max: the CPU's `v > r || isnan(v)` from -inf;
// average: the sum of the taps inside X over the tap count.
template <typename T, int ND, bool IsMax>
__global__ void poolDev(const void *x, void *y, DType dt, int64_t NC,
                        bool countPad, WinGeom g) {
  int64_t total = NC * g.P;
  MP_GRID_STRIDE(i, total) {
    int64_t p = i % g.P, nc = i / g.P;
    int64_t base[kMaxSp], kk[kMaxSp];
    unflatten<ND>(g, g.out, p, base);
    for (int d = 0; d < MP_ND; ++d) {
      base[d] = base[d] * g.s[d] - g.pb[d];
      kk[d] = 0;
    }
    const int64_t plane = nc * g.inSp;
    T r;
    if (IsMax) {
      r = -T(INFINITY);
      for (int64_t ki = 0; ki < g.kprod; ++ki) {
        int64_t off = tapOffset<ND>(g, base, kk);
        if (off >= 0) {
          T v = ldAs<T>(x, dt, plane + off);
          if (v > r || v != v)
            r = v;
        }
        nextTap<ND>(g, kk);
      }
    } else {
      T s = 0;
      for (int64_t ki = 0; ki < g.kprod; ++ki) {
        int64_t off = tapOffset<ND>(g, base, kk);
        if (off >= 0)
          s += ldAs<T>(x, dt, plane + off);
        nextTap<ND>(g, kk);
      }
      int64_t o[kMaxSp], nIn, nPad;
      unflatten<ND>(g, g.out, p, o);
      windowCounts<ND>(g, o, nIn, nPad);
      r = s / T(countPad ? nPad : nIn);
    }
    stAs<T>(y, dt, i, r);
  }
}

Status poolKernel(KernelContext &c, Env &env) {
  bool isMax = c.ins.kernel == "max_pool";
  bool ceilMode = c.i64("ceil_mode", 0) != 0;
  bool countPad = isMax ? false : c.i64("count_include_pad", 0) != 0;
  if (isMax)
    (void)c.i64("storage_order", 0);
  Shape kernel = c.ints("kernel_shape");
  TensorView &x = c.in(0), &y = c.out(0);
  cpu::Acc acc = c.acc(x.dtype);
  // The accumulation type does not change a maximum.
  if (!isMax && acc != cpu::Acc::Native)
    return c.unsupported("cuda accumulates in f32");
  cpu::Window w;
  MP_RT_TRY(cpu::makeWindow(c, Shape(x.shape.begin() + 2, x.shape.end()),
                            kernel, ceilMode, w));
  WinGeom g;
  MP_RT_TRY(toGeom(c, w, g));
  int64_t NC = x.shape[0] * x.shape[1], total = y.numel();
  if (total == 0)
    return Status::success();
  dispatch(x.dtype, g.nd, [&](auto tag, auto nd) {
    using T = decltype(tag);
    constexpr int ND = decltype(nd)::value;
    if (isMax)
      poolDev<T, ND, true><<<gridFor(total), kThreads, 0, env.stream>>>(
          x.data, y.data, x.dtype, NC, countPad, g);
    else
      poolDev<T, ND, false><<<gridFor(total), kThreads, 0, env.stream>>>(
          x.data, y.data, x.dtype, NC, countPad, g);
  });
  return checkLaunch(c, isMax ? "max_pool" : "average_pool");
}

//===----------------------------------------------------------------------===//
// max_pool_grad, average_pool_grad
//===----------------------------------------------------------------------===//

// Each window's argmax (offset in its plane, or -1 without taps): the first
// maximum in row-major order, a NaN winning and the first NaN staying.
template <typename T, int ND>
__global__ void argmaxDev(const void *x, int64_t *arg, DType dt, int64_t NC,
                          WinGeom g) {
  int64_t total = NC * g.P;
  MP_GRID_STRIDE(i, total) {
    int64_t p = i % g.P, nc = i / g.P;
    int64_t base[kMaxSp], kk[kMaxSp];
    unflatten<ND>(g, g.out, p, base);
    for (int d = 0; d < MP_ND; ++d) {
      base[d] = base[d] * g.s[d] - g.pb[d];
      kk[d] = 0;
    }
    const int64_t plane = nc * g.inSp;
    int64_t best = -1;
    T bv = -T(INFINITY);
    for (int64_t ki = 0; ki < g.kprod; ++ki) {
      int64_t off = tapOffset<ND>(g, base, kk);
      if (off >= 0) {
        T v = ldAs<T>(x, dt, plane + off);
        if (best < 0 || (bv == bv && (v != v || v > bv))) {
          best = off;
          bv = v;
        }
      }
      nextTap<ND>(g, kk);
    }
    arg[i] = best;
  }
}

// One thread per input element: over the windows containing it in
// ascending output order (taps in descending order), adds dY where it is
// the window's argmax (max) or dY / count (average), as the CPU's scatter
// adds them.
template <typename T, int ND, bool IsMax>
__global__ void poolGradDev(const void *dy, const int64_t *arg, void *dx,
                            DType dt, int64_t NC, bool countPad, WinGeom g) {
  int64_t total = NC * g.inSp;
  MP_GRID_STRIDE(i, total) {
    int64_t sp = i % g.inSp, nc = i / g.inSp;
    int64_t pos[kMaxSp], kk[kMaxSp], o[kMaxSp];
    unflatten<ND>(g, g.in, sp, pos);
    for (int d = 0; d < MP_ND; ++d)
      kk[d] = g.k[d] - 1;
    T acc = 0;
    for (int64_t ki = 0; ki < g.kprod; ++ki) {
      int64_t p = windowAt<ND>(g, pos, kk, o);
      if (p >= 0) {
        int64_t at = nc * g.P + p;
        if (IsMax) {
          if (arg[at] == sp)
            acc += ldAs<T>(dy, dt, at);
        } else {
          int64_t nIn, nPad;
          windowCounts<ND>(g, o, nIn, nPad);
          acc += ldAs<T>(dy, dt, at) / T(countPad ? nPad : nIn);
        }
      }
      prevTap<ND>(g, kk);
    }
    stAs<T>(dx, dt, i, acc);
  }
}

/// Geometry of a pooling gradient (shared with its scratch size).
Status poolGradGeom(KernelContext &c, bool &isMax, bool &countPad,
                    Shape &inShape, WinGeom &g) {
  isMax = c.ins.kernel == "max_pool_grad";
  Shape kernel = c.ints("kernel_shape");
  bool ceilMode = c.i64("ceil_mode", 0) != 0;
  countPad = isMax ? false : c.i64("count_include_pad", 0) != 0;
  inShape = isMax ? c.in(1).shape : c.ints("input_shape");
  cpu::Window w;
  MP_RT_TRY(cpu::makeWindow(c, Shape(inShape.begin() + 2, inShape.end()),
                            kernel, ceilMode, w));
  return toGeom(c, w, g);
}

size_t poolGradScratch(KernelContext &c) {
  bool isMax, countPad;
  Shape inShape;
  WinGeom g;
  if (!poolGradGeom(c, isMax, countPad, inShape, g).ok() || !isMax)
    return 0;
  return size_t(inShape[0] * inShape[1] * g.P) * sizeof(int64_t);
}

Status poolGradKernel(KernelContext &c, Env &env) {
  bool isMax, countPad;
  Shape inShape;
  WinGeom g;
  MP_RT_TRY(poolGradGeom(c, isMax, countPad, inShape, g));
  TensorView &dy = c.in(0), &dx = c.out(0);
  int64_t NC = inShape[0] * inShape[1];
  if (dx.numel() == 0)
    return Status::success();
  int64_t *arg = static_cast<int64_t *>(env.scratch);
  if (isMax && NC * g.P > 0 &&
      (!arg || env.scratchBytes < size_t(NC * g.P) * sizeof(int64_t)))
    return c.execError("max_pool_grad: missing scratch for the argmax table");
  dispatch(dy.dtype, g.nd, [&](auto tag, auto nd) {
    using T = decltype(tag);
    constexpr int ND = decltype(nd)::value;
    if (isMax) {
      if (NC * g.P > 0)
        argmaxDev<T, ND><<<gridFor(NC * g.P), kThreads, 0, env.stream>>>(
            c.in(1).data, arg, dy.dtype, NC, g);
      poolGradDev<T, ND, true>
          <<<gridFor(dx.numel()), kThreads, 0, env.stream>>>(
              dy.data, arg, dx.data, dy.dtype, NC, countPad, g);
    } else {
      poolGradDev<T, ND, false>
          <<<gridFor(dx.numel()), kThreads, 0, env.stream>>>(
              dy.data, nullptr, dx.data, dy.dtype, NC, countPad, g);
    }
  });
  return checkLaunch(c, isMax ? "max_pool_grad" : "average_pool_grad");
}

//===----------------------------------------------------------------------===//
// global_average_pool
//===----------------------------------------------------------------------===//

// One warp per (n, c) plane: y = sum / S.
template <typename T>
__global__ void globalAvgPoolDev(const void *x, void *y, DType dt, int64_t NC,
                                 int64_t S) {
  int lane = threadIdx.x & 31;
  int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t r = warp; r < NC; r += warps) {
    T s = 0;
    for (int64_t j = lane; j < S; j += 32)
      s += ldAs<T>(x, dt, r * S + j);
    s = warpSum(s);
    if (lane == 0)
      stAs<T>(y, dt, r, s / T(S));
  }
}

Status globalAveragePoolKernel(KernelContext &c, Env &env) {
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(accF32(c, x.dtype));
  int64_t NC = x.shape[0] * x.shape[1];
  int64_t S = cpu::numElements(Shape(x.shape.begin() + 2, x.shape.end()));
  if (NC == 0)
    return Status::success();
  if (x.dtype == DType::F64)
    globalAvgPoolDev<double><<<gridFor(NC * 32), kThreads, 0, env.stream>>>(
        x.data, y.data, x.dtype, NC, S);
  else
    globalAvgPoolDev<float><<<gridFor(NC * 32), kThreads, 0, env.stream>>>(
        x.data, y.data, x.dtype, NC, S);
  return checkLaunch(c, "global_average_pool");
}

#undef MP_ND

} // namespace

void registerWindowKernels(Registry &r) {
  r["conv"] = {convKernel, false, nullptr};
  r["conv_grad_input"] = {convGradInputKernel, false, nullptr};
  r["conv_grad_filter"] = {convGradFilterKernel, false, nullptr};
  r["max_pool"] = {poolKernel, false, nullptr};
  r["average_pool"] = {poolKernel, false, nullptr};
  r["max_pool_grad"] = {poolGradKernel, false, poolGradScratch};
  r["average_pool_grad"] = {poolGradKernel, false, nullptr};
  r["global_average_pool"] = {globalAveragePoolKernel, false, nullptr};
}

} // namespace mp::rt::cuda
