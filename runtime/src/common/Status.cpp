//===- Status.cpp - status code names -------------------------------------===//
#include "mp_rt/mp_rt.h"

extern "C" const char *mp_status_string(mp_status status) {
  switch (status) {
  case MP_OK:
    return "ok";
  case MP_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case MP_ERROR_NOT_BUILT:
    return "backend not built";
  case MP_ERROR_INTERNAL:
    return "internal error";
  }
  return "unknown status";
}
