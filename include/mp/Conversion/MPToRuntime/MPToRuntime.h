//===- MPToRuntime.h - mp IR to a runtime program ---------------*- C++ -*-===//
//
// Lowers a module of mp functions to the runtime's program model
// (runtime/include/mp_rt/program.h): one tensor per SSA value, one
// instruction per op (kernel = the op's mnemonic), the memory plan, and the
// initial data of parameters, state and constants. The result is written as
// an `.mpb` file (docs/ProgramFormat.md) that the runtime loads without MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef MP_CONVERSION_MPTORUNTIME_MPTORUNTIME_H
#define MP_CONVERSION_MPTORUNTIME_MPTORUNTIME_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mp {

/// Lowers every public function of `module` and serializes the program
/// (`.mpb`) to `os`; `text` prints a readable dump instead.
mlir::LogicalResult lowerToRuntime(mlir::ModuleOp module, llvm::raw_ostream &os,
                                   bool text);

/// Registers `--mp-to-mpb` and `--mp-to-runtime-text` with mlir-translate.
void registerMPToRuntimeTranslations();
} // namespace mp

#endif // MP_CONVERSION_MPTORUNTIME_MPTORUNTIME_H
