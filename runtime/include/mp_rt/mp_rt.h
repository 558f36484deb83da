/*===- mp_rt.h - mp runtime C ABI ----------------------------------------===*
 *
 * The C interface of the mp runtime. This is the skeleton: status codes only.
 * Program loading, binding and stepping arrive with the runtime itself.
 *===----------------------------------------------------------------------===*/
#ifndef MP_RT_MP_RT_H
#define MP_RT_MP_RT_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mp_status {
  MP_OK = 0,
  MP_ERROR_INVALID_ARGUMENT = 1,
  MP_ERROR_NOT_BUILT = 2,
  MP_ERROR_INTERNAL = 3,
} mp_status;

/* A static, human-readable name for a status code. */
const char *mp_status_string(mp_status status);

#ifdef __cplusplus
}
#endif

#endif /* MP_RT_MP_RT_H */
