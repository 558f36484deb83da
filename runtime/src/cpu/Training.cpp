//===- Training.cpp - optimizers, loss scaling, finiteness, dropout -------===//
//
// Training kernels, all on tensors (no host decisions):
// - sgd_update, adam_update, adamw_update: PyTorch's single-tensor update
//   formulas in their operation order, in f32 (f64 for f64 params), updating
//   param and optimizer state in place; optional fused unscale (grad *=
//   inv_scale), optional skip flag (found_inf true: nothing changes), and
//   an optional result that receives the updated param cast to its dtype
//   (the low-precision working copy; written even on a skipped step).
// - all_finite, global_norm, loss_scale_update (GradScaler's state machine
//   with a floor and a cap).
// - dropout with the Philox4x32-10 counter-based generator (Philox.h).
//
//===----------------------------------------------------------------------===//
#include "../common/Philox.h"
#include "Kernel.h"

#include <algorithm>
#include <memory>

namespace mp::rt::cpu {
namespace {

Status writableOperand(KernelContext &c, size_t i, const char *what) {
  TensorView *t = c.opt(i);
  if (!t)
    return Status::success();
  if (t->role == Role::Constant || t->role == Role::Input ||
      t->role == Role::Label)
    return c.error(std::string(what) + " is updated in place and cannot be a " +
                   roleName(t->role) + " tensor");
  return Status::success();
}

Status scalarOperand(KernelContext &c, size_t i, const char *what) {
  TensorView *t = c.opt(i);
  if (t && t->numel() != 1)
    return c.error(std::string(what) + " must have exactly one element");
  return Status::success();
}

bool flagSet(const TensorView *t) {
  return t && scalarF64(*t) != 0; // NaN counts as set
}

/// Checks the optional working-copy result (result 0).
Status workingCopy(KernelContext &c, const TensorView &param) {
  if (c.numResults() == 1 &&
      (c.out(0).shape != param.shape || !isFloat(c.out(0).dtype)))
    return c.error("the working copy must be floating point of the param's "
                   "shape");
  return Status::success();
}

Status sameShapeFloat(KernelContext &c, const TensorView &p, size_t i,
                      const char *what) {
  TensorView *t = c.opt(i);
  if (t && (t->shape != p.shape || !isFloat(t->dtype)))
    return c.error(std::string(what) +
                   " must be floating point of the param's "
                   "shape " +
                   shapeStr(p.shape));
  return Status::success();
}

//===----------------------------------------------------------------------===//
// sgd_update
//===----------------------------------------------------------------------===//

// Operands: param, grad, momentum_buffer?, inv_scale?, found_inf?, step?
Status sgdKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 6, 0, 1));
  double lr = c.f64("lr", 1e-3), momentum = c.f64("momentum", 0);
  double dampening = c.f64("dampening", 0), wd = c.f64("weight_decay", 0);
  bool nesterov = c.i64("nesterov", 0) != 0;
  TensorView &p = c.in(0);
  TensorView *buf = c.opt(2), *invScale = c.opt(3), *found = c.opt(4),
             *step = c.opt(5);
  if (!isFloat(p.dtype))
    return c.error("param must be floating point");
  MP_RT_TRY(sameShapeFloat(c, p, 1, "grad"));
  MP_RT_TRY(sameShapeFloat(c, p, 2, "momentum_buffer"));
  MP_RT_TRY(writableOperand(c, 0, "param"));
  MP_RT_TRY(writableOperand(c, 2, "momentum_buffer"));
  MP_RT_TRY(writableOperand(c, 5, "step"));
  MP_RT_TRY(scalarOperand(c, 3, "inv_scale"));
  MP_RT_TRY(scalarOperand(c, 4, "found_inf"));
  MP_RT_TRY(scalarOperand(c, 5, "step"));
  MP_RT_TRY(workingCopy(c, p));
  if (momentum != 0 && !buf)
    return c.error("momentum != 0 needs a momentum_buffer operand");
  if (nesterov && (momentum <= 0 || dampening != 0))
    return c.error("nesterov needs momentum > 0 and dampening = 0");
  if (c.validateOnly)
    return Status::success();
  return dispatchCompute(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      bool skip = flagSet(found);
      if (!skip) {
        bool first = step && scalarF64(*step) == 0;
        T inv = invScale ? T(scalarF64(*invScale)) : T(1);
        Input<T> ip(p), ig(c.in(1));
        Output<T> op(p);
        std::unique_ptr<Input<T>> ib;
        std::unique_ptr<Output<T>> ob;
        if (momentum != 0) {
          ib = std::make_unique<Input<T>>(*buf);
          ob = std::make_unique<Output<T>>(*buf);
        }
        const T m = T(momentum), damp = T(1 - dampening), w = T(wd),
                nlr = T(-lr);
        for (int64_t i = 0, n = p.numel(); i < n; ++i) {
          T g = ig[i];
          if (invScale)
            g = g * inv;
          T pv = ip[i];
          if (wd != 0)
            g = g + w * pv;
          if (momentum != 0) {
            T b = first ? g : (*ib)[i] * m + damp * g;
            (*ob)[i] = b;
            g = nesterov ? g + m * b : b;
          }
          op[i] = pv + nlr * g;
        }
        op.commit();
        if (ob)
          ob->commit();
        if (step)
          storeF64(*step, 0, scalarF64(*step) + 1);
      }
      if (c.numResults() == 1) {
        Input<T> ip(p);
        storeAs<T>(ip.p, c.out(0).dtype, c.out(0).data, p.numel());
      }
    }
    return Status::success();
  });
}

//===----------------------------------------------------------------------===//
// adam_update / adamw_update
//===----------------------------------------------------------------------===//

// Operands: param, grad, exp_avg, exp_avg_sq, step, inv_scale?, found_inf?
Status adamKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(5, 7, 0, 1));
  bool decoupled = c.ins.kernel == "adamw_update";
  double lr = c.f64("lr", 1e-3), beta1 = c.f64("beta1", 0.9);
  double beta2 = c.f64("beta2", 0.999), eps = c.f64("eps", 1e-8);
  double wd = c.f64("weight_decay", decoupled ? 1e-2 : 0);
  TensorView &p = c.in(0), &step = c.in(4);
  TensorView *invScale = c.opt(5), *found = c.opt(6);
  if (!isFloat(p.dtype))
    return c.error("param must be floating point");
  MP_RT_TRY(sameShapeFloat(c, p, 1, "grad"));
  MP_RT_TRY(sameShapeFloat(c, p, 2, "exp_avg"));
  MP_RT_TRY(sameShapeFloat(c, p, 3, "exp_avg_sq"));
  for (size_t i : {0, 2, 3, 4})
    MP_RT_TRY(writableOperand(c, i, "param, exp_avg, exp_avg_sq and step"));
  MP_RT_TRY(scalarOperand(c, 4, "step"));
  MP_RT_TRY(scalarOperand(c, 5, "inv_scale"));
  MP_RT_TRY(scalarOperand(c, 6, "found_inf"));
  MP_RT_TRY(workingCopy(c, p));
  if (step.dtype == DType::Bool)
    return c.error("step must be numeric");
  if (c.validateOnly)
    return Status::success();
  return dispatchCompute(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      if (!flagSet(found)) {
        double t = scalarF64(step) + 1;
        storeF64(step, 0, t);
        double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
        const T stepSize = T(-(lr / bc1)), bc2Sqrt = T(std::sqrt(bc2));
        const T inv = invScale ? T(scalarF64(*invScale)) : T(1);
        const T w = T(wd), decay = T(1 - lr * wd), weight = T(1 - beta1);
        const T b2 = T(beta2), omb2 = T(1 - beta2), e = T(eps);
        Input<T> ip(p), ig(c.in(1)), im(c.in(2)), iv(c.in(3));
        Output<T> op(p), om(c.in(2)), ov(c.in(3));
        for (int64_t i = 0, n = p.numel(); i < n; ++i) {
          T g = ig[i];
          if (invScale)
            g = g * inv;
          T pv = ip[i];
          if (decoupled)
            pv = pv * decay;
          else if (wd != 0)
            g = g + w * pv;
          T m = im[i];
          // torch.lerp(m, g, weight) for weight < 0.5, else the other form.
          m = weight < T(0.5) ? m + weight * (g - m)
                              : g - (g - m) * (T(1) - weight);
          T v = iv[i] * b2 + omb2 * g * g;
          T denom = std::sqrt(v) / bc2Sqrt + e;
          op[i] = pv + stepSize * m / denom;
          om[i] = m;
          ov[i] = v;
        }
        op.commit();
        om.commit();
        ov.commit();
      }
      if (c.numResults() == 1) {
        Input<T> ip(p);
        storeAs<T>(ip.p, c.out(0).dtype, c.out(0).data, p.numel());
      }
    }
    return Status::success();
  });
}

//===----------------------------------------------------------------------===//
// all_finite, global_norm, loss_scale_update
//===----------------------------------------------------------------------===//

Status allFiniteKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, std::max<size_t>(1, c.numOperands()), 1, 1));
  TensorView &y = c.out(0);
  if (y.dtype != DType::Bool || y.numel() != 1)
    return c.error("result must be a one-element bool");
  for (TensorView *t : c.operands)
    if (!t || !isFloat(t->dtype))
      return c.error("operands must be floating point tensors");
  if (c.validateOnly)
    return Status::success();
  bool ok = true;
  for (TensorView *t : c.operands) {
    int64_t n = t->numel();
    switch (t->dtype) {
    case DType::F32:
      for (int64_t i = 0; i < n && ok; ++i)
        ok = (bitsOf(t->as<float>()[i]) & 0x7F800000u) != 0x7F800000u;
      break;
    case DType::F64:
      for (int64_t i = 0; i < n && ok; ++i)
        ok = std::isfinite(t->as<double>()[i]);
      break;
    case DType::F16:
      for (int64_t i = 0; i < n && ok; ++i)
        ok = (t->as<uint16_t>()[i] & 0x7C00u) != 0x7C00u;
      break;
    default: // bf16
      for (int64_t i = 0; i < n && ok; ++i)
        ok = (t->as<uint16_t>()[i] & 0x7F80u) != 0x7F80u;
      break;
    }
  }
  y.data[0] = ok;
  return Status::success();
}

Status globalNormKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, std::max<size_t>(1, c.numOperands()), 1, 1));
  TensorView &y = c.out(0);
  if (!isFloat(y.dtype) || y.numel() != 1)
    return c.error("result must be a one-element floating-point tensor");
  for (TensorView *t : c.operands)
    if (!t || !isFloat(t->dtype))
      return c.error("operands must be floating point tensors");
  if (c.validateOnly)
    return Status::success();
  // f32 accumulation: sequential within blocks of 1024 elements, block sums
  // added in order.
  float total = 0;
  const int64_t block = 1024;
  std::vector<float> buf(block);
  for (TensorView *t : c.operands) {
    size_t es = dtypeSize(t->dtype);
    for (int64_t s = 0, n = t->numel(); s < n; s += block) {
      int64_t m = std::min(block, n - s);
      loadAs<float>(t->dtype, t->data + size_t(s) * es, buf.data(), m);
      float part = 0;
      for (int64_t i = 0; i < m; ++i)
        part += buf[size_t(i)] * buf[size_t(i)];
      total += part;
    }
  }
  float r = std::sqrt(total);
  storeAs<float>(&r, y.dtype, y.data, 1);
  return Status::success();
}

// Operands: scale, growth_tracker, found_inf; scale and tracker in place.
Status lossScaleUpdateKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(3, 3, 0, 0));
  double growth = c.f64("growth_factor", 2.0);
  double backoff = c.f64("backoff_factor", 0.5);
  int64_t interval = c.i64("growth_interval", 2000);
  double minScale = c.f64("min_scale", 1.0);
  double maxScale = c.f64("max_scale", 16777216.0);
  for (size_t i = 0; i < 3; ++i)
    MP_RT_TRY(scalarOperand(c, i, "scale, growth_tracker and found_inf"));
  MP_RT_TRY(writableOperand(c, 0, "scale"));
  MP_RT_TRY(writableOperand(c, 1, "growth_tracker"));
  if (!isFloat(c.in(0).dtype) || c.in(1).dtype == DType::Bool)
    return c.error("scale must be floating point and growth_tracker numeric");
  if (interval < 1 || growth < 1 || backoff <= 0 || backoff > 1 ||
      minScale > maxScale)
    return c.error("need growth_interval >= 1, growth_factor >= 1, "
                   "0 < backoff_factor <= 1 and min_scale <= max_scale");
  if (c.validateOnly)
    return Status::success();
  TensorView &scale = c.in(0), &tracker = c.in(1);
  double s = scalarF64(scale);
  if (flagSet(&c.in(2))) {
    storeF64(scale, 0, std::max(s * backoff, minScale));
    storeF64(tracker, 0, 0);
  } else {
    int64_t t = scalarI64(tracker);
    t = t >= interval - 1 ? interval : t + 1;
    if (t >= interval) {
      storeF64(scale, 0, std::min(s * growth, maxScale));
      t = 0;
    }
    storeF64(tracker, 0, double(t));
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// dropout
//===----------------------------------------------------------------------===//

// Operands: data, offset? (i64 scalar). Results: output, mask?
Status dropoutKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 2, 1, 2));
  double ratio = float(c.f64("ratio", 0.5));
  bool training = c.i64("training_mode", 0) != 0;
  bool hasSeed = c.has("seed");
  uint64_t seed = uint64_t(c.i64("seed", 0));
  if (!hasSeed)
    seed = 0x9E3779B97F4A7C15ull ^ c.instructionIndex;
  TensorView &x = c.in(0), &y = c.out(0);
  TensorView *off = c.opt(1);
  if (!isFloat(x.dtype) || y.dtype != x.dtype || y.shape != x.shape)
    return c.error("data must be floating point; output of its dtype and "
                   "shape");
  if (c.numResults() == 2 &&
      (c.out(1).dtype != DType::Bool || c.out(1).shape != x.shape))
    return c.error("mask must be bool of the data's shape");
  if (off && (off->numel() != 1 || isFloat(off->dtype)))
    return c.error("offset must be a one-element integer tensor");
  if (!(ratio >= 0 && ratio <= 1))
    return c.error("ratio must be in [0, 1]");
  if (c.validateOnly)
    return Status::success();
  int64_t n = x.numel();
  uint8_t *mask = c.numResults() == 2 ? c.out(1).data : nullptr;
  if (!training || ratio == 0) {
    if (x.data != y.data)
      std::memmove(y.data, x.data, x.bytes());
    if (mask)
      std::memset(mask, 1, size_t(n));
    return Status::success();
  }
  uint64_t offset = off ? uint64_t(scalarI64(*off)) : 0;
  return dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x);
      Output<T> oy(y);
      const T scale = ratio < 1 ? T(1) / (T(1) - T(float(ratio))) : T(0);
      const float r = float(ratio);
      for (int64_t i = 0; i < n; ++i) {
        bool keep = dropoutUniform(seed, offset, uint64_t(i)) >= r;
        oy[i] = keep ? ix[i] * scale : T(0);
        if (mask)
          mask[i] = keep;
      }
      oy.commit();
    }
    return Status::success();
  });
}

} // namespace

void registerTrainingKernels(Registry &r) {
  r["sgd_update"] = {sgdKernel, false};
  r["adam_update"] = {adamKernel, false};
  r["adamw_update"] = {adamKernel, false};
  r["all_finite"] = {allFiniteKernel, false};
  r["global_norm"] = {globalNormKernel, false};
  r["loss_scale_update"] = {lossScaleUpdateKernel, false};
  r["dropout"] = {dropoutKernel, true};
}

} // namespace mp::rt::cpu
