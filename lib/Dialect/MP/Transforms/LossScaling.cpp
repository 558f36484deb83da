//===- LossScaling.cpp - loss scaling inside the training step ------------===//
//
// mp-loss-scaling makes @train_step (built by mp-build-training) scale the
// loss, unscale the gradients inside the fused updates and skip steps whose
// gradients overflowed, with the scaler state on the device:
//  - a "loss_scale" argument (mp.role = "scaler", f32, mp.init = `scale`)
//    replaces the loss seed 1.0, so every gradient is scaled;
//  - one mp.all_finite over all gradients gives found_inf = !finite;
//  - inv_scale = 1 / loss_scale (times the clipping coefficient with
//    `clip-norm`) and found_inf become operands of every mp.sgd_update /
//    mp.adam_update, which unscale the gradient and change nothing when
//    found_inf is set; every other updated result (step counter, BatchNorm
//    running statistics) becomes `where(found_inf, old, new)`, so a skipped
//    step changes nothing but the scaler state;
//  - mode=dynamic adds a "growth_tracker" argument and updates both with
//    mp.loss_scale_update (back off on overflow, grow after `interval`
//    clean steps, floor `min`, cap `max`); mode=static keeps the scale;
//  - a "skipped" result (i1) says whether the step was skipped.
// With optimizer=none the gradient results are multiplied by inv_scale.
// bf16 gets the finite check too. mode=none changes nothing except the
// optional clipping.
//
// The seed is found as the mp.constant named "loss_seed" whose single use
// is the backward op of the loss; run this pass before canonicalize/CSE,
// which may merge that constant with equal ones (the pass then reports it).
// Invariants: scaler arguments carry mp.role/mp.name/mp.init and their new
// values mp.updates; running the pass twice changes nothing.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPInterfaces.h"
#include "mp/Dialect/MP/IR/MPOps.h"
#include "mp/Dialect/MP/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mp {
#define GEN_PASS_DEF_MPLOSSSCALINGPASS
#include "mp/Dialect/MP/Transforms/Passes.h.inc"
} // namespace mp

using namespace mlir;
using namespace mp;

namespace {

constexpr StringLiteral kRole = "mp.role";
constexpr StringLiteral kName = "mp.name";
constexpr StringLiteral kInit = "mp.init";
constexpr StringLiteral kUpdates = "mp.updates";

/// The gradient operand of a fused update, or null.
Value updateGrad(Operation *op) {
  if (auto s = dyn_cast<SGDUpdateOp>(op))
    return s.getGrad();
  if (auto a = dyn_cast<AdamUpdateOp>(op))
    return a.getGrad();
  return nullptr;
}

class LossScalingPass
    : public mp::impl::MPLossScalingPassBase<LossScalingPass> {
public:
  using Base::Base;
  void runOnOperation() override;

private:
  LogicalResult scale(func::FuncOp step);
};

} // namespace

void LossScalingPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (mode != "dynamic" && mode != "static" && mode != "none") {
    module.emitError() << "mp-loss-scaling: unknown mode '" << mode
                       << "' (expected dynamic, static or none)";
    return signalPassFailure();
  }
  auto step = module.lookupSymbol<func::FuncOp>(funcName);
  if (!step || step.isExternal()) {
    module.emitError() << "mp-loss-scaling: no function @" << funcName
                       << "; run mp-build-training first";
    return signalPassFailure();
  }
  if (failed(scale(step)))
    return signalPassFailure();
}

LogicalResult LossScalingPass::scale(func::FuncOp step) {
  MLIRContext *ctx = &getContext();
  Builder attrs(ctx);
  Block &body = step.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  bool scaling = mode != "none";

  // Idempotence: a step that already has a scaler (or was clipped) is done.
  for (unsigned i = 0; i < step.getNumArguments(); ++i)
    if (auto role = step.getArgAttrOfType<StringAttr>(i, kRole))
      if (role.getValue() == "scaler")
        return success();
  SmallVector<Operation *> updates;
  for (Operation &op : body)
    if (isa<SGDUpdateOp, AdamUpdateOp>(op))
      updates.push_back(&op);
  for (Operation *u : updates) {
    auto s = dyn_cast<SGDUpdateOp>(u);
    auto a = dyn_cast<AdamUpdateOp>(u);
    if ((s && (s.getInvScale() || s.getFoundInf())) ||
        (a && (a.getInvScale() || a.getFoundInf())))
      return success();
  }
  if (!scaling && clipNorm <= 0)
    return success();
  if (scaling &&
      !(growth > 1.0 && backoff > 0.0 && backoff < 1.0 && interval >= 1 &&
        minScale > 0 && minScale <= maxScale && initScale > 0))
    return step.emitError()
           << "mp-loss-scaling: need growth > 1, 0 < backoff < 1, "
              "interval >= 1, 0 < min <= max and scale > 0";

  // The gradients: update operands, or the ".grad" results (optimizer=none).
  SmallVector<Value> grads;
  SmallVector<unsigned> gradResults;
  for (Operation *u : updates)
    grads.push_back(updateGrad(u));
  if (updates.empty())
    for (unsigned i = 0; i < step.getNumResults(); ++i)
      if (auto n = step.getResultAttrOfType<StringAttr>(i, kName))
        if (n.getValue().ends_with(".grad")) {
          grads.push_back(ret.getOperand(i));
          gradResults.push_back(i);
        }
  if (grads.empty())
    return step.emitError("mp-loss-scaling: @")
           << step.getSymName()
           << " has no fused updates and no gradient results";

  // The seed.
  ConstantOp seed;
  if (scaling) {
    for (Operation &op : body)
      if (auto c = dyn_cast<ConstantOp>(op))
        if (auto n = dyn_cast<NameLoc>(c.getLoc()))
          if (n.getName() == "loss_seed")
            seed = c;
    if (!seed)
      return step.emitError("mp-loss-scaling: no loss seed (an mp.constant "
                            "named \"loss_seed\") in @")
             << step.getSymName() << "; run it right after "
             << "mp-build-training, before canonicalize/CSE";
    SmallVector<Operation *> users(seed->getUsers());
    auto bad = llvm::find_if(
        users, [](Operation *u) { return !isGradientLoc(u->getLoc()); });
    if (bad == users.end() && users.size() > 1)
      bad = std::next(users.begin());
    if (bad != users.end())
      return (*bad)->emitError("uses the loss seed, which must feed only the "
                               "loss's backward op (merged by CSE?); run "
                               "mp-loss-scaling before canonicalize/CSE");
  }

  // Scaler arguments go before the batch; mp.updates indices at or after
  // that position move with the batch.
  unsigned insertAt = step.getNumArguments();
  for (unsigned i = 0; i < step.getNumArguments(); ++i)
    if (auto role = step.getArgAttrOfType<StringAttr>(i, kRole))
      if (role.getValue() == "input" || role.getValue() == "label") {
        insertAt = i;
        break;
      }
  auto f32Scalar = RankedTensorType::get({}, attrs.getF32Type());
  auto i64Scalar = RankedTensorType::get({}, attrs.getI64Type());
  Location loc = NameLoc::get(attrs.getStringAttr("loss_scaler"));
  auto addArg = [&](Type type, StringRef name, Attribute init) {
    (void)step.insertArgument(
        insertAt, type,
        attrs.getDictionaryAttr(
            {attrs.getNamedAttr(kInit, init),
             attrs.getNamedAttr(kName, attrs.getStringAttr(name)),
             attrs.getNamedAttr(kRole, attrs.getStringAttr("scaler"))}),
        loc);
    return step.getArgument(insertAt++);
  };
  unsigned firstInserted = insertAt;
  Value scaleArg, trackerArg;
  if (scaling)
    scaleArg = addArg(f32Scalar, "loss_scale",
                      DenseElementsAttr::get(f32Scalar, float(initScale)));
  if (mode == "dynamic")
    trackerArg = addArg(i64Scalar, "growth_tracker",
                        DenseElementsAttr::get(i64Scalar, int64_t(0)));

  if (unsigned shift = insertAt - firstInserted)
    for (unsigned i = 0; i < step.getNumResults(); ++i)
      if (auto u = step.getResultAttrOfType<IntegerAttr>(i, kUpdates))
        if (u.getInt() >= firstInserted)
          step.setResultAttr(i, kUpdates,
                             attrs.getI64IntegerAttr(u.getInt() + shift));

  // The scaled seed.
  OpBuilder b(ctx);
  if (seed) {
    b.setInsertionPoint(seed);
    Value s = scaleArg;
    auto seedType = cast<RankedTensorType>(seed.getType());
    if (seedType.getElementType() != attrs.getF32Type())
      s = CastOp::create(b, seed.getLoc(), s,
                         TypeAttr::get(seedType.getElementType()));
    if (seedType.getRank() != 0) {
      auto shape =
          RankedTensorType::get({seedType.getRank()}, attrs.getI64Type());
      Value dims = ConstantOp::create(
          b, seed.getLoc(), DenseElementsAttr::get(shape, seedType.getShape()));
      s = ReshapeOp::create(b, seed.getLoc(), s, dims, 0);
    }
    seed.replaceAllUsesWith(s);
    seed.erase();
  }

  // Finite check, unscale factor and clipping, before the first update.
  b.setInsertionPoint(updates.empty() ? ret.getOperation() : updates.front());
  Value foundInf, invScale;
  auto scalar = [&](double v) -> Value {
    return ConstantOp::create(b, loc,
                              DenseElementsAttr::get(f32Scalar, float(v)));
  };
  if (scaling) {
    Value finite = AllFiniteOp::create(b, loc, grads);
    foundInf = NotOp::create(b, loc, finite);
    invScale = ReciprocalOp::create(b, loc, scaleArg);
  }
  if (clipNorm > 0) {
    // PyTorch's clip_grad_norm_ on the unscaled gradients:
    // coef = min(max_norm / (norm + 1e-6), 1).
    Value norm = GlobalNormOp::create(b, loc, grads);
    if (invScale)
      norm = MulOp::create(b, loc, norm, invScale);
    Value denom = AddOp::create(b, loc, norm, scalar(1e-6));
    Value coef = DivOp::create(b, loc, scalar(clipNorm), denom);
    coef = MinOp::create(b, loc, ValueRange{coef, scalar(1.0)});
    invScale = invScale ? Value(MulOp::create(b, loc, invScale, coef)) : coef;
  }

  // Fused unscale and skip.
  for (Operation *u : updates) {
    if (auto s = dyn_cast<SGDUpdateOp>(u)) {
      s.getInvScaleMutable().assign(invScale);
      if (foundInf)
        s.getFoundInfMutable().assign(foundInf);
    } else if (auto a = dyn_cast<AdamUpdateOp>(u)) {
      a.getInvScaleMutable().assign(invScale);
      if (foundInf)
        a.getFoundInfMutable().assign(foundInf);
    }
  }
  b.setInsertionPoint(ret);
  for (unsigned i : gradResults)
    ret->setOperand(i, MulOp::create(b, loc, ret.getOperand(i), invScale));

  // Every other state update is predicated on the finite check.
  SmallVector<Value> results(ret.getOperands());
  SmallVector<DictionaryAttr> resAttrs;
  for (unsigned i = 0; i < step.getNumResults(); ++i)
    resAttrs.push_back(step.getResultAttrDict(i) ? step.getResultAttrDict(i)
                                                 : attrs.getDictionaryAttr({}));
  if (foundInf) {
    for (unsigned i = 0; i < results.size(); ++i) {
      auto upd = step.getResultAttrOfType<IntegerAttr>(i, kUpdates);
      Operation *def = results[i].getDefiningOp();
      if (!upd || (def && isa<SGDUpdateOp, AdamUpdateOp>(def)))
        continue;
      Value old = step.getArgument(upd.getInt());
      results[i] = WhereOp::create(b, loc, foundInf, old, results[i]);
    }
  }

  // Scaler state and the skipped flag go before the loss (the last result).
  SmallVector<std::pair<Value, DictionaryAttr>> extra;
  auto named = [&](StringRef name, Value updates) {
    SmallVector<NamedAttribute> a = {
        attrs.getNamedAttr(kName, attrs.getStringAttr(name))};
    if (updates)
      a.push_back(attrs.getNamedAttr(
          kUpdates, attrs.getI64IntegerAttr(
                        cast<BlockArgument>(updates).getArgNumber())));
    return attrs.getDictionaryAttr(a);
  };
  if (mode == "dynamic") {
    auto su = LossScaleUpdateOp::create(
        b, loc, scaleArg, trackerArg, foundInf, attrs.getF64FloatAttr(growth),
        attrs.getF64FloatAttr(backoff), attrs.getI64IntegerAttr(interval),
        attrs.getF64FloatAttr(minScale), attrs.getF64FloatAttr(maxScale));
    extra.push_back({su.getNewScale(), named("loss_scale", scaleArg)});
    extra.push_back(
        {su.getNewGrowthTracker(), named("growth_tracker", trackerArg)});
  }
  if (foundInf)
    extra.push_back({foundInf, named("skipped", Value())});
  unsigned at = results.size() - 1;
  for (auto [k, e] : llvm::enumerate(extra)) {
    results.insert(results.begin() + at + k, e.first);
    resAttrs.insert(resAttrs.begin() + at + k, e.second);
  }
  ret->setOperands(results);
  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  step.setFunctionType(FunctionType::get(ctx, body.getArgumentTypes(), types));
  step.setAllResultAttrs(resAttrs);
  return success();
}
