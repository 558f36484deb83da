//===- Float16Test.cpp - f16 / bf16 conversions against a reference -------===//
//
// The converters in src/common/Float16.h checked exhaustively (all 65536
// f16 and bf16 patterns widen and narrow back unchanged) and against an
// independent reference (scale by the quantum, nearbyint, rescale) on
// boundary values and millions of random f32 / f64 inputs.
//
//===----------------------------------------------------------------------===//
#include "../src/common/Float16.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <random>

namespace mp::rt {
namespace {

/// Round a finite double to a format with `man` mantissa bits, minimum
/// normal exponent `emin` and maximum exponent `emax`, ties to even.
double refRound(double x, int man, int emin, int emax) {
  if (x == 0 || std::isnan(x) || std::isinf(x))
    return x;
  double limit = std::ldexp(2.0 - std::ldexp(1.0, -(man + 1)), emax);
  if (std::fabs(x) >= limit)
    return std::copysign(INFINITY, x);
  int e;
  std::frexp(x, &e);
  int exp = std::max(e - 1, emin);
  double q = std::ldexp(1.0, exp - man);
  double r = std::nearbyint(x / q) * q;
  return r == 0 ? std::copysign(0.0, x) : r;
}

double refF16(double x) { return refRound(x, 10, -14, 15); }
double refBF16(double x) { return refRound(x, 7, -126, 127); }

void expectSame(double got, double want, double in, const char *what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << " " << in;
    return;
  }
  EXPECT_EQ(got, want) << what << " input " << in;
  EXPECT_EQ(std::signbit(got), std::signbit(want)) << what << " input " << in;
}

TEST(Float16, AllPatternsRoundTrip) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = f16ToF32(uint16_t(h));
    bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
    if (nan) {
      EXPECT_TRUE(std::isnan(f));
      EXPECT_EQ(f32ToF16(f), h | 0x200) << h; // quieted, payload kept
      continue;
    }
    EXPECT_EQ(f32ToF16(f), h) << h;
    EXPECT_EQ(f64ToF16(double(f)), h) << h;
    EXPECT_EQ(double(f), refF16(double(f)));
    float b = bf16ToF32(uint16_t(h));
    if (std::isnan(b))
      continue;
    EXPECT_EQ(f32ToBF16(b), h) << h;
    EXPECT_EQ(f64ToBF16(double(b)), h) << h;
  }
  EXPECT_EQ(f16ToF32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16ToF32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(f16ToF32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16ToF32(0xFC00), -INFINITY);
}

TEST(Float16, NarrowingMatchesReference) {
  std::vector<double> special = {0.0,
                                 -0.0,
                                 1.0,
                                 -1.0,
                                 65504,
                                 65519.99,
                                 65520,
                                 65536,
                                 1e-8,
                                 5.960464477539063e-08,
                                 2.9802322387695312e-08,
                                 2.98023224e-08,
                                 6.097555160522461e-05,
                                 6.103515625e-05,
                                 3.3895313892515355e38,
                                 3.3961e38,
                                 1e-40,
                                 9.183549615799121e-41,
                                 1e-45};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t bits = uint32_t(rng());
    float f;
    std::memcpy(&f, &bits, 4);
    if (!std::isnan(f))
      special.push_back(f);
  }
  // Values near f16 / bf16 ties and boundaries (random mantissa tails).
  for (int i = 0; i < 200000; ++i) {
    double m = 1 + double(rng() % 2048) / 2048 + double(rng() % 3) / 4096;
    int e = int(rng() % 50) - 30;
    special.push_back((rng() & 1 ? -1 : 1) * std::ldexp(m, e));
  }
  for (double d : special) {
    float f = float(d);
    expectSame(f16ToF32(f32ToF16(f)), refF16(f), f, "f32->f16");
    expectSame(bf16ToF32(f32ToBF16(f)), refBF16(f), f, "f32->bf16");
    expectSame(f16ToF32(f64ToF16(d)), refF16(d), d, "f64->f16");
    expectSame(bf16ToF32(f64ToBF16(d)), refBF16(d), d, "f64->bf16");
    if (HasFailure())
      return;
  }
}

TEST(Float16, NaNAndInfinity) {
  EXPECT_EQ(f32ToF16(INFINITY), 0x7C00);
  EXPECT_EQ(f32ToF16(-INFINITY), 0xFC00);
  EXPECT_EQ(f32ToBF16(-INFINITY), 0xFF80);
  uint16_t n = f32ToF16(-NAN);
  EXPECT_EQ(n & 0xFC00, 0xFC00);
  EXPECT_NE(n & 0x3FF, 0);
  // A signalling NaN whose payload lives only in the low bits stays NaN.
  float snan;
  uint32_t sb = 0x7F800001u;
  std::memcpy(&snan, &sb, 4);
  EXPECT_TRUE(std::isnan(f16ToF32(f32ToF16(snan))));
  EXPECT_TRUE(std::isnan(bf16ToF32(f32ToBF16(snan))));
  EXPECT_TRUE(std::isnan(f16ToF32(f64ToF16(double(NAN)))));
}

} // namespace
} // namespace mp::rt
