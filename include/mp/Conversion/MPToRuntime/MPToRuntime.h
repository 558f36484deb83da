//===- MPToRuntime.h - mp IR to a runtime program ---------------*- C++ -*-===//
//
// Lowers a module of mp functions to the runtime's program model
// (runtime/include/mp_rt/program.h): one tensor per SSA value, one
// instruction per op (kernel = the op's mnemonic) except that chains of
// float elementwise ops fuse into one `fused_elementwise` instruction, the
// memory plan, and the initial data of parameters, state and constants. The result is written as
// an `.mpb` file (docs/ProgramFormat.md) that the runtime loads without MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef MP_CONVERSION_MPTORUNTIME_MPTORUNTIME_H
#define MP_CONVERSION_MPTORUNTIME_MPTORUNTIME_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mp {

struct RuntimeLoweringOptions {
  /// Lower each chain of f32/f16/bf16 elementwise ops (unary math, add, sub,
  /// mul, div, cast), where every op's only user is the next, to a single
  /// fused_elementwise instruction: one pass over memory and no
  /// intermediate tensors, with each step still rounded to its own dtype.
  /// Also folds a transpose of the last two dims that only matmuls read
  /// into their transA/transB flags.
  bool fuseElementwise = true;
  /// Write trainable parameters (mp.role "param", not buffers) and state
  /// that starts at zero without initial data: the loader zero-fills them
  /// and the caller writes the parameters (mp-run --init-params). Keeps
  /// programs of large models small, e.g. to ship a benchmark to a GPU
  /// machine.
  bool omitStateData = false;
};

/// Lowers every public function of `module` and serializes the program
/// (`.mpb`) to `os`; `text` prints a readable dump instead.
mlir::LogicalResult lowerToRuntime(mlir::ModuleOp module, llvm::raw_ostream &os,
                                   bool text,
                                   const RuntimeLoweringOptions &options = {});

/// Registers `--mp-to-mpb` and `--mp-to-runtime-text` with mlir-translate,
/// and the `--mp-fuse-elementwise` option they read.
void registerMPToRuntimeTranslations();
} // namespace mp

#endif // MP_CONVERSION_MPTORUNTIME_MPTORUNTIME_H
