//===- Philox.h - Philox4x32-10 counter-based random numbers ----*- C++ -*-===//
//
// The Philox4x32-10 generator of Salmon et al. (Random123), used by dropout
// so that every backend draws the same mask: element i of a dropout with
// seed s and offset o uses word i % 4 of philox(counter = (i / 4 low, i / 4
// high, o low, o high), key = (s low, s high)). Plain C++ so a CUDA backend
// can compile the same code for the device.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_COMMON_PHILOX_H
#define MP_RT_COMMON_PHILOX_H

#include <cstdint>

#ifdef __CUDACC__
#define MP_RT_HOST_DEVICE __host__ __device__
#else
#define MP_RT_HOST_DEVICE
#endif

namespace mp::rt {

struct Philox4 {
  uint32_t v[4];
};

MP_RT_HOST_DEVICE inline Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = uint64_t(M0) * ctr.v[0], p1 = uint64_t(M1) * ctr.v[2];
    uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

/// The uniform number in [0, 1) (24 bits) dropout uses for element i.
MP_RT_HOST_DEVICE inline float dropoutUniform(uint64_t seed, uint64_t offset, uint64_t i) {
  uint64_t block = i / 4;
  Philox4 r = philox4x32_10(Philox4{{uint32_t(block), uint32_t(block >> 32),
                                     uint32_t(offset), uint32_t(offset >> 32)}},
                            uint32_t(seed), uint32_t(seed >> 32));
  return float(r.v[i % 4] >> 8) * (1.0f / 16777216.0f);
}

} // namespace mp::rt

#endif // MP_RT_COMMON_PHILOX_H
