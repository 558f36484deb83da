//===- Kernel.h - CPU kernel interface and shared helpers -------*- C++ -*-===//
//
// What a CPU kernel sees (tensor views, attributes, validate-only mode), the
// kernel registry, dtype conversion to and from compute buffers, numpy
// broadcasting, and a tiny parallel-for. Every kernel first checks its
// operands and attributes, then returns early in validate-only mode (run
// once per instruction at load time), then computes.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_CPU_KERNEL_H
#define MP_RT_CPU_KERNEL_H

#include "../common/Float16.h"
#include "../common/Status.h"
#include "mp_rt/program.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mp::rt::cpu {

using Shape = std::vector<int64_t>;

int64_t numElements(const Shape &s);
std::string shapeStr(const Shape &s);

/// A tensor as a kernel sees it.
struct TensorView {
  uint32_t id = kNoTensor;
  DType dtype = DType::F32;
  Role role = Role::Transient;
  Shape shape;
  uint8_t *data = nullptr;
  const std::string *name = nullptr;

  int64_t numel() const { return numElements(shape); }
  size_t bytes() const { return size_t(numel()) * dtypeSize(dtype); }
  int64_t rank() const { return int64_t(shape.size()); }
  template <typename T> T *as() const { return reinterpret_cast<T *>(data); }
};

/// Accumulation precision selected by the `acc` attribute.
enum class Acc { Native, F16, BF16 };

class KernelContext {
public:
  KernelContext(const Instruction &ins, std::vector<TensorView *> operands,
                std::vector<TensorView *> results, bool validateOnly,
                uint64_t instructionIndex)
      : ins(ins), operands(std::move(operands)), results(std::move(results)),
        validateOnly(validateOnly), instructionIndex(instructionIndex) {}

  const Instruction &ins;
  std::vector<TensorView *> operands; ///< nullptr for absent optional ones
  std::vector<TensorView *> results;
  const bool validateOnly;
  const uint64_t instructionIndex; ///< position in its function
  std::string attrError;
  std::unordered_set<std::string> usedAttrs;

  size_t numOperands() const { return operands.size(); }
  size_t numResults() const { return results.size(); }
  /// Operand i or nullptr when absent / beyond the list.
  TensorView *opt(size_t i) const {
    return i < operands.size() ? operands[i] : nullptr;
  }
  TensorView &in(size_t i) const { return *operands[i]; }
  TensorView &out(size_t i) const { return *results[i]; }

  Status error(const std::string &msg) const;
  Status unsupported(const std::string &msg) const;
  Status execError(const std::string &msg) const;

  /// Checks operand/result counts and that required operands are present
  /// (the first `minOps` operands must not be absent).
  Status arity(size_t minOps, size_t maxOps, size_t minRes,
               size_t maxRes) const;

  // Attribute access. A present attribute of the wrong kind records an
  // error (reported after the kernel returns); absent gives the default.
  bool has(const std::string &name);
  int64_t i64(const std::string &name, int64_t def);
  double f64(const std::string &name, double def);
  std::string str(const std::string &name, const std::string &def);
  std::vector<int64_t> ints(const std::string &name,
                            std::vector<int64_t> def = {});
  /// The `acc` attribute for storage dtype `t`.
  Acc acc(DType t);
};

using KernelFn = Status (*)(KernelContext &);

struct KernelInfo {
  KernelFn fn = nullptr;
  /// Results may share memory with operands (elementwise in-place). When
  /// false and a result overlaps an operand, the interpreter computes into
  /// scratch memory and copies.
  bool inPlaceSafe = false;
};

using Registry = std::unordered_map<std::string, KernelInfo>;
const Registry &registry();

/// A chain of float elementwise steps evaluated per element of a result:
/// the fused_elementwise kernel, and the epilogue that matmul and gemm apply
/// to their product. Attributes `<prefix>ops`, `<prefix>args`,
/// `<prefix>alphas`, `<prefix>types` (docs/ProgramFormat.md); operand index
/// i of `args` names operand `first + i` of the instruction.
struct ElementwiseChain {
  std::vector<int> kind, code; // per step: unary/binary/cast and its op
  std::vector<int64_t> args;   // two per step
  std::vector<float> alphas;
  std::vector<DType> types;
  size_t first = 0, numLeaves = 0;

  /// True when the instruction carries `<prefix>ops`.
  static bool present(KernelContext &c, const std::string &prefix);
  /// Parses and checks the chain over operands [first, numOperands) whose
  /// shapes must broadcast to `shape`; with `fed`, step 0 may read -1: the
  /// value run() is given.
  Status parse(KernelContext &c, const std::string &prefix, size_t first,
               bool fed, const Shape &shape);
  DType resultType() const { return types.back(); }
  /// y[e] = chain(fed[e], operands) for every element of y (whose shape is
  /// parse()'s); `fed` may be null when the chain does not read it.
  void run(KernelContext &c, const float *fed, TensorView &y) const;
};

void registerElementwiseKernels(Registry &r);
void registerContractionKernels(Registry &r);
void registerNormKernels(Registry &r);
void registerShapeKernels(Registry &r);
void registerLossKernels(Registry &r);
void registerTrainingKernels(Registry &r);
void registerGradKernels(Registry &r);

//===----------------------------------------------------------------------===//
// Dtype helpers
//===----------------------------------------------------------------------===//

bool isInt(DType t); // integer types, not bool
inline bool isLowFloat(DType t) { return t == DType::F16 || t == DType::BF16; }

/// Converts n elements of `src` (dtype t) into T (float, double or int64).
/// Float to int truncates toward zero (NaN -> 0, saturating); to bool is
/// `x != 0`.
template <typename T> void loadAs(DType t, const void *src, T *dst, int64_t n);
/// Stores n values of T into `dst` of dtype t with one rounding.
template <typename T> void storeAs(const T *src, DType t, void *dst, int64_t n);

/// Reads one element as double / int64 (slow; scalars and indices).
double scalarF64(const TensorView &t, int64_t i = 0);
int64_t scalarI64(const TensorView &t, int64_t i = 0);
void storeF64(const TensorView &t, int64_t i, double v);

/// A tensor read as T: points at the data when the dtype already is T,
/// else at a converted copy.
template <typename T> struct Input {
  const T *p = nullptr;
  std::vector<T> tmp;
  explicit Input(const TensorView &v);
  const T &operator[](int64_t i) const { return p[i]; }
};

/// A result written as T: points at the data when the dtype is T, else at
/// scratch that commit() converts into the tensor.
template <typename T> struct Output {
  T *p = nullptr;
  std::vector<T> tmp;
  TensorView *v;
  explicit Output(TensorView &v);
  void commit();
  T &operator[](int64_t i) { return p[i]; }
};

/// Round `x` to the accumulation precision.
inline float accRound(float x, Acc a) {
  switch (a) {
  case Acc::Native:
    return x;
  case Acc::F16:
    return f16ToF32(f32ToF16(x));
  case Acc::BF16:
    return bf16ToF32(f32ToBF16(x));
  }
  return x;
}
inline double accRound(double x, Acc) { return x; }
inline int64_t accRound(int64_t x, Acc) { return x; }

/// Calls f(T{}) with T the compute type of `t`: float for f32/f16/bf16,
/// double for f64, int64_t for integers and bool.
template <typename F> auto dispatchCompute(DType t, F &&f) {
  switch (t) {
  case DType::F32:
  case DType::F16:
  case DType::BF16:
    return f(float{});
  case DType::F64:
    return f(double{});
  default:
    return f(int64_t{});
  }
}

/// C[M, N] = A[M, K] @ B[K, N], row-major, k summed in ascending order in
/// the accumulation type, rows split over threads (Contraction.cpp).
template <typename T>
void gemm(const T *A, const T *B, T *C, int64_t M, int64_t N, int64_t K,
          Acc acc);

//===----------------------------------------------------------------------===//
// Shapes and broadcasting
//===----------------------------------------------------------------------===//

/// Numpy broadcast of several shapes; false if incompatible.
bool broadcastShapes(const std::vector<const Shape *> &shapes, Shape &out);
/// Row-major strides.
std::vector<int64_t> stridesOf(const Shape &s);
/// Strides of `in` broadcast to `out` (0 on broadcast dims).
std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out);
/// Normalizes an axis in [-rank, rank) (or [-rank, rank] with `inclusive`).
bool normAxis(int64_t &axis, int64_t rank, bool inclusive = false);

/// Visits every output index of `out` with the matching linear offsets of
/// the broadcast inputs: fn(outIndex, offsets[]) in row-major order, called
/// for contiguous inner runs as fn(outStart, count, offsets, innerStrides).
void forEachBroadcast(
    const Shape &out, const std::vector<std::vector<int64_t>> &inStrides,
    const std::function<void(int64_t, int64_t, const int64_t *,
                             const int64_t *)> &fn);

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

/// Runs fn(begin, end) over [0, n) split across threads when n * cost is
/// large enough to pay for them.
void parallelFor(int64_t n, double costPerItem,
                 const std::function<void(int64_t, int64_t)> &fn);

} // namespace mp::rt::cpu

#endif // MP_RT_CPU_KERNEL_H
