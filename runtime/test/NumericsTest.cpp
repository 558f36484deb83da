//===- NumericsTest.cpp - mp_rt_set_check_numerics ------------------------===//
//
// Numerics checking through the C ABI: the cpu backend stops at the first
// instruction producing NaN/inf and names its index, kernel and node (the
// instruction's "name" attribute); flags select NaN and/or inf; checking
// off runs through; backends that cannot check say so (UNSUPPORTED).
//
//===----------------------------------------------------------------------===//
#include "Conformance.h"

#include <cmath>
#include <limits>

namespace mp::rt::test {
namespace {

/// forward: h = x @ w ("fc/MatMul"), z = h + b ("fc/Add"), y = relu(z)
/// ("relu"), with node names on every instruction.
Program namedAffineRelu() {
  Program p = buildAffineRelu();
  const char *names[] = {"fc/MatMul", "fc/Add", "relu"};
  for (size_t i = 0; i < 3; ++i)
    p.functions[0].body[i].attrs.push_back(aS("name", names[i]));
  return p;
}

HostTensor inputWith(double x01) {
  return HostTensor::f32({2, 3}, {1, x01, 3, 4, 5, 6});
}

TEST_P(Conformance, CheckNumericsNamesTheFirstInstruction) {
  mp_status s =
      mp_rt_set_check_numerics(session->get(), MP_CHECK_NAN | MP_CHECK_INF);
  if (GetParam() != "cpu") {
    // Only the reference backend checks; the others must say so.
    EXPECT_EQ(s, MP_ERROR_UNSUPPORTED);
    EXPECT_NE(session->error().find("cannot check numerics"), std::string::npos)
        << session->error();
    return;
  }
  ASSERT_EQ(s, MP_OK) << session->error();
  ASSERT_EQ(session->load(namedAffineRelu()), MP_OK) << session->error();
  // Finite data runs through.
  ASSERT_EQ(session->write("x", inputWith(2)), MP_OK);
  ASSERT_EQ(mp_rt_run(session->get(), "forward"), MP_OK) << session->error();
  // A NaN input: the matmul is the first instruction to produce one.
  ASSERT_EQ(session->write("x", inputWith(std::nan(""))), MP_OK);
  EXPECT_EQ(mp_rt_run(session->get(), "forward"), MP_ERROR_NONFINITE);
  std::string e = session->error();
  EXPECT_NE(e.find("instruction 0"), std::string::npos) << e;
  EXPECT_NE(e.find("kernel 'matmul'"), std::string::npos) << e;
  EXPECT_NE(e.find("node 'fc/MatMul'"), std::string::npos) << e;
  EXPECT_NE(e.find("NaN"), std::string::npos) << e;
  EXPECT_STREQ(mp_status_string(MP_ERROR_NONFINITE), "non-finite value");
}

TEST_P(Conformance, CheckNumericsFlags) {
  if (GetParam() != "cpu")
    GTEST_SKIP() << "only the cpu backend checks numerics";
  mp_context *ctx = session->get();
  ASSERT_EQ(session->load(namedAffineRelu()), MP_OK) << session->error();
  double inf = std::numeric_limits<double>::infinity();
  ASSERT_EQ(session->write("x", inputWith(inf)), MP_OK);
  // Off (the default): inf flows through, the run succeeds.
  EXPECT_EQ(mp_rt_run(ctx, "forward"), MP_OK) << session->error();
  // NaN only: the infs of this input are allowed... until inf - inf or
  // 0 * inf makes a NaN (x row 0 times w column 2 has a 0 weight).
  ASSERT_EQ(mp_rt_set_check_numerics(ctx, MP_CHECK_NAN), MP_OK);
  EXPECT_EQ(mp_rt_run(ctx, "forward"), MP_ERROR_NONFINITE);
  EXPECT_NE(session->error().find("instruction 0"), std::string::npos)
      << session->error();
  // Inf too.
  ASSERT_EQ(mp_rt_set_check_numerics(ctx, MP_CHECK_INF), MP_OK);
  EXPECT_EQ(mp_rt_run(ctx, "forward"), MP_ERROR_NONFINITE);
  EXPECT_NE(session->error().find("inf"), std::string::npos)
      << session->error();
  // Off again; bad flags are rejected.
  ASSERT_EQ(mp_rt_set_check_numerics(ctx, 0), MP_OK);
  EXPECT_EQ(mp_rt_run(ctx, "forward"), MP_OK) << session->error();
  EXPECT_EQ(mp_rt_set_check_numerics(ctx, 8), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_set_check_numerics(nullptr, 1), MP_ERROR_INVALID_ARGUMENT);
}

TEST_P(Conformance, NameAttributeIsAccepted) {
  // Every backend accepts (and ignores when running) the node name.
  ASSERT_EQ(session->load(namedAffineRelu()), MP_OK) << session->error();
  ASSERT_EQ(session->write("x", inputWith(2)), MP_OK);
  ASSERT_EQ(mp_rt_run(session->get(), "forward"), MP_OK) << session->error();
  ASSERT_EQ(mp_rt_synchronize(session->get()), MP_OK) << session->error();
}

} // namespace
} // namespace mp::rt::test
