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
  EXPECT_EQ(mp_rt_write_tensor(ctx, "y", nullptr, 32), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(mp_rt_tensor_info_at(ctx, 99, nullptr), MP_ERROR_INVALID_ARGUMENT);
  mp_tensor_info info;
  EXPECT_EQ(mp_rt_tensor_info_at(ctx, -1, &info), MP_ERROR_NOT_FOUND);
  EXPECT_EQ(mp_rt_load_program_memory(nullptr, buf, 4), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mp_rt_last_error(nullptr)), "");
}

TEST(CApi, ContextsAndNames) {
  mp_context *ctx = reinterpret_cast<mp_context *>(1);
  EXPECT_EQ(mp_rt_create_context("cuda", &ctx), MP_ERROR_NOT_BUILT);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_NE(std::string(mp_rt_last_error(nullptr)).find("cuda"), std::string::npos);
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
