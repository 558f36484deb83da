//===- NormTest.cpp - softmax, norms, pooling, reductions -----------------===//
#include "Conformance.h"

#include <limits>

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
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2048});
  r = run("reduce_sum", {x}, {{DType::F32, {2}}}, {aInts("axes", {2})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

} // namespace
} // namespace mp::rt::test
