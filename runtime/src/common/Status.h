//===- Status.h - internal status type --------------------------*- C++ -*-===//
//
// A status code from mp_rt.h plus a message: what every internal function
// that can fail returns. Nothing in the runtime throws across the C ABI.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_COMMON_STATUS_H
#define MP_RT_COMMON_STATUS_H

#include "mp_rt/mp_rt.h"

#include <cstring>
#include <string>

namespace mp::rt {

struct Status {
  mp_status code = MP_OK;
  std::string message;

  bool ok() const { return code == MP_OK; }
  static Status success() { return {}; }
  static Status error(mp_status code, std::string message) {
    return {code, std::move(message)};
  }
};

/// The value a C caller passed for an enum parameter, read without loading
/// it as the C++ enum (a C caller may pass any int; loading one outside the
/// enum's range is undefined behaviour in C++).
template <typename E> unsigned rawEnumValue(const E &e) {
  static_assert(sizeof(E) == sizeof(unsigned), "C enums are int-sized");
  unsigned v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

#define MP_RT_TRY(expr)                                                        \
  do {                                                                         \
    ::mp::rt::Status _s = (expr);                                              \
    if (!_s.ok())                                                              \
      return _s;                                                               \
  } while (0)

} // namespace mp::rt

#endif // MP_RT_COMMON_STATUS_H
