//===- mpb_loader_fuzzer.cpp - libFuzzer target for the .mpb loader -------===//
//
// Feeds arbitrary bytes to the runtime's C ABI loader
// (mp_rt_load_program_memory) on the CPU backend. A bad program must fail
// with a status and a message; one that loads is then run (every function,
// inputs zero-filled) and must again either succeed or fail cleanly. The
// context's limits are lowered so that allocation stays small: a program
// that would need more is rejected before anything is allocated.
//
//===----------------------------------------------------------------------===//

#include "mp_rt/mp_rt.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mp_context *ctx = nullptr;
  if (mp_rt_create_context("cpu", &ctx) != MP_OK)
    std::abort();
  mp_rt_set_limits(ctx, /*max_tensor_bytes=*/uint64_t(1) << 24,
                   /*max_total_bytes=*/uint64_t(1) << 26);
  mp_status st = mp_rt_load_program_memory(ctx, data, size);
  if (st != MP_OK) {
    if (!*mp_rt_last_error(ctx)) {
      std::fprintf(stderr, "load failed without a message\n");
      std::abort();
    }
    mp_rt_destroy_context(ctx);
    return 0;
  }
  int32_t nt = 0, nf = 0;
  mp_rt_num_tensors(ctx, &nt);
  std::vector<uint8_t> buf;
  for (int32_t i = 0; i < nt; ++i) {
    mp_tensor_info info;
    if (mp_rt_tensor_info_at(ctx, i, &info) != MP_OK)
      continue;
    if (info.role == MP_ROLE_INPUT || info.role == MP_ROLE_LABEL) {
      buf.assign(info.num_bytes, 0);
      mp_rt_write_tensor(ctx, info.name, buf.data(), buf.size());
    }
  }
  mp_rt_num_functions(ctx, &nf);
  for (int32_t i = 0; i < nf; ++i) {
    const char *name = nullptr;
    if (mp_rt_function_name(ctx, i, &name) != MP_OK)
      continue;
    if (mp_rt_run(ctx, name) != MP_OK && !*mp_rt_last_error(ctx)) {
      std::fprintf(stderr, "run failed without a message\n");
      std::abort();
    }
  }
  mp_rt_destroy_context(ctx);
  return 0;
}
