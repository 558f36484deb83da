//===- npy_fuzzer.cpp - libFuzzer target for mp-run's .npy/.npz reader ----===//
//
// mp-run binds inputs from .npy/.npz files users bring along with a model.
// Feeds arbitrary bytes to parseNpy and parseNpz (the first byte picks
// which): a bad file must give a message, never a crash; an accepted array
// must hold exactly the bytes its shape and dtype need.
//
//===----------------------------------------------------------------------===//

#include "../tools/mp-run/Npy.h"

#include <cstdio>
#include <cstdlib>

static void checkArray(const mp::npy::Array &a) {
  uint64_t n = 1;
  for (int64_t d : a.shape)
    n *= uint64_t(d);
  uint64_t width = a.dtype == "f64" || a.dtype == "i64"   ? 8
                   : a.dtype == "f32" || a.dtype == "i32" ? 4
                   : a.dtype == "f16"                     ? 2
                                                          : 1;
  if (a.data.size() != n * width) {
    std::fprintf(stderr, "array data does not match its shape\n");
    std::abort();
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string err;
  if (data[0] & 1) {
    mp::npy::Array a;
    err = mp::npy::parseNpy(data + 1, size - 1, a);
    if (err.empty())
      checkArray(a);
  } else {
    std::map<std::string, mp::npy::Array> arrays;
    err = mp::npy::parseNpz(std::vector<uint8_t>(data + 1, data + size),
                            "fuzz.npz", arrays);
    if (err.empty())
      for (auto &kv : arrays)
        checkArray(kv.second);
  }
  return 0;
}
