//===- LossTest.cpp - softmax_cross_entropy_loss and nll_loss -------------===//
#include "Conformance.h"

#include <limits>
#include <random>
#include <string>

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

// Many classes (the block-per-row path on CUDA, rows not 16-byte aligned),
// weights, ignore_index and every reduction, forward and backward.
TEST_P(Conformance, SoftmaxCrossEntropyLongRows) {
  const int64_t N = 6, C = 301;
  std::mt19937 g(80);
  std::uniform_real_distribution<double> u(-4, 4), uw(0.5, 2);
  std::vector<double> xs(static_cast<size_t>(N * C)),
      ws(static_cast<size_t>(C));
  for (double &v : xs)
    v = u(g);
  for (double &v : ws)
    v = uw(g);
  const std::vector<double> lab = {0, 300, 17, 5, 150, 299};
  auto labels = HostTensor::i64({N}, lab);
  for (DType dt : {DType::F32, DType::F16}) {
    const char *what = dt == DType::F32 ? "f32" : "f16";
    auto x = HostTensor::of(dt, {N, C}, xs), w = HostTensor::of(dt, {C}, ws);
    std::vector<double> xv = x.values(), wv = w.values();
    std::vector<double> lp(xv.size()), per(static_cast<size_t>(N));
    double tot = 0, wsum = 0;
    for (int64_t n = 0; n < N; ++n) {
      double mx = -1e300, sum = 0;
      for (int64_t k = 0; k < C; ++k)
        mx = std::max(mx, xv[size_t(n * C + k)]);
      for (int64_t k = 0; k < C; ++k)
        sum += std::exp(xv[size_t(n * C + k)] - mx);
      for (int64_t k = 0; k < C; ++k)
        lp[size_t(n * C + k)] = xv[size_t(n * C + k)] - mx - std::log(sum);
      int64_t l = int64_t(lab[size_t(n)]);
      if (l == 5)
        continue; // ignore_index
      per[size_t(n)] = -lp[size_t(n * C + l)] * wv[size_t(l)];
      tot += per[size_t(n)];
      wsum += wv[size_t(l)];
    }
    double tol = dt == DType::F32 ? 1e-5 : 5e-3;
    std::vector<Attribute> at = {aI("ignore_index", 5)};
    auto r = run("softmax_cross_entropy_loss", {x, labels, w},
                 {{DType::F32, {}}, {dt, {N, C}}}, at);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), {tot / wsum}, 1e-5, 1e-5, what);
    expectNear(r.results[1].values(), lp, tol, tol, what);
    at.push_back(aS("reduction", "none"));
    r = run("softmax_cross_entropy_loss", {x, labels, w}, {{DType::F32, {N}}},
            at);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), per, 1e-5, 1e-5, what);
    at.back() = aS("reduction", "sum");
    r = run("softmax_cross_entropy_loss", {x, labels, w}, {{DType::F32, {}}},
            at);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), {tot}, 1e-4, 1e-5, what);
    // nll_loss of the log-probabilities (rounded to the dtype).
    auto lpt = HostTensor::of(dt, {N, C}, lp);
    std::vector<double> lpv = lpt.values();
    double ntot = 0;
    for (int64_t n = 0; n < N; ++n) {
      int64_t l = int64_t(lab[size_t(n)]);
      if (l != 5)
        ntot -= lpv[size_t(n * C + l)] * wv[size_t(l)];
    }
    r = run("nll_loss", {lpt, labels, w}, {{DType::F32, {}}}, at);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), {ntot}, 1e-4, 1e-5, what);
    // Gradients for mean: w[l] * dloss / wsum per row.
    for (const char *k : {"softmax_cross_entropy_loss_grad", "nll_loss_grad"}) {
      bool sce = std::string(k) == "softmax_cross_entropy_loss_grad";
      std::vector<double> want(lpv.size());
      for (int64_t n = 0; n < N; ++n) {
        int64_t l = int64_t(lab[size_t(n)]);
        double f = l == 5 ? 0 : wv[size_t(l)] * 1.5 / wsum;
        for (int64_t c = 0; c < C; ++c) {
          double hot = l != 5 && c == l ? 1 : 0;
          want[size_t(n * C + c)] =
              sce ? (std::exp(lpv[size_t(n * C + c)]) - hot) * f : -hot * f;
        }
      }
      r = run(k, {HostTensor::f32({}, {1.5}), lpt, labels, w}, {{dt, {N, C}}},
              {aI("ignore_index", 5)});
      ASSERT_RUN_OK(r);
      expectNear(r.results[0].values(), want, tol * 0.1, tol, k);
    }
  }
}

} // namespace
} // namespace mp::rt::test
