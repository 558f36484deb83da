//===- EndToEndTest.cpp - Program API -> file -> C ABI -> results ---------===//
//
// Builds y = relu(x @ w + b) with the C++ Program API, writes it to a file,
// loads the file through the C ABI, runs it and checks the result; then
// exercises the ABI's queries and error paths.
//
//===----------------------------------------------------------------------===//
#include "Conformance.h"

#include <cstdio>

namespace mp::rt::test {
namespace {

TEST_P(Conformance, AffineReluEndToEnd) {
  Program p = buildAffineRelu();
  std::string path = "e2e_affine_relu_" + GetParam() + ".mpb";
  ASSERT_EQ(writeProgramFile(p, path), "");
  mp_context *ctx = session->get();
  ASSERT_EQ(mp_rt_load_program_file(ctx, path.c_str()), MP_OK)
      << mp_rt_last_error(ctx);
  std::remove(path.c_str());

  mp_tensor_info info;
  ASSERT_EQ(mp_rt_tensor_info(ctx, "w", &info), MP_OK);
  EXPECT_EQ(info.dtype, MP_DTYPE_F32);
  EXPECT_EQ(info.role, MP_ROLE_PARAM);
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.shape[0], 3);
  EXPECT_EQ(info.shape[1], 4);
  EXPECT_EQ(info.num_bytes, 48u);
  int32_t n = 0;
  ASSERT_EQ(mp_rt_num_tensors(ctx, &n), MP_OK);
  EXPECT_EQ(n, 6);
  ASSERT_EQ(mp_rt_tensor_info_at(ctx, 5, &info), MP_OK);
  EXPECT_STREQ(info.name, "y");
  EXPECT_EQ(info.role, MP_ROLE_OUTPUT);
  const char *fname = nullptr;
  ASSERT_EQ(mp_rt_num_functions(ctx, &n), MP_OK);
  EXPECT_EQ(n, 1);
  ASSERT_EQ(mp_rt_function_name(ctx, 0, &fname), MP_OK);
  EXPECT_STREQ(fname, "forward");

  float x[6] = {1, 2, 3, -1, 0.5, 2};
  ASSERT_EQ(mp_rt_write_tensor(ctx, "x", x, sizeof(x)), MP_OK);
  ASSERT_EQ(mp_rt_run(ctx, "forward"), MP_OK) << mp_rt_last_error(ctx);
  float y[8];
  ASSERT_EQ(mp_rt_read_tensor(ctx, "y", y, sizeof(y)), MP_OK);
  float w[12] = {0.5, -1, 0, 2, 1, 0.25, -0.5, 0, -1, 1, 1, 0.5};
  float b[4] = {0.1f, 0.2f, -0.3f, 0};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      float acc = 0;
      for (int k = 0; k < 3; ++k)
        acc += x[i * 3 + k] * w[k * 4 + j];
      float z = acc + b[j];
      EXPECT_EQ(y[i * 4 + j], z > 0 ? z : 0) << i << "," << j;
    }

  // Updating a parameter from the host changes the next run.
  float w2[12] = {};
  ASSERT_EQ(mp_rt_write_tensor(ctx, "w", w2, sizeof(w2)), MP_OK);
  ASSERT_EQ(mp_rt_run(ctx, "forward"), MP_OK);
  ASSERT_EQ(mp_rt_read_tensor(ctx, "y", y, sizeof(y)), MP_OK);
  EXPECT_FLOAT_EQ(y[0], 0.1f);
  EXPECT_FLOAT_EQ(y[2], 0.0f);
}

TEST_P(Conformance, ABIErrorPaths) {
  mp_context *ctx = session->get();
  EXPECT_STREQ(mp_rt_backend(ctx), GetParam().c_str());
  float buf[8];
  EXPECT_EQ(mp_rt_run(ctx, "forward"), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mp_rt_last_error(ctx)).find("no program"),
            std::string::npos);
  EXPECT_EQ(mp_rt_load_program_file(ctx, "/nonexistent/x.mpb"), MP_ERROR_IO);
  ASSERT_EQ(session->load(buildAffineRelu()), MP_OK);
  EXPECT_EQ(mp_rt_run(ctx, "backward"), MP_ERROR_NOT_FOUND);
  EXPECT_EQ(mp_rt_run(ctx, nullptr), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_read_tensor(ctx, "nope", buf, 4), MP_ERROR_NOT_FOUND);
  EXPECT_EQ(mp_rt_read_tensor(ctx, "h", buf, 32), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_read_tensor(ctx, "y", buf, 31), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_write_tensor(ctx, "y", nullptr, 32),
            MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_tensor_info_at(ctx, 99, nullptr), MP_ERROR_INVALID_ARGUMENT);
  mp_tensor_info info;
  EXPECT_EQ(mp_rt_tensor_info_at(ctx, -1, &info), MP_ERROR_NOT_FOUND);
  EXPECT_EQ(mp_rt_load_program_memory(nullptr, buf, 4),
            MP_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mp_rt_last_error(nullptr)), "");
}

/// State updated through `updates` aliases: batch_norm's running stats, a
/// step counter bumped by `add`, and a transpose written onto its own
/// operand (not in-place safe: the backend must go through scratch).
TEST_P(Conformance, UpdatesAliasStateInPlace) {
  Program p;
  auto bytes = [](DType dt, Shape s, std::vector<double> v) {
    return HostTensor::of(dt, std::move(s), v).bytes;
  };
  uint32_t x = p.addTensor("x", DType::F32, {2, 2}, Role::Input);
  uint32_t sc = p.addTensor("bn_scale", DType::F32, {2}, Role::Param,
                            bytes(DType::F32, {2}, {1, 1}));
  uint32_t bb = p.addTensor("bn_bias", DType::F32, {2}, Role::Param,
                            bytes(DType::F32, {2}, {0, 0}));
  uint32_t rm = p.addTensor("running_mean", DType::F32, {2}, Role::OptState);
  uint32_t rv = p.addTensor("running_var", DType::F32, {2}, Role::OptState,
                            bytes(DType::F32, {2}, {1, 1}));
  uint32_t rmNew =
      p.addTensor("running_mean.new", DType::F32, {2}, Role::Output);
  uint32_t rvNew =
      p.addTensor("running_var.new", DType::F32, {2}, Role::Output);
  p.tensors[rmNew].updates = rm;
  p.tensors[rvNew].updates = rv;
  uint32_t y = p.addTensor("y", DType::F32, {2, 2}, Role::Output);
  uint32_t step = p.addTensor("step", DType::I64, {}, Role::OptState);
  uint32_t one = p.addTensor("one", DType::I64, {}, Role::Constant,
                             bytes(DType::I64, {}, {1}));
  uint32_t stepNew = p.addTensor("step.new", DType::I64, {}, Role::OptState);
  p.tensors[stepNew].updates = step;
  uint32_t m = p.addTensor("m", DType::F32, {2, 2}, Role::Param,
                           bytes(DType::F32, {2, 2}, {1, 2, 3, 4}));
  uint32_t mNew = p.addTensor("m.new", DType::F32, {2, 2}, Role::Param);
  p.tensors[mNew].updates = m;
  Function f;
  f.name = "step";
  f.inputs = {x};
  f.outputs = {y, rmNew, rvNew, stepNew, mNew};
  Instruction bn, add, tr;
  bn.kernel = "batch_norm";
  bn.operands = {x, sc, bb, rm, rv};
  bn.results = {y, rmNew, rvNew};
  bn.attrs = {aI("training_mode", 1), aF("momentum", 0.5)};
  add.kernel = "add";
  add.operands = {step, one};
  add.results = {stepNew};
  tr.kernel = "transpose";
  tr.operands = {m};
  tr.results = {mNew};
  f.body = {bn, add, tr};
  p.functions.push_back(f);
  planMemory(p);
  ASSERT_EQ(validateProgram(p), "");
  ASSERT_EQ(session->load(p), MP_OK) << session->error();
  ASSERT_EQ(session->write("x", HostTensor::f32({2, 2}, {1, 10, 3, 20})),
            MP_OK);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(mp_rt_run(session->get(), "step"), MP_OK) << session->error();
  // Batch mean per channel: {2, 15}; population var {1, 25}.
  expectNear(session->read("running_mean").values(), {1.5, 11.25}, 1e-6);
  expectNear(session->read("running_mean.new").values(), {1.5, 11.25}, 1e-6);
  expectNear(session->read("running_var").values(), {1, 19}, 1e-5);
  expectEq(session->read("step").values(), {2});
  expectEq(session->read("m").values(), {1, 2, 3, 4}); // transposed twice
  ASSERT_EQ(mp_rt_run(session->get(), "step"), MP_OK);
  expectEq(session->read("m").values(), {1, 3, 2, 4});
}

TEST(CApi, ContextsAndNames) {
  mp_context *ctx = reinterpret_cast<mp_context *>(1);
  // cuda: created on a GPU machine; else not built, or built without a
  // device, and the message says so.
  mp_status cuda = mp_rt_create_context("cuda", &ctx);
  if (cuda == MP_OK) {
    EXPECT_STREQ(mp_rt_backend(ctx), "cuda");
    mp_rt_destroy_context(ctx);
  } else {
    EXPECT_TRUE(cuda == MP_ERROR_NOT_BUILT || cuda == MP_ERROR_NO_DEVICE)
        << mp_status_string(cuda);
    EXPECT_EQ(ctx, nullptr);
    EXPECT_NE(std::string(mp_rt_last_error(nullptr)).find("cuda"),
              std::string::npos);
  }
  EXPECT_EQ(mp_rt_create_context("tpu", &ctx), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_create_context(nullptr, &ctx), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_create_context("cpu", nullptr), MP_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(mp_rt_create_context("cpu", &ctx), MP_OK);
  EXPECT_STREQ(mp_rt_last_error(ctx), "");
  mp_rt_destroy_context(ctx);
  mp_rt_destroy_context(nullptr);
  EXPECT_STREQ(mp_status_string(MP_ERROR_EXECUTION), "execution error");
  EXPECT_STREQ(mp_dtype_name(MP_DTYPE_BF16), "bf16");
  EXPECT_STREQ(mp_role_name(MP_ROLE_OPT_STATE), "opt_state");
  EXPECT_STREQ(mp_dtype_name(mp_dtype(99)), "unknown");
}

} // namespace
} // namespace mp::rt::test
