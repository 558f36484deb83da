//===- Backend.h - the interface every backend implements -------*- C++ -*-===//
//
// A backend owns the storage of one loaded program and executes its
// functions. The C ABI (CApi.cpp) is written against this interface only.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_COMMON_BACKEND_H
#define MP_RT_COMMON_BACKEND_H

#include "Status.h"
#include "mp_rt/program.h"

#include <memory>
#include <string>

namespace mp::rt {

class Backend {
public:
  virtual ~Backend() = default;
  virtual const char *name() const = 0;
  /// Takes a validated program: checks every instruction against its kernel
  /// (names, operand counts, dtypes, shapes, attributes), allocates storage
  /// and copies initial data.
  virtual Status load(std::shared_ptr<const Program> program) = 0;
  /// Copies host bytes into / out of a tensor (sizes already checked).
  virtual Status write(uint32_t tensor, const void *data, size_t size) = 0;
  virtual Status read(uint32_t tensor, void *data, size_t size) = 0;
  virtual Status run(size_t function) = 0;
  /// Waits for enqueued work (asynchronous backends).
  virtual Status synchronize() { return Status::success(); }
  /// Numerics checking (mp_rt_set_check_numerics): MP_CHECK_NAN /
  /// MP_CHECK_INF bits, 0 for off. Backends that cannot check say so.
  virtual Status setCheckNumerics(unsigned flags) {
    if (!flags)
      return Status::success();
    return Status::error(MP_ERROR_UNSUPPORTED,
                         std::string("the ") + name() +
                             " backend cannot check numerics (run with the "
                             "cpu backend to find the instruction)");
  }
  /// Device memory held by the loaded program (0 for host backends).
  virtual uint64_t deviceMemoryBytes() const { return 0; }
};

/// The CPU reference backend.
std::unique_ptr<Backend> createCpuBackend();
/// The CUDA backend (built with MP_RT_HAVE_CUDA); null with `status` set
/// (MP_ERROR_NO_DEVICE) when there is no usable GPU.
std::unique_ptr<Backend> createCudaBackend(Status &status);

} // namespace mp::rt

#endif // MP_RT_COMMON_BACKEND_H
