//===- TrainingTest.cpp - optimizers, loss scaling, finiteness, dropout ---===//
//
// Optimizer references were produced offline with PyTorch (torch.optim.SGD,
// Adam, AdamW; three steps from p0 with the grads below) and are embedded.
//
//===----------------------------------------------------------------------===//
#include "../src/common/Philox.h"
#include "Conformance.h"

#include <limits>

namespace mp::rt::test {
namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

const std::vector<double> kP0 = {0.5, -1.25, 2.0, 0.125};
std::vector<double> gradAt(int t) {
  return {0.1 * t - 0.3, 0.7, -0.2 * t, 1.5 * (t % 2 ? -1 : 1)};
}

/// One optimizer instruction in a program: param and state persistent,
/// grad (and inv_scale / found_inf when used) bound per step.
struct OptProgram {
  Program p;
  std::vector<std::string> names;

  /// `slots` lists the operands in order: name, dtype, shape, role, initial
  /// values ("" name = absent operand).
  struct Slot {
    std::string name;
    DType dtype;
    Shape shape;
    Role role;
    std::vector<double> init;
  };
  /// With `ssa`, the new state goes to results "<name>.new" that update
  /// the state operands (the form a lowering emits), followed by `res`.
  OptProgram(const std::string &kernel, const std::vector<Slot> &slots,
             std::vector<Attribute> attrs,
             const std::vector<ResultSpec> &res = {}, bool ssa = false) {
    Function f;
    f.name = "step";
    Instruction ins;
    ins.kernel = kernel;
    ins.attrs = std::move(attrs);
    for (const Slot &s : slots) {
      if (s.name.empty()) {
        ins.operands.push_back(kNoTensor);
        continue;
      }
      std::vector<uint8_t> data;
      if (s.role != Role::Input)
        data = HostTensor::of(s.dtype, s.shape, s.init).bytes;
      uint32_t id = p.addTensor(s.name, s.dtype, s.shape, s.role, data);
      ins.operands.push_back(id);
      if (s.role == Role::Input)
        f.inputs.push_back(id);
    }
    if (ssa)
      for (size_t i = 0; i < slots.size(); ++i) {
        const Slot &s = slots[i];
        bool state = s.name == "param" || s.name == "momentum_buffer" ||
                     s.name == "exp_avg" || s.name == "exp_avg_sq";
        if (!state)
          continue;
        uint32_t id = p.addTensor(s.name + ".new", s.dtype, s.shape, s.role);
        p.tensors[id].updates = ins.operands[i];
        ins.results.push_back(id);
      }
    for (size_t i = 0; i < res.size(); ++i) {
      uint32_t id = p.addTensor("copy" + std::to_string(i), res[i].dtype,
                                res[i].shape, Role::Output);
      ins.results.push_back(id);
      f.outputs.push_back(id);
    }
    f.body.push_back(ins);
    p.functions.push_back(f);
    planMemory(p);
  }
};

using Slot = OptProgram::Slot;

Slot param() { return {"param", DType::F32, {4}, Role::Param, kP0}; }
Slot grad() { return {"grad", DType::F32, {4}, Role::Input, {}}; }
Slot state(const std::string &n, Shape s = {4}, DType dt = DType::F32) {
  return {n, dt, s, Role::OptState, {}};
}
Slot none() { return {"", DType::F32, {}, Role::Input, {}}; }

class OptRunner {
public:
  OptRunner(Session &s, const OptProgram &op) : s(s) { status = s.load(op.p); }
  mp_status step(const std::vector<double> &g, double invScale = 1,
                 bool found = false, bool scaled = false,
                 bool flagged = false) {
    mp_status st = s.write("grad", HostTensor::f32({4}, g));
    if (st == MP_OK && scaled)
      st = s.write("inv_scale", HostTensor::f32({}, {invScale}));
    if (st == MP_OK && flagged)
      st = s.write("found_inf", HostTensor::boolean({}, {double(found)}));
    return st == MP_OK ? mp_rt_run(s.get(), "step") : st;
  }
  Session &s;
  mp_status status;
};

struct TorchRef {
  const char *name;
  std::string kernel;
  std::vector<Attribute> attrs;
  std::vector<double> param, buf, expAvg, expAvgSq;
};

std::vector<TorchRef> torchRefs() {
  return {
      {"sgd_plain",
       "sgd_update",
       {aF("lr", 0.1)},
       {5.299999714e-01, -1.460000157e+00, 2.119999886e+00, 2.750000060e-01},
       {},
       {},
       {}},
      {"sgd_momentum",
       "sgd_update",
       {aF("lr", 0.1), aF("momentum", 0.9), aF("dampening", 0.1),
        aF("weight_decay", 0.01)},
       {5.685656667e-01, -1.615459204e+00, 2.165867567e+00, 4.089441299e-01},
       {-2.298317999e-01, 1.730211020e+00, -9.748387337e-01, -1.344290376e+00},
       {},
       {}},
      {"sgd_nesterov",
       "sgd_update",
       {aF("lr", 0.1), aF("momentum", 0.9), aI("nesterov", 1),
        aF("weight_decay", 0.05)},
       {5.747240186e-01, -1.758701444e+00, 2.209635258e+00, 5.093724728e-01},
       {-1.796857715e-01, 1.707537532e+00, -8.459490538e-01, -1.329494834e+00},
       {},
       {}},
      {"adam",
       "adam_update",
       {aF("lr", 0.01), aF("beta1", 0.9), aF("beta2", 0.999), aF("eps", 1e-8),
        aF("weight_decay", 0.1)},
       {5.230584145e-01, -1.279998302e+00, 2.015728712e+00, 1.376661062e-01},
       {},
       {-1.137319207e-02, 1.555349976e-01, -5.792559311e-02, -1.329286247e-01},
       {2.754392335e-05, 9.874396492e-04, 1.993652841e-04, 6.706489250e-03}},
      {"adamw",
       "adamw_update",
       {aF("lr", 0.01), aF("beta1", 0.9), aF("beta2", 0.999), aF("eps", 1e-8),
        aF("weight_decay", 0.1)},
       {5.249997973e-01, -1.276223779e+00, 2.023208380e+00, 1.374375373e-01},
       {},
       {-2.520000003e-02, 1.896999925e-01, -1.122000068e-01, -1.365000010e-01},
       {4.991004243e-05, 1.468530507e-03, 5.597600830e-04, 6.743251812e-03}},
  };
}

/// Operand slots for a reference, with optional unscale / skip operands.
std::vector<Slot> slotsFor(const TorchRef &ref, bool unscale, bool skip,
                           bool lrTensor = false) {
  Slot inv =
      unscale ? Slot{"inv_scale", DType::F32, {}, Role::Input, {}} : none();
  Slot flag =
      skip ? Slot{"found_inf", DType::Bool, {}, Role::Input, {}} : none();
  double lrv = 0;
  for (const Attribute &a : ref.attrs)
    if (a.name == "lr")
      lrv = a.f;
  Slot lr = lrTensor ? Slot{"lr", DType::F32, {}, Role::Scaler, {lrv}} : none();
  if (ref.kernel == "sgd_update") {
    bool mom = !ref.buf.empty();
    return {param(), grad(), mom ? state("momentum_buffer") : none(), lr,
            inv,     flag,   mom ? state("step", {}) : none()};
  }
  return {param(),
          grad(),
          state("exp_avg"),
          state("exp_avg_sq"),
          state("step", {}),
          lr,
          inv,
          flag};
}

/// The reference's attributes, with Adam counting its own steps and without
/// `lr` when it comes as a tensor.
std::vector<Attribute> attrsFor(const TorchRef &ref, bool lrTensor = false) {
  std::vector<Attribute> a;
  for (const Attribute &x : ref.attrs)
    if (!(lrTensor && x.name == "lr"))
      a.push_back(x);
  if (ref.kernel != "sgd_update")
    a.push_back(aI("increment_step", 1));
  return a;
}

TEST_P(Conformance, OptimizersMatchPyTorch) {
  for (const TorchRef &ref : torchRefs()) {
    OptProgram op(ref.kernel, slotsFor(ref, false, false), attrsFor(ref));
    OptRunner run(*session, op);
    ASSERT_EQ(run.status, MP_OK) << ref.name << ": " << session->error();
    for (int t = 1; t <= 3; ++t)
      ASSERT_EQ(run.step(gradAt(t)), MP_OK) << session->error();
    expectNear(session->read("param").values(), ref.param, 2e-7, 1e-6,
               ref.name);
    if (!ref.buf.empty())
      expectNear(session->read("momentum_buffer").values(), ref.buf, 2e-7, 1e-6,
                 ref.name);
    if (!ref.expAvg.empty()) {
      expectNear(session->read("exp_avg").values(), ref.expAvg, 1e-9, 1e-6,
                 ref.name);
      expectNear(session->read("exp_avg_sq").values(), ref.expAvgSq, 1e-12,
                 1e-6, ref.name);
      expectEq(session->read("step").values(), {3}, ref.name);
    }
  }
}

TEST_P(Conformance, OptimizersFuseUnscaleAndSkip) {
  for (const TorchRef &ref : torchRefs()) {
    // SSA form (new state in results aliased onto the state), lr as a
    // tensor, f16 working copy.
    OptProgram op(ref.kernel, slotsFor(ref, true, true, true),
                  attrsFor(ref, true), {{DType::F16, {4}}}, true);
    OptRunner run(*session, op);
    ASSERT_EQ(run.status, MP_OK) << ref.name << ": " << session->error();
    for (int t = 1; t <= 3; ++t) {
      // Grads scaled by 1024 and unscaled inside the kernel: identical
      // results (power-of-two scaling is exact).
      std::vector<double> g = gradAt(t);
      for (double &x : g)
        x *= 1024;
      ASSERT_EQ(run.step(g, 1.0 / 1024, false, true, true), MP_OK)
          << session->error();
      // An overflowed step in between changes nothing, bit for bit.
      std::vector<HostTensor> before;
      for (const char *n :
           {"param", "momentum_buffer", "exp_avg", "exp_avg_sq", "step"})
        before.push_back(session->read(n));
      std::vector<double> bad = g;
      bad[1] = kInf;
      bad[2] = kNaN;
      ASSERT_EQ(run.step(bad, 1.0 / 1024, true, true, true), MP_OK);
      size_t k = 0;
      for (const char *n :
           {"param", "momentum_buffer", "exp_avg", "exp_avg_sq", "step"}) {
        HostTensor after = session->read(n);
        EXPECT_EQ(after.bytes, before[k].bytes) << ref.name << " " << n;
        ++k;
      }
    }
    std::vector<double> p = session->read("param").values();
    expectNear(p, ref.param, 2e-7, 1e-6, ref.name);
    // The f16 working copy is the updated master rounded once.
    HostTensor want = HostTensor::of(DType::F16, {4}, p);
    EXPECT_EQ(session->read("copy0").bytes, want.bytes) << ref.name;
  }
}

TEST_P(Conformance, OptimizerWorkingCopyBF16AndValidation) {
  // Results form without aliasing: the operands stay, the results hold the
  // new param and its bf16 copy.
  auto r = run("sgd_update",
               {HostTensor::f32({3}, {1, 2, 3.00390625}),
                HostTensor::f32({3}, {1, 1, 1})},
               {{DType::F32, {3}}, {DType::BF16, {3}}}, {aF("lr", 0.5)});
  ASSERT_RUN_OK(r);
  expectEq(r.operands[0].values(), {1, 2, 3.00390625});
  expectEq(r.results[0].values(), {0.5, 1.5, 2.50390625});
  expectEq(r.results[1].values(), {0.5, 1.5, 2.5}); // rounded to bf16
  // The same skipped: the new param equals the old one.
  r = run("sgd_update",
          {HostTensor::f32({3}, {1, 2, 3}), HostTensor::f32({3}, {1, 1, 1}),
           HostTensor::none(), HostTensor::none(), HostTensor::none(),
           HostTensor::boolean({}, {1})},
          {{DType::F32, {3}}}, {aF("lr", 0.5)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 2, 3});
  // A param bound as an input (or a constant) cannot be updated in place.
  r = run("sgd_update",
          {HostTensor::f32({3}, {1, 2, 3}), HostTensor::f32({3}, {})}, {});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM) << r.error;
  // Momentum without a buffer, and unknown attributes, fail at load.
  r = run("sgd_update",
          {HostTensor::f32({3}, {}).withRole(Role::Param),
           HostTensor::f32({3}, {})},
          {}, {aF("momentum", 0.9)});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM) << r.error;
  r = run("adam_update",
          {HostTensor::f32({3}, {}).withRole(Role::Param),
           HostTensor::f32({3}, {}),
           HostTensor::f32({3}, {}).withRole(Role::OptState),
           HostTensor::f32({3}, {}).withRole(Role::OptState),
           HostTensor::f32({}, {}).withRole(Role::OptState)},
          {}, {aI("amsgrad", 1)});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM) << r.error;
}

TEST_P(Conformance, AdamStepOperandAndDecoupledAttribute) {
  // Without increment_step the step operand is this update's number (the
  // dialect's form): step = 1 on the first update, left unchanged.
  auto p = HostTensor::f32({2}, {1, -1}), g = HostTensor::f32({2}, {0.5, 0.5});
  auto z = HostTensor::f32({2}, {0, 0});
  std::vector<ResultSpec> res = {
      {DType::F32, {2}}, {DType::F32, {2}}, {DType::F32, {2}}};
  auto r1 = run("adamw_update", {p, g, z, z, HostTensor::i64({}, {1})}, res,
                {aF("lr", 0.1)});
  ASSERT_RUN_OK(r1);
  auto r2 = run("adam_update", {p, g, z, z, HostTensor::i64({}, {1})}, res,
                {aF("lr", 0.1), aF("weight_decay", 0.01),
                 aI("decoupled_weight_decay", 1)});
  ASSERT_RUN_OK(r2);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(r1.results[size_t(i)].bytes, r2.results[size_t(i)].bytes);
  // First Adam step moves each param by lr against the grad's sign (after
  // the decay 1 - 0.1 * 0.01).
  expectNear(r1.results[0].values(), {0.999 - 0.1, -0.999 - 0.1}, 1e-6);
  expectEq(r1.operands[4].values(), {1});
}

TEST_P(Conformance, AllFiniteAndGlobalNorm) {
  auto a = HostTensor::f32({3}, {1, -2, 3});
  auto h = HostTensor::of(DType::F16, {2}, {65504, -1});
  auto b = HostTensor::of(DType::BF16, {2}, {0.5, 2});
  auto r = run("all_finite", {a, h, b}, {{DType::Bool, {}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1});
  for (double bad : {kInf, -kInf, kNaN}) {
    for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::F64}) {
      auto x = HostTensor::of(dt, {3}, {1, bad, 2});
      r = run("all_finite", {a, x}, {{DType::Bool, {}}});
      ASSERT_RUN_OK(r);
      expectEq(r.results[0].values(), {0}, dtypeName(dt));
    }
  }
  // f16 overflow from an f32 value becomes inf in the f16 tensor.
  r = run("global_norm",
          {HostTensor::f32({2}, {3, 4}), HostTensor::of(DType::F16, {1}, {12})},
          {{DType::F32, {}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {13});
  r = run("global_norm", {HostTensor::f32({2}, {kInf, 1})}, {{DType::F32, {}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {kInf});
}

//===----------------------------------------------------------------------===//
// Loss scaling
//===----------------------------------------------------------------------===//

struct ScalerProgram {
  Program p;
  ScalerProgram(double scale, std::vector<Attribute> attrs) {
    Function f;
    f.name = "update";
    uint32_t s = p.addTensor("scale", DType::F32, {}, Role::Scaler,
                             HostTensor::f32({}, {scale}).bytes);
    uint32_t t = p.addTensor("tracker", DType::I64, {}, Role::Scaler,
                             HostTensor::i64({}, {0}).bytes);
    uint32_t fi = p.addTensor("found_inf", DType::Bool, {}, Role::Input);
    f.inputs = {fi};
    f.outputs = {s, t};
    Instruction ins;
    ins.kernel = "loss_scale_update";
    ins.operands = {s, t, fi};
    ins.attrs = std::move(attrs);
    f.body.push_back(ins);
    p.functions.push_back(f);
  }
};

TEST_P(Conformance, LossScaleStateMachine) {
  ScalerProgram sp(1024, {aI("growth_interval", 3), aF("min_scale", 256),
                          aF("max_scale", 4096)});
  ASSERT_EQ(session->load(sp.p), MP_OK) << session->error();
  auto step = [&](bool overflow) {
    ASSERT_EQ(session->write("found_inf",
                             HostTensor::boolean({}, {double(overflow)})),
              MP_OK);
    ASSERT_EQ(mp_rt_run(session->get(), "update"), MP_OK) << session->error();
  };
  auto scale = [&] { return session->read("scale").get(0); };
  auto tracker = [&] { return session->read("tracker").get(0); };
  step(false);
  step(false);
  EXPECT_EQ(scale(), 1024);
  EXPECT_EQ(tracker(), 2);
  step(true); // overflow: halve, reset tracker
  EXPECT_EQ(scale(), 512);
  EXPECT_EQ(tracker(), 0);
  step(true);
  step(true); // floor holds at min_scale
  EXPECT_EQ(scale(), 256);
  for (int i = 0; i < 3; ++i)
    step(false); // interval clean steps double it
  EXPECT_EQ(scale(), 512);
  EXPECT_EQ(tracker(), 0);
  for (int i = 0; i < 9; ++i)
    step(false);
  EXPECT_EQ(scale(), 4096);
  for (int i = 0; i < 3; ++i)
    step(false); // cap holds at max_scale
  EXPECT_EQ(scale(), 4096);
  // The scale can be written from the host (e.g. to reset it).
  ASSERT_EQ(session->write("scale", HostTensor::f32({}, {8})), MP_OK);
  step(true);
  EXPECT_EQ(scale(), 256);
}

TEST_P(Conformance, LossScaleResultsForm) {
  auto r =
      run("loss_scale_update",
          {HostTensor::f32({}, {1024}), HostTensor::i64({}, {4}),
           HostTensor::boolean({}, {0})},
          {{DType::F32, {}}, {DType::I64, {}}}, {aI("growth_interval", 5)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2048});
  expectEq(r.results[1].values(), {0});
  expectEq(r.operands[0].values(), {1024}); // operands untouched
  r = run("loss_scale_update",
          {HostTensor::f32({}, {1024}), HostTensor::i64({}, {4}),
           HostTensor::boolean({}, {1})},
          {{DType::F32, {}}, {DType::I64, {}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {512});
  expectEq(r.results[1].values(), {0});
  // An inf max_scale: growth that overflows keeps the scale (GradScaler).
  r = run("loss_scale_update",
          {HostTensor::f32({}, {3e38}), HostTensor::i64({}, {0}),
           HostTensor::boolean({}, {0})},
          {{DType::F32, {}}, {DType::I64, {}}},
          {aI("growth_interval", 1), aF("max_scale", 1e300)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {double(3e38f)});
}

TEST_P(Conformance, LossScaleDefaults) {
  ScalerProgram sp(65536, {});
  ASSERT_EQ(session->load(sp.p), MP_OK) << session->error();
  for (int i = 0; i < 1999; ++i) {
    session->write("found_inf", HostTensor::boolean({}, {0}));
    ASSERT_EQ(mp_rt_run(session->get(), "update"), MP_OK);
  }
  EXPECT_EQ(session->read("scale").get(0), 65536);
  EXPECT_EQ(session->read("tracker").get(0), 1999);
  ASSERT_EQ(mp_rt_run(session->get(), "update"), MP_OK);
  EXPECT_EQ(session->read("scale").get(0), 131072);
  session->write("found_inf", HostTensor::boolean({}, {1}));
  ASSERT_EQ(mp_rt_run(session->get(), "update"), MP_OK);
  EXPECT_EQ(session->read("scale").get(0), 65536);
}

/// A whole AMP step on tensors: finite check of the scaled f16 grads, fused
/// unscale + predicated Adam, scale update. No host decision anywhere.
TEST_P(Conformance, AmpStepSkipsOnOverflowAndUpdatesScale) {
  Program p;
  Function f;
  f.name = "train_step";
  auto bytes = [](DType dt, Shape s, std::vector<double> v) {
    return HostTensor::of(dt, std::move(s), v).bytes;
  };
  uint32_t prm = p.addTensor("w", DType::F32, {4}, Role::Param,
                             bytes(DType::F32, {4}, kP0));
  uint32_t m = p.addTensor("m", DType::F32, {4}, Role::OptState);
  uint32_t v = p.addTensor("v", DType::F32, {4}, Role::OptState);
  uint32_t st = p.addTensor("t", DType::I64, {}, Role::OptState);
  uint32_t sc = p.addTensor("scale", DType::F32, {}, Role::Scaler,
                            bytes(DType::F32, {}, {65536}));
  uint32_t tr = p.addTensor("tracker", DType::I32, {}, Role::Scaler);
  uint32_t g = p.addTensor("grad16", DType::F16, {4}, Role::Input);
  uint32_t w16 = p.addTensor("w16", DType::F16, {4}, Role::Output);
  uint32_t wNew = p.addTensor("w.new", DType::F32, {4}, Role::Param);
  uint32_t mNew = p.addTensor("m.new", DType::F32, {4}, Role::OptState);
  uint32_t vNew = p.addTensor("v.new", DType::F32, {4}, Role::OptState);
  uint32_t scNew = p.addTensor("scale.new", DType::F32, {}, Role::Scaler);
  uint32_t trNew = p.addTensor("tracker.new", DType::I32, {}, Role::Scaler);
  p.tensors[wNew].updates = prm;
  p.tensors[mNew].updates = m;
  p.tensors[vNew].updates = v;
  p.tensors[scNew].updates = sc;
  p.tensors[trNew].updates = tr;
  uint32_t fin = p.addTensor("finite", DType::Bool, {}, Role::Transient);
  uint32_t inf = p.addTensor("found_inf", DType::Bool, {}, Role::Transient);
  uint32_t inv = p.addTensor("inv_scale", DType::F32, {}, Role::Transient);
  f.inputs = {g};
  f.outputs = {w16, sc};
  auto ins = [](std::string k, std::vector<uint32_t> ops,
                std::vector<uint32_t> res, std::vector<Attribute> a = {}) {
    Instruction i;
    i.kernel = std::move(k);
    i.operands = std::move(ops);
    i.results = std::move(res);
    i.attrs = std::move(a);
    return i;
  };
  f.body = {
      ins("all_finite", {g}, {fin}), ins("not", {fin}, {inf}),
      ins("reciprocal", {sc}, {inv}),
      ins("adam_update", {prm, g, m, v, st, kNoTensor, inv, inf},
          {wNew, mNew, vNew, w16},
          {aF("lr", 0.01), aF("weight_decay", 0.1), aI("increment_step", 1)}),
      ins("loss_scale_update", {sc, tr, inf}, {scNew, trNew})};
  p.functions.push_back(f);
  planMemory(p);
  ASSERT_EQ(validateProgram(p), "");
  ASSERT_EQ(session->load(p), MP_OK) << session->error();

  auto scaled = [](int t, double scale) {
    std::vector<double> gv = gradAt(t);
    for (double &x : gv)
      x *= scale;
    return HostTensor::of(DType::F16, {4}, gv);
  };
  // Step 1 at scale 65536 overflows f16 (1.5 * 65536 > 65504): skipped.
  HostTensor g1 = scaled(1, 65536);
  EXPECT_EQ(g1.get(3), -kInf);
  std::vector<HostTensor> before;
  for (const char *n : {"w", "m", "v", "t"})
    before.push_back(session->read(n));
  ASSERT_EQ(session->write("grad16", g1), MP_OK);
  ASSERT_EQ(mp_rt_run(session->get(), "train_step"), MP_OK) << session->error();
  size_t k = 0;
  for (const char *n : {"w", "m", "v", "t"})
    EXPECT_EQ(session->read(n).bytes, before[k++].bytes) << n;
  EXPECT_EQ(session->read("scale").get(0), 32768);
  EXPECT_EQ(session->read("w16").values(),
            HostTensor::of(DType::F16, {4}, kP0).values());
  // Steps at 32768 succeed.
  std::vector<std::vector<double>> dequantized;
  for (int t = 1; t <= 3; ++t) {
    HostTensor gt = scaled(t, 32768);
    std::vector<double> dq = gt.values();
    for (double &x : dq)
      x /= 32768;
    dequantized.push_back(dq);
    ASSERT_EQ(session->write("grad16", gt), MP_OK);
    ASSERT_EQ(mp_rt_run(session->get(), "train_step"), MP_OK)
        << session->error();
  }
  EXPECT_EQ(session->read("t").get(0), 3);
  EXPECT_EQ(session->read("scale").get(0), 32768);
  EXPECT_EQ(session->read("tracker").get(0), 3);
  // Bit-identical to a plain f32 Adam fed the unscaled (dequantized) grads.
  HostTensor w = session->read("w");
  Session plain(GetParam());
  OptProgram op(
      "adam_update",
      {param(), grad(), state("exp_avg"), state("exp_avg_sq"),
       state("step", {})},
      {aF("lr", 0.01), aF("weight_decay", 0.1), aI("increment_step", 1)});
  OptRunner runner(plain, op);
  ASSERT_EQ(runner.status, MP_OK);
  for (auto &g : dequantized)
    ASSERT_EQ(runner.step(g), MP_OK);
  EXPECT_EQ(plain.read("param").bytes, w.bytes);
  // And close to PyTorch's f32 run wherever f16 grad rounding cannot flip
  // the (sign-like) Adam direction (element 2's grad + decay is ~0).
  std::vector<double> wv = w.values(), ref = {5.230584145e-01, -1.279998302e+00,
                                              2.015728712e+00, 1.376661062e-01};
  for (size_t i : {0, 1, 3})
    EXPECT_NEAR(wv[i], ref[i], 1e-4) << i;
}

/// A training step's worth of AdamW updates sharing step, inverse scale
/// and skip flag: the cuda backend runs them as multi-tensor launches (48
/// tensors a launch, so 53 take two; sizes with and without a multiple-of-4
/// tail, one spanning many blocks; f16 and f32 gradients; some with a f16
/// working copy). They must equal the one-launch-per-tensor path bit for
/// bit and the cpu reference to rounding, and a skipped step must leave
/// every tensor alone.
TEST_P(Conformance, MultiTensorAdamMatchesOneLaunchPerTensor) {
  const int kTensors = 53;
  const int64_t sizes[] = {1, 3, 4, 5, 8, 1027, 5000};
  auto size = [&](int i) { return i == 7 ? int64_t(300001) : sizes[i % 7]; };
  auto values = [](int64_t n, double seed, double scale) {
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j)
      v[size_t(j)] = scale * std::sin(seed * 12.9898 + double(j) * 0.731);
    return v;
  };
  Program p;
  Function f;
  f.name = "train_step";
  uint32_t st = p.addTensor("t", DType::I64, {}, Role::OptState,
                            HostTensor::i64({}, {4}).bytes);
  uint32_t inv = p.addTensor("inv_scale", DType::F32, {}, Role::Input);
  uint32_t inf = p.addTensor("found_inf", DType::Bool, {}, Role::Input);
  f.inputs = {inv, inf};
  for (int i = 0; i < kTensors; ++i) {
    std::string n = std::to_string(i);
    int64_t len = size(i);
    DType gt = i % 2 ? DType::F32 : DType::F16;
    uint32_t w = p.addTensor(
        "w" + n, DType::F32, {len}, Role::Param,
        HostTensor::of(DType::F32, {len}, values(len, i, 1.0)).bytes);
    uint32_t m = p.addTensor("m" + n, DType::F32, {len}, Role::OptState);
    uint32_t v = p.addTensor("v" + n, DType::F32, {len}, Role::OptState);
    uint32_t g = p.addTensor("g" + n, gt, {len}, Role::Input);
    uint32_t wN = p.addTensor("w" + n + ".new", DType::F32, {len}, Role::Param);
    uint32_t mN =
        p.addTensor("m" + n + ".new", DType::F32, {len}, Role::OptState);
    uint32_t vN =
        p.addTensor("v" + n + ".new", DType::F32, {len}, Role::OptState);
    p.tensors[wN].updates = w;
    p.tensors[mN].updates = m;
    p.tensors[vN].updates = v;
    Instruction ins;
    ins.kernel = "adamw_update";
    ins.operands = {w, g, m, v, st, kNoTensor, inv, inf};
    ins.results = {wN, mN, vN};
    if (i % 3 == 0) {
      uint32_t c = p.addTensor("c" + n, DType::F16, {len}, Role::Output);
      ins.results.push_back(c);
      f.outputs.push_back(c);
    }
    ins.attrs = {aF("lr", 0.01), aF("weight_decay", 0.05)};
    f.inputs.push_back(g);
    f.body.push_back(std::move(ins));
  }
  p.functions.push_back(f);
  planMemory(p);
  ASSERT_EQ(validateProgram(p), "");

  ASSERT_EQ(session->load(p), MP_OK) << session->error();
  // The same program one launch per tensor, and on the cpu reference.
  setenv("MP_CUDA_MULTI_TENSOR", "0", 1);
  Session single(GetParam());
  unsetenv("MP_CUDA_MULTI_TENSOR");
  Session cpu("cpu");
  ASSERT_EQ(single.load(p), MP_OK) << single.error();
  ASSERT_EQ(cpu.load(p), MP_OK) << cpu.error();
  Session *all[] = {session.get(), &single, &cpu};
  for (int stepNo = 0; stepNo < 3; ++stepNo) {
    bool skip = stepNo == 1;
    for (Session *s : all) {
      ASSERT_EQ(s->write("inv_scale", HostTensor::f32({}, {0.5})), MP_OK);
      ASSERT_EQ(s->write("found_inf", HostTensor::boolean({}, {skip ? 1.0 : 0.0})), MP_OK);
      for (int i = 0; i < kTensors; ++i) {
        int64_t len = size(i);
        DType gt = i % 2 ? DType::F32 : DType::F16;
        ASSERT_EQ(s->write("g" + std::to_string(i),
                           HostTensor::of(gt, {len},
                                          values(len, i + 7 * stepNo, 2.0))),
                  MP_OK);
      }
    }
    std::vector<HostTensor> before;
    if (skip)
      for (int i = 0; i < kTensors; ++i)
        before.push_back(session->read("w" + std::to_string(i)));
    for (Session *s : all)
      ASSERT_EQ(mp_rt_run(s->get(), "train_step"), MP_OK) << s->error();
    for (int i = 0; i < kTensors; ++i) {
      std::string n = std::to_string(i);
      std::vector<std::string> names = {"w" + n, "m" + n, "v" + n};
      if (i % 3 == 0)
        names.push_back("c" + n);
      for (const std::string &name : names) {
        HostTensor got = session->read(name);
        ASSERT_EQ(got.bytes, single.read(name).bytes)
            << name << " after step " << stepNo;
        std::vector<double> a = got.values(), b = cpu.read(name).values();
        ASSERT_EQ(a.size(), b.size());
        for (size_t j = 0; j < a.size(); ++j)
          ASSERT_NEAR(a[j], b[j],
                      (name[0] == 'c' ? 1e-3 : 1e-6) * (1 + std::fabs(b[j])))
              << name << "[" << j << "] after step " << stepNo;
      }
      if (skip)
        EXPECT_EQ(session->read("w" + n).bytes, before[size_t(i)].bytes) << n;
    }
  }
}

//===----------------------------------------------------------------------===//
// Dropout and its generator
//===----------------------------------------------------------------------===//

TEST(Philox, KnownAnswers) {
  // Random123's kat_vectors for philox4x32_10.
  Philox4 r = philox4x32_10({{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
  r = philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                    0xffffffffu, 0xffffffffu);
  EXPECT_EQ(r.v[0], 0x408f276du);
  EXPECT_EQ(r.v[1], 0x41c83b0eu);
  EXPECT_EQ(r.v[2], 0xa20bc7c6u);
  EXPECT_EQ(r.v[3], 0x6d5451fdu);
  r = philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                    0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(r.v[0], 0xd16cfe09u);
  EXPECT_EQ(r.v[1], 0x94fdccebu);
  EXPECT_EQ(r.v[2], 0x5001e420u);
  EXPECT_EQ(r.v[3], 0x24126ea1u);
}

TEST_P(Conformance, DropoutIsSeededAndDocumented) {
  const int64_t n = 4000;
  std::vector<double> ones(n, 1.0);
  auto x = HostTensor::f32({n}, ones);
  std::vector<Attribute> attrs = {aF("ratio", 0.25), aI("training_mode", 1),
                                  aI("seed", 1234)};
  auto r = run("dropout", {x}, {{DType::F32, {n}}, {DType::Bool, {n}}}, attrs);
  ASSERT_RUN_OK(r);
  auto y = r.results[0].values(), mask = r.results[1].values();
  int kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool keep = dropoutUniform(1234, 0, uint64_t(i)) >= 0.25f;
    ASSERT_EQ(mask[size_t(i)], keep) << i;
    ASSERT_EQ(y[size_t(i)], keep ? double(1.0f / 0.75f) : 0.0) << i;
    kept += keep;
  }
  EXPECT_NEAR(kept / double(n), 0.75, 0.03);
  // Same seed, same mask; another offset operand, another mask.
  auto r2 = run("dropout", {x}, {{DType::F32, {n}}, {DType::Bool, {n}}}, attrs);
  ASSERT_RUN_OK(r2);
  EXPECT_EQ(r2.results[1].bytes, r.results[1].bytes);
  auto r3 = run("dropout", {x, HostTensor::i64({}, {1})},
                {{DType::F32, {n}}, {DType::Bool, {n}}}, attrs);
  ASSERT_RUN_OK(r3);
  EXPECT_NE(r3.results[1].bytes, r.results[1].bytes);
  // Inference mode: identity, mask all true.
  r = run("dropout", {x}, {{DType::F32, {n}}, {DType::Bool, {n}}},
          {aF("ratio", 0.25)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), ones);
  expectEq(r.results[1].values(), ones);
  r = run("dropout", {x}, {{DType::F32, {n}}},
          {aF("ratio", 1.5), aI("training_mode", 1)});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

} // namespace
} // namespace mp::rt::test
