//===- Status.cpp - status code names -------------------------------------===//
#include "Status.h"
#include "mp_rt/mp_rt.h"

extern "C" const char *mp_status_string(mp_status status) {
  // A C caller may pass any int (see rawEnumValue).
  switch (mp::rt::rawEnumValue(status)) {
  case MP_OK:
    return "ok";
  case MP_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case MP_ERROR_NOT_BUILT:
    return "backend not built";
  case MP_ERROR_INTERNAL:
    return "internal error";
  case MP_ERROR_INVALID_PROGRAM:
    return "invalid program";
  case MP_ERROR_NOT_FOUND:
    return "not found";
  case MP_ERROR_IO:
    return "i/o error";
  case MP_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case MP_ERROR_UNSUPPORTED:
    return "unsupported";
  case MP_ERROR_EXECUTION:
    return "execution error";
  case MP_ERROR_NO_DEVICE:
    return "no device";
  case MP_ERROR_NONFINITE:
    return "non-finite value";
  }
  return "unknown status";
}
