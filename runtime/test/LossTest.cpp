//===- LossTest.cpp - softmax_cross_entropy_loss and nll_loss -------------===//
#include "Conformance.h"

#include <limits>

namespace mp::rt::test {
namespace {

// scores N=3, C=4 (no spatial dims), labels {0, 3, 2}.
const std::vector<double> kScores = {1, 2, 3, 4, -1, 0, 0.5, 2, 3, 1, 0, -2};
const std::vector<double> kLabels = {0, 3, 2};
const std::vector<double> kWeights = {0.5, 1, 2, 1.5};

std::vector<double> logSoftmaxRows(const std::vector<double> &s, int N, int C) {
  std::vector<double> lp(s.size());
  for (int n = 0; n < N; ++n) {
    double mx = -1e300, sum = 0;
    for (int c = 0; c < C; ++c)
      mx = std::max(mx, s[size_t(n * C + c)]);
    for (int c = 0; c < C; ++c)
      sum += std::exp(s[size_t(n * C + c)] - mx);
    for (int c = 0; c < C; ++c)
      lp[size_t(n * C + c)] = s[size_t(n * C + c)] - mx - std::log(sum);
  }
  return lp;
}

TEST_P(Conformance, SoftmaxCrossEntropyReductions) {
  auto lp = logSoftmaxRows(kScores, 3, 4);
  std::vector<double> per;
  for (int n = 0; n < 3; ++n)
    per.push_back(-lp[size_t(n * 4 + int(kLabels[size_t(n)]))]);
  auto scores = HostTensor::f32({3, 4}, kScores);
  auto labels = HostTensor::i64({3}, kLabels);

  auto r = run("softmax_cross_entropy_loss", {scores, labels},
               {{DType::F32, {}}, {DType::F32, {3, 4}}});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), {(per[0] + per[1] + per[2]) / 3}, 1e-6);
  expectNear(r.results[1].values(), lp, 1e-6);
  r = run("softmax_cross_entropy_loss", {scores, labels}, {{DType::F32, {}}},
          {aS("reduction", "sum")});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), {per[0] + per[1] + per[2]}, 1e-5);
  r = run("softmax_cross_entropy_loss", {scores, labels}, {{DType::F32, {3}}},
          {aS("reduction", "none")});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), per, 1e-6);
  // Weighted mean: sum(w[l] * loss) / sum(w[l]).
  r = run("softmax_cross_entropy_loss",
          {scores, labels, HostTensor::f32({4}, kWeights)}, {{DType::F32, {}}});
  ASSERT_RUN_OK(r);
  double wl = 0.5 * per[0] + 1.5 * per[1] + 2 * per[2];
  expectNear(r.results[0].values(), {wl / (0.5 + 1.5 + 2)}, 1e-6);
  // ignore_index drops label 3 from the sum and the count.
  r = run("softmax_cross_entropy_loss", {scores, labels}, {{DType::F32, {}}},
          {aI("ignore_index", 3)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), {(per[0] + per[2]) / 2}, 1e-6);
  r = run("softmax_cross_entropy_loss", {scores, labels}, {{DType::F32, {3}}},
          {aI("ignore_index", 3), aS("reduction", "none")});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), {per[0], 0, per[2]}, 1e-6);
  // Out-of-range labels are a run-time error.
  r = run("softmax_cross_entropy_loss",
          {scores, HostTensor::i64({3}, {0, 4, 1})}, {{DType::F32, {}}});
  EXPECT_EQ(r.status, MP_ERROR_EXECUTION) << r.error;
}

TEST_P(Conformance, SoftmaxCrossEntropySpatialAndLowPrecision) {
  // N=1, C=2, D=3: class axis is 1.
  std::vector<double> s = {0, 1, 2, 2, 1, 0};
  auto labels = HostTensor::of(DType::I32, {1, 3}, {1, 0, 1});
  auto r =
      run("softmax_cross_entropy_loss", {HostTensor::f32({1, 2, 3}, s), labels},
          {{DType::F32, {1, 3}}}, {aS("reduction", "none")});
  ASSERT_RUN_OK(r);
  double l2 = std::log(1 + std::exp(-2.0)), l0 = std::log(2.0);
  expectNear(r.results[0].values(), {l2, l0, 2 + l2}, 1e-6);
  // f16 scores: computed in f32, rounded once.
  r = run("softmax_cross_entropy_loss",
          {HostTensor::of(DType::F16, {1, 2, 3}, s), labels},
          {{DType::F16, {}}});
  ASSERT_RUN_OK(r);
  HostTensor want =
      HostTensor::of(DType::F16, {1}, {float((2 + l2 + l0 + l2) / 3)});
  expectEq(r.results[0].values(), want.values());
}

TEST_P(Conformance, NllLoss) {
  auto lp = logSoftmaxRows(kScores, 3, 4);
  auto input = HostTensor::f32({3, 4}, lp);
  auto labels = HostTensor::i64({3}, kLabels);
  auto r = run("nll_loss", {input, labels, HostTensor::f32({4}, kWeights)},
               {{DType::F32, {}}});
  ASSERT_RUN_OK(r);
  double wl = -(0.5 * lp[0] + 1.5 * lp[7] + 2 * lp[10]);
  expectNear(r.results[0].values(), {wl / 4}, 1e-6);
  r = run("nll_loss", {input, labels}, {{DType::F32, {3}}},
          {aS("reduction", "none"), aI("ignore_index", 0)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), {0, -lp[7], -lp[10]}, 1e-6);
  r = run("nll_loss", {input, labels},
          {{DType::F32, {}}, {DType::F32, {3, 4}}});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM); // nll has one result
}

} // namespace
} // namespace mp::rt::test
