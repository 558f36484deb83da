/*===- mp_rt.h - mp runtime C ABI ----------------------------------------===*
 *
 * The C interface of the mp runtime: create a context for a backend, load a
 * program (.mpb, docs/ProgramFormat.md), query its tensors, copy data in,
 * run a function, copy results and state out. Every call returns a status
 * (no exception ever crosses this boundary); mp_rt_last_error gives the
 * message of the last failure. Handles are opaque. A context is not
 * thread-safe: use one per thread or lock around it.
 *===----------------------------------------------------------------------===*/
#ifndef MP_RT_MP_RT_H
#define MP_RT_MP_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mp_status {
  MP_OK = 0,
  MP_ERROR_INVALID_ARGUMENT = 1,
  MP_ERROR_NOT_BUILT = 2,
  MP_ERROR_INTERNAL = 3,
  MP_ERROR_INVALID_PROGRAM = 4, /* malformed or inconsistent program */
  MP_ERROR_NOT_FOUND = 5,       /* no tensor / function of that name */
  MP_ERROR_IO = 6,              /* cannot read a file */
  MP_ERROR_OUT_OF_MEMORY = 7,
  MP_ERROR_UNSUPPORTED = 8, /* kernel or dtype the backend lacks */
  MP_ERROR_EXECUTION = 9,   /* a kernel failed at run time (bad index...) */
  MP_ERROR_NO_DEVICE = 10,  /* backend built, but no device present */
  MP_ERROR_NONFINITE = 11,  /* numerics checking found inf or NaN */
} mp_status;

/* Element types; the values are the .mpb dtype codes. */
typedef enum mp_dtype {
  MP_DTYPE_F32 = 0,
  MP_DTYPE_F16 = 1,
  MP_DTYPE_BF16 = 2,
  MP_DTYPE_F64 = 3,
  MP_DTYPE_I64 = 4,
  MP_DTYPE_I32 = 5,
  MP_DTYPE_I8 = 6,
  MP_DTYPE_U8 = 7,
  MP_DTYPE_BOOL = 8, /* one byte, 0 or 1 */
} mp_dtype;

/* Tensor roles; the values are the .mpb role codes. */
typedef enum mp_role {
  MP_ROLE_INPUT = 0,
  MP_ROLE_LABEL = 1,
  MP_ROLE_PARAM = 2,
  MP_ROLE_OPT_STATE = 3,
  MP_ROLE_SCALER = 4,
  MP_ROLE_OUTPUT = 5,
  MP_ROLE_CONSTANT = 6,
  MP_ROLE_TRANSIENT = 7,
} mp_role;

/* A context: one backend, at most one loaded program and its state. */
typedef struct mp_context mp_context;

/* Describes a tensor of the loaded program. `shape` points into the
 * context and stays valid until the next load or destroy. */
typedef struct mp_tensor_info {
  const char *name;
  mp_dtype dtype;
  mp_role role;
  int32_t rank;
  const int64_t *shape;
  int64_t num_elements;
  size_t num_bytes;
} mp_tensor_info;

/* A static, human-readable name for a status code. */
const char *mp_status_string(mp_status status);
/* Static names of dtypes and roles ("f32", "param", ...). */
const char *mp_dtype_name(mp_dtype dtype);
const char *mp_role_name(mp_role role);

/* Creates a context for `backend`: "cpu", or "cuda" (MP_ERROR_NOT_BUILT
 * when this library has no CUDA backend). On failure *out is NULL and
 * mp_rt_last_error(NULL) says why. */
mp_status mp_rt_create_context(const char *backend, mp_context **out);
void mp_rt_destroy_context(mp_context *ctx);
/* The message of the last failed call on `ctx` ("" if none). With NULL:
 * the last failure of a call without a context on this thread. */
const char *mp_rt_last_error(const mp_context *ctx);
/* The backend name of a context ("cpu"). */
const char *mp_rt_backend(const mp_context *ctx);

/* Limits applied to programs loaded afterwards (0 keeps a limit as it is;
 * defaults: 16 GiB per tensor, 64 GiB for all tensors and the arena). A
 * program over a limit fails to load with MP_ERROR_INVALID_PROGRAM. */
mp_status mp_rt_set_limits(mp_context *ctx, uint64_t max_tensor_bytes,
                           uint64_t max_total_bytes);

/* Numerics checking, for debugging (mp-run --check-numerics). With
 * `flags` non-zero, a run scans the floating-point results of every
 * instruction after it executes and stops at the first one holding NaN
 * (MP_CHECK_NAN) or +-inf (MP_CHECK_INF), returning MP_ERROR_NONFINITE with
 * a message naming the function, the instruction index, its kernel and the
 * ONNX node it came from (the instruction's "name" attribute). 0 turns it
 * off. Backends that cannot check return MP_ERROR_UNSUPPORTED (only the cpu
 * backend checks). The setting survives loads. Slow: one pass over every
 * result. */
#define MP_CHECK_NAN 1
#define MP_CHECK_INF 2
mp_status mp_rt_set_check_numerics(mp_context *ctx, int flags);

/* Loads (replacing any loaded program) and allocates state, copying the
 * initial data of params, optimizer/scaler state and constants. */
mp_status mp_rt_load_program_file(mp_context *ctx, const char *path);
mp_status mp_rt_load_program_memory(mp_context *ctx, const void *data,
                                    size_t size);

/* Enumerates tensors and functions of the loaded program. */
mp_status mp_rt_num_tensors(mp_context *ctx, int32_t *count);
mp_status mp_rt_tensor_info_at(mp_context *ctx, int32_t index,
                               mp_tensor_info *info);
mp_status mp_rt_tensor_info(mp_context *ctx, const char *name,
                            mp_tensor_info *info);
mp_status mp_rt_num_functions(mp_context *ctx, int32_t *count);
mp_status mp_rt_function_name(mp_context *ctx, int32_t index,
                              const char **name);

/* Copies `size` bytes (exactly the tensor's num_bytes, in its dtype,
 * row-major) into a tensor: inputs and labels before a run, or state
 * (params, opt_state, scaler, output), e.g. to set the loss scale.
 * Constants and transients cannot be written. */
mp_status mp_rt_write_tensor(mp_context *ctx, const char *name,
                             const void *data, size_t size);
/* Copies a tensor out (any role but transient). */
mp_status mp_rt_read_tensor(mp_context *ctx, const char *name, void *data,
                            size_t size);

/* Runs a function of the loaded program. On failure state may be partly
 * updated. */
mp_status mp_rt_run(mp_context *ctx, const char *function);

/* Waits until every run enqueued on the context has finished and reports
 * any failure a kernel raised on the device. Runs on an asynchronous
 * backend (cuda) return once enqueued; reading a tensor also waits. */
mp_status mp_rt_synchronize(mp_context *ctx);

/* Bytes of device memory the loaded program holds (cuda: the one
 * allocation of parameters, state, constants, arena, scratch and
 * workspace); 0 on the cpu backend. */
mp_status mp_rt_device_memory(mp_context *ctx, uint64_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* MP_RT_MP_RT_H */
