/*===- mpb_run.c - load and run an .mpb program through the C ABI --------===*
 *
 * A plain C embedder: lists the program's tensors, fills every input with
 * the values 1, 2, 3, ... (as f32 only; other input dtypes get zeros), runs
 * the named function and prints its float outputs.
 *   mpb_run PROGRAM.mpb FUNCTION [BACKEND]
 *===----------------------------------------------------------------------===*/
#include "mp_rt/mp_rt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(mp_context *ctx, mp_status s, const char *what) {
  if (s == MP_OK)
    return 0;
  fprintf(stderr, "%s failed: %s: %s\n", what, mp_status_string(s),
          mp_rt_last_error(ctx));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PROGRAM.mpb FUNCTION [BACKEND]\n", argv[0]);
    return 2;
  }
  mp_context *ctx = NULL;
  mp_status s = mp_rt_create_context(argc > 3 ? argv[3] : "cpu", &ctx);
  if (check(NULL, s, "create context"))
    return 1;
  if (check(ctx, mp_rt_load_program_file(ctx, argv[1]), "load")) {
    mp_rt_destroy_context(ctx);
    return 1;
  }
  int32_t n = 0;
  mp_rt_num_tensors(ctx, &n);
  for (int32_t i = 0; i < n; ++i) {
    mp_tensor_info info;
    mp_rt_tensor_info_at(ctx, i, &info);
    printf("%-12s %-9s %-5s [", info.name, mp_role_name(info.role),
           mp_dtype_name(info.dtype));
    for (int32_t d = 0; d < info.rank; ++d)
      printf(d ? ",%lld" : "%lld", (long long)info.shape[d]);
    printf("]\n");
    if (info.role != MP_ROLE_INPUT && info.role != MP_ROLE_LABEL)
      continue;
    unsigned char *buf = calloc(info.num_bytes ? info.num_bytes : 1, 1);
    if (info.dtype == MP_DTYPE_F32)
      for (int64_t k = 0; k < info.num_elements; ++k)
        ((float *)buf)[k] = (float)(k + 1);
    s = mp_rt_write_tensor(ctx, info.name, buf, info.num_bytes);
    free(buf);
    if (check(ctx, s, "write")) {
      mp_rt_destroy_context(ctx);
      return 1;
    }
  }
  if (check(ctx, mp_rt_run(ctx, argv[2]), "run")) {
    mp_rt_destroy_context(ctx);
    return 1;
  }
  for (int32_t i = 0; i < n; ++i) {
    mp_tensor_info info;
    mp_rt_tensor_info_at(ctx, i, &info);
    if (info.role != MP_ROLE_OUTPUT || info.dtype != MP_DTYPE_F32)
      continue;
    float *out = malloc(info.num_bytes ? info.num_bytes : 1);
    if (check(ctx, mp_rt_read_tensor(ctx, info.name, out, info.num_bytes),
              "read")) {
      free(out);
      mp_rt_destroy_context(ctx);
      return 1;
    }
    printf("%s =", info.name);
    for (int64_t k = 0; k < info.num_elements; ++k)
      printf(" %g", out[k]);
    printf("\n");
    free(out);
  }
  mp_rt_destroy_context(ctx);
  return 0;
}
