//===- Passes.td - mp passes ---------------------------------*- tablegen -*-===//
#ifndef MP_DIALECT_MP_TRANSFORMS_PASSES
#define MP_DIALECT_MP_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def MPAutocastPass : Pass<"mp-autocast", "mlir::ModuleOp"> {
  let summary = "Decide the precision of every op (allow/infer/clear/deny)";
  let description = [{
    Paints every floating-point op of each function with
    `mp.precision = #mp.precision<f16|bf16|f32>` (and `mp.accumulate` on
    contractions, reductions, softmax and norms) from a layered precision
    policy, as a data-flow problem over the whole function: deny spreads
    downstream through infer/clear ops, infer/clear ops between allow ops
    become low precision, clear ops follow their producer, ops fed only by
    parameters and constants follow their users, the loss subgraph stays
    f32, and a single cheap op is never cast back and forth. It only
    decides; `mp-insert-casts` materializes. Ops that already carry
    `mp.precision` keep it, so running the pass twice changes nothing.
  }];
  let dependentDialects = ["::mp::MPDialect"];
  let options = [
    Option<"target", "target", "std::string", "\"f16\"",
           "Low precision to use: f16 or bf16">,
    Option<"policyFile", "policy", "std::string", "\"\"",
           "Policy file (JSON or YAML) applied over the built-in lists">,
    ListOption<"edits", "edits", "std::string",
               "List edits applied after the file: allow+=Op, deny-=Op, clear=Op">,
    ListOption<"nodeRules", "nodes", "std::string",
               "Node rules REGEX=f32|low|allow|infer|clear|deny (ONNX node names)">,
    ListOption<"pins", "pins", "std::string",
               "Operands that stay f32: OpType:1,2">,
    Option<"largeReduction", "large-reduction", "int64_t", "-2",
           "Reductions over more elements stay f32 (-1: off; default: the policy's)">,
    Option<"lossName", "loss", "std::string", "\"\"",
           "Name (mp.name or node name) of the loss value; default: the "
           "function's first scalar float result">,
    Option<"reportFile", "report", "std::string", "\"\"",
           "Write the decision report (JSON) to this file">,
    Option<"dotFile", "dot", "std::string", "\"\"",
           "Write the graph coloured by precision (Graphviz DOT); an .svg "
           "beside it when `dot` is installed">,
    Option<"remarks", "remarks", "bool", "false",
           "Emit one remark per op with its precision and the reason">
  ];
  let statistics = [
    Statistic<"numLow", "low-precision-ops", "Ops painted low precision">,
    Statistic<"numF32", "f32-ops", "Ops kept in f32">
  ];
}

def MPInsertCastsPass : Pass<"mp-insert-casts", "mlir::ModuleOp"> {
  let summary = "Materialize autocast's decisions with mp.cast";
  let description = [{
    Retypes every op painted with `mp.precision` and inserts `mp.cast` only
    where a value crosses precisions: one cast per (value, type) shared by
    all users, placed right after the value's definition; a value that is
    itself a lossless cast of the wanted value is reused instead (no
    f16 -> f32 -> f16 round trips); float constants are converted at compile
    time. Pinned operands (LayerNorm scale/bias, BatchNorm statistics) stay
    f32. Function signatures are kept unless `keep-io-types=false`, which
    lets results take their producers' precision.
  }];
  let dependentDialects = ["::mp::MPDialect"];
  let options = [
    Option<"keepIOTypes", "keep-io-types", "bool", "true",
           "Keep function result types (cast results back)">,
    Option<"reportFile", "report", "std::string", "\"\"",
           "Add cast totals to this JSON report (written by mp-autocast)">
  ];
  let statistics = [
    Statistic<"numCasts", "casts", "Casts inserted">,
    Statistic<"castBytes", "cast-bytes", "Bytes read and written by the casts per step">,
    Statistic<"numFoldedConstants", "folded-constants", "Constants converted at compile time">
  ];
}

def MPVerifyPrecisionPass : Pass<"mp-verify-precision", "mlir::ModuleOp"> {
  let summary = "Check that operand and result types match each op's mp.precision";
  let description = [{
    After `mp-insert-casts`, every floating-point operand and result of an
    op painted `mp.precision = p` has element type p, except operands the
    policy pins to f32. This pass reports the first op that breaks that.
  }];
  let options = [
    ListOption<"pins", "pins", "std::string",
               "Extra pinned operands (OpType:1,2), as given to mp-autocast">
  ];
}

#endif // MP_DIALECT_MP_TRANSFORMS_PASSES
