//===- FuseGelu.cpp - recognise exported GELU as one mp.gelu --------------===//
//
// PyTorch exports nn.GELU() (the exact, erf form) to ONNX as five nodes:
//
//   d = Div(x, sqrt(2))   e = Erf(d)   a = Add(e, 1)   m = Mul(x, a)
//   y = Mul(m, 0.5)
//
// and the tanh approximation (nn.GELU(approximate="tanh"), GPT-2's
// gelu_new) as 0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))),
// x^3 being Pow(x, 3) or Mul(Mul(x, x), x). This pass rewrites either
// (operands of Add and Mul in either order, Div by sqrt(2) or Mul by
// 1/sqrt(2), 0.5 applied to x or to the product) into `y = mp.gelu x`
// (approximate "none" or "tanh"), before autodiff and autocast: the forward
// pass becomes one kernel and autodiff derives one mp.gelu_grad instead of
// the gradients of five to nine ops (each a pass over the activation). The
// constants must be scalars equal to sqrt(2), 1/sqrt(2), sqrt(2/pi),
// 0.044715, 3, 1 and 0.5 as rounded to their type (or within 1e-6), and
// every intermediate must have no other user, so nothing is computed
// twice; constants left unused go too. mp.gelu evaluates its formula in
// f32 (or f64) and rounds once, where the decomposed ops round after each
// step: in f32 the results agree to a few ulp, in f16 the fused op is the
// more accurate. The fused op keeps the final Mul's location (its ONNX
// node name).
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPOps.h"
#include "mp/Dialect/MP/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>
#include <optional>

namespace mp {
#define GEN_PASS_DEF_MPFUSEGELUPASS
#include "mp/Dialect/MP/Transforms/Passes.h.inc"
} // namespace mp

using namespace mlir;
using namespace mp;

namespace {

/// Whether v is a one-element floating-point mp.constant equal to `want`
/// as rounded to its element type (an f16 graph holds 0.70703125 for
/// 1/sqrt 2), or within 1e-6 of it.
bool isConstant(Value v, double want) {
  auto c = v.getDefiningOp<ConstantOp>();
  auto d = c ? dyn_cast<DenseElementsAttr>(c.getValue()) : nullptr;
  if (!d || d.getNumElements() != 1 || !isa<FloatType>(d.getElementType()))
    return false;
  APFloat got = *d.getValues<APFloat>().begin();
  APFloat rounded(want);
  bool lost;
  rounded.convert(got.getSemantics(), APFloat::rmNearestTiesToEven, &lost);
  return got.compare(rounded) == APFloat::cmpEqual ||
         std::fabs(got.convertToDouble() - want) <= 1e-6 * std::fabs(want);
}

bool singleUse(Value v) { return v.hasOneUse(); }

/// For a binary op with operands (l, r): the operand that is not the
/// constant `want`, when the other one is.
template <typename Op> Value otherThan(Op op, double want) {
  if (isConstant(op.getB(), want))
    return op.getA();
  if (isConstant(op.getA(), want))
    return op.getB();
  return nullptr;
}

/// x^3 as pow(x, 3), (x * x) * x or x * (x * x), single-use: returns x.
Value matchCube(Value p) {
  if (!singleUse(p))
    return nullptr;
  if (auto pw = p.getDefiningOp<PowOp>())
    return isConstant(pw.getY(), 3.0) ? pw.getX() : nullptr;
  auto m = p.getDefiningOp<MulOp>();
  if (!m)
    return nullptr;
  for (auto [sq, x] : {std::pair(m.getA(), m.getB()),
                       std::pair(m.getB(), m.getA())}) {
    auto s = sq.getDefiningOp<MulOp>();
    if (s && singleUse(sq) && s.getA() == x && s.getB() == x)
      return x;
  }
  return nullptr;
}

/// u = sqrt(2/pi) * (x + 0.044715 * x^3), single-use: returns x.
Value matchTanhArgument(Value u) {
  auto scale = u.getDefiningOp<MulOp>();
  if (!scale || !singleUse(u))
    return nullptr;
  Value v = otherThan(scale, std::sqrt(2.0 / M_PI));
  auto add = v ? v.getDefiningOp<AddOp>() : AddOp();
  if (!add || !singleUse(v))
    return nullptr;
  for (auto [x, w] : {std::pair(add.getA(), add.getB()),
                      std::pair(add.getB(), add.getA())}) {
    auto c = w.getDefiningOp<MulOp>();
    if (!c || !singleUse(w))
      continue;
    Value p = otherThan(c, 0.044715);
    if (p && matchCube(p) == x)
      return x;
  }
  return nullptr;
}

/// a = 1 + erf(x / sqrt(2)), or 1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))
/// (setting tanhForm), with single-use intermediates: returns x.
Value matchOnePlusPhi(Value a, bool &tanhForm) {
  auto add = a.getDefiningOp<AddOp>();
  if (!add || !singleUse(a))
    return nullptr;
  Value e = otherThan(add, 1.0);
  if (!e || !singleUse(e))
    return nullptr;
  if (auto t = e.getDefiningOp<TanhOp>()) {
    tanhForm = true;
    return matchTanhArgument(t.getX());
  }
  auto erf = e.getDefiningOp<ErfOp>();
  if (!erf)
    return nullptr;
  tanhForm = false;
  Value d = erf.getX();
  if (!singleUse(d))
    return nullptr;
  if (auto div = d.getDefiningOp<DivOp>())
    return isConstant(div.getB(), std::sqrt(2.0)) ? div.getA() : nullptr;
  if (auto mul = d.getDefiningOp<MulOp>())
    return otherThan(mul, std::sqrt(0.5));
  return nullptr;
}

/// y = 0.5 * x * (1 + phi(x)) in any association: returns x.
Value matchGelu(MulOp outer, bool &tanhForm) {
  // (x * a) * 0.5  or  0.5 * (x * a)
  if (Value m = otherThan(outer, 0.5)) {
    auto inner = m.getDefiningOp<MulOp>();
    if (!inner || !singleUse(m))
      return nullptr;
    Value l = inner.getA(), r = inner.getB();
    if (Value x = matchOnePlusPhi(r, tanhForm); x && x == l)
      return x;
    if (Value x = matchOnePlusPhi(l, tanhForm); x && x == r)
      return x;
    return nullptr;
  }
  // (x * 0.5) * a  or  a * (0.5 * x), in either order
  for (auto [h, a] : {std::pair(outer.getA(), outer.getB()),
                      std::pair(outer.getB(), outer.getA())}) {
    auto half = h.getDefiningOp<MulOp>();
    if (!half || !singleUse(h))
      continue;
    Value x = otherThan(half, 0.5);
    if (x && matchOnePlusPhi(a, tanhForm) == x)
      return x;
  }
  return nullptr;
}

struct FuseGeluPass : public mp::impl::MPFuseGeluPassBase<FuseGeluPass> {
  using Base::Base;
  void runOnOperation() override {
    struct Match {
      MulOp op;
      Value x;
      bool tanhForm;
    };
    SmallVector<Match> found;
    getOperation().walk([&](MulOp op) {
      bool tanhForm = false;
      Value x = matchGelu(op, tanhForm);
      if (x && x.getType() == op.getType() &&
          isa<FloatType>(getElementTypeOrSelf(x.getType())))
        found.push_back({op, x, tanhForm});
    });
    for (auto [op, x, tanhForm] : found) {
      OpBuilder b(op);
      auto gelu = GeluOp::create(b, op.getLoc(), op.getType(), x,
                                 b.getStringAttr(tanhForm ? "tanh" : "none"));
      op.getResult().replaceAllUsesWith(gelu.getResult());
      // The matched chain is now unused: erase it from the root up.
      SmallVector<Operation *> worklist = {op};
      while (!worklist.empty()) {
        Operation *dead = worklist.pop_back_val();
        if (!dead->use_empty())
          continue;
        SmallVector<Operation *> defs;
        for (Value v : dead->getOperands())
          if (Operation *d = v.getDefiningOp())
            defs.push_back(d);
        dead->erase();
        for (Operation *d : defs)
          if (d->use_empty())
            worklist.push_back(d);
      }
    }
    numFused += found.size();
  }
};

} // namespace
