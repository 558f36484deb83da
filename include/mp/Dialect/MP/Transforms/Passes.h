//===- Passes.h - mp passes and pipelines -----------------------*- C++ -*-===//
#ifndef MP_DIALECT_MP_TRANSFORMS_PASSES_H
#define MP_DIALECT_MP_TRANSFORMS_PASSES_H

#include "mp/Dialect/MP/IR/MPDialect.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mp {

#define GEN_PASS_DECL
#include "mp/Dialect/MP/Transforms/Passes.h.inc"

/// Options of the whole AMP pipeline (`--mp-amp-pipeline`).
struct AMPOptions : public mlir::PassPipelineOptions<AMPOptions> {
  Option<std::string> target{*this, "target",
                             llvm::cl::desc("f16 or bf16"),
                             llvm::cl::init("f16")};
  Option<std::string> policy{*this, "policy",
                             llvm::cl::desc("Policy file (JSON or YAML)")};
  ListOption<std::string> edits{*this, "edits",
                                llvm::cl::desc("List edits: allow+=Op, ...")};
  ListOption<std::string> nodes{*this, "nodes",
                                llvm::cl::desc("Node rules REGEX=f32|low|...")};
  ListOption<std::string> pins{*this, "pins",
                               llvm::cl::desc("Pinned operands OpType:1,2")};
  Option<int64_t> largeReduction{
      *this, "large-reduction",
      llvm::cl::desc("Reductions over more elements stay f32"),
      llvm::cl::init(-2)};
  Option<std::string> loss{*this, "loss",
                           llvm::cl::desc("Name of the loss value")};
  Option<std::string> report{*this, "report",
                             llvm::cl::desc("JSON decision report file")};
  Option<std::string> dot{*this, "dot",
                          llvm::cl::desc("Graphviz DOT file")};
  Option<bool> keepIOTypes{*this, "keep-io-types",
                           llvm::cl::desc("Keep function result types"),
                           llvm::cl::init(true)};
};

/// Appends the AMP pipeline (autocast, insert-casts, cleanup, verification)
/// to `pm`; callable from other compilers.
void buildAMPPipeline(mlir::OpPassManager &pm, const AMPOptions &options);

/// Registers every mp pass and the `mp-amp-pipeline`.
void registerMPPassesAndPipelines();

#define GEN_PASS_REGISTRATION
#include "mp/Dialect/MP/Transforms/Passes.h.inc"

} // namespace mp

#endif // MP_DIALECT_MP_TRANSFORMS_PASSES_H
