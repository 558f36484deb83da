//===- VerifyPrecision.cpp - operand types match mp.precision -------------===//
//
// The post-condition of mp-insert-casts, as its own pass: for every op with
// `mp.precision = p`, each floating-point result has element type p, and so
// does each floating-point operand except the operands the policy pins to
// f32 (which must then be f32). mp.cast ops and ops without the attribute
// are not checked.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/Analysis/PrecisionPolicy.h"
#include "mp/Dialect/MP/IR/MPOps.h"
#include "mp/Dialect/MP/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/TypeUtilities.h"

namespace mp {
#define GEN_PASS_DEF_MPVERIFYPRECISIONPASS
#include "mp/Dialect/MP/Transforms/Passes.h.inc"
} // namespace mp

using namespace mlir;
using namespace mp;

namespace {
struct VerifyPrecisionPass
    : public mp::impl::MPVerifyPrecisionPassBase<VerifyPrecisionPass> {
  using Base::Base;
  void runOnOperation() override {
    PrecisionPolicy policy = PrecisionPolicy::defaults(Precision::f16);
    std::string err;
    for (const std::string &p : pins)
      if (failed(policy.addPin(p, err))) {
        getOperation().emitError() << "mp-verify-precision: " << err;
        return signalPassFailure();
      }
    WalkResult result = getOperation().walk([&](Operation *op) {
      std::optional<Precision> p = getPrecision(op);
      if (!p || isa<CastOp>(op))
        return WalkResult::advance();
      Type want = getFloatType(op->getContext(), *p);
      StringRef type = PrecisionPolicy::onnxName(op->getName().getStringRef());
      for (OpOperand &o : op->getOpOperands()) {
        Type elt = getElementTypeOrSelf(o.get().getType());
        if (!isa<FloatType>(elt))
          continue;
        bool pinned = policy.isPinned(type, o.getOperandNumber());
        Type expect = pinned ? Float32Type::get(op->getContext()) : want;
        if (elt != expect) {
          op->emitOpError() << "has mp.precision = " << stringifyPrecision(*p)
                            << " but operand #" << o.getOperandNumber()
                            << " is " << elt << " (expected " << expect
                            << (pinned ? ", pinned" : "") << ")";
          return WalkResult::interrupt();
        }
      }
      for (OpResult r : op->getResults()) {
        Type elt = getElementTypeOrSelf(r.getType());
        // Statistics outputs (LayerNorm mean/inv_std) have their own type.
        if (!isa<FloatType>(elt) || elt == want ||
            (isa<LayerNormOp>(op) && r.getResultNumber() > 0) ||
            (isa<BatchNormOp>(op) && r.getResultNumber() > 0))
          continue;
        op->emitOpError() << "has mp.precision = " << stringifyPrecision(*p)
                          << " but result #" << r.getResultNumber() << " is "
                          << elt;
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
