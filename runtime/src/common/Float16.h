//===- Float16.h - exact f16 / bf16 conversions -----------------*- C++ -*-===//
//
// Bit-exact conversions between IEEE binary16 (f16), bfloat16 (bf16) and
// f32/f64. Widening is exact. Narrowing rounds to nearest, ties to even,
// with a single rounding from the source (f64 -> f16 does not go through
// f32): overflow gives +-inf, tiny values become subnormals or +-0, and NaN
// stays a quiet NaN with the sign and the top payload bits kept.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_COMMON_FLOAT16_H
#define MP_RT_COMMON_FLOAT16_H

#include <cstdint>
#include <cstring>

namespace mp::rt {

inline uint32_t bitsOf(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
inline float floatOf(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline uint64_t bitsOf(double f) {
  uint64_t b;
  std::memcpy(&b, &f, 8);
  return b;
}
inline double doubleOf(uint64_t b) {
  double f;
  std::memcpy(&f, &b, 8);
  return f;
}

/// Rounds the IEEE value with sign `sign`, biased exponent field `exp` and
/// mantissa `man` (`srcMan` bits, `srcBias`) to a 16-bit format with
/// `dstMan` mantissa bits and a (15 - dstMan)-bit exponent. Handles every
/// class of input.
inline uint16_t narrowTo16(uint32_t sign, int exp, uint64_t man, int srcMan,
                           int srcExpMax, int srcBias, int dstMan) {
  const int dstExpBits = 15 - dstMan;
  const int dstExpMax = (1 << dstExpBits) - 1;
  const int dstBias = (1 << (dstExpBits - 1)) - 1;
  uint16_t s = uint16_t(sign << 15);
  if (exp == srcExpMax) {
    if (man == 0)
      return uint16_t(s | (dstExpMax << dstMan)); // inf
    // NaN: keep the top payload bits, force quiet.
    uint16_t payload = uint16_t(man >> (srcMan - dstMan));
    payload |= uint16_t(1u << (dstMan - 1));
    return uint16_t(s | (dstExpMax << dstMan) | payload);
  }
  if (exp == 0 && man == 0)
    return s;
  // value = sig * 2^(e2), sig with the implicit bit when normal.
  uint64_t sig = man;
  int e2;
  if (exp == 0) {
    e2 = 1 - srcBias - srcMan;
  } else {
    sig |= uint64_t(1) << srcMan;
    e2 = exp - srcBias - srcMan;
  }
  // Unbiased exponent of the leading bit.
  int lead = 63 - __builtin_clzll(sig);
  int unb = lead + e2;
  int emin = 1 - dstBias;
  // Quantum exponent of the destination at this magnitude.
  int q = (unb < emin ? emin : unb) - dstMan;
  int shift = q - e2;
  uint64_t n;
  if (shift <= 0) {
    n = sig << (-shift); // exact (cannot happen for narrower formats)
  } else if (shift >= 64) {
    n = 0; // far below half the smallest subnormal
  } else {
    n = sig >> shift;
    uint64_t rem = sig & ((uint64_t(1) << shift) - 1);
    uint64_t half = uint64_t(1) << (shift - 1);
    if (rem > half || (rem == half && (n & 1)))
      ++n;
  }
  if (unb < emin)
    return uint16_t(s | n); // subnormal (n == 2^dstMan is the min normal)
  // Normal: n in [2^dstMan, 2^(dstMan+1)]; a carry bumps the exponent.
  uint64_t bits = (uint64_t(unb + dstBias - 1) << dstMan) + n;
  if (bits >= uint64_t(dstExpMax) << dstMan)
    return uint16_t(s | (dstExpMax << dstMan)); // overflow to inf
  return uint16_t(s | bits);
}

inline uint16_t f32ToF16(float f) {
  uint32_t b = bitsOf(f);
  return narrowTo16(b >> 31, int((b >> 23) & 0xFF), b & 0x7FFFFF, 23, 255, 127,
                    10);
}
inline uint16_t f64ToF16(double f) {
  uint64_t b = bitsOf(f);
  return narrowTo16(uint32_t(b >> 63), int((b >> 52) & 0x7FF),
                    b & ((uint64_t(1) << 52) - 1), 52, 2047, 1023, 10);
}
inline uint16_t f32ToBF16(float f) {
  uint32_t b = bitsOf(f);
  if ((b & 0x7FFFFFFF) > 0x7F800000) // NaN: quiet, keep sign and payload top
    return uint16_t((b >> 16) | 0x40);
  // Round to nearest even; a carry out of the mantissa bumps the exponent,
  // which also turns the largest values into inf.
  return uint16_t((b + 0x7FFF + ((b >> 16) & 1)) >> 16);
}
inline uint16_t f64ToBF16(double f) {
  uint64_t b = bitsOf(f);
  return narrowTo16(uint32_t(b >> 63), int((b >> 52) & 0x7FF),
                    b & ((uint64_t(1) << 52) - 1), 52, 2047, 1023, 7);
}

inline float f16ToF32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t man = h & 0x3FF;
  if (exp == 0x1F)
    return floatOf(sign | 0x7F800000 | (man << 13));
  if (exp == 0) {
    if (man == 0)
      return floatOf(sign);
    // Subnormal: normalize.
    int e = -1;
    do {
      man <<= 1;
      ++e;
    } while (!(man & 0x400));
    man &= 0x3FF;
    return floatOf(sign | uint32_t(127 - 15 - e) << 23 | man << 13);
  }
  return floatOf(sign | (exp + 112) << 23 | man << 13);
}
inline float bf16ToF32(uint16_t h) { return floatOf(uint32_t(h) << 16); }

} // namespace mp::rt

#endif // MP_RT_COMMON_FLOAT16_H
