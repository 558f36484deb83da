//===- Norm.cpp - softmax, normalization, pooling, reductions -------------===//
//
// Kernels that reduce along some dims: softmax / log_softmax, layer_norm,
// batch_norm, max / average / global average pooling and reduce_*.
// Statistics and sums accumulate in `acc` (f32 by default; f64 for f64
// data) in a fixed order (ascending element index), and each result is
// rounded once into its dtype.
//
//===----------------------------------------------------------------------===//
#include "Window.h"

#include <algorithm>
#include <limits>
#include <memory>

namespace mp::rt::cpu {
namespace {

Status floatOnly(KernelContext &c, DType t) {
  if (!isFloat(t))
    return c.unsupported(std::string("dtype ") + dtypeName(t) +
                         " is not supported (floating point only)");
  return Status::success();
}

//===----------------------------------------------------------------------===//
// softmax / log_softmax
//===----------------------------------------------------------------------===//

Status softmaxKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  int64_t axis = c.i64("axis", -1);
  TensorView &x = c.in(0), &y = c.out(0);
  Acc acc = c.acc(x.dtype);
  if (x.dtype != y.dtype || x.shape != y.shape)
    return c.error("result must have the operand's dtype and shape");
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (!normAxis(axis, x.rank()))
    return c.error("axis out of range");
  if (c.validateOnly)
    return Status::success();
  bool isLog = c.ins.kernel == "log_softmax";
  int64_t D = x.shape[size_t(axis)], outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[size_t(d)];
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x);
      Output<T> oy(y);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T *p = ix.p + o * D * inner + i;
          T *q = oy.p + o * D * inner + i;
          T mx = -std::numeric_limits<T>::infinity();
          for (int64_t d = 0; d < D; ++d)
            if (p[d * inner] > mx || std::isnan(p[d * inner]))
              mx = p[d * inner];
          T sum = 0;
          for (int64_t d = 0; d < D; ++d)
            sum = accRound(sum + std::exp(p[d * inner] - mx), acc);
          if (isLog) {
            T ls = std::log(sum);
            for (int64_t d = 0; d < D; ++d)
              q[d * inner] = p[d * inner] - mx - ls;
          } else {
            for (int64_t d = 0; d < D; ++d)
              q[d * inner] = std::exp(p[d * inner] - mx) / sum;
          }
        }
      oy.commit();
    }
    return 0;
  });
  return Status::success();
}

//===----------------------------------------------------------------------===//
// layer_norm
//===----------------------------------------------------------------------===//

Status layerNormKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 3, 1, 3));
  int64_t axis = c.i64("axis", -1);
  double eps = float(c.f64("epsilon", 1e-5));
  int64_t stash = c.i64("stash_type", 1);
  TensorView &x = c.in(0), &scale = c.in(1), &y = c.out(0);
  TensorView *b = c.opt(2);
  Acc acc = c.acc(x.dtype);
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (stash != 1)
    return c.unsupported("stash_type must be 1 (f32)");
  if (!normAxis(axis, x.rank()))
    return c.error("axis out of range");
  if (y.dtype != x.dtype || y.shape != x.shape)
    return c.error("Y must have X's dtype and shape");
  Shape normShape(x.shape.begin() + axis, x.shape.end());
  for (TensorView *t : {&scale, b}) {
    if (!t)
      continue;
    Shape out;
    // Scale and B may be f32 while X is f16/bf16 (pinned by autocast).
    if (!isFloat(t->dtype))
      return c.error("Scale and B must be floating point");
    if (!broadcastShapes({&t->shape, &normShape}, out) || out != normShape)
      return c.error("Scale/B of shape " + shapeStr(t->shape) +
                     " do not broadcast to the normalized shape " +
                     shapeStr(normShape));
  }
  Shape statShape(x.shape.begin(), x.shape.begin() + axis);
  statShape.resize(x.shape.size(), 1);
  for (size_t r = 1; r < c.numResults(); ++r)
    if (c.out(r).shape != statShape || !isFloat(c.out(r).dtype))
      return c.error("Mean and InvStdDev must be floating point of shape " +
                     shapeStr(statShape));
  if (c.validateOnly)
    return Status::success();
  int64_t inner = numElements(normShape),
          outer = x.numel() / std::max<int64_t>(inner, 1);
  if (inner == 0)
    outer = numElements(Shape(x.shape.begin(), x.shape.begin() + axis));
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x), is(scale);
      std::vector<T> sc(static_cast<size_t>(inner)),
          bs(static_cast<size_t>(inner), T(0));
      std::vector<int64_t> sst = broadcastStrides(scale.shape, normShape);
      std::vector<int64_t> idx(normShape.size(), 0);
      std::unique_ptr<Input<T>> ib;
      std::vector<int64_t> bst;
      if (b) {
        ib = std::make_unique<Input<T>>(*b);
        bst = broadcastStrides(b->shape, normShape);
      }
      for (int64_t i = 0; i < inner; ++i, nextIndex(idx, normShape)) {
        int64_t so = 0, bo = 0;
        for (size_t d = 0; d < idx.size(); ++d) {
          so += idx[d] * sst[d];
          if (b)
            bo += idx[d] * bst[d];
        }
        sc[size_t(i)] = is[so];
        if (b)
          bs[size_t(i)] = (*ib)[bo];
      }
      Output<T> oy(y);
      std::vector<T> means(static_cast<size_t>(outer)),
          invs(static_cast<size_t>(outer));
      for (int64_t o = 0; o < outer; ++o) {
        const T *p = ix.p + o * inner;
        T sum = 0;
        for (int64_t i = 0; i < inner; ++i)
          sum = accRound(sum + p[i], acc);
        T mean = sum / T(inner);
        T sq = 0;
        for (int64_t i = 0; i < inner; ++i) {
          T d = p[i] - mean;
          sq = accRound(sq + d * d, acc);
        }
        T var = sq / T(inner);
        T inv = T(1) / std::sqrt(var + T(eps));
        for (int64_t i = 0; i < inner; ++i)
          oy[o * inner + i] =
              (p[i] - mean) * inv * sc[size_t(i)] + bs[size_t(i)];
        means[size_t(o)] = mean;
        invs[size_t(o)] = inv;
      }
      oy.commit();
      if (c.numResults() > 1)
        storeAs<T>(means.data(), c.out(1).dtype, c.out(1).data, outer);
      if (c.numResults() > 2)
        storeAs<T>(invs.data(), c.out(2).dtype, c.out(2).data, outer);
    }
    return 0;
  });
  return Status::success();
}

//===----------------------------------------------------------------------===//
// batch_norm
//===----------------------------------------------------------------------===//

Status batchNormKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(5, 5, 1, 3));
  double eps = float(c.f64("epsilon", 1e-5));
  double mom = float(c.f64("momentum", 0.9));
  bool training = c.i64("training_mode", 0) != 0;
  TensorView &x = c.in(0), &y = c.out(0);
  Acc acc = c.acc(x.dtype);
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (x.rank() < 2)
    return c.error("X must be N x C x ...");
  int64_t N = x.shape[0], C = x.shape[1];
  for (int i = 1; i < 5; ++i)
    if (c.in(size_t(i)).shape != Shape{C} || !isFloat(c.in(size_t(i)).dtype))
      return c.error("scale, B, input_mean and input_var must be float [C]");
  if (y.dtype != x.dtype || y.shape != x.shape)
    return c.error("Y must have X's dtype and shape");
  for (size_t r = 1; r < c.numResults(); ++r)
    if (c.out(r).shape != Shape{C} || !isFloat(c.out(r).dtype))
      return c.error("running_mean and running_var must be float [C]");
  if (c.validateOnly)
    return Status::success();
  int64_t S = x.numel() / std::max<int64_t>(N * C, 1);
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x), isc(c.in(1)), ib(c.in(2)), im(c.in(3)), iv(c.in(4));
      Output<T> oy(y);
      std::vector<T> rm(static_cast<size_t>(C)), rv(static_cast<size_t>(C));
      for (int64_t ch = 0; ch < C; ++ch) {
        T mean = im[ch], var = iv[ch];
        if (training) {
          T sum = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t s = 0; s < S; ++s)
              sum = accRound(sum + ix[(n * C + ch) * S + s], acc);
          T cnt = T(N * S);
          mean = sum / cnt;
          T sq = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t s = 0; s < S; ++s) {
              T d = ix[(n * C + ch) * S + s] - mean;
              sq = accRound(sq + d * d, acc);
            }
          var = sq / cnt;
          rm[size_t(ch)] = im[ch] * T(mom) + mean * (T(1) - T(mom));
          rv[size_t(ch)] = iv[ch] * T(mom) + var * (T(1) - T(mom));
        } else {
          rm[size_t(ch)] = im[ch];
          rv[size_t(ch)] = iv[ch];
        }
        T inv = T(1) / std::sqrt(var + T(eps));
        T sc = isc[ch], bb = ib[ch];
        for (int64_t n = 0; n < N; ++n)
          for (int64_t s = 0; s < S; ++s) {
            int64_t i = (n * C + ch) * S + s;
            oy[i] = (ix[i] - mean) * inv * sc + bb;
          }
      }
      oy.commit();
      if (c.numResults() > 1)
        storeAs<T>(rm.data(), c.out(1).dtype, c.out(1).data, C);
      if (c.numResults() > 2)
        storeAs<T>(rv.data(), c.out(2).dtype, c.out(2).data, C);
    }
    return 0;
  });
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

Status poolKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  bool isMax = c.ins.kernel == "max_pool";
  bool ceilMode = c.i64("ceil_mode", 0) != 0;
  bool countPad = isMax ? false : c.i64("count_include_pad", 0) != 0;
  if (isMax && c.i64("storage_order", 0) != 0)
    return c.unsupported("storage_order = 1 (only for the Indices output, "
                         "which is not supported)");
  if (!c.has("kernel_shape"))
    return c.error("kernel_shape is required");
  Shape kernel = c.ints("kernel_shape");
  TensorView &x = c.in(0), &y = c.out(0);
  Acc acc = c.acc(x.dtype);
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (x.rank() < 3 || kernel.size() != size_t(x.rank() - 2))
    return c.error("X must be N x C x D1.. with one kernel size per D");
  if (y.dtype != x.dtype)
    return c.error("result dtype must equal X's");
  Window w;
  MP_RT_TRY(makeWindow(c, Shape(x.shape.begin() + 2, x.shape.end()), kernel,
                       ceilMode, w));
  Shape want = {x.shape[0], x.shape[1]};
  want.insert(want.end(), w.out.begin(), w.out.end());
  if (want != y.shape)
    return c.error("result shape " + shapeStr(y.shape) + " should be " +
                   shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  size_t nd = w.rank();
  int64_t NC = x.shape[0] * x.shape[1];
  int64_t inSp = numElements(w.in), P = numElements(w.out);
  int64_t kprod = numElements(kernel);
  std::vector<int64_t> inStr = stridesOf(w.in);
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x);
      Output<T> oy(y);
      std::vector<int64_t> o(nd, 0), kk(nd, 0);
      for (int64_t p = 0; p < P; ++p, nextIndex(o, w.out)) {
        // Gather the taps of this window once for all N x C planes.
        std::vector<int64_t> taps;
        int64_t padTaps = 0;
        std::fill(kk.begin(), kk.end(), 0);
        for (int64_t ki = 0; ki < kprod; ++ki, nextIndex(kk, kernel)) {
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
        T count =
            T(countPad ? int64_t(taps.size()) + padTaps : int64_t(taps.size()));
        for (int64_t nc = 0; nc < NC; ++nc) {
          const T *src = ix.p + nc * inSp;
          T r;
          if (isMax) {
            r = -std::numeric_limits<T>::infinity();
            for (int64_t t : taps)
              if (src[t] > r || std::isnan(src[t]))
                r = src[t];
          } else {
            T s = 0;
            for (int64_t t : taps)
              s = accRound(s + src[t], acc);
            r = s / count;
          }
          oy[nc * P + p] = r;
        }
      }
      oy.commit();
    }
    return 0;
  });
  return Status::success();
}

Status globalAveragePoolKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  TensorView &x = c.in(0), &y = c.out(0);
  Acc acc = c.acc(x.dtype);
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (x.rank() < 3)
    return c.error("X must be N x C x D1..");
  Shape want(x.shape.size(), 1);
  want[0] = x.shape[0];
  want[1] = x.shape[1];
  if (y.shape != want || y.dtype != x.dtype)
    return c.error("result must be " + shapeStr(want) + " of X's dtype");
  if (c.validateOnly)
    return Status::success();
  int64_t NC = x.shape[0] * x.shape[1];
  int64_t S = numElements(Shape(x.shape.begin() + 2, x.shape.end()));
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x);
      Output<T> oy(y);
      for (int64_t nc = 0; nc < NC; ++nc) {
        T s = 0;
        for (int64_t i = 0; i < S; ++i)
          s = accRound(s + ix[nc * S + i], acc);
        oy[nc] = s / T(S);
      }
      oy.commit();
    }
    return 0;
  });
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

Status reduceKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  bool hasAxes = c.has("axes");
  Shape axes = c.ints("axes");
  bool keep = c.i64("keepdims", 1) != 0;
  bool noop = c.i64("noop_with_empty_axes", 0) != 0;
  TensorView &x = c.in(0), &y = c.out(0);
  Acc acc = c.acc(x.dtype);
  const std::string &k = c.ins.kernel;
  if (x.dtype != y.dtype)
    return c.error("result dtype must equal the operand's");
  if (x.dtype == DType::Bool || (k == "reduce_mean" && !isFloat(x.dtype)))
    return c.unsupported(std::string("dtype ") + dtypeName(x.dtype) +
                         " is not supported");
  std::vector<bool> red(x.shape.size(), false);
  if (!hasAxes || axes.empty()) {
    if (!noop)
      red.assign(x.shape.size(), true);
  } else {
    for (int64_t a : axes) {
      if (!normAxis(a, x.rank()))
        return c.error("axis " + std::to_string(a) + " out of range");
      if (red[size_t(a)])
        return c.error("axis listed twice");
      red[size_t(a)] = true;
    }
  }
  Shape want;
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (!red[d])
      want.push_back(x.shape[d]);
    else if (keep)
      want.push_back(1);
  if (want != y.shape)
    return c.error("result shape " + shapeStr(y.shape) + " should be " +
                   shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  // Output strides indexed by input dim (0 on reduced dims).
  Shape kept;
  for (size_t d = 0; d < x.shape.size(); ++d)
    kept.push_back(red[d] ? 1 : x.shape[d]);
  std::vector<int64_t> ost = stridesOf(kept);
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (red[d])
      ost[d] = 0;
  int64_t nOut = y.numel(), nIn = x.numel();
  int64_t count = nOut ? nIn / nOut : 0;
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    Input<T> ix(x);
    std::vector<T> accv(static_cast<size_t>(nOut));
    bool isMax = k == "reduce_max";
    if constexpr (std::is_floating_point_v<T>)
      std::fill(accv.begin(), accv.end(),
                isMax ? -std::numeric_limits<T>::infinity() : T(0));
    else
      std::fill(accv.begin(), accv.end(),
                isMax ? std::numeric_limits<T>::lowest() : T(0));
    std::vector<int64_t> idx(x.shape.size(), 0);
    int64_t off = 0;
    for (int64_t i = 0; i < nIn; ++i) {
      T v = ix[i];
      T &a = accv[size_t(off)];
      if (isMax) {
        if constexpr (std::is_floating_point_v<T>) {
          if (v > a || std::isnan(v))
            a = std::isnan(a) ? a : v;
        } else if (v > a) {
          a = v;
        }
      } else {
        a = accRound(a + v, acc);
      }
      for (int64_t d = int64_t(idx.size()) - 1; d >= 0; --d) {
        off += ost[size_t(d)];
        if (++idx[size_t(d)] < x.shape[size_t(d)])
          break;
        off -= ost[size_t(d)] * x.shape[size_t(d)];
        idx[size_t(d)] = 0;
      }
    }
    if (k == "reduce_mean")
      for (T &a : accv)
        a = a / T(count);
    storeAs<T>(accv.data(), y.dtype, y.data, nOut);
    return 0;
  });
  return Status::success();
}

} // namespace

void registerNormKernels(Registry &r) {
  r["softmax"] = {softmaxKernel, false};
  r["log_softmax"] = {softmaxKernel, false};
  r["layer_norm"] = {layerNormKernel, false};
  r["batch_norm"] = {batchNormKernel, false};
  r["max_pool"] = {poolKernel, false};
  r["average_pool"] = {poolKernel, false};
  r["global_average_pool"] = {globalAveragePoolKernel, false};
  r["reduce_sum"] = {reduceKernel, false};
  r["reduce_mean"] = {reduceKernel, false};
  r["reduce_max"] = {reduceKernel, false};
}

} // namespace mp::rt::cpu
