//===- ElementwiseTest.cpp - unary, binary, variadic, where, clip, cast ---===//
#include "Conformance.h"

#include <functional>
#include <limits>

namespace mp::rt::test {
namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

struct UnaryCase {
  const char *kernel;
  std::function<double(double)> ref;
  std::vector<Attribute> attrs;
};

std::vector<UnaryCase> unaryCases() {
  return {
      {"neg", [](double x) { return -x; }, {}},
      {"abs", [](double x) { return std::fabs(x); }, {}},
      {"sqrt", [](double x) { return std::sqrt(x); }, {}},
      {"reciprocal", [](double x) { return 1 / x; }, {}},
      {"exp", [](double x) { return std::exp(x); }, {}},
      {"log", [](double x) { return std::log(x); }, {}},
      {"erf", [](double x) { return std::erf(x); }, {}},
      {"tanh", [](double x) { return std::tanh(x); }, {}},
      {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, {}},
      {"relu", [](double x) { return x > 0 ? x : 0; }, {}},
      {"leaky_relu",
       [](double x) { return x >= 0 ? x : 0.2 * x; },
       {aF("alpha", 0.2)}},
      {"leaky_relu", [](double x) { return x >= 0 ? x : 0.01 * x; }, {}},
      {"gelu",
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
       {}},
      {"gelu",
       [](double x) {
         return 0.5 * x *
                (1 +
                 std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
       },
       {aS("approximate", "tanh")}},
  };
}

const std::vector<double> kUnaryIn = {-3.5, -1, -0.25, 0, 0.3, 1, 2.5, 7};

TEST_P(Conformance, UnaryF32MatchesDoubleReference) {
  for (const UnaryCase &uc : unaryCases()) {
    auto r = run(uc.kernel, {HostTensor::f32({2, 4}, kUnaryIn)},
                 {{DType::F32, {2, 4}}}, uc.attrs);
    ASSERT_RUN_OK(r);
    std::vector<double> want;
    for (double x : kUnaryIn)
      want.push_back(uc.ref(x));
    expectNear(r.results[0].values(), want, 1e-6, 2e-6, uc.kernel);
  }
}

TEST_P(Conformance, UnaryLowPrecisionRoundsOnce) {
  // f16 / bf16 compute in f32 and round the result once: the result must
  // be the rounding of the (accurate) value, give or take one ulp of f32
  // libm error that can flip a rounding only at exact ties (not hit here).
  for (DType dt : {DType::F16, DType::BF16}) {
    for (const UnaryCase &uc : unaryCases()) {
      HostTensor x = HostTensor::of(dt, {8}, kUnaryIn);
      auto r = run(uc.kernel, {x}, {{dt, {8}}}, uc.attrs);
      ASSERT_RUN_OK(r);
      HostTensor want = HostTensor::of(dt, {8}, {});
      for (size_t i = 0; i < 8; ++i)
        want.set(i, float(uc.ref(x.get(i))));
      expectEq(r.results[0].values(), want.values(), uc.kernel);
    }
  }
}

TEST_P(Conformance, UnaryIntegerAndBool) {
  auto x = HostTensor::of(DType::I32, {4}, {-3, 0, 5, -7});
  auto r = run("neg", {x}, {{DType::I32, {4}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {3, 0, -5, 7});
  r = run("abs", {x}, {{DType::I32, {4}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {3, 0, 5, 7});
  r = run("relu", {x}, {{DType::I32, {4}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 0, 5, 0});
  r = run("not", {HostTensor::boolean({3}, {1, 0, 1})}, {{DType::Bool, {3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 1, 0});
  r = run("identity", {x}, {{DType::I32, {4}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-3, 0, 5, -7});
  // exp of an integer is not an ONNX op: rejected at load time.
  r = run("exp", {x}, {{DType::I32, {4}}});
  EXPECT_EQ(r.status, MP_ERROR_UNSUPPORTED) << r.error;
}

TEST_P(Conformance, BinaryBroadcasting) {
  auto a = HostTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto b = HostTensor::f32({3}, {10, 20, 30});
  auto r = run("add", {a, b}, {{DType::F32, {2, 3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {11, 22, 33, 14, 25, 36});

  auto col = HostTensor::f32({2, 1}, {1, 2});
  auto row = HostTensor::f32({1, 3}, {10, 20, 30});
  r = run("sub", {col, row}, {{DType::F32, {2, 3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-9, -19, -29, -8, -18, -28});
  r = run("mul", {HostTensor::f32({}, {2}), a}, {{DType::F32, {2, 3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2, 4, 6, 8, 10, 12});
  r = run("div", {a, HostTensor::f32({1}, {4})}, {{DType::F32, {2, 3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0.25, 0.5, 0.75, 1, 1.25, 1.5});
  // 3-D broadcast against 2-D.
  auto c3 = HostTensor::f32({2, 1, 2}, {1, 2, 3, 4});
  auto c2 = HostTensor::f32({3, 1}, {100, 200, 300});
  r = run("add", {c3, c2}, {{DType::F32, {2, 3, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(),
           {101, 102, 201, 202, 301, 302, 103, 104, 203, 204, 303, 304});
  // Incompatible shapes and a wrong result shape fail at load.
  r = run("add", {a, HostTensor::f32({2}, {1, 2})}, {{DType::F32, {2, 3}}});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
  EXPECT_NE(r.error.find("broadcast"), std::string::npos) << r.error;
  r = run("add", {a, b}, {{DType::F32, {3, 2}}});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

TEST_P(Conformance, BinaryIntegerSemantics) {
  auto a = HostTensor::i64({4}, {-7, 7, 9, -9});
  auto b = HostTensor::i64({4}, {2, 2, -4, -4});
  auto r = run("div", {a, b}, {{DType::I64, {4}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-3, 3, -2, 2}); // truncation
  r = run("div", {a, HostTensor::i64({1}, {0})}, {{DType::I64, {4}}});
  EXPECT_EQ(r.status, MP_ERROR_EXECUTION) << r.error;
  r = run("mul",
          {HostTensor::of(DType::I8, {2}, {100, -100}),
           HostTensor::of(DType::I8, {2}, {2, 2})},
          {{DType::I8, {2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-56, 56}); // wraps like numpy
}

TEST_P(Conformance, PowTakesAnyExponentType) {
  auto r =
      run("pow",
          {HostTensor::f32({3}, {2, 9, -2}), HostTensor::i64({3}, {3, 0, 2})},
          {{DType::F32, {3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {8, 1, 4});
  r = run("pow", {HostTensor::f32({2}, {4, 2}), HostTensor::f32({}, {0.5})},
          {{DType::F32, {2}}});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), {2, std::sqrt(2.0)}, 1e-6);
}

TEST_P(Conformance, ComparisonsAndLogic) {
  auto a = HostTensor::f32({4}, {1, 2, 3, kNaN});
  auto b = HostTensor::f32({}, {2});
  struct {
    const char *k;
    std::vector<double> want;
  } cases[] = {{"equal", {0, 1, 0, 0}},
               {"less", {1, 0, 0, 0}},
               {"less_equal", {1, 1, 0, 0}},
               {"greater", {0, 0, 1, 0}},
               {"greater_equal", {0, 1, 1, 0}}};
  for (auto &c : cases) {
    auto r = run(c.k, {a, b}, {{DType::Bool, {4}}});
    ASSERT_RUN_OK(r);
    expectEq(r.results[0].values(), c.want, c.k);
  }
  auto r =
      run("equal",
          {HostTensor::i64({3}, {1, 5, 7}), HostTensor::i64({3}, {1, 4, 7})},
          {{DType::Bool, {3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 0, 1});
  auto p = HostTensor::boolean({2, 2}, {0, 0, 1, 1});
  auto q = HostTensor::boolean({2}, {0, 1});
  r = run("and", {p, q}, {{DType::Bool, {2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 0, 0, 1});
  r = run("or", {p, q}, {{DType::Bool, {2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 1, 1, 1});
}

TEST_P(Conformance, VariadicMinMaxSum) {
  auto a = HostTensor::f32({2, 2}, {1, 5, kNaN, -1});
  auto b = HostTensor::f32({2}, {3, 2});
  auto c = HostTensor::f32({}, {0});
  auto r = run("min", {a, b, c}, {{DType::F32, {2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 0, kNaN, -1});
  r = run("max", {a, b, c}, {{DType::F32, {2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {3, 5, kNaN, 2});
  r = run("sum", {a, b, c}, {{DType::F32, {2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {4, 7, kNaN, 1});
  r = run("sum", {a}, {{DType::F32, {2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 5, kNaN, -1});
  r = run("max",
          {HostTensor::of(DType::I32, {3}, {1, -5, 9}),
           HostTensor::of(DType::I32, {3}, {2, -6, 8})},
          {{DType::I32, {3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2, -5, 9});
  // f16 sum: computed in f32, rounded once (2048 + 1 + 1 = 2050 exactly).
  r = run("sum",
          {HostTensor::of(DType::F16, {1}, {2048}),
           HostTensor::of(DType::F16, {1}, {1}),
           HostTensor::of(DType::F16, {1}, {1})},
          {{DType::F16, {1}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2050});
}

TEST_P(Conformance, WhereAndClip) {
  auto cond = HostTensor::boolean({2, 1}, {1, 0});
  auto x = HostTensor::f32({3}, {1, 2, 3});
  auto y = HostTensor::f32({}, {-1});
  auto r = run("where", {cond, x, y}, {{DType::F32, {2, 3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 2, 3, -1, -1, -1});
  r = run("where",
          {HostTensor::boolean({2}, {0, 1}), HostTensor::i64({2}, {5, 6}),
           HostTensor::i64({2}, {7, 8})},
          {{DType::I64, {2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {7, 6});

  auto v = HostTensor::f32({5}, {-2, -0.5, 0.5, 2, kNaN});
  r = run("clip", {v}, {{DType::F32, {5}}}, {aF("min", -1), aF("max", 1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-1, -0.5, 0.5, 1, kNaN});
  r = run("clip", {v}, {{DType::F32, {5}}}, {aF("min", 0)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 0, 0.5, 2, kNaN});
  r = run("clip", {v}, {{DType::F32, {5}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-2, -0.5, 0.5, 2, kNaN});
  r = run("clip", {HostTensor::of(DType::I32, {3}, {-5, 3, 9})},
          {{DType::I32, {3}}}, {aF("min", 0), aF("max", 6)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 3, 6});
}

//===----------------------------------------------------------------------===//
// cast and the f16 / bf16 rounding edge cases
//===----------------------------------------------------------------------===//

std::vector<uint16_t> castBits(Conformance &t, RunResult r) {
  std::vector<uint16_t> bits;
  for (size_t i = 0; i < r.results[0].bytes.size() / 2; ++i)
    bits.push_back(r.results[0].bits16(i));
  return bits;
}

TEST_P(Conformance, CastF32ToF16Rounding) {
  const double ulp1 = std::ldexp(1.0, -10); // f16 ulp at 1.0
  std::vector<double> in = {
      1.0 + ulp1 / 2,        // tie -> even (1.0)
      1.0 + 3 * ulp1 / 2,    // tie -> even (1 + 2 ulp)
      1.0 + ulp1 / 2 + 1e-7, // above the tie -> up
      65504.0,               // max finite
      65519.99,              // below the overflow tie: rounds to max
      65520.0,               // the tie at max: rounds to inf
      -1e10,                 // overflow -> -inf
      std::ldexp(1.0, -24),  // smallest subnormal
      std::ldexp(1.0, -25),  // half of it: tie -> 0
      std::ldexp(1.5, -25),  // above half: smallest subnormal
      std::ldexp(1.0, -14) - std::ldexp(1.0, -25), // rounds up to min normal
      -0.0,
      kInf,
      kNaN,
  };
  auto r = run("cast", {HostTensor::f32({int64_t(in.size())}, in)},
               {{DType::F16, {int64_t(in.size())}}}, {aS("to", "f16")});
  ASSERT_RUN_OK(r);
  std::vector<uint16_t> b = castBits(*this, r);
  std::vector<uint16_t> want = {0x3C00, 0x3C02, 0x3C01, 0x7BFF, 0x7BFF,
                                0x7C00, 0xFC00, 0x0001, 0x0000, 0x0001,
                                0x0400, 0x8000, 0x7C00};
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(b[i], want[i]) << "input " << in[i];
  EXPECT_EQ(b.back() & 0x7C00, 0x7C00);
  EXPECT_NE(b.back() & 0x03FF, 0); // NaN stays NaN
}

TEST_P(Conformance, CastF32ToBF16Rounding) {
  const double ulp1 = std::ldexp(1.0, -7);
  std::vector<double> in = {1.0 + ulp1 / 2,
                            1.0 + 3 * ulp1 / 2,
                            3.3895313892515355e38, // max bf16
                            3.4e38,                // rounds to inf
                            std::ldexp(1.0, -133), // smallest bf16 subnormal
                            std::ldexp(1.0, -134), // tie -> 0
                            -0.0,
                            kInf,
                            kNaN};
  auto r = run("cast", {HostTensor::f32({int64_t(in.size())}, in)},
               {{DType::BF16, {int64_t(in.size())}}});
  ASSERT_RUN_OK(r);
  std::vector<uint16_t> b = castBits(*this, r);
  std::vector<uint16_t> want = {0x3F80, 0x3F82, 0x7F7F, 0x7F80,
                                0x0001, 0x0000, 0x8000, 0x7F80};
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(b[i], want[i]) << "input " << in[i];
  EXPECT_EQ(b.back() & 0x7F80, 0x7F80);
  EXPECT_NE(b.back() & 0x007F, 0);
}

TEST_P(Conformance, CastAcrossTypes) {
  // f16 -> f32 is exact, including subnormals.
  auto h = HostTensor::of(DType::F16, {3}, {std::ldexp(1.0, -24), 65504, -2.5});
  auto r = run("cast", {h}, {{DType::F32, {3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {std::ldexp(1.0, -24), 65504, -2.5});
  // f64 -> f16 rounds once: 1 + 2^-11 + 2^-40 is just above the tie, so it
  // rounds up, while rounding through f32 first would round to the tie and
  // then to even (1.0).
  r = run("cast",
          {HostTensor::of(DType::F64, {1},
                          {1 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)})},
          {{DType::F16, {1}}});
  ASSERT_RUN_OK(r);
  EXPECT_EQ(r.results[0].bits16(0), 0x3C01);
  // float -> int truncates toward zero; -> bool is x != 0.
  auto f = HostTensor::f32({5}, {-2.7, 2.7, -0.5, 0, 1e20});
  r = run("cast", {f}, {{DType::I32, {5}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-2, 2, 0, 0, 2147483647});
  r = run("cast", {f}, {{DType::Bool, {5}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 1, 1, 0, 1});
  // int -> f16 rounds (2049 -> 2048, 70000 -> inf).
  r = run("cast", {HostTensor::i64({2}, {2049, 70000})}, {{DType::F16, {2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2048, kInf});
  // bf16 -> f16 goes through f32 exactly and rounds once.
  r = run("cast", {HostTensor::of(DType::BF16, {2}, {1.0078125, 1e6})},
          {{DType::F16, {2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1.0078125, kInf});
  // The optional `to` attribute must agree with the result dtype.
  r = run("cast", {f}, {{DType::I32, {5}}}, {aS("to", "f16")});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

TEST_P(Conformance, FusedElementwiseMatchesOpByOp) {
  // cast(x) + y -> gelu(tanh) -> 3 - prev (bf16 step) -> leaky_relu -> f16:
  // the fused chain must equal running each kernel on its own, bit for bit,
  // broadcasting y [3] and the scalar against x [2, 3].
  auto x = HostTensor::of(DType::F16, {2, 3}, {-2.5, -0.7, 0, 0.33, 1.9, 4});
  auto y = HostTensor::f32({3}, {0.125, -1.3, 2.7});
  auto three = HostTensor::f32({}, {3});
  auto step = [&](const char *k, std::vector<HostTensor> in, DType dt,
                  std::vector<Attribute> attrs = {}) {
    auto r = run(k, std::move(in), {{dt, {2, 3}}}, std::move(attrs));
    EXPECT_EQ(r.status, MP_OK) << k << ": " << r.error;
    return r.results.at(0);
  };
  HostTensor t = step("cast", {x}, DType::F32);
  t = step("add", {t, y}, DType::F32);
  t = step("gelu", {t}, DType::F32, {aS("approximate", "tanh")});
  t = step("cast", {t}, DType::BF16);
  t = step("sub", {HostTensor::of(DType::BF16, {}, {3}), t}, DType::BF16);
  t = step("leaky_relu", {t}, DType::BF16, {aF("alpha", 0.25)});
  t = step("cast", {t}, DType::F16);

  std::vector<Attribute> attrs = {
      aS("ops", "cast,add,gelu,cast,sub,leaky_relu,cast"),
      aInts("args", {0, -2, -1, 1, -1, -2, -1, -2, 2, -1, -1, -2, -1, -2}),
      Attribute::ofFloats("alphas", {0, 0, 1, 0, 0, 0.25, 0}),
      aS("types", "f32,f32,f32,bf16,bf16,bf16,f16")};
  auto r = run("fused_elementwise", {x, y, three}, {{DType::F16, {2, 3}}},
               attrs);
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), t.values());

  // Broadcast operands across block boundaries: [3, 700] * [3, 1] + [700].
  std::vector<double> big, col = {0.5, -1.25, 2}, row;
  for (int i = 0; i < 3 * 700; ++i)
    big.push_back(std::sin(0.37 * i));
  for (int i = 0; i < 700; ++i)
    row.push_back(std::cos(0.11 * i));
  auto b = HostTensor::f32({3, 700}, big), cl = HostTensor::f32({3, 1}, col),
       rw = HostTensor::f32({700}, row);
  auto m = run("mul", {b, cl}, {{DType::F32, {3, 700}}});
  ASSERT_RUN_OK(m);
  auto want = run("add", {m.results[0], rw}, {{DType::F32, {3, 700}}});
  ASSERT_RUN_OK(want);
  r = run("fused_elementwise", {b, cl, rw}, {{DType::F32, {3, 700}}},
          {aS("ops", "mul,add"), aInts("args", {0, 1, -1, 2}),
           aS("types", "f32,f32")});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), want.results[0].values());

  // Malformed chains fail at load: a step reading a later operand, a first
  // step reading "the previous step", mismatched lists, unknown ops.
  auto bad = [&](std::vector<int64_t> args, const char *ops,
                 const char *types) {
    return run("fused_elementwise", {x, y},
               {{DType::F16, {2, 3}}},
               {aS("ops", ops), aInts("args", std::move(args)),
                aS("types", types)})
        .status;
  };
  EXPECT_EQ(bad({0, 5}, "add", "f16"), MP_ERROR_INVALID_PROGRAM);
  EXPECT_EQ(bad({-1, -2}, "neg", "f16"), MP_ERROR_INVALID_PROGRAM);
  EXPECT_EQ(bad({0, -2}, "neg,neg", "f16"), MP_ERROR_INVALID_PROGRAM);
  EXPECT_NE(bad({0, 1}, "pow", "f16"), MP_OK);
  EXPECT_EQ(bad({0, 1}, "add", "f32"), MP_ERROR_INVALID_PROGRAM);
}

} // namespace
} // namespace mp::rt::test
