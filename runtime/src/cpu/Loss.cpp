//===- Loss.cpp - softmax_cross_entropy_loss and nll_loss -----------------===//
//
// ONNX SoftmaxCrossEntropyLoss-13 / NegativeLogLikelihoodLoss-13: scores or
// log-probabilities N x C x D..., integer labels N x D..., optional class
// weights [C], optional ignore_index, reduction mean (weighted mean over the
// non-ignored elements), sum or none. Computed and accumulated in f32 (f64
// for f64 data); results rounded once. A label outside [0, C) that is not
// ignore_index is a run-time error.
//
//===----------------------------------------------------------------------===//
#include "Kernel.h"

#include <limits>

namespace mp::rt::cpu {
namespace {

Status lossKernel(KernelContext &c) {
  bool isSCE = c.ins.kernel == "softmax_cross_entropy_loss";
  MP_RT_TRY(c.arity(2, 3, 1, isSCE ? 2 : 1));
  bool hasIgnore = c.has("ignore_index");
  int64_t ignore = c.i64("ignore_index", 0);
  std::string reduction = c.str("reduction", "mean");
  TensorView &x = c.in(0), &lab = c.in(1), &loss = c.out(0);
  TensorView *w = c.opt(2);
  if (reduction != "mean" && reduction != "sum" && reduction != "none")
    return c.error("reduction must be mean, sum or none");
  if (!isFloat(x.dtype))
    return c.unsupported("scores must be floating point");
  if (lab.dtype != DType::I64 && lab.dtype != DType::I32)
    return c.error("labels must be i32 or i64");
  if (x.rank() < 2)
    return c.error("scores must be N x C x ...");
  int64_t N = x.shape[0], C = x.shape[1];
  Shape labShape = {N};
  labShape.insert(labShape.end(), x.shape.begin() + 2, x.shape.end());
  if (lab.shape != labShape)
    return c.error("labels shape should be " + shapeStr(labShape));
  if (w && (w->shape != Shape{C} || w->dtype != x.dtype))
    return c.error("weights must be [C] of the scores' dtype");
  Shape lossShape = reduction == "none" ? labShape : Shape{};
  if (loss.shape != lossShape || !isFloat(loss.dtype))
    return c.error("loss must be floating point of shape " +
                   shapeStr(lossShape));
  if (c.numResults() > 1 &&
      (c.out(1).shape != x.shape || c.out(1).dtype != x.dtype))
    return c.error("log_prob must have the scores' shape and dtype");
  if (c.validateOnly)
    return Status::success();
  int64_t S = numElements(labShape) / std::max<int64_t>(N, 1);
  return dispatchCompute(x.dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x);
      std::vector<T> logp;
      const T *lp = ix.p;
      if (isSCE) {
        logp.resize(size_t(x.numel()));
        for (int64_t n = 0; n < N; ++n)
          for (int64_t s = 0; s < S; ++s) {
            const T *p = ix.p + n * C * S + s;
            T *q = logp.data() + n * C * S + s;
            T mx = -std::numeric_limits<T>::infinity();
            for (int64_t k = 0; k < C; ++k)
              if (p[k * S] > mx || std::isnan(p[k * S]))
                mx = p[k * S];
            T sum = 0;
            for (int64_t k = 0; k < C; ++k)
              sum += std::exp(p[k * S] - mx);
            T ls = std::log(sum);
            for (int64_t k = 0; k < C; ++k)
              q[k * S] = p[k * S] - mx - ls;
          }
        lp = logp.data();
      }
      std::vector<T> wv;
      if (w) {
        wv.resize(size_t(C));
        loadAs<T>(w->dtype, w->data, wv.data(), C);
      }
      std::vector<T> per(static_cast<size_t>(N * S));
      T total = 0, wsum = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) {
          int64_t l = lab.dtype == DType::I64 ? lab.as<int64_t>()[n * S + s]
                                              : lab.as<int32_t>()[n * S + s];
          T v = 0, wt = 0;
          if (!(hasIgnore && l == ignore)) {
            if (l < 0 || l >= C)
              return c.execError("label " + std::to_string(l) +
                                 " out of range [0, " + std::to_string(C) +
                                 ")");
            wt = w ? wv[size_t(l)] : T(1);
            v = -lp[(n * C + l) * S + s] * wt;
          }
          per[size_t(n * S + s)] = v;
          total += v;
          wsum += wt;
        }
      if (reduction == "none") {
        storeAs<T>(per.data(), loss.dtype, loss.data, N * S);
      } else {
        T r = reduction == "sum" ? total : total / wsum;
        storeAs<T>(&r, loss.dtype, loss.data, 1);
      }
      if (c.numResults() > 1)
        storeAs<T>(lp, c.out(1).dtype, c.out(1).data, x.numel());
    }
    return Status::success();
  });
}

} // namespace

void registerLossKernels(Registry &r) {
  r["softmax_cross_entropy_loss"] = {lossKernel, false};
  r["nll_loss"] = {lossKernel, false};
}

} // namespace mp::rt::cpu
