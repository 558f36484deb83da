//===- GradTest.cpp - gradient kernels against finite differences ---------===//
//
// Every gradient kernel is checked against central differences of the
// backend's own forward kernel on f64 data: for a fixed random cotangent R,
// d/dx sum(forward(x) * R) must equal the gradient kernel given dY = R.
//
//===----------------------------------------------------------------------===//
#include "Conformance.h"

#include <random>

namespace mp::rt::test {
namespace {

std::vector<double> rnd(size_t n, unsigned seed, double lo = -1,
                        double hi = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(n);
  for (double &x : v)
    x = d(g);
  return v;
}

HostTensor f64(Shape s, const std::vector<double> &v) {
  return HostTensor::of(DType::F64, std::move(s), v);
}

struct Forward {
  std::string kernel;
  std::vector<HostTensor> ops;
  std::vector<ResultSpec> results;
  std::vector<Attribute> attrs;
  /// Cotangent per result (empty: that result does not enter the objective).
  std::vector<std::vector<double>> cot;
};

double objective(Session &s, const Forward &f) {
  RunResult r = s.runKernel(f.kernel, f.ops, f.results, f.attrs);
  EXPECT_EQ(r.status, MP_OK) << r.error;
  if (r.status != MP_OK)
    return 0;
  double sum = 0;
  for (size_t k = 0; k < f.cot.size(); ++k) {
    std::vector<double> y = r.results[k].values();
    for (size_t i = 0; i < f.cot[k].size(); ++i)
      sum += y[i] * f.cot[k][i];
  }
  return sum;
}

/// Central differences of the objective w.r.t. operand `k`.
std::vector<double> numericGrad(Session &s, Forward f, size_t k,
                                double h = 1e-6) {
  size_t n = size_t(numel(f.ops[k].shape));
  std::vector<double> g(n);
  for (size_t i = 0; i < n; ++i) {
    double x = f.ops[k].get(i);
    f.ops[k].set(i, x + h);
    double up = objective(s, f);
    f.ops[k].set(i, x - h);
    double down = objective(s, f);
    f.ops[k].set(i, x);
    g[i] = (up - down) / (2 * h);
  }
  double norm = 0;
  for (double v : g)
    norm += v * v;
  EXPECT_GT(norm, 1e-6) << f.kernel << ": a vacuous gradient check";
  return g;
}

TEST_P(Conformance, SoftmaxGradMatchesFiniteDifferences) {
  Shape s = {2, 3, 4};
  auto x = f64(s, rnd(24, 1, -2, 2));
  auto R = rnd(24, 2);
  for (const char *k : {"softmax", "log_softmax"}) {
    Forward f{k, {x}, {{DType::F64, s}}, {aI("axis", 1)}, {R}};
    auto y = session->runKernel(k, {x}, {{DType::F64, s}}, {aI("axis", 1)});
    ASSERT_RUN_OK(y);
    auto r = run(std::string(k) + "_grad", {f64(s, R), y.results[0]},
                 {{DType::F64, s}}, {aI("axis", 1)});
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), numericGrad(*session, f, 0), 1e-7, 0, k);
  }
}

TEST_P(Conformance, GeluGradMatchesFiniteDifferences) {
  auto x = f64({9}, {-4, -2, -1, -0.3, 0, 0.2, 1, 2.5, 4});
  auto R = rnd(9, 3);
  for (const char *a : {"none", "tanh"}) {
    Forward f{"gelu", {x}, {{DType::F64, {9}}}, {aS("approximate", a)}, {R}};
    auto r = run("gelu_grad", {f64({9}, R), x}, {{DType::F64, {9}}},
                 {aS("approximate", a)});
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), numericGrad(*session, f, 0), 1e-8, 0, a);
  }
}

TEST_P(Conformance, LayerNormGradMatchesFiniteDifferences) {
  Shape s = {3, 2, 4};
  auto x = f64(s, rnd(24, 4, -2, 2));
  auto scale = f64({2, 4}, rnd(8, 5, 0.5, 1.5));
  auto bias = f64({2, 4}, rnd(8, 6));
  auto R = rnd(24, 7);
  std::vector<ResultSpec> res = {
      {DType::F64, s}, {DType::F64, {3, 1, 1}}, {DType::F64, {3, 1, 1}}};
  std::vector<Attribute> at = {aI("axis", 1), aF("epsilon", 1e-3)};
  Forward f{"layer_norm", {x, scale, bias}, res, at, {R}};
  auto y = session->runKernel("layer_norm", {x, scale, bias}, res, at);
  ASSERT_RUN_OK(y);
  auto r =
      run("layer_norm_grad", {f64(s, R), x, scale, y.results[1], y.results[2]},
          {{DType::F64, s}, {DType::F64, {2, 4}}, {DType::F64, {2, 4}}},
          {aI("axis", 1)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), numericGrad(*session, f, 0), 1e-6, 0, "dX");
  expectNear(r.results[1].values(), numericGrad(*session, f, 1), 1e-6, 0,
             "dScale");
  expectNear(r.results[2].values(), numericGrad(*session, f, 2), 1e-6, 0, "dB");
}

TEST_P(Conformance, BatchNormGradMatchesFiniteDifferences) {
  Shape s = {3, 2, 2};
  auto x = f64(s, rnd(12, 8, -2, 2));
  auto scale = f64({2}, {0.7, 1.3});
  auto bias = f64({2}, {0.1, -0.2});
  auto mean = f64({2}, {0, 0}), var = f64({2}, {1, 1});
  auto R = rnd(12, 9);
  std::vector<Attribute> at = {aI("training_mode", 1), aF("epsilon", 1e-3)};
  Forward f{
      "batch_norm", {x, scale, bias, mean, var}, {{DType::F64, s}}, at, {R}};
  auto r = run("batch_norm_grad", {f64(s, R), x, scale},
               {{DType::F64, s}, {DType::F64, {2}}, {DType::F64, {2}}},
               {aF("epsilon", 1e-3)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), numericGrad(*session, f, 0), 1e-6, 0, "dX");
  expectNear(r.results[1].values(), numericGrad(*session, f, 1), 1e-6, 0,
             "dscale");
  expectNear(r.results[2].values(), numericGrad(*session, f, 2), 1e-6, 0, "dB");
}

struct ConvGradCase {
  Shape xs, ws, ys;
  int64_t group;
  Shape strides, pads, dil;
};

TEST_P(Conformance, ConvGradsMatchFiniteDifferences) {
  std::vector<ConvGradCase> cases = {
      {{2, 4, 5, 4},
       {4, 2, 3, 2},
       {2, 4, 3, 3},
       2,
       {2, 1},
       {1, 0, 1, 1},
       {1, 2}},
      {{1, 2, 7}, {3, 2, 3}, {1, 3, 3}, 1, {2}, {1, 0}, {1}},
      // 3-D depthwise with mixed strides, pads and dilations.
      {{1, 2, 3, 4, 3},
       {2, 1, 2, 2, 2},
       {1, 2, 3, 2, 1},
       2,
       {1, 2, 1},
       {0, 1, 0, 1, 0, 0},
       {1, 1, 2}},
      // 4 spatial dims.
      {{1, 2, 2, 3, 2, 3},
       {2, 2, 1, 2, 2, 2},
       {1, 2, 2, 2, 1, 2},
       1,
       {1, 1, 1, 1},
       {0, 0, 0, 0, 0, 0, 0, 0},
       {1, 1, 1, 1}},
  };
  unsigned seed = 20;
  for (const ConvGradCase &cc : cases) {
    auto x = f64(cc.xs, rnd(size_t(numel(cc.xs)), seed++));
    auto w = f64(cc.ws, rnd(size_t(numel(cc.ws)), seed++));
    auto R = rnd(size_t(numel(cc.ys)), seed++);
    Shape ks(cc.ws.begin() + 2, cc.ws.end());
    std::vector<Attribute> at = {
        aI("group", cc.group), aInts("strides", cc.strides),
        aInts("pads", cc.pads), aInts("dilations", cc.dil),
        aInts("kernel_shape", ks)};
    Forward f{"conv", {x, w}, {{DType::F64, cc.ys}}, at, {R}};
    std::vector<Attribute> gi = at;
    gi.push_back(aInts("input_shape", cc.xs));
    auto r =
        run("conv_grad_input", {f64(cc.ys, R), w}, {{DType::F64, cc.xs}}, gi);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), numericGrad(*session, f, 0), 1e-7, 0,
               "dX");
    r = run("conv_grad_filter", {x, f64(cc.ys, R)}, {{DType::F64, cc.ws}}, at);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), numericGrad(*session, f, 1), 1e-7, 0,
               "dW");
  }
}

TEST_P(Conformance, PoolGradsMatchFiniteDifferences) {
  Shape xs = {1, 2, 5, 5};
  // Distinct values so the max is never tied within the step.
  std::vector<double> xv(50);
  for (size_t i = 0; i < 50; ++i)
    xv[i] = double((i * 37) % 50) / 10 - 2;
  auto x = f64(xs, xv);
  std::vector<Attribute> at = {aInts("kernel_shape", {3, 2}),
                               aInts("strides", {2, 2}),
                               aInts("pads", {1, 0, 1, 1}),
                               aInts("dilations", {1, 1}), aI("ceil_mode", 1)};
  Shape ys = {1, 2, 3, 3};
  auto R = rnd(18, 30);
  Forward f{"max_pool", {x}, {{DType::F64, ys}}, at, {R}};
  auto r = run("max_pool_grad", {f64(ys, R), x}, {{DType::F64, xs}}, at);
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), numericGrad(*session, f, 0), 1e-7, 0,
             "max");
  for (int64_t cip : {0, 1}) {
    std::vector<Attribute> aa = at;
    aa.push_back(aI("count_include_pad", cip));
    Forward fa{"average_pool", {x}, {{DType::F64, ys}}, aa, {R}};
    aa.push_back(aInts("input_shape", xs));
    r = run("average_pool_grad", {f64(ys, R)}, {{DType::F64, xs}}, aa);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), numericGrad(*session, fa, 0), 1e-7, 0,
               "average");
  }
}

TEST_P(Conformance, LossGradsMatchFiniteDifferences) {
  Shape s = {3, 4, 2};
  auto scores = f64(s, rnd(24, 40, -2, 2));
  auto labels = HostTensor::i64({3, 2}, {0, 3, 2, 1, 1, 0});
  auto weights = f64({4}, {0.5, 1, 2, 1.5});
  for (std::string red : {"mean", "sum", "none"}) {
    Shape ls = red == "none" ? Shape{3, 2} : Shape{};
    auto R = rnd(size_t(numel(ls)), 41);
    std::vector<Attribute> at = {aS("reduction", red), aI("ignore_index", 1)};
    Forward f{"softmax_cross_entropy_loss",
              {scores, labels, weights},
              {{DType::F64, ls}, {DType::F64, s}},
              at,
              {R}};
    auto y = session->runKernel(f.kernel, f.ops, f.results, at);
    ASSERT_RUN_OK(y);
    auto r =
        run("softmax_cross_entropy_loss_grad",
            {f64(ls, R), y.results[1], labels, weights}, {{DType::F64, s}}, at);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), numericGrad(*session, f, 0), 1e-7, 0,
               red.c_str());
    // nll_loss on the log-probabilities.
    Forward fn{"nll_loss",
               {y.results[1], labels, weights},
               {{DType::F64, ls}},
               at,
               {R}};
    r = run("nll_loss_grad", {f64(ls, R), y.results[1], labels, weights},
            {{DType::F64, s}}, at);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), numericGrad(*session, fn, 0), 1e-7, 0,
               red.c_str());
  }
}

TEST_P(Conformance, SliceGrad) {
  auto dy = HostTensor::f32({2, 2}, {1, 2, 3, 4});
  auto r = run("slice_grad", {dy}, {{DType::F32, {3, 4}}},
               {aInts("input_shape", {3, 4}), aInts("starts", {2, -1}),
                aInts("ends", {-100, 0}), aInts("steps", {-2, -2})});
  ASSERT_RUN_OK(r);
  // Rows 2, 0 and columns 3, 1.
  expectEq(r.results[0].values(), {0, 4, 0, 3, 0, 0, 0, 0, 0, 2, 0, 1});
  r = run(
      "slice_grad", {dy}, {{DType::F32, {3, 4}}},
      {aInts("input_shape", {3, 4}), aInts("starts", {0}), aInts("ends", {1})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM); // dY shape mismatch
}

TEST_P(Conformance, GradKernelsLowPrecision) {
  // f16 data computes in f32 and rounds once: compare with the f32 result.
  Shape s = {2, 8};
  auto x = rnd(16, 50, -3, 3), dy = rnd(16, 51);
  auto r32 = run("gelu_grad", {HostTensor::f32(s, dy), HostTensor::f32(s, x)},
                 {{DType::F32, s}});
  auto r16 =
      run("gelu_grad",
          {HostTensor::of(DType::F16, s, dy), HostTensor::of(DType::F16, s, x)},
          {{DType::F16, s}});
  ASSERT_RUN_OK(r32);
  ASSERT_RUN_OK(r16);
  expectNear(r16.results[0].values(), r32.results[0].values(), 2e-3, 2e-3);
}

TEST_P(Conformance, WindowKernelsLowPrecision) {
  // f16 / bf16 conv, pooling and their gradients compute in f32 and round
  // once: each equals the f32 kernel on the same (rounded) operands, rounded
  // into the dtype.
  Shape xs = {2, 4, 7, 6}, ws = {6, 2, 3, 2}, ys = {2, 6, 4, 5};
  Shape ps = {2, 4, 4, 3}, gs = {2, 4, 1, 1};
  std::vector<Attribute> conv = {
      aI("group", 2), aInts("strides", {2, 1}), aInts("dilations", {1, 2}),
      aInts("pads", {1, 0, 2, 1}), aInts("kernel_shape", {3, 2})};
  std::vector<Attribute> convIn = conv;
  convIn.push_back(aInts("input_shape", xs));
  std::vector<Attribute> pool = {
      aInts("kernel_shape", {3, 2}), aInts("strides", {2, 2}),
      aInts("pads", {1, 0, 1, 1}), aI("ceil_mode", 1)};
  std::vector<Attribute> avg = pool;
  avg.push_back(aI("count_include_pad", 1));
  std::vector<Attribute> avgIn = avg;
  avgIn.push_back(aInts("input_shape", xs));
  for (DType dt : {DType::F16, DType::BF16}) {
    auto lo = [&](const Shape &s, unsigned seed) {
      return HostTensor::of(dt, s, rnd(size_t(numel(s)), seed, -2, 2));
    };
    auto x = lo(xs, 60), w = lo(ws, 61), b = lo({6}, 62), dy = lo(ys, 63),
         dp = lo(ps, 64);
    auto check = [&](const char *kernel, std::vector<HostTensor> ops,
                     const Shape &out, const std::vector<Attribute> &at) {
      auto r = run(kernel, ops, {{dt, out}}, at);
      ASSERT_RUN_OK(r);
      for (HostTensor &t : ops)
        t = HostTensor::f32(t.shape, t.values());
      auto r32 = run(kernel, ops, {{DType::F32, out}}, at);
      ASSERT_RUN_OK(r32);
      expectEq(r.results[0].values(),
               HostTensor::of(dt, out, r32.results[0].values()).values(),
               kernel);
    };
    check("conv", {x, w, b}, ys, conv);
    check("conv_grad_input", {dy, w}, xs, convIn);
    check("conv_grad_filter", {x, dy}, ws, conv);
    check("max_pool", {x}, ps, pool);
    check("max_pool_grad", {dp, x}, xs, pool);
    check("average_pool", {x}, ps, avg);
    check("average_pool_grad", {dp}, xs, avgIn);
    check("global_average_pool", {x}, gs, {});
  }
}

} // namespace
} // namespace mp::rt::test
