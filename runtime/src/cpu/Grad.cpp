//===- Grad.cpp - gradient kernels of the dialect's training ops ----------===//
//
// Backward kernels for the ops whose gradient as a composition of forward
// ops would be slow or unstable (include/mp/Dialect/MP/IR/MPTrainingOps.td):
// softmax_cross_entropy_loss_grad, nll_loss_grad, softmax_grad,
// log_softmax_grad, gelu_grad, layer_norm_grad, batch_norm_grad,
// conv_grad_input, conv_grad_filter, max_pool_grad, average_pool_grad and
// slice_grad. They compute in f32 for f16/bf16 (f64 for f64), accumulate
// sums in f32 in a fixed order, and round each result once. Window
// attributes are explicit (auto_pad resolved into pads).
//
//===----------------------------------------------------------------------===//
#include "Window.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

namespace mp::rt::cpu {
namespace {

constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

Status floatOnly(KernelContext &c, DType t) {
  if (!isFloat(t))
    return c.unsupported(std::string("dtype ") + dtypeName(t) +
                         " is not supported (floating point only)");
  return Status::success();
}

Status expectShape(KernelContext &c, const TensorView &t, const Shape &want,
                   const char *what) {
  if (t.shape != want)
    return c.error(std::string(what) + " has shape " + shapeStr(t.shape) +
                   ", expected " + shapeStr(want));
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Loss gradients
//===----------------------------------------------------------------------===//

// softmax_cross_entropy_loss_grad(dloss, log_prob, labels, weights?)
// nll_loss_grad(dloss, input, target, weight?)
Status lossGradKernel(KernelContext &c) {
  bool isSCE = c.ins.kernel == "softmax_cross_entropy_loss_grad";
  MP_RT_TRY(c.arity(3, 4, 1, 1));
  bool hasIgnore = c.has("ignore_index");
  int64_t ignore = c.i64("ignore_index", 0);
  std::string reduction = c.str("reduction", "mean");
  TensorView &dl = c.in(0), &x = c.in(1), &lab = c.in(2), &dx = c.out(0);
  TensorView *w = c.opt(3);
  if (reduction != "mean" && reduction != "sum" && reduction != "none")
    return c.error("reduction must be mean, sum or none");
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (!isFloat(dl.dtype))
    return c.error("dloss must be floating point");
  if (lab.dtype != DType::I64 && lab.dtype != DType::I32)
    return c.error("labels must be i32 or i64");
  if (x.rank() < 2)
    return c.error("the scores must be N x C x ...");
  int64_t N = x.shape[0], C = x.shape[1];
  Shape labShape = {N};
  labShape.insert(labShape.end(), x.shape.begin() + 2, x.shape.end());
  MP_RT_TRY(expectShape(c, lab, labShape, "labels"));
  MP_RT_TRY(
      expectShape(c, dl, reduction == "none" ? labShape : Shape{}, "dloss"));
  if (w && (w->shape != Shape{C} || !isFloat(w->dtype)))
    return c.error("weights must be floating point [C]");
  if (dx.dtype != x.dtype || dx.shape != x.shape)
    return c.error("the result must have the scores' dtype and shape");
  if (c.validateOnly)
    return Status::success();
  int64_t S = numElements(labShape) / std::max<int64_t>(N, 1);
  return dispatchCompute(x.dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      std::vector<T> wv(static_cast<size_t>(C), T(1));
      if (w)
        loadAs<T>(w->dtype, w->data, wv.data(), C);
      Input<T> ix(x), idl(dl);
      auto label = [&](int64_t i) {
        return lab.dtype == DType::I64 ? lab.as<int64_t>()[i]
                                       : lab.as<int32_t>()[i];
      };
      T wsum = 0;
      for (int64_t i = 0; i < N * S; ++i) {
        int64_t l = label(i);
        if (hasIgnore && l == ignore)
          continue;
        if (l < 0 || l >= C)
          return c.execError("label " + std::to_string(l) +
                             " out of range [0, " + std::to_string(C) + ")");
        wsum += wv[size_t(l)];
      }
      Output<T> o(dx);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) {
          int64_t l = label(n * S + s);
          bool ignored = hasIgnore && l == ignore;
          T scale = reduction == "none"  ? idl[n * S + s]
                    : reduction == "sum" ? idl[0]
                                         : idl[0] / wsum;
          T f = ignored ? T(0) : wv[size_t(l)] * scale;
          for (int64_t k = 0; k < C; ++k) {
            int64_t i = (n * C + k) * S + s;
            T onehot = !ignored && k == l ? T(1) : T(0);
            o[i] = isSCE ? (std::exp(ix[i]) - onehot) * f : -onehot * f;
          }
        }
      o.commit();
    }
    return Status::success();
  });
}

//===----------------------------------------------------------------------===//
// softmax_grad, log_softmax_grad, gelu_grad
//===----------------------------------------------------------------------===//

Status softmaxGradKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  int64_t axis = c.i64("axis", -1);
  TensorView &dy = c.in(0), &y = c.in(1), &dx = c.out(0);
  MP_RT_TRY(floatOnly(c, y.dtype));
  if (dy.shape != y.shape || dx.shape != y.shape || dx.dtype != y.dtype ||
      !isFloat(dy.dtype))
    return c.error("dY, Y and dX must have one shape; dX Y's dtype");
  if (!normAxis(axis, y.rank()))
    return c.error("axis out of range");
  if (c.validateOnly)
    return Status::success();
  bool isLog = c.ins.kernel == "log_softmax_grad";
  int64_t D = y.shape[size_t(axis)], outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= y.shape[size_t(d)];
  for (int64_t d = axis + 1; d < y.rank(); ++d)
    inner *= y.shape[size_t(d)];
  dispatchCompute(y.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> idy(dy), iy(y);
      Output<T> o(dx);
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t base = a * D * inner + i;
          T sum = 0;
          for (int64_t d = 0; d < D; ++d) {
            int64_t k = base + d * inner;
            sum += isLog ? idy[k] : idy[k] * iy[k];
          }
          for (int64_t d = 0; d < D; ++d) {
            int64_t k = base + d * inner;
            o[k] =
                isLog ? idy[k] - std::exp(iy[k]) * sum : iy[k] * (idy[k] - sum);
          }
        }
      o.commit();
    }
    return 0;
  });
  return Status::success();
}

Status geluGradKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  std::string approx = c.str("approximate", "none");
  TensorView &dy = c.in(0), &x = c.in(1), &dx = c.out(0);
  if (approx != "none" && approx != "tanh")
    return c.error("approximate must be \"none\" or \"tanh\"");
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (dy.shape != x.shape || dx.shape != x.shape || dx.dtype != x.dtype ||
      !isFloat(dy.dtype))
    return c.error("dY, X and dX must have one shape; dX X's dtype");
  if (c.validateOnly)
    return Status::success();
  bool tanhForm = approx == "tanh";
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> idy(dy), ix(x);
      Output<T> o(dx);
      for (int64_t i = 0, n = x.numel(); i < n; ++i) {
        T v = ix[i], d;
        if (tanhForm) {
          T k = T(kSqrt2OverPi), a = T(0.044715);
          T t = std::tanh(k * (v + a * v * v * v));
          d = T(0.5) * (T(1) + t) +
              T(0.5) * v * (T(1) - t * t) * k * (T(1) + T(3) * a * v * v);
        } else {
          d = T(0.5) * (T(1) + std::erf(v * T(kSqrt1_2))) +
              v * T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v);
        }
        o[i] = idy[i] * d;
      }
      o.commit();
    }
    return 0;
  });
  return Status::success();
}

//===----------------------------------------------------------------------===//
// layer_norm_grad, batch_norm_grad
//===----------------------------------------------------------------------===//

// Operands: dY, X, Scale, Mean, InvStdDev. Results: dX, dScale, dB.
Status layerNormGradKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(5, 5, 3, 3));
  int64_t axis = c.i64("axis", -1);
  TensorView &dy = c.in(0), &x = c.in(1), &sc = c.in(2), &mean = c.in(3),
             &inv = c.in(4);
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (!normAxis(axis, x.rank()))
    return c.error("axis out of range");
  Shape norm(x.shape.begin() + axis, x.shape.end()), out;
  Shape stat(x.shape.begin(), x.shape.begin() + axis);
  stat.resize(x.shape.size(), 1);
  if (dy.shape != x.shape || !isFloat(dy.dtype))
    return c.error("dY must be floating point of X's shape");
  if (!isFloat(sc.dtype) || !broadcastShapes({&sc.shape, &norm}, out) ||
      out != norm)
    return c.error("Scale must broadcast to the normalized shape " +
                   shapeStr(norm));
  MP_RT_TRY(expectShape(c, mean, stat, "Mean"));
  MP_RT_TRY(expectShape(c, inv, stat, "InvStdDev"));
  if (c.out(0).shape != x.shape || c.out(0).dtype != x.dtype)
    return c.error("dX must have X's dtype and shape");
  for (size_t r = 1; r < 3; ++r)
    if (c.out(r).shape != norm || c.out(r).dtype != sc.dtype)
      return c.error("dScale and dB must have Scale's dtype and the "
                     "normalized shape " +
                     shapeStr(norm));
  if (c.validateOnly)
    return Status::success();
  int64_t inner = numElements(norm), outer = numElements(stat);
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> idy(dy), ix(x), im(mean), iv(inv);
      // Scale broadcast to the normalized shape.
      Input<T> is(sc);
      std::vector<T> s(static_cast<size_t>(inner));
      std::vector<int64_t> st = broadcastStrides(sc.shape, norm);
      std::vector<int64_t> idx(norm.size(), 0);
      for (int64_t i = 0; i < inner; ++i, nextIndex(idx, norm)) {
        int64_t off = 0;
        for (size_t d = 0; d < idx.size(); ++d)
          off += idx[d] * st[d];
        s[size_t(i)] = is[off];
      }
      Output<T> odx(c.out(0));
      std::vector<T> dS(static_cast<size_t>(inner), T(0)),
          dB(static_cast<size_t>(inner), T(0));
      std::vector<T> xhat(static_cast<size_t>(inner)),
          dxhat(static_cast<size_t>(inner));
      for (int64_t o = 0; o < outer; ++o) {
        T m = im[o], r = iv[o], sum1 = 0, sum2 = 0;
        for (int64_t i = 0; i < inner; ++i) {
          int64_t k = o * inner + i;
          xhat[size_t(i)] = (ix[k] - m) * r;
          dxhat[size_t(i)] = idy[k] * s[size_t(i)];
          sum1 += dxhat[size_t(i)];
          sum2 += dxhat[size_t(i)] * xhat[size_t(i)];
          dS[size_t(i)] += idy[k] * xhat[size_t(i)];
          dB[size_t(i)] += idy[k];
        }
        T mean1 = sum1 / T(inner), mean2 = sum2 / T(inner);
        for (int64_t i = 0; i < inner; ++i)
          odx[o * inner + i] =
              r * (dxhat[size_t(i)] - mean1 - xhat[size_t(i)] * mean2);
      }
      odx.commit();
      storeAs<T>(dS.data(), c.out(1).dtype, c.out(1).data, inner);
      storeAs<T>(dB.data(), c.out(2).dtype, c.out(2).data, inner);
    }
    return 0;
  });
  return Status::success();
}

// Operands: dY, X, scale. Results: dX, dscale, dB. Training mode only.
Status batchNormGradKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(3, 3, 3, 3));
  double eps = float(c.f64("epsilon", 1e-5));
  TensorView &dy = c.in(0), &x = c.in(1), &sc = c.in(2);
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (x.rank() < 2)
    return c.error("X must be N x C x ...");
  int64_t N = x.shape[0], C = x.shape[1];
  if (dy.shape != x.shape || !isFloat(dy.dtype))
    return c.error("dY must be floating point of X's shape");
  if (sc.shape != Shape{C} || !isFloat(sc.dtype))
    return c.error("scale must be floating point [C]");
  if (c.out(0).shape != x.shape || c.out(0).dtype != x.dtype)
    return c.error("dX must have X's dtype and shape");
  for (size_t r = 1; r < 3; ++r)
    if (c.out(r).shape != Shape{C} || c.out(r).dtype != sc.dtype)
      return c.error("dscale and dB must have scale's dtype and shape");
  if (c.validateOnly)
    return Status::success();
  int64_t S = x.numel() / std::max<int64_t>(N * C, 1);
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> idy(dy), ix(x), is(sc);
      Output<T> odx(c.out(0));
      std::vector<T> dS(static_cast<size_t>(C)), dB(static_cast<size_t>(C));
      T cnt = T(N * S);
      for (int64_t ch = 0; ch < C; ++ch) {
        auto at = [&](int64_t n, int64_t s) { return (n * C + ch) * S + s; };
        T sum = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t s = 0; s < S; ++s)
            sum += ix[at(n, s)];
        T mean = sum / cnt, sq = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t s = 0; s < S; ++s) {
            T d = ix[at(n, s)] - mean;
            sq += d * d;
          }
        T inv = T(1) / std::sqrt(sq / cnt + T(eps));
        T sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t s = 0; s < S; ++s) {
            T xh = (ix[at(n, s)] - mean) * inv;
            sdy += idy[at(n, s)];
            sdyx += idy[at(n, s)] * xh;
          }
        dS[size_t(ch)] = sdyx;
        dB[size_t(ch)] = sdy;
        T m1 = sdy / cnt, m2 = sdyx / cnt, k = is[ch] * inv;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t s = 0; s < S; ++s) {
            T xh = (ix[at(n, s)] - mean) * inv;
            odx[at(n, s)] = k * (idy[at(n, s)] - m1 - xh * m2);
          }
      }
      odx.commit();
      storeAs<T>(dS.data(), c.out(1).dtype, c.out(1).data, C);
      storeAs<T>(dB.data(), c.out(2).dtype, c.out(2).data, C);
    }
    return 0;
  });
  return Status::success();
}

//===----------------------------------------------------------------------===//
// conv_grad_input, conv_grad_filter
//===----------------------------------------------------------------------===//

/// Geometry shared by both conv gradients: X shape, W shape, group, window.
struct ConvGeom {
  Shape xs, ws;
  int64_t group;
  Window win;
};

Status convGeom(KernelContext &c, const Shape &xs, const Shape &ws,
                const Shape &dys, ConvGeom &g) {
  g.group = c.i64("group", 1);
  Shape ks = c.ints("kernel_shape");
  if (xs.size() < 3 || ws.size() != xs.size() || dys.size() != xs.size())
    return c.error("X, W and dY must be N x C x D.. of one rank");
  int64_t C = xs[1], M = ws[0];
  if (g.group < 1 || C % g.group != 0 || M % g.group != 0 ||
      ws[1] != C / g.group)
    return c.error("channels do not fit group and W " + shapeStr(ws));
  Shape kernel(ws.begin() + 2, ws.end());
  if (ks != kernel)
    return c.error("kernel_shape " + shapeStr(ks) + " does not match W " +
                   shapeStr(ws));
  MP_RT_TRY(
      makeWindow(c, Shape(xs.begin() + 2, xs.end()), kernel, false, g.win));
  Shape want = {xs[0], M};
  want.insert(want.end(), g.win.out.begin(), g.win.out.end());
  if (dys != want)
    return c.error("dY has shape " + shapeStr(dys) +
                   ", the forward conv "
                   "gives " +
                   shapeStr(want));
  g.xs = xs;
  g.ws = ws;
  return Status::success();
}

// Operands: dY, W. Result: dX of shape input_shape.
Status convGradInputKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  Shape inShape = c.ints("input_shape");
  Acc acc = c.acc(c.in(0).dtype);
  TensorView &dy = c.in(0), &w = c.in(1), &dx = c.out(0);
  MP_RT_TRY(floatOnly(c, dy.dtype));
  if (w.dtype != dy.dtype || dx.dtype != dy.dtype)
    return c.error("dY, W and dX must have one dtype");
  MP_RT_TRY(expectShape(c, dx, inShape, "dX"));
  ConvGeom g;
  MP_RT_TRY(convGeom(c, inShape, w.shape, dy.shape, g));
  if (c.validateOnly)
    return Status::success();
  dispatchCompute(dy.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> idy(dy), iw(w);
      int64_t N = g.xs[0], C = g.xs[1], M = g.ws[0];
      int64_t Cg = C / g.group, Mg = M / g.group;
      int64_t kprod = numElements(g.win.kernel), P = numElements(g.win.out);
      int64_t inSp = numElements(g.win.in), R = Cg * kprod;
      std::vector<int64_t> offs = windowOffsets(g.win);
      std::vector<T> out(static_cast<size_t>(dx.numel()), T(0));
      std::vector<T> wt(static_cast<size_t>(R * Mg)),
          col(static_cast<size_t>(R * P));
      for (int64_t gi = 0; gi < g.group; ++gi) {
        // W_g^T: [R, Mg].
        const T *wg = iw.p + gi * Mg * R;
        for (int64_t m = 0; m < Mg; ++m)
          for (int64_t r = 0; r < R; ++r)
            wt[size_t(r * Mg + m)] = wg[m * R + r];
        for (int64_t n = 0; n < N; ++n) {
          gemm<T>(wt.data(), idy.p + (n * M + gi * Mg) * P, col.data(), R, P,
                  Mg, acc);
          for (int64_t cg = 0; cg < Cg; ++cg) {
            T *dst = out.data() + (n * C + gi * Cg + cg) * inSp;
            for (int64_t ki = 0; ki < kprod; ++ki) {
              const T *src = col.data() + (cg * kprod + ki) * P;
              const int64_t *of = offs.data() + ki * P;
              for (int64_t p = 0; p < P; ++p)
                if (of[p] >= 0)
                  dst[of[p]] += src[p];
            }
          }
        }
      }
      storeAs<T>(out.data(), dx.dtype, dx.data, dx.numel());
    }
    return 0;
  });
  return Status::success();
}

// Operands: X, dY. Result: dW (M x C/group x kernel_shape).
Status convGradFilterKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  TensorView &x = c.in(0), &dy = c.in(1), &dw = c.out(0);
  Acc acc = c.acc(x.dtype);
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (dy.dtype != x.dtype || dw.dtype != x.dtype)
    return c.error("X, dY and dW must have one dtype");
  if (x.rank() < 3 || dy.rank() != x.rank())
    return c.error("X and dY must be N x C x D.. of one rank");
  Shape ks = c.ints("kernel_shape");
  int64_t group = c.i64("group", 1);
  if (group < 1 || x.shape[1] % group != 0)
    return c.error("group must divide the channels");
  Shape ws = {dy.shape[1], x.shape[1] / group};
  ws.insert(ws.end(), ks.begin(), ks.end());
  ConvGeom g;
  MP_RT_TRY(convGeom(c, x.shape, ws, dy.shape, g));
  MP_RT_TRY(expectShape(c, dw, ws, "dW"));
  if (c.validateOnly)
    return Status::success();
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x), idy(dy);
      int64_t N = g.xs[0], C = g.xs[1], M = g.ws[0];
      int64_t Cg = C / g.group, Mg = M / g.group;
      int64_t kprod = numElements(g.win.kernel), P = numElements(g.win.out);
      int64_t inSp = numElements(g.win.in), R = Cg * kprod;
      std::vector<int64_t> offs = windowOffsets(g.win);
      std::vector<T> out(static_cast<size_t>(dw.numel()), T(0)),
          part(static_cast<size_t>(Mg * R));
      std::vector<T> colT(static_cast<size_t>(P * R));
      for (int64_t gi = 0; gi < g.group; ++gi)
        for (int64_t n = 0; n < N; ++n) {
          // col^T: [P, R].
          for (int64_t cg = 0; cg < Cg; ++cg) {
            const T *src = ix.p + (n * C + gi * Cg + cg) * inSp;
            for (int64_t ki = 0; ki < kprod; ++ki) {
              const int64_t *of = offs.data() + ki * P;
              int64_t r = cg * kprod + ki;
              for (int64_t p = 0; p < P; ++p)
                colT[size_t(p * R + r)] = of[p] < 0 ? T(0) : src[of[p]];
            }
          }
          gemm<T>(idy.p + (n * M + gi * Mg) * P, colT.data(), part.data(), Mg,
                  R, P, acc);
          T *dst = out.data() + gi * Mg * R;
          for (int64_t i = 0; i < Mg * R; ++i)
            dst[i] += part[size_t(i)];
        }
      storeAs<T>(out.data(), dw.dtype, dw.data, dw.numel());
    }
    return 0;
  });
  return Status::success();
}

//===----------------------------------------------------------------------===//
// max_pool_grad, average_pool_grad
//===----------------------------------------------------------------------===//

/// Visits each output position's window: fn(p, taps inside X, taps in the
/// padded region only).
template <typename F> void forEachWindow(const Window &w, F &&fn) {
  size_t nd = w.rank();
  int64_t kprod = numElements(w.kernel), P = numElements(w.out);
  std::vector<int64_t> inStr = stridesOf(w.in), o(nd, 0), kk(nd, 0);
  std::vector<int64_t> taps;
  for (int64_t p = 0; p < P; ++p, nextIndex(o, w.out)) {
    taps.clear();
    int64_t padTaps = 0;
    std::fill(kk.begin(), kk.end(), 0);
    for (int64_t ki = 0; ki < kprod; ++ki, nextIndex(kk, w.kernel)) {
      int64_t off = 0;
      bool inside = true, inPadded = true;
      for (size_t d = 0; d < nd; ++d) {
        int64_t i =
            o[d] * w.strides[d] - w.padBegin[d] + kk[d] * w.dilations[d];
        if (i < 0 || i >= w.in[d])
          inside = false;
        if (i < -w.padBegin[d] || i >= w.in[d] + w.padEnd[d])
          inPadded = false;
        off += i * inStr[d];
      }
      if (inside)
        taps.push_back(off);
      else if (inPadded)
        ++padTaps;
    }
    fn(p, taps, padTaps);
  }
}

Status poolGradKernel(KernelContext &c) {
  bool isMax = c.ins.kernel == "max_pool_grad";
  MP_RT_TRY(c.arity(isMax ? 2 : 1, isMax ? 2 : 1, 1, 1));
  Shape kernel = c.ints("kernel_shape");
  bool ceilMode = c.i64("ceil_mode", 0) != 0;
  bool countPad = isMax ? false : c.i64("count_include_pad", 0) != 0;
  Shape inShape = isMax ? c.in(1).shape : c.ints("input_shape");
  TensorView &dy = c.in(0), &dx = c.out(0);
  MP_RT_TRY(floatOnly(c, dy.dtype));
  if (inShape.size() < 3 || kernel.size() != inShape.size() - 2)
    return c.error("the input must be N x C x D.. with one kernel size per D");
  if (isMax && c.in(1).dtype != dy.dtype)
    return c.error("dY and X must have one dtype");
  if (dx.dtype != dy.dtype)
    return c.error("dX must have dY's dtype");
  MP_RT_TRY(expectShape(c, dx, inShape, "dX"));
  Window w;
  MP_RT_TRY(makeWindow(c, Shape(inShape.begin() + 2, inShape.end()), kernel,
                       ceilMode, w));
  Shape want = {inShape[0], inShape[1]};
  want.insert(want.end(), w.out.begin(), w.out.end());
  MP_RT_TRY(expectShape(c, dy, want, "dY"));
  if (c.validateOnly)
    return Status::success();
  int64_t NC = inShape[0] * inShape[1], inSp = numElements(w.in);
  int64_t P = numElements(w.out);
  dispatchCompute(dy.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> idy(dy);
      std::unique_ptr<Input<T>> ix;
      if (isMax)
        ix = std::make_unique<Input<T>>(c.in(1));
      std::vector<T> out(static_cast<size_t>(dx.numel()), T(0));
      forEachWindow(w, [&](int64_t p, const std::vector<int64_t> &taps,
                           int64_t padTaps) {
        T count =
            T(countPad ? int64_t(taps.size()) + padTaps : int64_t(taps.size()));
        for (int64_t nc = 0; nc < NC; ++nc) {
          T g = idy[nc * P + p];
          T *dst = out.data() + nc * inSp;
          if (isMax) {
            const T *src = ix->p + nc * inSp;
            int64_t best = -1;
            T bv = -std::numeric_limits<T>::infinity();
            // The first maximum in row-major order; a NaN wins (as in the
            // forward op) and the first NaN stays.
            for (int64_t t : taps) {
              T v = src[t];
              if (best < 0 || (!std::isnan(bv) && (std::isnan(v) || v > bv))) {
                best = t;
                bv = v;
              }
            }
            if (best >= 0)
              dst[best] += g;
          } else {
            for (int64_t t : taps)
              dst[t] += g / count;
          }
        }
      });
      storeAs<T>(out.data(), dx.dtype, dx.data, dx.numel());
    }
    return 0;
  });
  return Status::success();
}

//===----------------------------------------------------------------------===//
// slice_grad
//===----------------------------------------------------------------------===//

Status sliceGradKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  Shape inShape = c.ints("input_shape");
  TensorView &dy = c.in(0), &dx = c.out(0);
  if (dx.dtype != dy.dtype)
    return c.error("dX must have dY's dtype");
  for (int64_t d : inShape)
    if (d < 0)
      return c.error("negative input_shape entry");
  MP_RT_TRY(expectShape(c, dx, inShape, "dX"));
  Shape start, step, want;
  MP_RT_TRY(sliceGeometry(c, inShape, start, step, want));
  MP_RT_TRY(expectShape(c, dy, want, "dY"));
  if (c.validateOnly)
    return Status::success();
  size_t es = dtypeSize(dx.dtype);
  std::memset(dx.data, 0, dx.bytes());
  int64_t n = dy.numel();
  std::vector<int64_t> xs = stridesOf(inShape), idx(want.size(), 0);
  for (int64_t i = 0; i < n; ++i, nextIndex(idx, want)) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      off += (start[d] + idx[d] * step[d]) * xs[d];
    std::memcpy(dx.data + size_t(off) * es, dy.data + size_t(i) * es, es);
  }
  return Status::success();
}

} // namespace

void registerGradKernels(Registry &r) {
  r["softmax_cross_entropy_loss_grad"] = {lossGradKernel, false};
  r["nll_loss_grad"] = {lossGradKernel, false};
  r["softmax_grad"] = {softmaxGradKernel, false};
  r["log_softmax_grad"] = {softmaxGradKernel, false};
  r["gelu_grad"] = {geluGradKernel, true};
  r["layer_norm_grad"] = {layerNormGradKernel, false};
  r["batch_norm_grad"] = {batchNormGradKernel, false};
  r["conv_grad_input"] = {convGradInputKernel, false};
  r["conv_grad_filter"] = {convGradFilterKernel, false};
  r["max_pool_grad"] = {poolGradKernel, false};
  r["average_pool_grad"] = {poolGradKernel, false};
  r["slice_grad"] = {sliceGradKernel, false};
}

} // namespace mp::rt::cpu
