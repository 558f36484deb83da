//===- CudaKernel.h - CUDA kernel interface and host helpers ----*- C++ -*-===//
//
// What a CUDA kernel sees. The CUDA backend validates every instruction with
// the CPU reference kernel in validate-only mode (one set of checks, one set
// of error messages), so a CUDA kernel receives operands that are known to
// be well formed: it reads its attributes through the same KernelContext,
// whose TensorViews point at device memory, and enqueues work on
// `Env::stream` without synchronising. Kernels must be capturable into a
// CUDA graph: no host synchronisation, no allocation, no host reads of
// device data. Host copies of constant tensors are available through
// Env::hostData. Errors that only show at run time (an index out of range)
// are raised on the device with `deviceFail` and reported by the backend at
// its next synchronisation, naming the instruction.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_CUDA_CUDAKERNEL_H
#define MP_RT_CUDA_CUDAKERNEL_H

#include "../cpu/Kernel.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace mp::rt::cuda {

using cpu::KernelContext;
using cpu::Shape;
using cpu::TensorView;

/// Device-side error codes written into Env::errorFlag[1].
enum DeviceError : int {
  kDevIndexOutOfRange = 1,
  kDevDivideByZero = 2,
  kDevBadValue = 3,
};

/// cuBLASLt algorithms chosen per problem shape (Contraction.cu).
struct MatmulPlanCache {
  std::unordered_map<std::string, cublasLtMatmulAlgo_t> algos;
};

/// Per-backend state shared by kernels.
struct Env {
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  void *workspace = nullptr; ///< cuBLASLt workspace
  size_t workspaceBytes = 0;
  /// Device int[2]: {instruction index + 1, DeviceError} of the first
  /// failure since the last check; {0, 0} when none.
  int *errorFlag = nullptr;
  /// Per-instruction scratch (device), Env::scratchBytes long; set by the
  /// backend before each kernel that declared a scratch need.
  void *scratch = nullptr;
  size_t scratchBytes = 0;
  int numSMs = 1;
  const Program *program = nullptr;
  MatmulPlanCache matmulCache;
  /// Time cuBLASLt's top candidates for a new product shape when it runs
  /// outside graph capture (MP_CUDA_TUNE=0: the heuristic's first choice).
  bool tuneMatmuls = true;

  /// Host bytes of a constant tensor (its program data), or null.
  const uint8_t *hostData(const TensorView &t) const;
};

using KernelFn = Status (*)(KernelContext &, Env &);
/// Scratch bytes an instruction needs (called at load time, after the CPU
/// validation); null means none.
using ScratchFn = size_t (*)(KernelContext &);
/// Multi-tensor kernels: the key under which an instruction may share one
/// launch with its neighbours (called at load time, once device addresses
/// are known); empty when it must run alone. Consecutive instructions of
/// one key, none reading or writing another's results, run as one call of
/// the BatchFn, which may launch as few kernels as it likes.
using BatchKeyFn = std::string (*)(KernelContext &);
using BatchFn = Status (*)(std::vector<KernelContext> &, Env &);

struct KernelInfo {
  KernelFn fn = nullptr;
  /// Results may alias operands (elementwise in place). When false and a
  /// result overlaps an operand, the backend computes into scratch memory
  /// and copies.
  bool inPlaceSafe = false;
  ScratchFn scratch = nullptr;
  BatchKeyFn batchKey = nullptr;
  BatchFn batch = nullptr;
};

using Registry = std::unordered_map<std::string, KernelInfo>;
const Registry &registry();

void registerElementwiseKernels(Registry &r);
void registerContractionKernels(Registry &r);
void registerShapeKernels(Registry &r);
void registerReduceKernels(Registry &r);
void registerNormKernels(Registry &r);
void registerLossKernels(Registry &r);
void registerWindowKernels(Registry &r);
void registerTrainingKernels(Registry &r);

/// Turns the last CUDA error (e.g. of a launch) into a status naming the
/// instruction's kernel and `what`.
Status checkLaunch(KernelContext &c, const char *what);
/// Same for an explicit cudaError_t / cublasStatus_t.
Status checkCuda(KernelContext &c, cudaError_t e, const char *what);
Status checkCublas(KernelContext &c, cublasStatus_t s, const char *what);

/// Evaluates an elementwise chain (fused_elementwise, or a matmul/gemm
/// epilogue fed with the product `fed`) into `y` (Elementwise.cu).
Status launchChain(KernelContext &c, Env &env, const cpu::ElementwiseChain &ch,
                   const TensorView *fed, TensorView &y);

/// dst = src broadcast to dst's shape, converted to dst's dtype; and
/// t *= factor (Elementwise.cu).
Status broadcastCopy(KernelContext &c, Env &env, const TensorView &src,
                     TensorView &dst);
Status scaleInPlace(KernelContext &c, Env &env, TensorView &t, double factor);

/// Device-to-device copy on the stream (no-op when n == 0 or dst == src).
Status copyAsync(KernelContext &c, Env &env, void *dst, const void *src,
                 size_t n);

} // namespace mp::rt::cuda

#endif // MP_RT_CUDA_CUDAKERNEL_H
