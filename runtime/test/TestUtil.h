//===- TestUtil.h - helpers for the runtime tests ---------------*- C++ -*-===//
//
// Host tensors built from doubles in any dtype, and a runner that wraps one
// kernel (or a hand-built program) into a program, loads it through the C
// ABI on a named backend, binds operands, runs it and reads everything back.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_TEST_TESTUTIL_H
#define MP_RT_TEST_TESTUTIL_H

#include "../src/common/Float16.h"
#include "mp_rt/mp_rt.h"
#include "mp_rt/program.h"

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace mp::rt::test {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

/// A tensor on the host: dtype, shape and raw little-endian bytes.
struct HostTensor {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<uint8_t> bytes;
  Role role = Role::Input;
  bool absent = false; ///< an absent optional operand

  static HostTensor none() {
    HostTensor t;
    t.absent = true;
    return t;
  }
  static HostTensor of(DType dt, Shape shape, const std::vector<double> &v) {
    HostTensor t;
    t.dtype = dt;
    t.shape = std::move(shape);
    t.bytes.resize(size_t(numel(t.shape)) * dtypeSize(dt));
    for (size_t i = 0; i < v.size() && i < size_t(numel(t.shape)); ++i)
      t.set(i, v[i]);
    return t;
  }
  static HostTensor f32(Shape s, const std::vector<double> &v) {
    return of(DType::F32, std::move(s), v);
  }
  static HostTensor i64(Shape s, const std::vector<double> &v) {
    return of(DType::I64, std::move(s), v);
  }
  static HostTensor boolean(Shape s, const std::vector<double> &v) {
    return of(DType::Bool, std::move(s), v);
  }
  HostTensor withRole(Role r) const {
    HostTensor t = *this;
    t.role = r;
    return t;
  }

  void set(size_t i, double v) {
    uint8_t *p = bytes.data() + i * dtypeSize(dtype);
    switch (dtype) {
    case DType::F32: {
      float f = float(v);
      std::memcpy(p, &f, 4);
      break;
    }
    case DType::F64:
      std::memcpy(p, &v, 8);
      break;
    case DType::F16: {
      uint16_t h = f64ToF16(v);
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::BF16: {
      uint16_t h = f64ToBF16(v);
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::I64: {
      int64_t x = int64_t(v);
      std::memcpy(p, &x, 8);
      break;
    }
    case DType::I32: {
      int32_t x = int32_t(v);
      std::memcpy(p, &x, 4);
      break;
    }
    case DType::I8:
      *reinterpret_cast<int8_t *>(p) = int8_t(v);
      break;
    case DType::U8:
      *p = uint8_t(v);
      break;
    case DType::Bool:
      *p = v != 0;
      break;
    }
  }
  double get(size_t i) const {
    const uint8_t *p = bytes.data() + i * dtypeSize(dtype);
    switch (dtype) {
    case DType::F32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::F64: {
      double d;
      std::memcpy(&d, p, 8);
      return d;
    }
    case DType::F16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return f16ToF32(h);
    }
    case DType::BF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return bf16ToF32(h);
    }
    case DType::I64: {
      int64_t x;
      std::memcpy(&x, p, 8);
      return double(x);
    }
    case DType::I32: {
      int32_t x;
      std::memcpy(&x, p, 4);
      return x;
    }
    case DType::I8:
      return *reinterpret_cast<const int8_t *>(p);
    case DType::U8:
    case DType::Bool:
      return *p;
    }
    return 0;
  }
  std::vector<double> values() const {
    std::vector<double> v(size_t(numel(shape)));
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = get(i);
    return v;
  }
  uint16_t bits16(size_t i) const {
    uint16_t h;
    std::memcpy(&h, bytes.data() + 2 * i, 2);
    return h;
  }
};

struct ResultSpec {
  DType dtype;
  Shape shape;
};

/// The outcome of a run: status, message, results and operands afterwards.
struct RunResult {
  mp_status status = MP_OK;
  std::string error;
  std::vector<HostTensor> results;
  std::vector<HostTensor> operands; ///< read back (state updated in place)
};

inline const char *statusName(mp_status s) { return mp_status_string(s); }

/// Owns a context of one backend; skips (through the caller) when the
/// backend is not built or has no device.
class Session {
public:
  explicit Session(const std::string &backend) {
    createStatus = mp_rt_create_context(backend.c_str(), &ctx);
    if (createStatus != MP_OK)
      createError = mp_rt_last_error(nullptr);
  }
  ~Session() { mp_rt_destroy_context(ctx); }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  bool available() const { return createStatus == MP_OK; }
  mp_context *get() const { return ctx; }
  mp_status createStatus;
  std::string createError;

  mp_status load(const Program &p) {
    std::vector<uint8_t> bytes;
    writeProgram(p, bytes);
    return mp_rt_load_program_memory(ctx, bytes.data(), bytes.size());
  }
  std::string error() const { return mp_rt_last_error(ctx); }

  mp_status write(const std::string &name, const HostTensor &t) {
    return mp_rt_write_tensor(ctx, name.c_str(), t.bytes.data(),
                              t.bytes.size());
  }
  HostTensor read(const std::string &name) {
    mp_tensor_info info;
    HostTensor t;
    if (mp_rt_tensor_info(ctx, name.c_str(), &info) != MP_OK)
      return t;
    t.dtype = DType(info.dtype);
    t.shape.assign(info.shape, info.shape + info.rank);
    t.bytes.resize(info.num_bytes);
    mp_rt_read_tensor(ctx, name.c_str(), t.bytes.data(), t.bytes.size());
    return t;
  }

  /// Wraps one instruction into function "main": operand i is tensor
  /// "in<i>" (bound with its data; Constant/state roles get it as initial
  /// data), result i is "out<i>".
  RunResult runKernel(const std::string &kernel,
                      const std::vector<HostTensor> &operands,
                      const std::vector<ResultSpec> &results,
                      const std::vector<Attribute> &attrs = {}, int runs = 1) {
    Program p;
    Function f;
    f.name = "main";
    Instruction ins;
    ins.kernel = kernel;
    ins.attrs = attrs;
    for (size_t i = 0; i < operands.size(); ++i) {
      const HostTensor &t = operands[i];
      if (t.absent) {
        ins.operands.push_back(kNoTensor);
        continue;
      }
      std::vector<uint8_t> data;
      if (t.role != Role::Input && t.role != Role::Label)
        data = t.bytes;
      uint32_t id =
          p.addTensor("in" + std::to_string(i), t.dtype, t.shape, t.role, data);
      ins.operands.push_back(id);
      if (t.role == Role::Input || t.role == Role::Label)
        f.inputs.push_back(id);
    }
    for (size_t i = 0; i < results.size(); ++i) {
      uint32_t id = p.addTensor("out" + std::to_string(i), results[i].dtype,
                                results[i].shape, Role::Output);
      ins.results.push_back(id);
      f.outputs.push_back(id);
    }
    f.body.push_back(ins);
    p.functions.push_back(f);
    planMemory(p);
    RunResult r;
    r.status = load(p);
    if (r.status != MP_OK) {
      r.error = error();
      return r;
    }
    for (size_t i = 0; i < operands.size(); ++i)
      if (!operands[i].absent &&
          (operands[i].role == Role::Input || operands[i].role == Role::Label))
        write("in" + std::to_string(i), operands[i]);
    for (int k = 0; k < runs && r.status == MP_OK; ++k)
      r.status = mp_rt_run(ctx, "main");
    // Failures raised on the device (cuda) surface at the next
    // synchronisation.
    if (r.status == MP_OK)
      r.status = mp_rt_synchronize(ctx);
    if (r.status != MP_OK) {
      r.error = error();
      return r;
    }
    for (size_t i = 0; i < results.size(); ++i)
      r.results.push_back(read("out" + std::to_string(i)));
    for (size_t i = 0; i < operands.size(); ++i)
      r.operands.push_back(operands[i].absent ? HostTensor::none()
                                              : read("in" + std::to_string(i)));
    return r;
  }

private:
  mp_context *ctx = nullptr;
};

inline Attribute aI(const std::string &n, int64_t v) {
  return Attribute::ofInt(n, v);
}
inline Attribute aF(const std::string &n, double v) {
  return Attribute::ofFloat(n, v);
}
inline Attribute aInts(const std::string &n, std::vector<int64_t> v) {
  return Attribute::ofInts(n, std::move(v));
}
inline Attribute aS(const std::string &n, const std::string &v) {
  return Attribute::ofString(n, v);
}

/// y = relu(x @ w + b): x input [2, 3], w param [3, 4], b param [4]; the
/// matmul and add results are transients. Function "forward".
inline Program buildAffineRelu() {
  Program p;
  std::vector<double> w = {0.5, -1, 0, 2, 1, 0.25, -0.5, 0, -1, 1, 1, 0.5};
  uint32_t x = p.addTensor("x", DType::F32, {2, 3}, Role::Input);
  uint32_t wt = p.addTensor("w", DType::F32, {3, 4}, Role::Param,
                            HostTensor::f32({3, 4}, w).bytes);
  uint32_t b = p.addTensor("b", DType::F32, {4}, Role::Param,
                           HostTensor::f32({4}, {0.1, 0.2, -0.3, 0}).bytes);
  uint32_t h = p.addTensor("h", DType::F32, {2, 4}, Role::Transient);
  uint32_t z = p.addTensor("z", DType::F32, {2, 4}, Role::Transient);
  uint32_t y = p.addTensor("y", DType::F32, {2, 4}, Role::Output);
  Function f;
  f.name = "forward";
  f.inputs = {x};
  f.outputs = {y};
  Instruction mm, add, relu;
  mm.kernel = "matmul";
  mm.operands = {x, wt};
  mm.results = {h};
  add.kernel = "add";
  add.operands = {h, b};
  add.results = {z};
  relu.kernel = "relu";
  relu.operands = {z};
  relu.results = {y};
  f.body = {mm, add, relu};
  p.functions.push_back(f);
  planMemory(p);
  return p;
}

} // namespace mp::rt::test

#endif // MP_RT_TEST_TESTUTIL_H
