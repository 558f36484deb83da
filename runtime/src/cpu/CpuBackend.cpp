//===- CpuBackend.cpp - the CPU reference interpreter ---------------------===//
//
// Allocates host storage for a program (one buffer per persistent tensor,
// one arena for transients, `updates` tensors aliased onto their targets),
// checks every instruction at load time by running its kernel in
// validate-only mode, and runs functions instruction by instruction. A
// kernel that is not in-place safe and whose result overlaps an operand
// writes into scratch memory that is copied back afterwards.
//
// With numerics checking on (mp_rt_set_check_numerics), every float result
// is scanned after its instruction runs; the first inf/NaN stops the run
// with a status naming the instruction, its kernel and its ONNX node.
//
//===----------------------------------------------------------------------===//
#include "../common/Backend.h"
#include "Kernel.h"

#include "../common/Float16.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace mp::rt {
namespace {

using cpu::KernelContext;
using cpu::KernelInfo;
using cpu::TensorView;

/// 8-byte aligned zero-initialized bytes.
struct Buffer {
  std::vector<uint64_t> words;
  explicit Buffer(uint64_t bytes) : words(size_t((bytes + 7) / 8) + 1, 0) {}
  uint8_t *data() { return reinterpret_cast<uint8_t *>(words.data()); }
};

struct Step {
  const Instruction *ins;
  const KernelInfo *info;
  std::vector<TensorView *> operands;
  std::vector<TensorView *> results;
  bool
      scratch; ///< results overlap operands and the kernel is not in-place safe
  uint64_t index;
};

/// Counts NaN and inf elements of a float tensor (others: none) and the
/// index of the first one that `flags` asks about.
struct NonFinite {
  int64_t nan = 0, inf = 0, first = -1;
  double firstValue = 0;
};

NonFinite scanNonFinite(const TensorView &v, unsigned flags) {
  NonFinite r;
  int64_t n = v.numel();
  for (int64_t i = 0; i < n; ++i) {
    double x;
    switch (v.dtype) {
    case DType::F32:
      x = v.as<float>()[i];
      break;
    case DType::F64:
      x = v.as<double>()[i];
      break;
    case DType::F16:
      x = f16ToF32(v.as<uint16_t>()[i]);
      break;
    case DType::BF16:
      x = bf16ToF32(v.as<uint16_t>()[i]);
      break;
    default:
      return r;
    }
    bool isNan = std::isnan(x), isInf = std::isinf(x);
    r.nan += isNan;
    r.inf += isInf;
    if (r.first < 0 && ((isNan && (flags & MP_CHECK_NAN)) ||
                        (isInf && (flags & MP_CHECK_INF)))) {
      r.first = i;
      r.firstValue = x;
    }
  }
  return r;
}

bool overlaps(const TensorView &a, const TensorView &b) {
  size_t na = a.bytes(), nb = b.bytes();
  if (na == 0 || nb == 0)
    return false;
  return a.data < b.data + nb && b.data < a.data + na;
}

class CpuBackend final : public Backend {
public:
  const char *name() const override { return "cpu"; }

  Status load(std::shared_ptr<const Program> p) override {
    program = std::move(p);
    const Program &prog = *program;
    storage.clear();
    arena.reset();
    views.assign(prog.tensors.size(), TensorView());
    plans.clear();
    // Views first, with only constants backed (by the program's own bytes):
    // every instruction is validated before any memory is allocated.
    static uint64_t empty[1];
    for (const TensorDesc &t : prog.tensors) {
      TensorView &v = views[t.id];
      v.id = t.id;
      v.dtype = t.dtype;
      v.role = t.role;
      v.shape = t.shape;
      v.name = &t.name;
      if (t.role == Role::Constant)
        v.data = t.data.empty() ? reinterpret_cast<uint8_t *>(empty)
                                : const_cast<uint8_t *>(t.data.data());
    }

    const cpu::Registry &reg = cpu::registry();
    for (const Function &f : prog.functions) {
      std::vector<Step> plan;
      for (size_t i = 0; i < f.body.size(); ++i) {
        const Instruction &ins = f.body[i];
        std::string where =
            "function '" + f.name + "' instruction " + std::to_string(i) + ": ";
        auto it = reg.find(ins.kernel);
        if (it == reg.end())
          return Status::error(MP_ERROR_UNSUPPORTED,
                               where + "unknown kernel '" + ins.kernel +
                                   "' on the cpu backend");
        Step s{&ins, &it->second, {}, {}, false, i};
        for (uint32_t id : ins.operands)
          s.operands.push_back(id == kNoTensor ? nullptr : &views[id]);
        for (uint32_t id : ins.results)
          s.results.push_back(&views[id]);
        KernelContext ctx(ins, s.operands, s.results, true, i);
        Status st = s.info->fn(ctx);
        if (st.ok() && !ctx.attrError.empty())
          st = ctx.error(ctx.attrError);
        if (st.ok())
          for (const Attribute &a : ins.attrs)
            if (!ctx.usedAttrs.count(a.name) && a.name != "name" &&
                a.name.rfind("mp.", 0) != 0)
              st = ctx.error("unknown attribute '" + a.name + "'");
        if (!st.ok()) {
          st.message = where + st.message;
          return st;
        }
        plan.push_back(std::move(s));
      }
      plans.push_back(std::move(plan));
    }

    // Storage: one buffer per persistent tensor, the arena for transients,
    // `updates` tensors aliased onto their targets.
    arena = std::make_unique<Buffer>(prog.arenaSize);
    for (const TensorDesc &t : prog.tensors) {
      TensorView &v = views[t.id];
      if (t.role == Role::Transient) {
        v.data = arena->data() + t.arenaOffset;
      } else if (t.role != Role::Constant && t.updates == kNoTensor) {
        storage.push_back(std::make_unique<Buffer>(t.numBytes()));
        v.data = storage.back()->data();
        if (!t.data.empty())
          std::memcpy(v.data, t.data.data(), t.data.size());
      }
    }
    for (const TensorDesc &t : prog.tensors)
      if (t.updates != kNoTensor)
        views[t.id].data = views[t.updates].data;

    for (size_t fi = 0; fi < plans.size(); ++fi)
      for (Step &s : plans[fi]) {
        for (size_t a = 0; a < s.results.size(); ++a)
          for (size_t b = a + 1; b < s.results.size(); ++b)
            if (overlaps(*s.results[a], *s.results[b]))
              return Status::error(MP_ERROR_INVALID_PROGRAM,
                                   "function '" + prog.functions[fi].name +
                                       "' instruction " +
                                       std::to_string(s.index) + ": results " +
                                       std::to_string(a) + " and " +
                                       std::to_string(b) + " share memory");
        for (TensorView *r : s.results)
          for (TensorView *o : s.operands)
            if (o && overlaps(*r, *o) && !s.info->inPlaceSafe)
              s.scratch = true;
      }
    return Status::success();
  }

  Status setCheckNumerics(unsigned flags) override {
    checkFlags = flags;
    return Status::success();
  }

  Status write(uint32_t id, const void *data, size_t size) override {
    if (size)
      std::memcpy(views[id].data, data, size);
    return Status::success();
  }

  Status read(uint32_t id, void *data, size_t size) override {
    if (size)
      std::memcpy(data, views[id].data, size);
    return Status::success();
  }

  Status run(size_t function) override {
    const Function &f = program->functions[function];
    for (Step &s : plans[function]) {
      Status st;
      if (!s.scratch) {
        KernelContext ctx(*s.ins, s.operands, s.results, false, s.index);
        st = s.info->fn(ctx);
      } else {
        std::vector<TensorView> copies;
        std::vector<Buffer> bufs;
        copies.reserve(s.results.size());
        bufs.reserve(s.results.size());
        std::vector<TensorView *> res;
        for (TensorView *r : s.results) {
          bufs.emplace_back(r->bytes());
          copies.push_back(*r);
          copies.back().data = bufs.back().data();
          res.push_back(&copies.back());
        }
        KernelContext ctx(*s.ins, s.operands, res, false, s.index);
        st = s.info->fn(ctx);
        if (st.ok())
          for (size_t i = 0; i < res.size(); ++i)
            if (res[i]->bytes())
              std::memcpy(s.results[i]->data, res[i]->data, res[i]->bytes());
      }
      if (!st.ok()) {
        st.message = "function '" + f.name + "' instruction " +
                     std::to_string(s.index) + ": " + st.message;
        return st;
      }
      if (checkFlags)
        MP_RT_TRY(checkResults(f, s));
    }
    return Status::success();
  }

private:
  /// The numerics check of one executed instruction.
  Status checkResults(const Function &f, const Step &s) const {
    for (size_t i = 0; i < s.results.size(); ++i) {
      const TensorView &r = *s.results[i];
      if (!isFloat(r.dtype))
        continue;
      NonFinite nf = scanNonFinite(r, checkFlags);
      if (nf.first < 0)
        continue;
      std::string node = "(no node name)";
      if (const Attribute *n = s.ins->findAttr("name"))
        if (n->kind == Attribute::Kind::Str && !n->s.empty())
          node = "node '" + n->s + "'";
      char value[32];
      std::snprintf(value, sizeof value, "%g", nf.firstValue);
      return Status::error(
          MP_ERROR_NONFINITE,
          "function '" + f.name + "' instruction " + std::to_string(s.index) +
              ": kernel '" + s.ins->kernel + "' " + node + " produced " +
              std::to_string(nf.nan) + " NaN and " + std::to_string(nf.inf) +
              " inf values in result " + std::to_string(i) + " ('" +
              (r.name ? *r.name : std::string("?")) + "', " + dtypeName(r.dtype) + cpu::shapeStr(r.shape) +
              "); first at element " + std::to_string(nf.first) + ": " + value);
    }
    return Status::success();
  }

  unsigned checkFlags = 0;
  std::shared_ptr<const Program> program;
  std::vector<std::unique_ptr<Buffer>> storage;
  std::unique_ptr<Buffer> arena;
  std::vector<TensorView> views;
  std::vector<std::vector<Step>> plans;
};

} // namespace

std::unique_ptr<Backend> createCpuBackend() {
  return std::make_unique<CpuBackend>();
}

} // namespace mp::rt
