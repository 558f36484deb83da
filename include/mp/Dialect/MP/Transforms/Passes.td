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
           "Emit one remark per op with its precision and the reason">,
    Option<"inheritReport", "inherit-report", "bool", "false",
           "Read `report` first: an op that already carries mp.precision is "
           "reported with the rule and reason recorded there for its node "
           "and op type (the AMP training pipeline's run after autodiff); "
           "decisions do not change">
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

def MPFuseGeluPass : Pass<"mp-fuse-gelu", "mlir::ModuleOp"> {
  let summary = "Recognise exported GELU (erf form or tanh approximation) as mp.gelu";
  let description = [{
    Rewrites `0.5 * x * (1 + erf(x / sqrt(2)))`, as PyTorch exports
    nn.GELU(), into one `mp.gelu` (operands in any order, Div by sqrt(2) or
    Mul by 1/sqrt(2)), and `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715
    * x^3)))` into `mp.gelu {approximate = "tanh"}`; every intermediate
    must have no other user. Run it
    before autodiff, so the training step holds one mp.gelu_grad instead of
    the gradients of five ops. mp-compile runs it first (--fuse-gelu).
  }];
  let statistics = [
    Statistic<"numFused", "fused-gelus", "GELU patterns rewritten">
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

//===----------------------------------------------------------------------===//
// Training step (issue 4). Each pass file opens with its algorithm; the
// state layout and every option are documented in docs/Training.md.
//===----------------------------------------------------------------------===//

def MPBuildTrainingPass : Pass<"mp-build-training", "mlir::ModuleOp"> {
  let summary = "Build @train_step from @forward: reverse-mode autodiff and a fused optimizer";
  let description = [{
    Differentiates the loss of `@forward` (a result or node named by `loss`;
    default: the first scalar float result) with respect to every trainable
    parameter (`mp.role = "param"` arguments not matched by `frozen`) by
    reverse-mode autodiff through GradientOpInterface, and emits
    `@train_step(params..., optimizer state..., step, lr, batch...) ->
    (new params..., new state..., loss)` with one fused update op per
    parameter (`mp.sgd_update` or `mp.adam_update`, PyTorch semantics).
    Arguments carry `mp.role` (param, buffer, opt_state, hyper, input,
    label), `mp.name` and `mp.init`; each updated result carries
    `mp.updates = <argument index>` so a runtime aliases it onto that
    argument's buffer. BatchNorm running statistics become buffers updated
    from batch_norm's running outputs. `@forward` stays, switched to eval
    mode (Dropout and BatchNorm with training_mode = 0) unless
    `eval-forward=false`. A module that already has `@train_step` is left
    unchanged.
  }];
  let dependentDialects = ["::mp::MPDialect", "::mlir::func::FuncDialect"];
  let options = [
    Option<"lossName", "loss", "std::string", "\"\"",
           "Loss value: a result mp.name or an ONNX node name (default: the "
           "first scalar float result of @forward)">,
    Option<"optimizer", "optimizer", "std::string", "\"sgd\"",
           "sgd, momentum, adam, adamw, or none (return the gradients)">,
    Option<"lr", "lr", "double", "-1.0",
           "Learning rate, the initial value of the lr argument (default: "
           "0.01 for sgd/momentum, 0.001 for adam/adamw)">,
    Option<"momentum", "momentum", "double", "-1.0",
           "SGD momentum (default: 0 for sgd, 0.9 for momentum)">,
    Option<"dampening", "dampening", "double", "0.0", "SGD dampening">,
    Option<"nesterov", "nesterov", "bool", "false", "Nesterov momentum">,
    Option<"weightDecay", "wd", "double", "-1.0",
           "Weight decay (default: 0, and 0.01 for adamw as in PyTorch)">,
    Option<"beta1", "beta1", "double", "0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", "0.999", "Adam beta2">,
    Option<"eps", "eps", "double", "1e-8", "Adam epsilon">,
    Option<"frozen", "frozen", "std::string", "\"\"",
           "Regex over parameter names (mp.name): matching parameters get "
           "no gradient and no update">,
    Option<"funcName", "func", "std::string", "\"forward\"",
           "The forward function to differentiate">,
    Option<"evalForward", "eval-forward", "bool", "true",
           "Switch Dropout and BatchNorm of @forward to inference mode">
  ];
  let statistics = [
    Statistic<"numTrained", "trained-params", "Parameters updated by the optimizer">,
    Statistic<"numFrozen", "frozen-params", "Parameters without an update">,
    Statistic<"numBackwardOps", "backward-ops", "Ops in the backward pass">
  ];
}

def MPMasterWeightsPass : Pass<"mp-master-weights", "mlir::ModuleOp"> {
  let summary = "FP32 master parameters in the state, one low-precision working copy per step";
  let description = [{
    In @train_step: parameters become (or stay) f32 master copies that the
    fused updates update; the forward pass reads one mp.cast working copy
    per parameter and element type, made once per step; gradients reach the
    updates, mp.all_finite and mp.global_norm without a cast (the cast is
    fused into those ops); `moments=bf16` stores the optimizer moments in
    bf16. Adam with f16 working weights then needs 16 bytes per parameter
    (12 persistent: master + two f32 moments) and no persistent extra copy.
  }];
  let dependentDialects = ["::mp::MPDialect"];
  let options = [
    Option<"funcName", "func", "std::string", "\"train_step\"",
           "The training step function">,
    Option<"moments", "moments", "std::string", "\"f32\"",
           "Element type of the optimizer moments: f32 or bf16">,
    Option<"report", "report", "bool", "false",
           "Emit a remark with the persistent state bytes per parameter">
  ];
  let statistics = [
    Statistic<"numMasters", "masters", "Low-precision parameters turned into f32 masters">,
    Statistic<"numFoldedCasts", "folded-casts", "Gradient casts fused into the updates">,
    Statistic<"numMoments", "retyped-moments", "Optimizer state tensors given the moments type">
  ];
}

def MPLossScalingPass : Pass<"mp-loss-scaling", "mlir::ModuleOp"> {
  let summary = "Scale the loss, unscale in the fused updates, skip overflowing steps, update the scale on the device";
  let description = [{
    In @train_step: the loss seed becomes a `loss_scale` argument (role
    "scaler"), one mp.all_finite over all gradients gives found_inf, every
    fused update gets inv_scale = 1/loss_scale and found_inf (a skipped step
    changes nothing but the scaler state; other state updates become
    where(found_inf, old, new)), and with mode=dynamic mp.loss_scale_update
    backs off on overflow and grows after `interval` clean steps within
    [min, max] (PyTorch GradScaler defaults). A "skipped" result reports a
    skipped step. `clip-norm` adds global-norm clipping of the unscaled
    gradients (PyTorch's clip_grad_norm_), folded into inv_scale. Run it
    before canonicalize/CSE (it finds the seed constant by name).
  }];
  let dependentDialects = ["::mp::MPDialect"];
  let options = [
    Option<"mode", "mode", "std::string", "\"dynamic\"",
           "dynamic, static or none">,
    Option<"initScale", "scale", "double", "65536.0", "Initial loss scale">,
    Option<"growth", "growth", "double", "2.0", "Growth factor">,
    Option<"backoff", "backoff", "double", "0.5", "Backoff factor">,
    Option<"interval", "interval", "int64_t", "2000",
           "Clean steps before the scale grows">,
    Option<"minScale", "min", "double", "1.0", "Smallest scale">,
    Option<"maxScale", "max", "double", "16777216.0", "Largest scale (2^24)">,
    Option<"clipNorm", "clip-norm", "double", "0.0",
           "Clip the global gradient norm to this value (0: off)">,
    Option<"funcName", "func", "std::string", "\"train_step\"",
           "The training step function">
  ];
}

#endif // MP_DIALECT_MP_TRANSFORMS_PASSES
