//===- Conformance.h - the backend-parameterized test fixture ---*- C++ -*-===//
//
// Every kernel test is a TEST_P of `Conformance`, instantiated once per
// backend in ConformanceMain.cpp. A backend that is not built, or has no
// device, skips with the reason.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_TEST_CONFORMANCE_H
#define MP_RT_TEST_CONFORMANCE_H

#include "TestUtil.h"

#include <gtest/gtest.h>
#include <memory>

namespace mp::rt::test {

class Conformance : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    session = std::make_unique<Session>(GetParam());
    if (!session->available())
      GTEST_SKIP() << "backend '" << GetParam()
                   << "' unavailable: " << session->createError;
  }
  RunResult run(const std::string &kernel, const std::vector<HostTensor> &ops,
                const std::vector<ResultSpec> &results,
                const std::vector<Attribute> &attrs = {}) {
    return session->runKernel(kernel, ops, results, attrs);
  }
  /// Runs and asserts success, returning result 0's values.
  std::unique_ptr<Session> session;
};

#define ASSERT_RUN_OK(r) ASSERT_EQ((r).status, MP_OK) << (r).error

inline void expectNear(const std::vector<double> &got,
                       const std::vector<double> &want, double atol,
                       double rtol = 0, const char *what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " [" << i << "]";
      continue;
    }
    if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << what << " [" << i << "]";
      continue;
    }
    EXPECT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i]))
        << what << " [" << i << "]";
  }
}

inline void expectEq(const std::vector<double> &got,
                     const std::vector<double> &want, const char *what = "") {
  expectNear(got, want, 0, 0, what);
}

} // namespace mp::rt::test

#endif // MP_RT_TEST_CONFORMANCE_H
