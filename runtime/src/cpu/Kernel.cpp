//===- Kernel.cpp - CPU kernel helpers: context, dtypes, broadcast --------===//
//
// Implements KernelContext (attribute access with kind checking), the
// kernel registry, bulk dtype conversion with exact f16/bf16 rounding,
// numpy broadcasting iteration and parallelFor.
//
//===----------------------------------------------------------------------===//
#include "Kernel.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <thread>
#include <type_traits>

namespace mp::rt::cpu {

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

std::string shapeStr(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

//===----------------------------------------------------------------------===//
// KernelContext
//===----------------------------------------------------------------------===//

static std::string prefix(const Instruction &ins) {
  std::string p = "kernel '" + ins.kernel + "'";
  if (const Attribute *n = ins.findAttr("name"))
    if (n->kind == Attribute::Kind::Str)
      p += " (" + n->s + ")";
  return p + ": ";
}

Status KernelContext::error(const std::string &msg) const {
  return Status::error(MP_ERROR_INVALID_PROGRAM, prefix(ins) + msg);
}
Status KernelContext::unsupported(const std::string &msg) const {
  return Status::error(MP_ERROR_UNSUPPORTED, prefix(ins) + msg);
}
Status KernelContext::execError(const std::string &msg) const {
  return Status::error(MP_ERROR_EXECUTION, prefix(ins) + msg);
}

Status KernelContext::arity(size_t minOps, size_t maxOps, size_t minRes,
                            size_t maxRes) const {
  if (operands.size() < minOps || operands.size() > maxOps)
    return error("expects " + std::to_string(minOps) +
                 (maxOps != minOps ? ".." + std::to_string(maxOps) : "") +
                 " operands, got " + std::to_string(operands.size()));
  if (results.size() < minRes || results.size() > maxRes)
    return error("expects " + std::to_string(minRes) +
                 (maxRes != minRes ? ".." + std::to_string(maxRes) : "") +
                 " results, got " + std::to_string(results.size()));
  for (size_t i = 0; i < minOps; ++i)
    if (!operands[i])
      return error("operand " + std::to_string(i) + " is required");
  return Status::success();
}

bool KernelContext::has(const std::string &name) {
  usedAttrs.insert(name);
  return ins.findAttr(name) != nullptr;
}

int64_t KernelContext::i64(const std::string &name, int64_t def) {
  usedAttrs.insert(name);
  const Attribute *a = ins.findAttr(name);
  if (!a)
    return def;
  if (a->kind != Attribute::Kind::I64) {
    attrError = "attribute '" + name + "' must be an i64";
    return def;
  }
  return a->i;
}

double KernelContext::f64(const std::string &name, double def) {
  usedAttrs.insert(name);
  const Attribute *a = ins.findAttr(name);
  if (!a)
    return def;
  if (a->kind == Attribute::Kind::F64)
    return a->f;
  if (a->kind == Attribute::Kind::I64)
    return double(a->i);
  attrError = "attribute '" + name + "' must be an f64";
  return def;
}

std::string KernelContext::str(const std::string &name,
                               const std::string &def) {
  usedAttrs.insert(name);
  const Attribute *a = ins.findAttr(name);
  if (!a)
    return def;
  if (a->kind != Attribute::Kind::Str) {
    attrError = "attribute '" + name + "' must be a string";
    return def;
  }
  return a->s;
}

std::vector<int64_t> KernelContext::ints(const std::string &name,
                                         std::vector<int64_t> def) {
  usedAttrs.insert(name);
  const Attribute *a = ins.findAttr(name);
  if (!a)
    return def;
  if (a->kind != Attribute::Kind::I64s) {
    attrError = "attribute '" + name + "' must be an i64 list";
    return def;
  }
  return a->ints;
}

Acc KernelContext::acc(DType t) {
  std::string a = str("acc", "");
  if (a.empty())
    return Acc::Native;
  if (t == DType::F64) {
    if (a != "f64")
      attrError = "acc = '" + a + "' is not supported for f64 data (f64 only)";
    return Acc::Native;
  }
  if (a == "f32")
    return Acc::Native;
  if (a == "f16")
    return Acc::F16;
  if (a == "bf16")
    return Acc::BF16;
  attrError = "acc must be \"f32\", \"f16\" or \"bf16\", got '" + a + "'";
  return Acc::Native;
}

const Registry &registry() {
  static const Registry r = [] {
    Registry r;
    registerElementwiseKernels(r);
    registerContractionKernels(r);
    registerNormKernels(r);
    registerShapeKernels(r);
    registerLossKernels(r);
    registerTrainingKernels(r);
    registerGradKernels(r);
    return r;
  }();
  return r;
}

//===----------------------------------------------------------------------===//
// Dtype conversion
//===----------------------------------------------------------------------===//

bool isInt(DType t) {
  return t == DType::I64 || t == DType::I32 || t == DType::I8 || t == DType::U8;
}

namespace {

template <typename I, typename F> I floatToInt(F x) {
  if (std::isnan(x))
    return 0;
  F t = std::trunc(x);
  if (t <= F(std::numeric_limits<I>::min()))
    return std::numeric_limits<I>::min();
  if (t >= F(std::numeric_limits<I>::max()))
    return std::numeric_limits<I>::max();
  return I(t);
}

template <typename T, typename S> void loadLoop(const S *s, T *d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_integral_v<T> && std::is_floating_point_v<S>)
      d[i] = floatToInt<T>(s[i]);
    else
      d[i] = T(s[i]);
  }
}

template <typename T, typename D>
void storeIntLoop(const T *s, D *d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_floating_point_v<T>)
      d[i] = floatToInt<D>(s[i]);
    else
      d[i] = D(s[i]); // wraps like numpy / C
  }
}

} // namespace

template <typename T> void loadAs(DType t, const void *src, T *dst, int64_t n) {
  switch (t) {
  case DType::F32:
    return loadLoop(static_cast<const float *>(src), dst, n);
  case DType::F64:
    return loadLoop(static_cast<const double *>(src), dst, n);
  case DType::F16: {
    auto *s = static_cast<const uint16_t *>(src);
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_integral_v<T>)
        dst[i] = floatToInt<T>(f16ToF32(s[i]));
      else
        dst[i] = T(f16ToF32(s[i]));
    }
    return;
  }
  case DType::BF16: {
    auto *s = static_cast<const uint16_t *>(src);
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_integral_v<T>)
        dst[i] = floatToInt<T>(bf16ToF32(s[i]));
      else
        dst[i] = T(bf16ToF32(s[i]));
    }
    return;
  }
  case DType::I64:
    return loadLoop(static_cast<const int64_t *>(src), dst, n);
  case DType::I32:
    return loadLoop(static_cast<const int32_t *>(src), dst, n);
  case DType::I8:
    return loadLoop(static_cast<const int8_t *>(src), dst, n);
  case DType::U8:
    return loadLoop(static_cast<const uint8_t *>(src), dst, n);
  case DType::Bool: {
    auto *s = static_cast<const uint8_t *>(src);
    for (int64_t i = 0; i < n; ++i)
      dst[i] = T(s[i] != 0);
    return;
  }
  }
}

template <typename T>
void storeAs(const T *src, DType t, void *dst, int64_t n) {
  switch (t) {
  case DType::F32: {
    auto *d = static_cast<float *>(dst);
    for (int64_t i = 0; i < n; ++i)
      d[i] = float(src[i]);
    return;
  }
  case DType::F64: {
    auto *d = static_cast<double *>(dst);
    for (int64_t i = 0; i < n; ++i)
      d[i] = double(src[i]);
    return;
  }
  case DType::F16: {
    auto *d = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, double>)
        d[i] = f64ToF16(src[i]);
      else if constexpr (std::is_same_v<T, float>)
        d[i] = f32ToF16(src[i]);
      else
        d[i] = f64ToF16(double(src[i]));
    }
    return;
  }
  case DType::BF16: {
    auto *d = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, double>)
        d[i] = f64ToBF16(src[i]);
      else if constexpr (std::is_same_v<T, float>)
        d[i] = f32ToBF16(src[i]);
      else
        d[i] = f64ToBF16(double(src[i]));
    }
    return;
  }
  case DType::I64:
    return storeIntLoop(src, static_cast<int64_t *>(dst), n);
  case DType::I32:
    return storeIntLoop(src, static_cast<int32_t *>(dst), n);
  case DType::I8:
    return storeIntLoop(src, static_cast<int8_t *>(dst), n);
  case DType::U8:
    return storeIntLoop(src, static_cast<uint8_t *>(dst), n);
  case DType::Bool: {
    auto *d = static_cast<uint8_t *>(dst);
    for (int64_t i = 0; i < n; ++i)
      d[i] = src[i] != T(0);
    return;
  }
  }
}

template void loadAs<float>(DType, const void *, float *, int64_t);
template void loadAs<double>(DType, const void *, double *, int64_t);
template void loadAs<int64_t>(DType, const void *, int64_t *, int64_t);
template void storeAs<float>(const float *, DType, void *, int64_t);
template void storeAs<double>(const double *, DType, void *, int64_t);
template void storeAs<int64_t>(const int64_t *, DType, void *, int64_t);

double scalarF64(const TensorView &t, int64_t i) {
  double v = 0;
  loadAs<double>(t.dtype, t.data + size_t(i) * dtypeSize(t.dtype), &v, 1);
  return v;
}

int64_t scalarI64(const TensorView &t, int64_t i) {
  int64_t v = 0;
  if (isFloat(t.dtype)) {
    double d = scalarF64(t, i);
    storeAs<double>(&d, DType::I64, &v, 1);
    return v;
  }
  loadAs<int64_t>(t.dtype, t.data + size_t(i) * dtypeSize(t.dtype), &v, 1);
  return v;
}

void storeF64(const TensorView &t, int64_t i, double v) {
  storeAs<double>(&v, t.dtype, t.data + size_t(i) * dtypeSize(t.dtype), 1);
}

template <typename T> static constexpr DType nativeOf() {
  if constexpr (std::is_same_v<T, float>)
    return DType::F32;
  else if constexpr (std::is_same_v<T, double>)
    return DType::F64;
  else
    return DType::I64;
}

template <typename T> Input<T>::Input(const TensorView &v) {
  if (v.dtype == nativeOf<T>()) {
    p = reinterpret_cast<const T *>(v.data);
    return;
  }
  tmp.resize(size_t(v.numel()));
  loadAs<T>(v.dtype, v.data, tmp.data(), v.numel());
  p = tmp.data();
}

template <typename T> Output<T>::Output(TensorView &v) : v(&v) {
  if (v.dtype == nativeOf<T>()) {
    p = reinterpret_cast<T *>(v.data);
    return;
  }
  tmp.resize(size_t(v.numel()));
  p = tmp.data();
}

template <typename T> void Output<T>::commit() {
  if (!tmp.empty())
    storeAs<T>(tmp.data(), v->dtype, v->data, v->numel());
}

template struct Input<float>;
template struct Input<double>;
template struct Input<int64_t>;
template struct Output<float>;
template struct Output<double>;
template struct Output<int64_t>;

//===----------------------------------------------------------------------===//
// Broadcasting
//===----------------------------------------------------------------------===//

bool broadcastShapes(const std::vector<const Shape *> &shapes, Shape &out) {
  size_t rank = 0;
  for (const Shape *s : shapes)
    rank = std::max(rank, s->size());
  out.assign(rank, 1);
  for (const Shape *s : shapes) {
    size_t off = rank - s->size();
    for (size_t i = 0; i < s->size(); ++i) {
      int64_t d = (*s)[i];
      int64_t &o = out[off + i];
      if (d == o || d == 1)
        continue;
      if (o == 1) {
        o = d;
        continue;
      }
      return false;
    }
  }
  return true;
}

std::vector<int64_t> stridesOf(const Shape &s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t i = int64_t(s.size()) - 2; i >= 0; --i)
    st[i] = st[i + 1] * s[i + 1];
  return st;
}

std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out) {
  std::vector<int64_t> st(out.size(), 0);
  std::vector<int64_t> own = stridesOf(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    st[off + i] = in[i] == 1 ? 0 : own[i];
  return st;
}

bool normAxis(int64_t &axis, int64_t rank, bool inclusive) {
  int64_t hi = inclusive ? rank + 1 : rank;
  if (axis < -hi || axis >= hi)
    return false;
  if (axis < 0)
    axis += hi;
  return true;
}

void forEachBroadcast(
    const Shape &out, const std::vector<std::vector<int64_t>> &inStrides,
    const std::function<void(int64_t, int64_t, const int64_t *,
                             const int64_t *)> &fn) {
  const size_t k = inStrides.size();
  int64_t total = numElements(out);
  if (total == 0)
    return;
  size_t rank = out.size();
  std::vector<int64_t> offs(k, 0), inner(k, 0);
  if (rank == 0) {
    fn(0, 1, offs.data(), inner.data());
    return;
  }
  int64_t innerN = out[rank - 1];
  for (size_t j = 0; j < k; ++j)
    inner[j] = inStrides[j][rank - 1];
  std::vector<int64_t> idx(rank, 0);
  for (int64_t start = 0; start < total; start += innerN) {
    fn(start, innerN, offs.data(), inner.data());
    // Advance the outer index (dims [0, rank-1)).
    for (int64_t d = int64_t(rank) - 2; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        for (size_t j = 0; j < k; ++j)
          offs[j] += inStrides[j][d];
        break;
      }
      for (size_t j = 0; j < k; ++j)
        offs[j] -= inStrides[j][d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

static int numThreads() {
  static const int n = [] {
    if (const char *e = std::getenv("MP_RT_NUM_THREADS")) {
      int v = std::atoi(e);
      if (v >= 1)
        return std::min(v, 64);
    }
    unsigned hw = std::thread::hardware_concurrency();
    return int(std::max(1u, std::min(hw, 8u)));
  }();
  return n;
}

void parallelFor(int64_t n, double costPerItem,
                 const std::function<void(int64_t, int64_t)> &fn) {
  int t = numThreads();
  if (n <= 0)
    return;
  if (t <= 1 || n < 2 || double(n) * costPerItem < 2e5) {
    fn(0, n);
    return;
  }
  t = int(std::min<int64_t>(t, n));
  std::vector<std::thread> threads;
  threads.reserve(size_t(t - 1));
  int64_t chunk = (n + t - 1) / t;
  for (int i = 1; i < t; ++i) {
    int64_t b = i * chunk, e = std::min(n, b + chunk);
    if (b >= e)
      break;
    threads.emplace_back([&fn, b, e] { fn(b, e); });
  }
  fn(0, std::min(n, chunk));
  for (std::thread &th : threads)
    th.join();
}

} // namespace mp::rt::cpu
