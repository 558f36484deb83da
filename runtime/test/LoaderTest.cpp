//===- LoaderTest.cpp - .mpb parsing, validation and robustness -----------===//
//
// Truncation at every byte, corrupted headers and sizes, bad memory plans,
// random mutations (never a crash), round trips, and the loader's checks
// through the C ABI of every backend.
//
//===----------------------------------------------------------------------===//
#include "Conformance.h"

#include <cstdlib>
#include <random>

namespace mp::rt::test {
namespace {

std::vector<uint8_t> bytesOf(const Program &p) {
  std::vector<uint8_t> b;
  writeProgram(p, b);
  return b;
}

void putU32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + size_t(i)] = uint8_t(v >> (8 * i));
}

/// Offset of the first tensor record's fields in a written program:
/// header (12) + section tag/length (12) + tensor count (4).
constexpr size_t kFirstTensor = 12 + 12 + 4;

TEST(ProgramFormat, RoundTripIsByteIdentical) {
  Program p = buildAffineRelu();
  p.functions[0].body[0].attrs = {
      aI("i", -3), aF("f", 0.5), aInts("is", {1, -2}),
      Attribute::ofFloats("fs", {1.5, -2.25}), aS("s", "acc")};
  ASSERT_EQ(validateProgram(p), "");
  std::vector<uint8_t> a = bytesOf(p);
  Program q;
  ASSERT_EQ(readProgram(a.data(), a.size(), q), "");
  EXPECT_EQ(bytesOf(q), a);
  const Attribute *fs = q.functions[0].body[0].findAttr("fs");
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(fs->floats, (std::vector<double>{1.5, -2.25}));
  EXPECT_EQ(q.tensors[1].data, p.tensors[1].data);
  EXPECT_EQ(q.tensors[3].arenaOffset, p.tensors[3].arenaOffset);
  // Little-endian header.
  EXPECT_EQ(std::string(a.begin(), a.begin() + 4), "MPB1");
  EXPECT_EQ(a[4], kFormatVersion);
  EXPECT_EQ(a[5] | a[6] | a[7], 0);
}

TEST(ProgramFormat, TruncatedAtEveryOffsetFailsCleanly) {
  std::vector<uint8_t> a = bytesOf(buildAffineRelu());
  for (size_t n = 0; n < a.size(); ++n) {
    std::vector<uint8_t> cut(a.begin(), a.begin() + long(n)); // exact size
    Program q;
    std::string err = readProgram(cut.data(), cut.size(), q);
    EXPECT_FALSE(err.empty()) << "truncated at " << n;
  }
}

TEST(ProgramFormat, HeaderErrors) {
  std::vector<uint8_t> a = bytesOf(buildAffineRelu());
  Program q;
  auto bad = a;
  bad[0] = 'X';
  EXPECT_NE(readProgram(bad.data(), bad.size(), q).find("magic"),
            std::string::npos);
  bad = a;
  putU32(bad, 4, 2);
  EXPECT_NE(readProgram(bad.data(), bad.size(), q).find("version 2"),
            std::string::npos);
  bad = a;
  bad.push_back(0);
  EXPECT_NE(readProgram(bad.data(), bad.size(), q).find("trailing"),
            std::string::npos);
  EXPECT_FALSE(readProgram(nullptr, 0, q).empty());
}

TEST(ProgramFormat, AbsurdSizesAreRejected) {
  std::vector<uint8_t> a = bytesOf(buildAffineRelu());
  Program q;
  // Tensor count 0xFFFFFFFF.
  auto bad = a;
  putU32(bad, kFirstTensor - 4, 0xFFFFFFFFu);
  std::string err = readProgram(bad.data(), bad.size(), q);
  EXPECT_NE(err.find("tensor count"), std::string::npos) << err;
  // Name length 0xFFFFFFFF (first tensor: id u32, then the name).
  bad = a;
  putU32(bad, kFirstTensor + 4, 0xFFFFFFF0u);
  EXPECT_FALSE(readProgram(bad.data(), bad.size(), q).empty());

  // Huge and negative dims, via the writer.
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{int64_t(1) << 40, int64_t(1) << 40},
        std::vector<int64_t>{-1, 4}, std::vector<int64_t>{int64_t(1) << 62},
        std::vector<int64_t>(40, 1)}) {
    Program p = buildAffineRelu();
    p.tensors[0].shape = shape;
    std::vector<uint8_t> b = bytesOf(p);
    err = readProgram(b.data(), b.size(), q);
    EXPECT_FALSE(err.empty());
  }
  // A configurable limit.
  ReadOptions small;
  small.maxTensorBytes = 16;
  err = readProgram(a.data(), a.size(), q, small);
  EXPECT_NE(err.find("limit"), std::string::npos) << err;
}

TEST(ProgramFormat, StructuralErrors) {
  auto expectInvalid = [](Program p, const std::string &needle) {
    std::vector<uint8_t> b = bytesOf(p);
    Program q;
    std::string err = readProgram(b.data(), b.size(), q);
    EXPECT_NE(err.find(needle), std::string::npos)
        << "want '" << needle << "', got '" << err << "'";
  };
  Program p = buildAffineRelu();
  p.tensors[2].data.pop_back();
  expectInvalid(p, "bytes of its shape");
  p = buildAffineRelu();
  p.tensors[1].name = "x";
  expectInvalid(p, "duplicate tensor name");
  p = buildAffineRelu();
  p.functions[0].body[0].operands[0] = 77;
  expectInvalid(p, "out of range");
  p = buildAffineRelu();
  std::swap(p.functions[0].body[0], p.functions[0].body[1]);
  expectInvalid(p, "before it is written");
  p = buildAffineRelu();
  p.functions[0].body[2].results = {0}; // writes the input: not
  expectInvalid(p, "writes input");
  p = buildAffineRelu();
  p.tensors[4].arenaOffset = p.tensors[3].arenaOffset; // h and z overlap
  expectInvalid(p, "share arena bytes");
  p = buildAffineRelu();
  p.tensors[4].arenaOffset = p.arenaSize; // out of the arena
  expectInvalid(p, "outside the arena");
  p = buildAffineRelu();
  p.tensors[5].updates = 0; // output updating an input
  expectInvalid(p, "updates");
  p = buildAffineRelu();
  p.functions[0].outputs = {3};
  expectInvalid(p, "transient");
}

TEST(ProgramFormat, UnknownSectionsAreSkipped) {
  std::vector<uint8_t> a = bytesOf(buildAffineRelu());
  putU32(a, 8, 4); // 4 sections
  for (char c : {'X', 'T', 'R', 'A'})
    a.push_back(uint8_t(c));
  for (int i = 0; i < 8; ++i)
    a.push_back(i == 0 ? 3 : 0);
  a.insert(a.end(), {1, 2, 3});
  Program q;
  EXPECT_EQ(readProgram(a.data(), a.size(), q), "");
}

TEST(ProgramFormat, PlannerReusesMemory) {
  // A chain of 6 transients of 1 KiB: live ranges of length 2, so the plan
  // needs 2 buffers, not 6.
  Program p;
  uint32_t prev = p.addTensor("x", DType::F32, {256}, Role::Input);
  Function f;
  f.name = "chain";
  f.inputs = {prev};
  for (int i = 0; i < 6; ++i) {
    uint32_t t = p.addTensor("t" + std::to_string(i), DType::F32, {256},
                             i == 5 ? Role::Output : Role::Transient);
    Instruction ins;
    ins.kernel = "relu";
    ins.operands = {prev};
    ins.results = {t};
    f.body.push_back(ins);
    prev = t;
  }
  f.outputs = {prev};
  p.functions.push_back(f);
  planMemory(p);
  EXPECT_EQ(validateProgram(p), "");
  EXPECT_EQ(p.arenaSize, 2048u);
}

/// neg -> reshape -> squeeze -> add: the reshape and squeeze results are
/// views of the neg result (one view group).
Program buildViewChain() {
  Program p;
  uint32_t x = p.addTensor("x", DType::F32, {3, 2}, Role::Input);
  uint32_t shape = p.addTensor("shape", DType::I64, {3}, Role::Constant,
                               HostTensor::i64({3}, {3, 1, 2}).bytes);
  uint32_t n = p.addTensor("n", DType::F32, {3, 2}, Role::Transient);
  uint32_t r = p.addTensor("r", DType::F32, {3, 1, 2}, Role::Transient);
  uint32_t q = p.addTensor("q", DType::F32, {3, 2}, Role::Transient);
  uint32_t y = p.addTensor("y", DType::F32, {3, 2}, Role::Output);
  Function f;
  f.name = "forward";
  f.inputs = {x};
  f.outputs = {y};
  f.body = {{"neg", {x}, {n}, {}},
            {"reshape", {n, shape}, {r}, {}},
            {"squeeze", {r}, {q}, {aInts("axes", {1})}},
            {"add", {q, n}, {y}, {}}}; // n stays live past its views
  p.functions.push_back(f);
  planMemory(p);
  return p;
}

TEST(ProgramFormat, PlannerSharesViewBytes) {
  Program p = buildViewChain();
  const TensorDesc &n = *p.findTensor("n"), &r = *p.findTensor("r"),
                   &q = *p.findTensor("q");
  EXPECT_EQ(r.arenaOffset, n.arenaOffset);
  EXPECT_EQ(q.arenaOffset, n.arenaOffset);
  EXPECT_EQ(p.arenaSize, 64u); // one 24-byte buffer, aligned
  EXPECT_EQ(validateProgram(p), "");
  // A view group at different but overlapping offsets is an error.
  Program shifted = p;
  shifted.arenaSize = 128;
  shifted.tensors[q.id].arenaOffset = n.arenaOffset + 8;
  EXPECT_NE(validateProgram(shifted).find("share arena bytes"),
            std::string::npos);
  // Tensors that are not views of each other may not share live bytes.
  Program notView = p;
  notView.functions[0].body[1].kernel = "abs";
  notView.functions[0].body[1].operands = {n.id};
  EXPECT_NE(validateProgram(notView).find("share arena bytes"),
            std::string::npos);
  // Nor may a view whose operand is written twice.
  Program twice = p;
  Instruction again = twice.functions[0].body[0];
  twice.functions[0].body.insert(twice.functions[0].body.begin() + 2, again);
  EXPECT_NE(validateProgram(twice).find("share arena bytes"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Through the C ABI, per backend
//===----------------------------------------------------------------------===//

TEST_P(Conformance, LoaderTruncationThroughTheABI) {
  std::vector<uint8_t> a = bytesOf(buildAffineRelu());
  for (size_t n = 0; n < a.size(); ++n) {
    std::vector<uint8_t> cut(a.begin(), a.begin() + long(n));
    mp_status s = mp_rt_load_program_memory(session->get(), cut.data(), n);
    ASSERT_EQ(s, MP_ERROR_INVALID_PROGRAM) << "truncated at " << n;
    ASSERT_NE(std::string(session->error()), "");
  }
  // A failed load leaves no program behind.
  int32_t count;
  EXPECT_EQ(mp_rt_num_tensors(session->get(), &count),
            MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_load_program_memory(session->get(), a.data(), a.size()),
            MP_OK);
}

TEST_P(Conformance, ViewsRunInPlace) {
  ASSERT_EQ(session->load(buildViewChain()), MP_OK) << session->error();
  ASSERT_EQ(session->write("x", HostTensor::f32({3, 2}, {1, -2, 3, -4, 5, -6})),
            MP_OK);
  ASSERT_EQ(mp_rt_run(session->get(), "forward"), MP_OK) << session->error();
  expectEq(session->read("y").values(), {-2, 4, -6, 8, -10, 12});
}

TEST_P(Conformance, LoaderSurvivesRandomMutations) {
  std::vector<uint8_t> a = bytesOf(buildAffineRelu());
  std::mt19937 rng(42);
  int loaded = 0;
  // Mutated dims can ask for gigabytes: keep the test's allocations small.
  ASSERT_EQ(mp_rt_set_limits(session->get(), 1 << 20, 1 << 22), MP_OK);
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> b = a;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k)
      b[rng() % b.size()] = uint8_t(rng());
    mp_status s = mp_rt_load_program_memory(session->get(), b.data(), b.size());
    if (s == MP_OK) {
      ++loaded;
      mp_rt_run(session->get(), "forward"); // may fail, must not crash
    } else {
      ASSERT_NE(std::string(session->error()), "");
    }
  }
  EXPECT_GT(loaded, 0); // some mutations only touch data bytes
}

TEST_P(Conformance, LoaderLimitsThroughTheABI) {
  std::vector<uint8_t> a = bytesOf(buildAffineRelu());
  ASSERT_EQ(mp_rt_set_limits(session->get(), 32, 0), MP_OK);
  EXPECT_EQ(mp_rt_load_program_memory(session->get(), a.data(), a.size()),
            MP_ERROR_INVALID_PROGRAM);
  EXPECT_NE(session->error().find("limit of 32 bytes"), std::string::npos)
      << session->error();
  ASSERT_EQ(mp_rt_set_limits(session->get(), 1 << 20, 0), MP_OK);
  EXPECT_EQ(mp_rt_load_program_memory(session->get(), a.data(), a.size()),
            MP_OK);
}

/// A program touching many kernels and attribute kinds, for mutation tests.
Program buildZoo() {
  Program p;
  auto f32 = [](Shape s, std::vector<double> v) {
    return HostTensor::f32(std::move(s), v).bytes;
  };
  std::vector<double> w(4 * 3 * 9, 0.01), w2(16 * 5, -0.02);
  uint32_t x = p.addTensor("x", DType::F32, {2, 3, 4, 4}, Role::Input);
  uint32_t lab = p.addTensor("labels", DType::I64, {2}, Role::Label);
  uint32_t cw = p.addTensor("conv_w", DType::F32, {4, 3, 3, 3}, Role::Param,
                            f32({4, 3, 3, 3}, w));
  uint32_t gw =
      p.addTensor("gemm_w", DType::F32, {16, 5}, Role::Param, f32({16, 5}, w2));
  uint32_t m = p.addTensor("m", DType::F32, {16, 5}, Role::OptState);
  uint32_t v = p.addTensor("v", DType::F32, {16, 5}, Role::OptState);
  uint32_t st = p.addTensor("t", DType::F32, {}, Role::OptState);
  uint32_t scale =
      p.addTensor("scale", DType::F32, {}, Role::Scaler, f32({}, {1024}));
  uint32_t tracker = p.addTensor("tracker", DType::I64, {}, Role::Scaler);
  uint32_t shp = p.addTensor("shape", DType::I64, {2}, Role::Constant,
                             HostTensor::i64({2}, {2, 16}).bytes);
  uint32_t shp2 = p.addTensor("shape2", DType::I64, {4}, Role::Constant,
                              HostTensor::i64({4}, {2, 4, 2, 2}).bytes);
  uint32_t idx = p.addTensor("idx", DType::I64, {3}, Role::Constant,
                             HostTensor::i64({3}, {0, 4, -1}).bytes);
  auto T = [&](const char *n, DType dt, Shape s) {
    return p.addTensor(n, dt, std::move(s), Role::Transient);
  };
  uint32_t c = T("c", DType::F32, {2, 4, 4, 4}),
           r = T("r", DType::F32, {2, 4, 4, 4});
  uint32_t mp = T("mp", DType::F32, {2, 4, 2, 2}),
           fl = T("fl", DType::F32, {2, 16});
  uint32_t gm = T("gm", DType::F32, {2, 5}), ln = T("ln", DType::F32, {2, 5});
  uint32_t mean = T("mean", DType::F32, {2, 1}),
           inv = T("inv", DType::F32, {2, 1});
  uint32_t loss = p.addTensor("loss", DType::F32, {}, Role::Output);
  uint32_t lp = T("lp", DType::F32, {2, 5}), ga = T("ga", DType::F32, {2, 3});
  uint32_t sl = T("sl", DType::F32, {2, 2}), tr = T("tr", DType::F32, {2, 2});
  uint32_t h = T("h", DType::F16, {2, 2}), dr = T("dr", DType::F16, {2, 2});
  uint32_t mask = T("mask", DType::Bool, {2, 2}),
           fin = T("fin", DType::Bool, {});
  uint32_t red = T("red", DType::F32, {5}), gg = T("gg", DType::F32, {16, 5});
  Function f;
  f.name = "train_step";
  f.inputs = {x, lab};
  f.outputs = {loss};
  auto I = [&](const char *k, std::vector<uint32_t> ops,
               std::vector<uint32_t> res, std::vector<Attribute> a = {}) {
    Instruction i;
    i.kernel = k;
    i.operands = std::move(ops);
    i.results = std::move(res);
    i.attrs = std::move(a);
    f.body.push_back(i);
  };
  I("conv", {x, cw, kNoTensor}, {c},
    {aInts("pads", {1, 1, 1, 1}), aI("group", 1)});
  I("relu", {c}, {r});
  I("max_pool", {r}, {mp},
    {aInts("kernel_shape", {2, 2}), aInts("strides", {2, 2})});
  I("reshape", {mp, shp}, {fl});
  I("gemm", {fl, gw}, {gm}, {aF("alpha", 1.0), aI("transB", 0)});
  I("layer_norm", {gm, red}, {ln, mean, inv}, {aI("axis", -1)});
  I("softmax_cross_entropy_loss", {gm, lab}, {loss, lp},
    {aS("reduction", "mean")});
  I("gather", {lp, idx}, {ga}, {aI("axis", 1)});
  I("slice", {ga}, {sl},
    {aInts("starts", {0, 0}), aInts("ends", {2, 3}), aInts("steps", {1, 2})});
  I("transpose", {sl}, {tr}, {aInts("perm", {1, 0})});
  I("cast", {tr}, {h}, {aS("to", "f16")});
  I("dropout", {h}, {dr, mask},
    {aF("ratio", 0.5), aI("training_mode", 1), aI("seed", 3)});
  I("all_finite", {dr, gm}, {fin});
  I("mul", {gw, gw}, {gg});
  I("adam_update", {gw, gg, m, v, st, kNoTensor, kNoTensor}, {},
    {aF("lr", 0.1), aI("increment_step", 1)});
  I("loss_scale_update", {scale, tracker, fin}, {}, {aI("growth_interval", 2)});
  // A backward slice: loss grad, layer-norm grad, pool and conv grads.
  uint32_t dloss =
      p.addTensor("dloss", DType::F32, {}, Role::Constant, f32({}, {1}));
  uint32_t dgm = T("dgm", DType::F32, {2, 5}),
           dfl = T("dfl", DType::F32, {2, 16});
  uint32_t dln = T("dln", DType::F32, {2, 5}), dsc = T("dsc", DType::F32, {5});
  uint32_t dbb = T("dbb", DType::F32, {5}), dgw = T("dgw", DType::F32, {16, 5});
  uint32_t dmp = T("dmp", DType::F32, {2, 4, 2, 2});
  uint32_t dre = T("dre", DType::F32, {2, 4, 4, 4}),
           dx = T("dx", DType::F32, {2, 3, 4, 4});
  uint32_t dcw = T("dcw", DType::F32, {4, 3, 3, 3}),
           sg = T("sg", DType::F32, {2, 5});
  I("softmax_cross_entropy_loss_grad", {dloss, lp, lab}, {dgm});
  I("layer_norm_grad", {dgm, gm, red, mean, inv}, {dln, dsc, dbb});
  I("gemm", {dln, gw}, {dfl}, {aI("transB", 1)});
  I("gemm", {fl, dln}, {dgw}, {aI("transA", 1)});
  I("slice_grad", {sl}, {sg},
    {aInts("input_shape", {2, 5}), aInts("starts", {0, 0}),
     aInts("ends", {2, 3}), aInts("steps", {1, 2})});
  I("reshape", {dfl, shp2}, {dmp});
  I("max_pool_grad", {dmp, r}, {dre},
    {aInts("kernel_shape", {2, 2}), aInts("strides", {2, 2}),
     aInts("pads", {0, 0, 0, 0}), aInts("dilations", {1, 1})});
  std::vector<Attribute> convAttrs = {
      aInts("kernel_shape", {3, 3}), aInts("strides", {1, 1}),
      aInts("pads", {1, 1, 1, 1}), aInts("dilations", {1, 1}), aI("group", 1)};
  std::vector<Attribute> gi = convAttrs;
  gi.push_back(aInts("input_shape", {2, 3, 4, 4}));
  I("conv_grad_input", {dre, cw}, {dx}, gi);
  I("conv_grad_filter", {x, dre}, {dcw}, convAttrs);
  // reduce_mean makes layer_norm's scale: it runs first.
  Instruction rm;
  rm.kernel = "reduce_mean";
  rm.operands = {gw};
  rm.results = {red};
  rm.attrs = {aInts("axes", {0}), aI("keepdims", 0)};
  f.body.insert(f.body.begin(), rm);
  p.functions.push_back(f);
  planMemory(p);
  return p;
}

TEST_P(Conformance, ZooLoadsAndSurvivesMutations) {
  Program zoo = buildZoo();
  ASSERT_EQ(validateProgram(zoo), "");
  ASSERT_EQ(session->load(zoo), MP_OK) << session->error();
  std::vector<float> x(2 * 3 * 16, 0.5f);
  int64_t labels[2] = {1, 4};
  ASSERT_EQ(mp_rt_write_tensor(session->get(), "x", x.data(), x.size() * 4),
            MP_OK);
  ASSERT_EQ(mp_rt_write_tensor(session->get(), "labels", labels, 16), MP_OK);
  ASSERT_EQ(mp_rt_run(session->get(), "train_step"), MP_OK) << session->error();
  EXPECT_TRUE(std::isfinite(session->read("loss").get(0)));

  std::vector<uint8_t> a = bytesOf(zoo);
  // MP_RT_FUZZ_SEED / MP_RT_FUZZ_ITERS explore further than CI does.
  const char *seedEnv = std::getenv("MP_RT_FUZZ_SEED");
  const char *itersEnv = std::getenv("MP_RT_FUZZ_ITERS");
  std::mt19937 rng(seedEnv ? unsigned(std::atoi(seedEnv)) : 7u);
  int iters = itersEnv ? std::atoi(itersEnv) : 4000;
  ASSERT_EQ(mp_rt_set_limits(session->get(), 1 << 20, 1 << 22), MP_OK);
  int loaded = 0;
  for (int iter = 0; iter < iters; ++iter) {
    std::vector<uint8_t> b = a;
    int flips = 1 + int(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      size_t at = rng() % b.size();
      // Mostly small edits of existing values, sometimes arbitrary bytes.
      b[at] = rng() % 4 ? uint8_t(b[at] + 1 + rng() % 3) : uint8_t(rng());
    }
    if (mp_rt_load_program_memory(session->get(), b.data(), b.size()) ==
        MP_OK) {
      ++loaded;
      mp_rt_write_tensor(session->get(), "x", x.data(), x.size() * 4);
      mp_rt_run(session->get(), "train_step");
    }
  }
  EXPECT_GT(loaded, 0);
}

TEST_P(Conformance, LoaderKernelChecks) {
  Program p = buildAffineRelu();
  p.functions[0].body[2].kernel = "frobnicate";
  EXPECT_EQ(session->load(p), MP_ERROR_UNSUPPORTED);
  EXPECT_NE(session->error().find("unknown kernel 'frobnicate'"),
            std::string::npos);
  p = buildAffineRelu();
  p.functions[0].body[1].attrs = {aS("name", "/layer0/Add")};
  EXPECT_EQ(session->load(p), MP_OK) << session->error(); // debug name allowed
  p.functions[0].body[0].attrs = {aI("acc", 1), aS("name", "/layer0/MatMul")};
  EXPECT_EQ(session->load(p), MP_ERROR_INVALID_PROGRAM);
  EXPECT_NE(session->error().find("/layer0/MatMul"), std::string::npos)
      << session->error();
  EXPECT_NE(session->error().find("'acc' must be a string"), std::string::npos)
      << session->error();
  p = buildAffineRelu();
  p.tensors[1].shape = {4, 4};
  p.tensors[1].data.resize(64);
  EXPECT_EQ(session->load(p), MP_ERROR_INVALID_PROGRAM);
  EXPECT_NE(session->error().find("contraction"), std::string::npos)
      << session->error();
}

} // namespace
} // namespace mp::rt::test
