//===- make_affine_relu.cpp - writes a tiny program with the C++ API ------===//
//
// Builds y = relu(x @ w + b) (x input [2, 3], w and b params, two transient
// intermediates in a planned arena) with the Program API and writes it to
// the path given on the command line. mpb_run.c then runs it through the C
// ABI: together they show the whole path from a producer to an embedder.
//
//===----------------------------------------------------------------------===//
#include "mp_rt/program.h"

#include <cstdio>
#include <cstring>

using namespace mp::rt;

static std::vector<uint8_t> floats(std::initializer_list<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.begin(), b.size()); // the format is little-endian
  return b;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.mpb\n", argv[0]);
    return 2;
  }
  Program p;
  uint32_t x = p.addTensor("x", DType::F32, {2, 3}, Role::Input);
  uint32_t w =
      p.addTensor("w", DType::F32, {3, 4}, Role::Param,
                  floats({0.5f, -1, 0, 2, 1, 0.25f, -0.5f, 0, -1, 1, 1, 0.5f}));
  uint32_t b = p.addTensor("b", DType::F32, {4}, Role::Param,
                           floats({0.1f, 0.2f, -0.3f, 0}));
  uint32_t h = p.addTensor("h", DType::F32, {2, 4}, Role::Transient);
  uint32_t z = p.addTensor("z", DType::F32, {2, 4}, Role::Transient);
  uint32_t y = p.addTensor("y", DType::F32, {2, 4}, Role::Output);

  Function f;
  f.name = "forward";
  f.inputs = {x};
  f.outputs = {y};
  f.body.push_back({"matmul", {x, w}, {h}, {}});
  f.body.push_back({"add", {h, b}, {z}, {}});
  f.body.push_back({"relu", {z}, {y}, {Attribute::ofString("name", "/act")}});
  p.functions.push_back(f);

  planMemory(p);
  std::string err = validateProgram(p);
  if (err.empty())
    err = writeProgramFile(p, argv[1]);
  if (!err.empty()) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 1;
  }
  std::printf("wrote %s (%zu tensors, arena %llu bytes)\n", argv[1],
              p.tensors.size(), (unsigned long long)p.arenaSize);
  return 0;
}
