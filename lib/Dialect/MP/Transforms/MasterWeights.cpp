//===- MasterWeights.cpp - fp32 master weights in the training step -------===//
//
// mp-master-weights makes the parameters of @train_step fp32 master copies
// that live in the state, with low-precision working copies made once per
// step:
//  1. Every parameter argument (mp.role = "param") of a float type other
//     than f32 becomes f32 (mp.init converted); its users get one mp.cast to
//     the old type, except the fused update, which now updates the master.
//  2. Each parameter has at most one working copy per element type: equal
//     mp.cast users of a parameter are merged into the first, placed at the
//     top of the step (mp-insert-casts already makes one; this pass keeps
//     the invariant when other passes ran in between).
//  3. Gradients reach the optimizer without a cast: an mp.cast feeding the
//     grad operand of mp.sgd_update / mp.adam_update, or any operand of
//     mp.all_finite / mp.global_norm, is bypassed (the ops read low-precision
//     gradients and compute in f32; the cast is fused into them). These ops
//     lose the mp.precision autocast gave them: they define their own.
//  4. The optimizer moments (exp_avg, exp_avg_sq, momentum buffers) are
//     stored in f32 (a low-precision parameter's moments included), or in
//     bf16 with `moments=bf16`.
// Persistent state per parameter is then 4 bytes (master) + the moments
// (8 for Adam in f32): 12 bytes, plus 2 + 2 transient bytes for an f16
// working copy and gradient, i.e. 16 bytes per parameter for Adam with f16
// weights and no persistent extra copy. `report=true` emits that as a remark.
// Invariants: parameters and their updated results are f32; every update
// result keeps its argument's type (so mp.updates aliasing holds); running
// the pass twice changes nothing.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPOps.h"
#include "mp/Dialect/MP/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

namespace mp {
#define GEN_PASS_DEF_MPMASTERWEIGHTSPASS
#include "mp/Dialect/MP/Transforms/Passes.h.inc"
} // namespace mp

using namespace mlir;
using namespace mp;

namespace {

constexpr StringLiteral kRole = "mp.role";
constexpr StringLiteral kInit = "mp.init";

bool isFloatTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && isa<FloatType>(rt.getElementType());
}

/// Converts a float initializer to another float element type (dense, or a
/// resource blob of f16/bf16/f32/f64 data), or returns null.
Attribute convertInit(Attribute init, FloatType to) {
  auto value = dyn_cast_or_null<ElementsAttr>(init);
  if (!value || !isa<FloatType>(value.getElementType()))
    return nullptr;
  auto type = cast<RankedTensorType>(value.getType()).clone(to);
  auto convert = [&](APFloat x) {
    bool lost;
    x.convert(to.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    return x;
  };
  SmallVector<APFloat> values;
  if (auto dense = dyn_cast<DenseFPElementsAttr>(value)) {
    if (dense.isSplat())
      return DenseElementsAttr::get(type,
                                    convert(dense.getSplatValue<APFloat>()));
    for (const APFloat &x : dense.getValues<APFloat>())
      values.push_back(convert(x));
    return DenseElementsAttr::get(type, values);
  }
  auto res = dyn_cast<DenseResourceElementsAttr>(value);
  AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
  if (!blob)
    return nullptr;
  auto from = cast<FloatType>(value.getElementType());
  unsigned bytes = from.getWidth() / 8;
  ArrayRef<char> data = blob->getData();
  for (size_t i = 0; i + bytes <= data.size(); i += bytes) {
    uint64_t bits = 0;
    std::memcpy(&bits, data.data() + i, bytes);
    values.push_back(convert(
        APFloat(from.getFloatSemantics(), APInt(from.getWidth(), bits))));
  }
  if ((int64_t)values.size() != type.getNumElements())
    return nullptr;
  return DenseElementsAttr::get(type, values);
}

/// The update op that reads `arg` as its parameter, and whether it does.
Operation *updateOf(Value param) {
  for (Operation *user : param.getUsers()) {
    if (auto s = dyn_cast<SGDUpdateOp>(user); s && s.getParam() == param)
      return user;
    if (auto a = dyn_cast<AdamUpdateOp>(user); a && a.getParam() == param)
      return user;
  }
  return nullptr;
}

class MasterWeightsPass
    : public mp::impl::MPMasterWeightsPassBase<MasterWeightsPass> {
public:
  using Base::Base;
  void runOnOperation() override;

private:
  LogicalResult run(func::FuncOp step);
};

} // namespace

void MasterWeightsPass::runOnOperation() {
  if (moments != "f32" && moments != "bf16") {
    getOperation().emitError() << "mp-master-weights: moments must be f32 or "
                                  "bf16, got '"
                               << moments << "'";
    return signalPassFailure();
  }
  auto step = getOperation().lookupSymbol<func::FuncOp>(funcName);
  if (!step || step.isExternal()) {
    getOperation().emitError() << "mp-master-weights: no function @" << funcName
                               << "; run mp-build-training first";
    return signalPassFailure();
  }
  if (failed(run(step)))
    signalPassFailure();
}

LogicalResult MasterWeightsPass::run(func::FuncOp step) {
  MLIRContext *ctx = &getContext();
  Block &body = step.getBody().front();
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  auto f32 = Float32Type::get(ctx);
  int64_t paramElements = 0, stateBytes = 0;

  for (unsigned i = 0; i < step.getNumArguments(); ++i) {
    auto role = step.getArgAttrOfType<StringAttr>(i, kRole);
    BlockArgument arg = step.getArgument(i);
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!role || !type || !isFloatTensor(type))
      continue;
    FloatType momentType =
        moments == "bf16" ? FloatType(BFloat16Type::get(ctx)) : FloatType(f32);
    if (role.getValue() == "opt_state" && type.getElementType() != momentType) {
      // 4. Moments in f32 (or bf16), whatever the parameter's type was.
      Attribute init = convertInit(step.getArgAttr(i, kInit), momentType);
      if (!init)
        return step.emitError() << "mp-master-weights: cannot convert the "
                                   "mp.init of argument #"
                                << i << " to " << momentType;
      arg.setType(type.clone(momentType));
      step.setArgAttr(i, kInit, init);
      for (OpOperand &use : arg.getUses())
        if (isa<SGDUpdateOp, AdamUpdateOp>(use.getOwner())) {
          // The state result that corresponds to this operand.
          Operation *u = use.getOwner();
          unsigned idx = 0;
          if (auto s = dyn_cast<SGDUpdateOp>(u))
            idx = 1;
          else if (auto a = dyn_cast<AdamUpdateOp>(u))
            idx = use.get() == a.getExpAvg() ? 1 : 2;
          u->getResult(idx).setType(arg.getType());
        }
      ++numMoments;
    }
    if (role.getValue() == "opt_state")
      stateBytes +=
          type.getNumElements() * (cast<RankedTensorType>(arg.getType())
                                       .getElementType()
                                       .getIntOrFloatBitWidth() /
                                   8);
    if (role.getValue() != "param")
      continue;
    paramElements += type.getNumElements();
    stateBytes += type.getNumElements() * 4;

    // 1. A low-precision parameter becomes an f32 master.
    if (!type.getElementType().isF32()) {
      Attribute init = step.getArgAttr(i, kInit);
      Attribute converted = init ? convertInit(init, f32) : Attribute();
      if (init && !converted)
        return step.emitError() << "mp-master-weights: cannot convert the "
                                   "mp.init of argument #"
                                << i << " to f32";
      Operation *update = updateOf(arg);
      arg.setType(type.clone(f32));
      if (converted)
        step.setArgAttr(i, kInit, converted);
      auto working = CastOp::create(b, arg.getLoc(), arg,
                                    TypeAttr::get(type.getElementType()));
      arg.replaceAllUsesExcept(working,
                               SmallPtrSet<Operation *, 2>{working, update});
      if (update)
        update->getResult(0).setType(arg.getType());
      ++numMasters;
    }

    // 2. One working copy per element type.
    DenseMap<Type, CastOp> copies;
    for (Operation *user : llvm::make_early_inc_range(arg.getUsers())) {
      auto cast = dyn_cast<CastOp>(user);
      if (!cast)
        continue;
      auto [it, inserted] = copies.try_emplace(cast.getType(), cast);
      if (inserted) {
        cast->moveBefore(&body, body.begin());
        continue;
      }
      cast.replaceAllUsesWith(it->second.getResult());
      cast.erase();
    }
  }

  // 3. Gradients reach the optimizer and the finite check without a cast.
  auto bypass = [&](OpOperand &operand) {
    auto cast = operand.get().getDefiningOp<CastOp>();
    if (!cast || !isFloatTensor(cast.getInput().getType()) ||
        !isFloatTensor(cast.getType()))
      return;
    operand.set(cast.getInput());
    ++numFoldedCasts;
    if (cast->use_empty())
      cast.erase();
  };
  for (Operation &op : llvm::make_early_inc_range(body)) {
    // These ops compute in f32 from operands of any float type.
    if (isa<SGDUpdateOp, AdamUpdateOp, AllFiniteOp, GlobalNormOp>(op))
      op.removeAttr(MPDialect::kPrecisionAttrName);
    if (auto s = dyn_cast<SGDUpdateOp>(op))
      bypass(s.getGradMutable());
    else if (auto a = dyn_cast<AdamUpdateOp>(op))
      bypass(a.getGradMutable());
    else if (isa<AllFiniteOp, GlobalNormOp>(op))
      for (OpOperand &operand : op.getOpOperands())
        bypass(operand);
  }

  auto ret = body.getTerminator();
  step.setFunctionType(
      FunctionType::get(ctx, body.getArgumentTypes(), ret->getOperandTypes()));
  if (report && paramElements)
    step.emitRemark()
        << "master weights: " << paramElements
        << " parameters in f32, persistent state "
        << llvm::formatv("{0:F1}", double(stateBytes) / paramElements).str()
        << " bytes per parameter (master + optimizer moments)";
  return success();
}
