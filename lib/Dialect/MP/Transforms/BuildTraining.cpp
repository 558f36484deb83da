//===- BuildTraining.cpp - @forward -> @train_step ------------------------===//
//
// mp-build-training turns the imported `@forward` (parameters as arguments
// with mp.role = "param", the loss among its values) into a training step
//   @train_step(params..., opt state..., step, lr, batch...)
//       -> (new params..., new buffers..., new opt state..., new step, loss)
// and keeps `@forward` as the eval function.
//
// Algorithm:
//  1. Classify the arguments: a float "param" used only as batch_norm's
//     input_mean / input_var is a BatchNorm running statistic ("buffer",
//     updated from batch_norm's running outputs, never trained); a param
//     whose mp.name matches `frozen` is frozen; the others are trained. An
//     integer input that feeds a loss as its labels is a "label".
//  2. Clone the body of @forward into the new function and find the loss
//     (a result mp.name or an ONNX node name; it must be a float scalar).
//  3. Mark active values: those that depend on a trained parameter.
//  4. Reverse-mode autodiff: seed the loss with 1.0 (an mp.constant named
//     "loss_seed", which mp-loss-scaling scales), then visit the cloned ops
//     in reverse order. For each op with a gradient on some result and an
//     active operand, GradientOpInterface builds the operand gradients
//     (null = none); gradients of values with several users accumulate with
//     mp.add. Every backward op carries a FusedLoc naming its forward op;
//     when autocast already painted the forward op, its backward ops get
//     the same mp.precision (f32 for norms, losses and log-softmax).
//  5. One fused update per trained parameter (mp.sgd_update or
//     mp.adam_update with PyTorch semantics); lr and step are arguments
//     ("hyper"), the moments "opt_state" arguments initialized to zeros. A
//     trained parameter that does not reach the loss gets no update (as in
//     PyTorch, where its .grad stays None) and a warning.
//  6. Erase dead forward ops (outputs the step does not return).
// Invariants: every updated result carries mp.updates = <argument index> of
// the argument it replaces; each argument carries mp.role, mp.name and, for
// state, mp.init; a gradient has exactly its primal value's type. A module
// that already has @train_step is left unchanged (idempotence).
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPInterfaces.h"
#include "mp/Dialect/MP/IR/MPOps.h"
#include "mp/Dialect/MP/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Regex.h"

namespace mp {
#define GEN_PASS_DEF_MPBUILDTRAININGPASS
#include "mp/Dialect/MP/Transforms/Passes.h.inc"
} // namespace mp

using namespace mlir;
using namespace mp;

namespace {

constexpr StringLiteral kRole = "mp.role";
constexpr StringLiteral kName = "mp.name";
constexpr StringLiteral kInit = "mp.init";
constexpr StringLiteral kUpdates = "mp.updates";

enum class ArgKind { Trained, Frozen, Buffer, Input, Label, Other };

bool isFloatTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && isa<FloatType>(rt.getElementType());
}

StringRef argName(func::FuncOp f, unsigned i) {
  if (auto s = f.getArgAttrOfType<StringAttr>(i, kName))
    return s.getValue();
  return "";
}

StringRef argRole(func::FuncOp f, unsigned i) {
  if (auto s = f.getArgAttrOfType<StringAttr>(i, kRole))
    return s.getValue();
  return "";
}

/// The ONNX node name of an op (its NameLoc).
StringRef nodeName(Location loc) {
  if (auto n = dyn_cast<NameLoc>(loc))
    return n.getName().getValue();
  return "";
}

/// Whether every use of `v` is batch_norm's input_mean or input_var.
bool onlyBatchNormStatistic(Value v) {
  if (v.use_empty())
    return false;
  return llvm::all_of(v.getUses(), [](OpOperand &use) {
    return isa<BatchNormOp>(use.getOwner()) &&
           (use.getOperandNumber() == 3 || use.getOperandNumber() == 4);
  });
}

/// Whether `v` feeds a loss op as its labels, directly or through integer
/// reshapes, casts and slices (exporters flatten the targets).
bool isLabel(Value v) {
  SmallVector<Value> work = {v};
  llvm::DenseSet<Value> seen;
  while (!work.empty()) {
    Value cur = work.pop_back_val();
    if (!seen.insert(cur).second)
      continue;
    for (OpOperand &use : cur.getUses()) {
      Operation *user = use.getOwner();
      if (isa<SoftmaxCrossEntropyLossOp, NegativeLogLikelihoodLossOp>(user) &&
          use.getOperandNumber() == 1)
        return true;
      if (isa<ReshapeOp, FlattenOp, SqueezeOp, UnsqueezeOp, TransposeOp,
              SliceOp, CastOp>(user) &&
          use.getOperandNumber() == 0 &&
          !isFloatTensor(user->getResult(0).getType()))
        work.push_back(user->getResult(0));
    }
  }
  return false;
}

bool hasFloatValues(Operation *op) {
  auto isFloat = [](Value v) { return isFloatTensor(v.getType()); };
  return llvm::any_of(op->getOperands(), isFloat) ||
         llvm::any_of(op->getResults(), isFloat);
}

/// Paints a backward op built for `forward` when autocast already decided
/// the forward op: the same precision (and f32 accumulation for
/// contractions and reductions), except that the backward ops of norms,
/// losses and log-softmax run in f32, as their statistics and
/// log-probabilities need. Leaves (constants, casts) stay unpainted, as
/// autocast leaves them.
void inheritPrecision(Operation *op, Operation *forward) {
  std::optional<Precision> p = getPrecision(forward);
  if (!p || getPrecision(op) ||
      isa<ConstantOp, CastOp, ConstantOfShapeOp, RangeOp>(op) ||
      !hasFloatValues(op))
    return;
  MLIRContext *ctx = op->getContext();
  if (isa<LayerNormOp, BatchNormOp, SoftmaxCrossEntropyLossOp,
          NegativeLogLikelihoodLossOp, LogSoftmaxOp>(forward))
    p = Precision::f32;
  op->setAttr(MPDialect::kPrecisionAttrName, PrecisionAttr::get(ctx, *p));
  if (isa<MatMulOp, GemmOp, ReduceSumOp, ReduceMeanOp, SumOp, SoftmaxGradOp,
          LogSoftmaxGradOp, ConvGradInputOp, ConvGradFilterOp,
          AveragePoolGradOp, LayerNormGradOp, BatchNormGradOp,
          SoftmaxCrossEntropyLossGradOp, NegativeLogLikelihoodLossGradOp>(op))
    op->setAttr(MPDialect::kAccumulateAttrName,
                PrecisionAttr::get(ctx, Precision::f32));
}

/// The name of a constant for messages: its resource blob key or node name.
std::string constantName(ConstantOp c) {
  if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
    return res.getRawHandle().getKey().str();
  if (StringRef n = nodeName(c.getLoc()); !n.empty())
    return n.str();
  return "<unnamed>";
}

/// Warns about the traces an inference-optimizing export leaves, which
/// silently break training: weights folded into new constants (transposes
/// folded by do_constant_folding=True) and identical initializers merged
/// into one parameter that several layers then share.
void warnAboutInferenceExport(func::FuncOp forward) {
  SmallVector<std::string> folded;
  forward.walk([&](ConstantOp c) {
    auto t = dyn_cast<RankedTensorType>(c.getType());
    if (t && isa<FloatType>(t.getElementType()) && t.getRank() >= 2)
      folded.push_back(constantName(c) + " " + llvm::formatv("{0}", t).str());
  });
  if (!folded.empty()) {
    InFlightDiagnostic w = forward.emitWarning()
                           << folded.size()
                           << " float constant(s) of rank >= 2 are not "
                              "trained (";
    for (auto [i, f] : llvm::enumerate(llvm::ArrayRef(folded).take_front(3)))
      w << (i ? ", " : "") << f;
    w << (folded.size() > 3 ? ", ..." : "")
      << "); an inference-optimizing export (do_constant_folding=True) "
         "folds transposed weights into such constants: re-export with "
         "do_constant_folding=False (docs/Training.md)";
  }
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
    if (argRole(forward, i) != "param")
      continue;
    // The same operand of several ops of one kind (LayerNorm scales, ...).
    DenseMap<std::pair<OperationName, unsigned>, unsigned> uses;
    for (OpOperand &use : forward.getArgument(i).getUses())
      ++uses[{use.getOwner()->getName(), use.getOperandNumber()}];
    for (auto &[key, count] : uses)
      if (count > 1) {
        forward.emitWarning()
            << "parameter '" << argName(forward, i) << "' is operand #"
            << key.second << " of " << count << " '" << key.first.getStringRef()
            << "' ops: an export that merges identical initializers "
               "(do_constant_folding=True) makes layers share a parameter "
               "that PyTorch trains separately; ignore this if the sharing "
               "is intended";
        break;
      }
  }
}

/// One argument or result of the new function under construction.
struct Slot {
  Type type;
  SmallVector<NamedAttribute> attrs;
};

class BuildTrainingPass
    : public mp::impl::MPBuildTrainingPassBase<BuildTrainingPass> {
public:
  using Base::Base;
  void runOnOperation() override;

private:
  LogicalResult build(ModuleOp module, func::FuncOp forward);
  FailureOr<Value> findLoss(func::FuncOp forward);
  LogicalResult differentiate(func::FuncOp step, Value loss,
                              const llvm::DenseSet<Value> &roots,
                              DenseMap<Value, Value> &grads);
};

} // namespace

void BuildTrainingPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (module.lookupSymbol("train_step"))
    return;
  auto forward = module.lookupSymbol<func::FuncOp>(funcName);
  if (!forward || forward.isExternal()) {
    module.emitError() << "mp-build-training: no function @" << funcName
                       << " with a body to differentiate";
    return signalPassFailure();
  }
  if (failed(build(module, forward)))
    return signalPassFailure();
}

FailureOr<Value> BuildTrainingPass::findLoss(func::FuncOp forward) {
  auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  Value loss;
  SmallVector<std::string> names;
  for (unsigned i = 0; i < forward.getNumResults(); ++i) {
    auto name = forward.getResultAttrOfType<StringAttr>(i, kName);
    std::string n = name ? name.str() : "#" + std::to_string(i);
    names.push_back(n);
    Value v = ret.getOperand(i);
    if (lossName.empty() ? (!loss && isFloatTensor(v.getType()) &&
                            cast<RankedTensorType>(v.getType()).getRank() == 0)
                         : (name && name.getValue() == lossName)) {
      loss = v;
      break;
    }
  }
  if (!loss && !lossName.empty()) {
    forward.walk([&](Operation *op) {
      if (!loss && op->getNumResults() && nodeName(op->getLoc()) == lossName)
        loss = op->getResult(0);
    });
  }
  if (!loss) {
    InFlightDiagnostic diag = forward.emitError();
    if (lossName.empty())
      diag << "no scalar float result to use as the loss; name one with "
              "loss=<name> (results: ";
    else
      diag << "loss '" << lossName
           << "' not found: no result mp.name or node of @"
           << forward.getSymName() << " has that name (results: ";
    diag << llvm::join(names, ", ") << ")";
    return failure();
  }
  auto t = dyn_cast<RankedTensorType>(loss.getType());
  if (!t || !isa<FloatType>(t.getElementType()) || !t.hasStaticShape() ||
      t.getNumElements() != 1) {
    forward.emitError() << "loss '"
                        << (lossName.empty() ? StringRef("#0")
                                             : StringRef(lossName))
                        << "' must be a float scalar, got " << loss.getType();
    return failure();
  }
  return loss;
}

LogicalResult
BuildTrainingPass::differentiate(func::FuncOp step, Value loss,
                                 const llvm::DenseSet<Value> &roots,
                                 DenseMap<Value, Value> &grads) {
  Block &body = step.getBody().front();
  SmallVector<Operation *> forwardOps;
  for (Operation &op : body.without_terminator())
    forwardOps.push_back(&op);

  // Active values: those that depend on a trained parameter.
  llvm::DenseSet<Value> active(roots.begin(), roots.end());
  for (Operation *op : forwardOps)
    if (llvm::any_of(op->getOperands(),
                     [&](Value v) { return active.contains(v); }))
      for (Value r : op->getResults())
        if (isFloatTensor(r.getType()))
          active.insert(r);
  if (!active.contains(loss))
    return success();

  OpBuilder b(step.getContext());
  b.setInsertionPoint(body.getTerminator());
  Operation *lossOp = loss.getDefiningOp();
  Location seedLoc =
      NameLoc::get(b.getStringAttr("loss_seed"),
                   lossOp ? getGradientLoc(lossOp) : Location(step.getLoc()));
  auto lossType = cast<RankedTensorType>(loss.getType());
  grads[loss] = ConstantOp::create(
      b, seedLoc,
      DenseElementsAttr::get(lossType,
                             b.getFloatAttr(lossType.getElementType(), 1.0)));

  for (Operation *op : llvm::reverse(forwardOps)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(grads.lookup(r));
      any |= resultGrads.back() != nullptr;
    }
    if (!any || llvm::none_of(op->getOperands(),
                              [&](Value v) { return active.contains(v); }))
      continue;
    auto iface = dyn_cast<GradientOpInterface>(op);
    if (!iface)
      return op->emitOpError("has no gradient rule (GradientOpInterface) but "
                             "lies between the parameters and the loss");
    SmallVector<Value> operandGrads;
    Operation *terminator = body.getTerminator();
    Operation *last = terminator->getPrevNode();
    if (failed(iface.buildGradients(b, resultGrads, operandGrads)))
      return failure();
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      Value g = i < operandGrads.size() ? operandGrads[i] : Value();
      if (!g || !active.contains(v))
        continue;
      if (g.getType() != v.getType())
        return op->emitOpError("gradient rule built a gradient of type ")
               << g.getType() << " for operand #" << i << " of type "
               << v.getType();
      Value &acc = grads[v];
      acc = acc ? Value(AddOp::create(b, getGradientLoc(op), acc, g)) : g;
    }
    // Backward ops follow their forward op's precision decision.
    for (Operation *n = last ? last->getNextNode() : &body.front();
         n && n != terminator; n = n->getNextNode())
      inheritPrecision(n, op);
  }
  return success();
}

LogicalResult BuildTrainingPass::build(ModuleOp module, func::FuncOp forward) {
  MLIRContext *ctx = &getContext();
  Builder attrs(ctx);

  // Options.
  StringRef opt = optimizer;
  bool isSGD = opt == "sgd" || opt == "momentum";
  bool isAdam = opt == "adam" || opt == "adamw";
  if (!isSGD && !isAdam && opt != "none")
    return forward.emitError()
           << "unknown optimizer '" << opt
           << "' (expected sgd, momentum, adam, adamw or none)";
  double lrValue = lr >= 0 ? lr : (isAdam ? 1e-3 : 1e-2);
  double mom = momentum >= 0 ? momentum : (opt == "momentum" ? 0.9 : 0.0);
  double wd = weightDecay >= 0 ? weightDecay : (opt == "adamw" ? 1e-2 : 0.0);
  if (opt == "momentum" && mom <= 0)
    return forward.emitError("optimizer=momentum needs momentum > 0");
  if (isSGD && nesterov && (mom <= 0 || dampening != 0))
    return forward.emitError("nesterov needs momentum > 0 and dampening = 0");
  if (isAdam && !(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
    return forward.emitError("beta1 and beta2 must be in [0, 1)");
  llvm::Regex frozenRe(frozen);
  std::string reError;
  if (!frozen.empty() && !frozenRe.isValid(reError))
    return forward.emitError()
           << "bad frozen regex '" << frozen << "': " << reError;

  FailureOr<Value> lossOr = findLoss(forward);
  if (failed(lossOr))
    return failure();
  warnAboutInferenceExport(forward);

  // 1. Classify the arguments.
  unsigned numArgs = forward.getNumArguments();
  SmallVector<ArgKind> kinds(numArgs, ArgKind::Other);
  for (unsigned i = 0; i < numArgs; ++i) {
    BlockArgument arg = forward.getArgument(i);
    StringRef role = argRole(forward, i);
    if (role == "param" || role == "buffer") {
      if (role == "buffer" || onlyBatchNormStatistic(arg))
        kinds[i] = ArgKind::Buffer;
      else if (!isFloatTensor(arg.getType()) ||
               (!frozen.empty() && frozenRe.match(argName(forward, i))))
        kinds[i] = ArgKind::Frozen;
      else
        kinds[i] = ArgKind::Trained;
    } else if (role == "input" || role == "label") {
      kinds[i] =
          (role == "label" || isLabel(arg)) ? ArgKind::Label : ArgKind::Input;
    }
  }
  auto roleOf = [&](unsigned i) -> StringRef {
    switch (kinds[i]) {
    case ArgKind::Trained:
    case ArgKind::Frozen:
      return "param";
    case ArgKind::Buffer:
      return "buffer";
    case ArgKind::Input:
      return "input";
    case ArgKind::Label:
      return "label";
    case ArgKind::Other:
      break;
    }
    return argRole(forward, i);
  };

  // 2. The new function: parameters and buffers, then the batch; the
  // optimizer state and hyperparameters are inserted between them once the
  // gradients are known. `argAttrs` stays parallel to the block arguments.
  OpBuilder mb(ctx);
  mb.setInsertionPointAfter(forward);
  Location loc = forward.getLoc();
  auto step =
      func::FuncOp::create(mb, loc, "train_step", mb.getFunctionType({}, {}));
  Block *body = step.addEntryBlock();
  IRMapping map;
  SmallVector<SmallVector<NamedAttribute>> argAttrs;
  auto withRole = [&](unsigned i) {
    SmallVector<NamedAttribute> out;
    if (DictionaryAttr d = forward.getArgAttrDict(i))
      for (NamedAttribute a : d)
        if (a.getName() != kRole)
          out.push_back(a);
    StringRef role = roleOf(i);
    if (!role.empty())
      out.push_back(attrs.getNamedAttr(kRole, attrs.getStringAttr(role)));
    return out;
  };
  auto isParamLike = [&](unsigned i) {
    return kinds[i] == ArgKind::Trained || kinds[i] == ArgKind::Frozen ||
           kinds[i] == ArgKind::Buffer;
  };
  for (bool params : {true, false})
    for (unsigned i = 0; i < numArgs; ++i) {
      if (isParamLike(i) != params)
        continue;
      map.map(forward.getArgument(i),
              body->addArgument(forward.getArgument(i).getType(),
                                forward.getArgument(i).getLoc()));
      argAttrs.push_back(withRole(i));
    }
  unsigned stateIndex = 0;
  for (unsigned i = 0; i < numArgs; ++i)
    stateIndex += isParamLike(i);

  OpBuilder b = OpBuilder::atBlockEnd(body);
  for (Operation &op : forward.getBody().front().without_terminator())
    b.clone(op, map);
  Value loss = map.lookup(*lossOr);
  auto ret = func::ReturnOp::create(b, loc, ValueRange{});

  // 3-4. Autodiff.
  llvm::DenseSet<Value> roots;
  for (unsigned i = 0; i < numArgs; ++i)
    if (kinds[i] == ArgKind::Trained)
      roots.insert(map.lookup(forward.getArgument(i)));
  DenseMap<Value, Value> grads;
  unsigned opsBefore = body->getOperations().size();
  if (failed(differentiate(step, loss, roots, grads))) {
    step.erase();
    return failure();
  }
  numBackwardOps += body->getOperations().size() - opsBefore;

  // 5. Optimizer state, hyperparameters and the updates.
  struct Result {
    Value value;
    SmallVector<NamedAttribute> attrs;
    BlockArgument updates;
  };
  SmallVector<Result> paramResults, bufferResults, stateResults, hyperResults;
  auto insertArg = [&](Type type, StringRef name, StringRef role,
                       Attribute init) -> BlockArgument {
    BlockArgument a = body->insertArgument(stateIndex, type, loc);
    argAttrs.insert(argAttrs.begin() + stateIndex,
                    {attrs.getNamedAttr(kInit, init),
                     attrs.getNamedAttr(kName, attrs.getStringAttr(name)),
                     attrs.getNamedAttr(kRole, attrs.getStringAttr(role))});
    ++stateIndex;
    return a;
  };
  auto named = [&](StringRef name) {
    return SmallVector<NamedAttribute>{
        attrs.getNamedAttr(kName, attrs.getStringAttr(name))};
  };
  auto zeros = [&](Type t) {
    auto rt = cast<RankedTensorType>(t);
    return DenseElementsAttr::get(rt,
                                  attrs.getFloatAttr(rt.getElementType(), 0.0));
  };

  // Which trained parameters get an update.
  SmallVector<std::pair<unsigned, Value>> trained; // (forward arg, grad)
  for (unsigned i = 0; i < numArgs; ++i) {
    if (kinds[i] != ArgKind::Trained)
      continue;
    Value g = grads.lookup(map.lookup(forward.getArgument(i)));
    if (!g) {
      forward.emitWarning() << "parameter '" << argName(forward, i)
                            << "' does not affect the loss; it gets no update";
      ++numFrozen;
      continue;
    }
    trained.push_back({i, g});
  }
  numTrained += trained.size();
  numFrozen += llvm::count(kinds, ArgKind::Frozen);

  // Per-parameter state, in parameter order.
  SmallVector<SmallVector<BlockArgument, 2>> state(trained.size());
  for (auto [k, t] : llvm::enumerate(trained)) {
    Type type = forward.getArgument(t.first).getType();
    StringRef name = argName(forward, t.first);
    if (isSGD && mom != 0)
      state[k].push_back(insertArg(type, (name + ".momentum_buffer").str(),
                                   "opt_state", zeros(type)));
    if (isAdam) {
      state[k].push_back(
          insertArg(type, (name + ".exp_avg").str(), "opt_state", zeros(type)));
      state[k].push_back(insertArg(type, (name + ".exp_avg_sq").str(),
                                   "opt_state", zeros(type)));
    }
  }
  BlockArgument stepArg, lrArg;
  auto f32Scalar = RankedTensorType::get({}, attrs.getF32Type());
  auto i64Scalar = RankedTensorType::get({}, attrs.getI64Type());
  if (isAdam || (isSGD && mom != 0))
    stepArg = insertArg(i64Scalar, "step", "hyper",
                        DenseElementsAttr::get(i64Scalar, int64_t(0)));
  if (isSGD || isAdam)
    lrArg = insertArg(f32Scalar, "lr", "hyper",
                      DenseElementsAttr::get(f32Scalar, float(lrValue)));

  b.setInsertionPoint(ret);
  Value newStep;
  if (stepArg) {
    Location sl = NameLoc::get(attrs.getStringAttr("optimizer/step"));
    Value one = ConstantOp::create(
        b, sl, DenseElementsAttr::get(i64Scalar, int64_t(1)));
    newStep = AddOp::create(b, sl, stepArg, one);
  }
  for (auto [k, t] : llvm::enumerate(trained)) {
    auto [i, g] = t;
    BlockArgument param =
        cast<BlockArgument>(map.lookup(forward.getArgument(i)));
    StringRef name = argName(forward, i);
    Location ul = NameLoc::get(attrs.getStringAttr("optimizer/" + name));
    if (opt == "none") {
      paramResults.push_back({g, named((name + ".grad").str()), {}});
      continue;
    }
    if (isSGD) {
      Value buf = state[k].empty() ? Value() : state[k][0];
      auto u = SGDUpdateOp::create(
          b, ul, param, g, buf, newStep, lrArg, Value(), Value(),
          attrs.getF64FloatAttr(mom), attrs.getF64FloatAttr(dampening),
          attrs.getBoolAttr(nesterov), attrs.getF64FloatAttr(wd));
      paramResults.push_back({u.getNewParam(), named(name), param});
      if (buf)
        stateResults.push_back({u.getNewMomentumBuffer(),
                                named((name + ".momentum_buffer").str()),
                                state[k][0]});
      continue;
    }
    auto u = AdamUpdateOp::create(
        b, ul, param, g, state[k][0], state[k][1], newStep, lrArg, Value(),
        Value(), attrs.getF64FloatAttr(beta1), attrs.getF64FloatAttr(beta2),
        attrs.getF64FloatAttr(eps), attrs.getF64FloatAttr(wd),
        attrs.getBoolAttr(opt == "adamw"));
    paramResults.push_back({u.getNewParam(), named(name), param});
    stateResults.push_back(
        {u.getNewExpAvg(), named((name + ".exp_avg").str()), state[k][0]});
    stateResults.push_back(
        {u.getNewExpAvgSq(), named((name + ".exp_avg_sq").str()), state[k][1]});
  }
  if (newStep)
    hyperResults.push_back({newStep, named("step"), stepArg});

  // BatchNorm running statistics: the last training-mode batch_norm that
  // reads a buffer provides its new value.
  for (unsigned i = 0; i < numArgs; ++i) {
    if (kinds[i] != ArgKind::Buffer)
      continue;
    Value arg = map.lookup(forward.getArgument(i));
    Value update;
    for (OpOperand &use : arg.getUses())
      if (auto bn = dyn_cast<BatchNormOp>(use.getOwner()))
        if (bn.getTrainingMode() &&
            (use.getOperandNumber() == 3 || use.getOperandNumber() == 4))
          update = bn->getResult(use.getOperandNumber() - 2);
    if (update)
      bufferResults.push_back(
          {update, named(argName(forward, i)), cast<BlockArgument>(arg)});
  }

  SmallVector<Result> results;
  for (auto *list :
       {&paramResults, &bufferResults, &stateResults, &hyperResults})
    results.append(list->begin(), list->end());
  StringRef lossResultName =
      lossName.empty() ? StringRef("loss") : StringRef(lossName);
  for (unsigned i = 0; i < forward.getNumResults(); ++i)
    if (*lossOr == forward.getBody().front().getTerminator()->getOperand(i))
      if (auto n = forward.getResultAttrOfType<StringAttr>(i, kName))
        lossResultName = n.getValue();
  results.push_back({loss, named(lossResultName), {}});

  SmallVector<Value> retValues;
  SmallVector<Type> resultTypes;
  SmallVector<DictionaryAttr> resAttrDicts;
  for (Result &r : results) {
    retValues.push_back(r.value);
    resultTypes.push_back(r.value.getType());
    if (r.updates)
      r.attrs.push_back(attrs.getNamedAttr(
          kUpdates, attrs.getI64IntegerAttr(r.updates.getArgNumber())));
    resAttrDicts.push_back(DictionaryAttr::get(ctx, r.attrs));
  }
  ret->setOperands(retValues);
  step.setFunctionType(
      FunctionType::get(ctx, body->getArgumentTypes(), resultTypes));
  SmallVector<DictionaryAttr> argAttrDicts;
  for (auto &a : argAttrs)
    argAttrDicts.push_back(DictionaryAttr::get(ctx, a));
  step.setAllArgAttrs(argAttrDicts);
  step.setAllResultAttrs(resAttrDicts);

  // 6. Dead forward ops (e.g. outputs the step does not return).
  SmallVector<Operation *> ops;
  for (Operation &op : body->without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (isOpTriviallyDead(op))
      op->erase();

  // @forward: buffer and label roles; eval mode.
  for (unsigned i = 0; i < numArgs; ++i)
    if (kinds[i] == ArgKind::Buffer || kinds[i] == ArgKind::Label)
      forward.setArgAttr(i, kRole, attrs.getStringAttr(roleOf(i)));
  if (evalForward)
    forward.walk([&](Operation *op) {
      if (auto bn = dyn_cast<BatchNormOp>(op))
        bn.setTrainingMode(0);
      else if (auto d = dyn_cast<DropoutOp>(op))
        d.setTrainingMode(0);
    });
  return success();
}
