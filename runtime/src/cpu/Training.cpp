//===- Training.cpp - optimizers, loss scaling, finiteness, dropout -------===//
//
// Training kernels, all on tensors (no host decisions):
// - sgd_update, adam_update, adamw_update: PyTorch's single-tensor update
//   formulas in their operation order, in f32 (f64 for f64 params). Operands
//   follow the dialect's ops (MPTrainingOps.td); the new state goes either
//   into the state operands (no results: in place) or into results (which a
//   lowering aliases onto the state with `updates`). Optional fused unscale
//   (grad *= inv_scale), skip flag (found_inf true: the new state equals the
//   old, bit for bit), lr tensor (else the `lr` attribute), and a last
//   result receiving the updated param cast to its dtype (the low-precision
//   working copy; written even on a skipped step).
// - all_finite, global_norm, loss_scale_update (GradScaler's state machine
//   with a floor and a cap).
// - dropout with the Philox4x32-10 counter-based generator (Philox.h).
//
//===----------------------------------------------------------------------===//
#include "../common/Philox.h"
#include "Kernel.h"

#include <algorithm>
#include <cstring>
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

Status sameShapeFloat(KernelContext &c, const TensorView &p, size_t i,
                      const char *what) {
  TensorView *t = c.opt(i);
  if (t && (t->shape != p.shape || !isFloat(t->dtype)))
    return c.error(std::string(what) + " must be floating point of the " +
                   "param's shape " + shapeStr(p.shape));
  return Status::success();
}

/// A piece of state an optimizer updates: the operand it is read from.
struct StateSlot {
  size_t operand;
  const char *what;
};

/// Checks the result list of a state-updating kernel: either no results
/// (in place: the state operands must be writable) or one result per present
/// state operand, in order, of that operand's dtype and shape, optionally
/// followed by the working copy (float, the param's shape). Returns where
/// each new state goes through `dst` (nullptr for an absent operand).
Status stateResults(KernelContext &c, const std::vector<StateSlot> &slots,
                    std::vector<TensorView *> &dst, TensorView *&copy) {
  dst.clear();
  copy = nullptr;
  size_t present = 0;
  for (const StateSlot &s : slots)
    present += c.opt(s.operand) != nullptr;
  if (c.numResults() == 0) {
    for (const StateSlot &s : slots) {
      MP_RT_TRY(writableOperand(c, s.operand, s.what));
      dst.push_back(c.opt(s.operand));
    }
    return Status::success();
  }
  if (c.numResults() != present && c.numResults() != present + 1)
    return c.error("expects no results (in place) or " +
                   std::to_string(present) +
                   " new-state results and an optional working copy, got " +
                   std::to_string(c.numResults()));
  size_t r = 0;
  for (const StateSlot &s : slots) {
    TensorView *src = c.opt(s.operand);
    if (!src) {
      dst.push_back(nullptr);
      continue;
    }
    TensorView *d = c.results[r++];
    if (d->dtype != src->dtype || d->shape != src->shape)
      return c.error(std::string("the new ") + s.what +
                     " must have the operand's dtype and shape");
    dst.push_back(d);
  }
  if (r < c.numResults()) {
    copy = c.results[r];
    if (copy->shape != c.in(0).shape || !isFloat(copy->dtype))
      return c.error("the working copy must be floating point of the param's "
                     "shape");
  }
  return Status::success();
}

/// A skipped step: every new state equals the old one, bit for bit.
void copyUnchanged(KernelContext &c, const std::vector<StateSlot> &slots,
                   const std::vector<TensorView *> &dst) {
  for (size_t i = 0; i < slots.size(); ++i) {
    TensorView *src = c.opt(slots[i].operand);
    if (src && dst[i] && dst[i]->data != src->data)
      std::memmove(dst[i]->data, src->data, src->bytes());
  }
}

/// The learning rate: operand `i` (a scalar tensor, so schedules need no
/// recompilation) or else the `lr` attribute.
double learningRate(const KernelContext &c, size_t i, double attr) {
  return c.opt(i) ? scalarF64(*c.opt(i)) : attr;
}

//===----------------------------------------------------------------------===//
// sgd_update
//===----------------------------------------------------------------------===//

// Operands: param, grad, momentum_buffer?, lr?, inv_scale?, found_inf?, step?
// Results: none, or new_param, new_momentum_buffer (iff the operand is
// present), working_copy?
Status sgdKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 7, 0, 3));
  double lrAttr = c.f64("lr", 1e-3), momentum = c.f64("momentum", 0);
  double dampening = c.f64("dampening", 0), wd = c.f64("weight_decay", 0);
  bool nesterov = c.i64("nesterov", 0) != 0;
  TensorView &p = c.in(0);
  TensorView *buf = c.opt(2), *invScale = c.opt(4), *found = c.opt(5),
             *step = c.opt(6);
  if (!isFloat(p.dtype))
    return c.error("param must be floating point");
  MP_RT_TRY(sameShapeFloat(c, p, 1, "grad"));
  MP_RT_TRY(sameShapeFloat(c, p, 2, "momentum_buffer"));
  MP_RT_TRY(writableOperand(c, 6, "step"));
  MP_RT_TRY(scalarOperand(c, 3, "lr"));
  MP_RT_TRY(scalarOperand(c, 4, "inv_scale"));
  MP_RT_TRY(scalarOperand(c, 5, "found_inf"));
  MP_RT_TRY(scalarOperand(c, 6, "step"));
  const std::vector<StateSlot> slots = {{0, "param"}, {2, "momentum_buffer"}};
  std::vector<TensorView *> dst;
  TensorView *copy;
  MP_RT_TRY(stateResults(c, slots, dst, copy));
  if ((momentum != 0) != (buf != nullptr))
    return c.error("momentum_buffer must be present exactly when momentum "
                   "!= 0");
  if (nesterov && (momentum <= 0 || dampening != 0))
    return c.error("nesterov needs momentum > 0 and dampening = 0");
  if (c.validateOnly)
    return Status::success();
  return dispatchCompute(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      if (flagSet(found)) {
        copyUnchanged(c, slots, dst);
      } else {
        bool first = step && scalarF64(*step) == 0;
        T inv = invScale ? T(scalarF64(*invScale)) : T(1);
        Input<T> ip(p), ig(c.in(1));
        std::unique_ptr<Input<T>> ib;
        if (buf)
          ib = std::make_unique<Input<T>>(*buf);
        Output<T> op(*dst[0]);
        std::unique_ptr<Output<T>> ob;
        if (buf)
          ob = std::make_unique<Output<T>>(*dst[1]);
        const T m = T(momentum), damp = T(1 - dampening), w = T(wd),
                nlr = T(-learningRate(c, 3, lrAttr));
        for (int64_t i = 0, n = p.numel(); i < n; ++i) {
          T g = ig[i];
          if (invScale)
            g = g * inv;
          T pv = ip[i];
          if (wd != 0)
            g = g + w * pv;
          if (buf) {
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
      if (copy) {
        Input<T> ip(*dst[0]);
        storeAs<T>(ip.p, copy->dtype, copy->data, p.numel());
      }
    }
    return Status::success();
  });
}

//===----------------------------------------------------------------------===//
// adam_update / adamw_update
//===----------------------------------------------------------------------===//

// Operands: param, grad, exp_avg, exp_avg_sq, step, lr?, inv_scale?,
// found_inf?. Results: none, or new_param, new_exp_avg, new_exp_avg_sq,
// working_copy?
Status adamKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(5, 8, 0, 4));
  bool isW = c.ins.kernel == "adamw_update";
  bool decoupled = c.i64("decoupled_weight_decay", isW) != 0;
  bool increment = c.i64("increment_step", 0) != 0;
  double lrAttr = c.f64("lr", 1e-3), beta1 = c.f64("beta1", 0.9);
  double beta2 = c.f64("beta2", 0.999), eps = c.f64("eps", 1e-8);
  double wd = c.f64("weight_decay", isW ? 1e-2 : 0);
  TensorView &p = c.in(0), &step = c.in(4);
  TensorView *invScale = c.opt(6), *found = c.opt(7);
  if (!isFloat(p.dtype))
    return c.error("param must be floating point");
  MP_RT_TRY(sameShapeFloat(c, p, 1, "grad"));
  MP_RT_TRY(sameShapeFloat(c, p, 2, "exp_avg"));
  MP_RT_TRY(sameShapeFloat(c, p, 3, "exp_avg_sq"));
  if (increment)
    MP_RT_TRY(writableOperand(c, 4, "step (with increment_step = 1)"));
  MP_RT_TRY(scalarOperand(c, 4, "step"));
  MP_RT_TRY(scalarOperand(c, 5, "lr"));
  MP_RT_TRY(scalarOperand(c, 6, "inv_scale"));
  MP_RT_TRY(scalarOperand(c, 7, "found_inf"));
  const std::vector<StateSlot> slots = {
      {0, "param"}, {2, "exp_avg"}, {3, "exp_avg_sq"}};
  std::vector<TensorView *> dst;
  TensorView *copy;
  MP_RT_TRY(stateResults(c, slots, dst, copy));
  if (step.dtype == DType::Bool)
    return c.error("step must be numeric");
  if (c.validateOnly)
    return Status::success();
  return dispatchCompute(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      if (flagSet(found)) {
        copyUnchanged(c, slots, dst);
      } else {
        double t = scalarF64(step) + (increment ? 1 : 0);
        if (increment)
          storeF64(step, 0, t);
        double lr = learningRate(c, 5, lrAttr);
        double bc1 = 1 - std::pow(beta1, t), bc2 = 1 - std::pow(beta2, t);
        const T stepSize = T(-(lr / bc1)), bc2Sqrt = T(std::sqrt(bc2));
        const T inv = invScale ? T(scalarF64(*invScale)) : T(1);
        const T w = T(wd), decay = T(1 - lr * wd), weight = T(1 - beta1);
        const T b2 = T(beta2), omb2 = T(1 - beta2), e = T(eps);
        Input<T> ip(p), ig(c.in(1)), im(c.in(2)), iv(c.in(3));
        Output<T> op(*dst[0]), om(*dst[1]), ov(*dst[2]);
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
      if (copy) {
        Input<T> ip(*dst[0]);
        storeAs<T>(ip.p, copy->dtype, copy->data, p.numel());
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

// Operands: scale, growth_tracker, found_inf. Results: none (scale and
// tracker updated in place) or new_scale, new_growth_tracker.
Status lossScaleUpdateKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(3, 3, 0, 2));
  double growth = c.f64("growth_factor", 2.0);
  double backoff = c.f64("backoff_factor", 0.5);
  int64_t interval = c.i64("growth_interval", 2000);
  double minScale = c.f64("min_scale", 1.0);
  double maxScale = c.f64("max_scale", 16777216.0);
  for (size_t i = 0; i < 3; ++i)
    MP_RT_TRY(scalarOperand(c, i, "scale, growth_tracker and found_inf"));
  if (c.numResults() == 1)
    return c.error("expects no results or new_scale and new_growth_tracker");
  const std::vector<StateSlot> slots = {{0, "scale"}, {1, "growth_tracker"}};
  std::vector<TensorView *> dst;
  TensorView *copy;
  MP_RT_TRY(stateResults(c, slots, dst, copy));
  if (!isFloat(c.in(0).dtype) || c.in(1).dtype == DType::Bool)
    return c.error("scale must be floating point and growth_tracker numeric");
  if (interval < 1 || growth < 1 || backoff <= 0 || backoff > 1 ||
      minScale > maxScale)
    return c.error("need growth_interval >= 1, growth_factor >= 1, "
                   "0 < backoff_factor <= 1 and min_scale <= max_scale");
  if (c.validateOnly)
    return Status::success();
  double s = scalarF64(c.in(0));
  int64_t t = scalarI64(c.in(1));
  if (flagSet(&c.in(2))) {
    s = std::max(s * backoff, minScale);
    t = 0;
  } else {
    t = t >= interval - 1 ? interval : t + 1;
    if (t >= interval) {
      // GradScaler keeps a scale that would overflow (in the scale's dtype).
      double grown = std::min(s * growth, maxScale), stored = 0;
      uint64_t tmp = 0;
      storeAs<double>(&grown, c.in(0).dtype, &tmp, 1);
      loadAs<double>(c.in(0).dtype, &tmp, &stored, 1);
      if (std::isfinite(stored))
        s = grown;
      t = 0;
    }
  }
  storeF64(*dst[0], 0, s);
  storeF64(*dst[1], 0, double(t));
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
  r["sgd_update"] = {sgdKernel, true};
  r["adam_update"] = {adamKernel, true};
  r["adamw_update"] = {adamKernel, true};
  r["all_finite"] = {allFiniteKernel, false};
  r["global_norm"] = {globalNormKernel, false};
  r["loss_scale_update"] = {lossScaleUpdateKernel, true};
  r["dropout"] = {dropoutKernel, true};
}

} // namespace mp::rt::cpu
