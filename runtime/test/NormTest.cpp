//===- NormTest.cpp - softmax, norms, pooling, reductions -----------------===//
#include "Conformance.h"

#include <algorithm>
#include <limits>
#include <random>
#include <string>

namespace mp::rt::test {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

TEST_P(Conformance, SoftmaxAndLogSoftmax) {
  // [2, 3, 2], axis 1.
  std::vector<double> x = {1, -1, 2, 0, 3, 1, 0.5, 1000, 0.5, 1001, 0.5, 1002};
  auto r = run("softmax", {HostTensor::f32({2, 3, 2}, x)},
               {{DType::F32, {2, 3, 2}}}, {aI("axis", 1)});
  ASSERT_RUN_OK(r);
  auto rl = run("log_softmax", {HostTensor::f32({2, 3, 2}, x)},
                {{DType::F32, {2, 3, 2}}}, {aI("axis", -2)});
  ASSERT_RUN_OK(rl);
  std::vector<double> want(12), wantLog(12);
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 2; ++i) {
      double mx = -kInf, s = 0;
      for (int k = 0; k < 3; ++k)
        mx = std::max(mx, x[size_t(n * 6 + k * 2 + i)]);
      for (int k = 0; k < 3; ++k)
        s += std::exp(x[size_t(n * 6 + k * 2 + i)] - mx);
      for (int k = 0; k < 3; ++k) {
        size_t j = size_t(n * 6 + k * 2 + i);
        want[j] = std::exp(x[j] - mx) / s;
        wantLog[j] = x[j] - mx - std::log(s);
      }
    }
  expectNear(r.results[0].values(), want, 1e-6);
  expectNear(rl.results[0].values(), wantLog, 1e-5);
  // Default axis is -1; f16 storage computes in f32.
  r = run("softmax", {HostTensor::of(DType::F16, {1, 2}, {0, 0})},
          {{DType::F16, {1, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0.5, 0.5});
}

TEST_P(Conformance, LayerNorm) {
  std::vector<double> x = {1, 2, 3, 4, -1, 0, 1, 5};
  auto scale = HostTensor::f32({4}, {1, 2, 0.5, 1});
  auto bias = HostTensor::f32({4}, {0, 1, 0, -1});
  auto r =
      run("layer_norm", {HostTensor::f32({2, 4}, x), scale, bias},
          {{DType::F32, {2, 4}}, {DType::F32, {2, 1}}, {DType::F32, {2, 1}}},
          {aI("axis", -1), aF("epsilon", 1e-5)});
  ASSERT_RUN_OK(r);
  std::vector<double> want, mean, inv;
  std::vector<double> sc = {1, 2, 0.5, 1}, b = {0, 1, 0, -1};
  for (int o = 0; o < 2; ++o) {
    double m = 0, v = 0;
    for (int i = 0; i < 4; ++i)
      m += x[size_t(o * 4 + i)] / 4;
    for (int i = 0; i < 4; ++i)
      v += (x[size_t(o * 4 + i)] - m) * (x[size_t(o * 4 + i)] - m) / 4;
    double is = 1 / std::sqrt(v + 1e-5);
    for (int i = 0; i < 4; ++i)
      want.push_back((x[size_t(o * 4 + i)] - m) * is * sc[size_t(i)] +
                     b[size_t(i)]);
    mean.push_back(m);
    inv.push_back(is);
  }
  expectNear(r.results[0].values(), want, 1e-5);
  expectNear(r.results[1].values(), mean, 1e-6);
  expectNear(r.results[2].values(), inv, 1e-5);
  // f16 X with f32 Scale and B (autocast pins them): same result to f16
  // precision.
  r = run("layer_norm", {HostTensor::of(DType::F16, {2, 4}, x), scale, bias},
          {{DType::F16, {2, 4}}, {DType::F32, {2, 1}}, {DType::F32, {2, 1}}},
          {aI("axis", -1), aF("epsilon", 1e-5), aS("acc", "f32")});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), want, 2e-3);
  // axis 1 of [2, 2, 2]: normalizes the last 4 values of each batch; only
  // Y requested; scale broadcasts from [2] to [2, 2].
  r = run("layer_norm",
          {HostTensor::f32({2, 2, 2}, x), HostTensor::f32({2}, {1, 1})},
          {{DType::F32, {2, 2, 2}}}, {aI("axis", 1)});
  ASSERT_RUN_OK(r);
  std::vector<double> plain;
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 4; ++i)
      plain.push_back((want[size_t(o * 4 + i)] - b[size_t(i)]) / sc[size_t(i)]);
  expectNear(r.results[0].values(), plain, 1e-5);
}

TEST_P(Conformance, BatchNormInferenceAndTraining) {
  // X: N=2, C=2, 2 spatial.
  std::vector<double> x = {1, 2, 10, 20, 3, 4, 30, 40};
  auto scale = HostTensor::f32({2}, {1, 2});
  auto b = HostTensor::f32({2}, {0, 1});
  auto mean = HostTensor::f32({2}, {2, 25});
  auto var = HostTensor::f32({2}, {1, 100});
  auto r =
      run("batch_norm", {HostTensor::f32({2, 2, 2}, x), scale, b, mean, var},
          {{DType::F32, {2, 2, 2}}}, {aF("epsilon", 0)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(),
             {-1, 0, 1 + 2 * (10 - 25) / 10.0, 1 + 2 * (20 - 25) / 10.0, 1, 2,
              1 + 2 * (30 - 25) / 10.0, 1 + 2 * (40 - 25) / 10.0},
             1e-6);
  r = run("batch_norm", {HostTensor::f32({2, 2, 2}, x), scale, b, mean, var},
          {{DType::F32, {2, 2, 2}}, {DType::F32, {2}}, {DType::F32, {2}}},
          {aI("training_mode", 1), aF("momentum", 0.9), aF("epsilon", 1e-5)});
  ASSERT_RUN_OK(r);
  // Channel 0: {1,2,3,4}: mean 2.5, population var 1.25.
  // Channel 1: {10,20,30,40}: mean 25, var 125.
  double i0 = 1 / std::sqrt(1.25 + 1e-5), i1 = 1 / std::sqrt(125 + 1e-5);
  expectNear(r.results[0].values(),
             {-1.5 * i0, -0.5 * i0, 1 - 15 * i1 * 2, 1 - 5 * i1 * 2, 0.5 * i0,
              1.5 * i0, 1 + 5 * i1 * 2, 1 + 15 * i1 * 2},
             1e-5);
  expectNear(r.results[1].values(), {2 * 0.9 + 2.5 * 0.1, 25}, 1e-5);
  expectNear(r.results[2].values(),
             {1 * 0.9 + 1.25 * 0.1, 100 * 0.9 + 125 * 0.1}, 1e-4);
}

TEST_P(Conformance, MaxPool) {
  std::vector<double> x;
  for (int i = 0; i < 16; ++i)
    x.push_back(i);
  auto X = HostTensor::f32({1, 1, 4, 4}, x);
  auto r = run("max_pool", {X}, {{DType::F32, {1, 1, 2, 2}}},
               {aInts("kernel_shape", {2, 2}), aInts("strides", {2, 2})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {5, 7, 13, 15});
  // Pads count as -inf: a window entirely... partly in the padding.
  r = run("max_pool", {HostTensor::f32({1, 1, 2, 2}, {-4, -3, -2, -1})},
          {{DType::F32, {1, 1, 3, 3}}},
          {aInts("kernel_shape", {2, 2}), aInts("pads", {1, 1, 1, 1})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-4, -3, -3, -2, -1, -1, -2, -1, -1});
  // ceil_mode: 5 wide, kernel 2, stride 2 -> 3 outputs (the last window is
  // partial); floor gives 2.
  auto X5 = HostTensor::f32({1, 1, 1, 5}, {1, 5, 2, 4, 3});
  r = run("max_pool", {X5}, {{DType::F32, {1, 1, 1, 3}}},
          {aInts("kernel_shape", {1, 2}), aInts("strides", {1, 2}),
           aI("ceil_mode", 1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {5, 4, 3});
  r = run("max_pool", {X5}, {{DType::F32, {1, 1, 1, 2}}},
          {aInts("kernel_shape", {1, 2}), aInts("strides", {1, 2})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {5, 4});
  // Dilation 2: windows {0,2}, {1,3}, {2,4}.
  r = run("max_pool", {X5}, {{DType::F32, {1, 1, 1, 3}}},
          {aInts("kernel_shape", {1, 2}), aInts("dilations", {1, 2})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2, 5, 3});
  // SAME_UPPER.
  r = run("max_pool", {X5}, {{DType::F32, {1, 1, 1, 3}}},
          {aInts("kernel_shape", {1, 3}), aInts("strides", {1, 2}),
           aS("auto_pad", "SAME_UPPER")});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {5, 5, 4});
}

TEST_P(Conformance, AveragePool) {
  auto X = HostTensor::f32({1, 1, 2, 2}, {1, 2, 3, 4});
  std::vector<Attribute> a = {aInts("kernel_shape", {2, 2}),
                              aInts("pads", {1, 1, 1, 1})};
  auto r = run("average_pool", {X}, {{DType::F32, {1, 1, 3, 3}}}, a);
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}, 1e-6);
  a.push_back(aI("count_include_pad", 1));
  r = run("average_pool", {X}, {{DType::F32, {1, 1, 3, 3}}}, a);
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(),
             {0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1}, 1e-6);
  // ceil_mode with count_include_pad: the last window of [1..5] (k 2, s 2)
  // covers only element 5 and no padding, so the divisor is 1.
  auto X5 = HostTensor::f32({1, 1, 5}, {1, 2, 3, 4, 5});
  r = run("average_pool", {X5}, {{DType::F32, {1, 1, 3}}},
          {aInts("kernel_shape", {2}), aInts("strides", {2}),
           aI("ceil_mode", 1), aI("count_include_pad", 1)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), {1.5, 3.5, 5}, 1e-6);
  r = run("global_average_pool",
          {HostTensor::f32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})},
          {{DType::F32, {1, 2, 1, 1}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2.5, 6.5});
}

TEST_P(Conformance, Reductions) {
  auto x = HostTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto r = run("reduce_sum", {x}, {{DType::F32, {2}}},
               {aInts("axes", {1}), aI("keepdims", 0)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {6, 15});
  r = run("reduce_sum", {x}, {{DType::F32, {1, 3}}}, {aInts("axes", {-2})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {5, 7, 9});
  r = run("reduce_mean", {x}, {{DType::F32, {1, 1}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {3.5});
  r = run("reduce_max", {x}, {{DType::F32, {}}}, {aI("keepdims", 0)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {6});
  r = run("reduce_max", {x}, {{DType::F32, {2, 1}}}, {aInts("axes", {1})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {3, 6});
  r = run("reduce_sum", {x}, {{DType::F32, {2, 3}}},
          {aI("noop_with_empty_axes", 1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 2, 3, 4, 5, 6});
  r = run("reduce_sum", {HostTensor::i64({3}, {1, 2, 3})}, {{DType::I64, {1}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {6});
  // f16 data: sum 4096 ones in f32 (default) vs f16 accumulation.
  std::vector<double> ones(4096, 1.0);
  auto h = HostTensor::of(DType::F16, {4096}, ones);
  r = run("reduce_sum", {h}, {{DType::F16, {1}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {4096});
  r = run("reduce_sum", {h}, {{DType::F16, {1}}}, {aS("acc", "f16")});
  if (GetParam() == "cuda") {
    EXPECT_EQ(r.status, MP_ERROR_UNSUPPORTED); // f32 accumulation only
  } else {
    ASSERT_RUN_OK(r);
    expectEq(r.results[0].values(), {2048});
  }
  r = run("reduce_sum", {x}, {{DType::F32, {2}}}, {aInts("axes", {2})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

// Shapes that take the CUDA backend's column (with split partials), long-row
// (split), short-row and strided paths; small integer data, so every order
// of summation gives the same result.
TEST_P(Conformance, ReductionsLargerShapes) {
  auto data = [](int64_t n, int mod) {
    std::vector<double> v;
    for (int64_t i = 0; i < n; ++i)
      v.push_back(double(i % mod) - mod / 2);
    return v;
  };
  // Reference: reduce [A, B, C] over the flagged dims.
  auto ref = [](const std::vector<double> &x, int64_t A, int64_t B, int64_t C,
                bool ra, bool rb, bool rc, bool isMax) {
    int64_t oa = ra ? 1 : A, ob = rb ? 1 : B, oc = rc ? 1 : C;
    std::vector<double> y(size_t(oa * ob * oc), isMax ? -INFINITY : 0.0);
    for (int64_t a = 0; a < A; ++a)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c) {
          double v = x[size_t((a * B + b) * C + c)];
          double &o =
              y[size_t(((ra ? 0 : a) * ob + (rb ? 0 : b)) * oc + (rc ? 0 : c))];
          o = isMax ? (std::isnan(o) || std::isnan(v) ? NAN : std::max(o, v))
                    : o + v;
        }
    return y;
  };
  struct Case {
    DType dt;
    int64_t A, B, C;
    bool ra, rb, rc;
  } cases[] = {
      {DType::F32, 1, 600, 130, false, true, false},  // columns, split
      {DType::BF16, 1, 300, 256, false, true, false}, // columns, 16 B loads
      {DType::F32, 1, 1, 20000, false, false, true},  // one long row, split
      {DType::F16, 1, 64, 48, false, false, true},    // short rows
      {DType::F32, 6, 10, 40, true, false, true},     // strided rows
      {DType::F32, 6, 10, 40, false, true, false},    // batched columns
      {DType::I32, 1, 50, 64, false, true, false},    // integer columns
      {DType::F64, 3, 700, 33, false, true, false},   // f64 columns
  };
  for (const Case &k : cases) {
    std::vector<double> x = data(k.A * k.B * k.C, 7), xm = x;
    if (k.dt != DType::I32)
      xm[5] = NAN; // reduce_max propagates NaN
    Shape axes;
    if (k.ra)
      axes.push_back(0);
    if (k.rb)
      axes.push_back(1);
    if (k.rc)
      axes.push_back(2);
    Shape ys = {k.ra ? 1 : k.A, k.rb ? 1 : k.B, k.rc ? 1 : k.C};
    auto xt = HostTensor::of(k.dt, {k.A, k.B, k.C}, x);
    for (const char *kern : {"reduce_sum", "reduce_max"}) {
      bool isMax = std::string(kern) == "reduce_max";
      const std::vector<double> &in = isMax ? xm : x;
      auto r = run(kern, {HostTensor::of(k.dt, {k.A, k.B, k.C}, in)},
                   {{k.dt, ys}}, {aInts("axes", axes)});
      ASSERT_RUN_OK(r);
      expectEq(r.results[0].values(),
               ref(in, k.A, k.B, k.C, k.ra, k.rb, k.rc, isMax), kern);
    }
    if (k.dt == DType::F32) {
      auto r = run("reduce_mean", {xt}, {{k.dt, ys}}, {aInts("axes", axes)});
      ASSERT_RUN_OK(r);
      std::vector<double> want = ref(x, k.A, k.B, k.C, k.ra, k.rb, k.rc, false);
      double count = double(k.A * k.B * k.C) / double(want.size());
      for (double &w : want)
        w /= count;
      expectNear(r.results[0].values(), want, 1e-6, 1e-6, "reduce_mean");
    }
  }
}

// Row lengths that take each CUDA path (vectorised warp rows, scalar warp
// rows, block rows) against references computed here in double.
std::vector<double> rowRand(size_t n, unsigned seed, double lo, double hi) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(n);
  for (double &x : v)
    x = d(g);
  return v;
}

TEST_P(Conformance, SoftmaxRowPaths) {
  for (Shape s : {Shape{5, 64}, Shape{3, 37}, Shape{2, 1500}})
    for (DType dt : {DType::F32, DType::F16}) {
      int64_t R = s[0], D = s[1];
      auto x = HostTensor::of(dt, s, rowRand(size_t(R * D), 60, -4, 4));
      auto dy = HostTensor::of(dt, s, rowRand(size_t(R * D), 61, -1, 1));
      std::vector<double> xv = x.values(), gv = dy.values();
      std::vector<double> sm(xv.size()), lsm(xv.size()), dsm(xv.size()),
          dlsm(xv.size());
      for (int64_t r = 0; r < R; ++r) {
        double mx = -kInf, sum = 0;
        for (int64_t d = 0; d < D; ++d)
          mx = std::max(mx, xv[size_t(r * D + d)]);
        for (int64_t d = 0; d < D; ++d)
          sum += std::exp(xv[size_t(r * D + d)] - mx);
        for (int64_t d = 0; d < D; ++d) {
          size_t i = size_t(r * D + d);
          sm[i] = std::exp(xv[i] - mx) / sum;
          lsm[i] = xv[i] - mx - std::log(sum);
        }
      }
      // The gradients take Y rounded to the storage dtype.
      auto y = HostTensor::of(dt, s, sm), ly = HostTensor::of(dt, s, lsm);
      std::vector<double> yv = y.values(), lyv = ly.values();
      for (int64_t r = 0; r < R; ++r) {
        double gs = 0, gys = 0;
        for (int64_t d = 0; d < D; ++d) {
          size_t i = size_t(r * D + d);
          gs += gv[i];
          gys += gv[i] * yv[i];
        }
        for (int64_t d = 0; d < D; ++d) {
          size_t i = size_t(r * D + d);
          dsm[i] = yv[i] * (gv[i] - gys);
          dlsm[i] = gv[i] - std::exp(lyv[i]) * gs;
        }
      }
      double tol = dt == DType::F32 ? 1e-5 : 4e-3;
      std::string what =
          std::to_string(D) + (dt == DType::F32 ? " f32" : " f16");
      auto r = run("softmax", {x}, {{dt, s}});
      ASSERT_RUN_OK(r);
      expectNear(r.results[0].values(), sm, tol * 0.1, tol, what.c_str());
      r = run("log_softmax", {x}, {{dt, s}});
      ASSERT_RUN_OK(r);
      expectNear(r.results[0].values(), lsm, tol, tol, what.c_str());
      r = run("softmax_grad", {dy, y}, {{dt, s}});
      ASSERT_RUN_OK(r);
      expectNear(r.results[0].values(), dsm, tol, tol, what.c_str());
      r = run("log_softmax_grad", {dy, ly}, {{dt, s}});
      ASSERT_RUN_OK(r);
      expectNear(r.results[0].values(), dlsm, tol, tol, what.c_str());
    }
}

TEST_P(Conformance, LayerNormRowPaths) {
  for (Shape s : {Shape{40, 64}, Shape{9, 37}, Shape{3, 1100}})
    for (DType dt : {DType::F32, DType::F16}) {
      int64_t R = s[0], D = s[1];
      auto x = HostTensor::of(dt, s, rowRand(size_t(R * D), 70, -3, 3));
      auto dy = HostTensor::of(dt, s, rowRand(size_t(R * D), 71, -1, 1));
      auto sc = HostTensor::f32({D}, rowRand(size_t(D), 72, 0.5, 1.5));
      auto b = HostTensor::f32({D}, rowRand(size_t(D), 73, -1, 1));
      std::vector<double> xv = x.values(), gv = dy.values(), sv = sc.values(),
                          bv = b.values();
      std::vector<double> y(xv.size()), mean(static_cast<size_t>(R)),
          inv(static_cast<size_t>(R));
      for (int64_t r = 0; r < R; ++r) {
        double m = 0, v = 0;
        for (int64_t d = 0; d < D; ++d)
          m += xv[size_t(r * D + d)] / double(D);
        for (int64_t d = 0; d < D; ++d)
          v += std::pow(xv[size_t(r * D + d)] - m, 2) / double(D);
        mean[size_t(r)] = m;
        inv[size_t(r)] = 1 / std::sqrt(v + 1e-5);
        for (int64_t d = 0; d < D; ++d) {
          size_t i = size_t(r * D + d);
          y[i] = (xv[i] - m) * inv[size_t(r)] * sv[size_t(d)] + bv[size_t(d)];
        }
      }
      double tol = dt == DType::F32 ? 1e-4 : 2e-2;
      std::string what =
          std::to_string(D) + (dt == DType::F32 ? " f32" : " f16");
      auto r = run("layer_norm", {x, sc, b},
                   {{dt, s}, {DType::F32, {R, 1}}, {DType::F32, {R, 1}}});
      ASSERT_RUN_OK(r);
      expectNear(r.results[0].values(), y, tol, 0, what.c_str());
      expectNear(r.results[1].values(), mean, 1e-5, 0, what.c_str());
      expectNear(r.results[2].values(), inv, 1e-5, 1e-5, what.c_str());
      // Gradient with the f32 stash.
      HostTensor hm = r.results[1], hi = r.results[2];
      hm.role = hi.role = Role::Input;
      std::vector<double> mv = hm.values(), iv = hi.values();
      std::vector<double> dx(xv.size()), dS(static_cast<size_t>(D), 0),
          dB(static_cast<size_t>(D), 0);
      for (int64_t r0 = 0; r0 < R; ++r0) {
        double s1 = 0, s2 = 0;
        for (int64_t d = 0; d < D; ++d) {
          size_t i = size_t(r0 * D + d);
          double xh = (xv[i] - mv[size_t(r0)]) * iv[size_t(r0)];
          double dxh = gv[i] * sv[size_t(d)];
          s1 += dxh;
          s2 += dxh * xh;
          dS[size_t(d)] += gv[i] * xh;
          dB[size_t(d)] += gv[i];
        }
        for (int64_t d = 0; d < D; ++d) {
          size_t i = size_t(r0 * D + d);
          double xh = (xv[i] - mv[size_t(r0)]) * iv[size_t(r0)];
          double dxh = gv[i] * sv[size_t(d)];
          dx[i] = iv[size_t(r0)] * (dxh - s1 / double(D) - xh * s2 / double(D));
        }
      }
      r = run("layer_norm_grad", {dy, x, sc, hm, hi},
              {{dt, s}, {DType::F32, {D}}, {DType::F32, {D}}});
      ASSERT_RUN_OK(r);
      expectNear(r.results[0].values(), dx, tol, tol, what.c_str());
      expectNear(r.results[1].values(), dS, 1e-3, 1e-5, what.c_str());
      expectNear(r.results[2].values(), dB, 1e-3, 1e-5, what.c_str());
    }
}

// Channels of 20000 values: the CUDA statistics split each channel into
// parts; forward (training) and backward against double references.
TEST_P(Conformance, BatchNormLargeChannels) {
  const int64_t N = 4, C = 2, S = 5000;
  Shape s = {N, C, S};
  auto x = HostTensor::f32(s, rowRand(size_t(N * C * S), 90, -2, 3));
  auto dy = HostTensor::f32(s, rowRand(size_t(N * C * S), 91, -1, 1));
  auto sc = HostTensor::f32({C}, {0.7, 1.3});
  auto b = HostTensor::f32({C}, {0.1, -0.2});
  auto rm = HostTensor::f32({C}, {0.5, -0.5}),
       rv = HostTensor::f32({C}, {2, 3});
  std::vector<double> xv = x.values(), gv = dy.values();
  std::vector<double> y(xv.size()), dx(xv.size()), wantRm, wantRv, dS, dB;
  const double eps = 1e-5, mom = 0.9, cnt = double(N * S);
  for (int64_t c = 0; c < C; ++c) {
    auto at = [&](int64_t n, int64_t i) { return size_t((n * C + c) * S + i); };
    double m = 0, v = 0, sdy = 0, sdyx = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i)
        m += xv[at(n, i)] / cnt;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i)
        v += std::pow(xv[at(n, i)] - m, 2) / cnt;
    double inv = 1 / std::sqrt(v + eps);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        double xh = (xv[at(n, i)] - m) * inv;
        y[at(n, i)] = xh * sc.get(size_t(c)) + b.get(size_t(c));
        sdy += gv[at(n, i)];
        sdyx += gv[at(n, i)] * xh;
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        double xh = (xv[at(n, i)] - m) * inv;
        dx[at(n, i)] = sc.get(size_t(c)) * inv *
                       (gv[at(n, i)] - sdy / cnt - xh * sdyx / cnt);
      }
    wantRm.push_back(rm.get(size_t(c)) * mom + m * (1 - mom));
    wantRv.push_back(rv.get(size_t(c)) * mom + v * (1 - mom));
    dS.push_back(sdyx);
    dB.push_back(sdy);
  }
  auto r = run("batch_norm", {x, sc, b, rm, rv},
               {{DType::F32, s}, {DType::F32, {C}}, {DType::F32, {C}}},
               {aI("training_mode", 1), aF("momentum", mom)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), y, 1e-4, 1e-4, "Y");
  expectNear(r.results[1].values(), wantRm, 1e-5, 1e-5, "running_mean");
  expectNear(r.results[2].values(), wantRv, 1e-5, 1e-5, "running_var");
  r = run("batch_norm_grad", {dy, x, sc},
          {{DType::F32, s}, {DType::F32, {C}}, {DType::F32, {C}}});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), dx, 1e-5, 1e-4, "dX");
  expectNear(r.results[1].values(), dS, 1e-2, 1e-4, "dscale");
  expectNear(r.results[2].values(), dB, 1e-2, 1e-4, "dB");
}

} // namespace
} // namespace mp::rt::test
