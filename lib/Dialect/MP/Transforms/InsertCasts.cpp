//===- InsertCasts.cpp - materialize precision decisions ------------------===//
//
// mp-insert-casts walks each function once, in order. For an op painted
// `mp.precision = p` it first gives every floating-point operand the type the
// op wants (p, or f32 for pinned operands), then re-infers the op's result
// types from its new operand types (every mp op implements type inference).
// Ops without a precision (shape arithmetic) are re-inferred too when an
// operand changed; ops of other dialects and the function's return get their
// original operand types back.
//
// Casts: one per (value, element type), shared by all users and placed right
// after the value's definition (at the top of the block for arguments). If
// the value is itself a lossless cast of a value of the wanted type, that
// value is used instead, so f16 -> f32 -> f16 round trips never appear.
// Float constants are converted at compile time (dense and resource blobs).
// Invariant afterwards: every painted op's operands and results match its
// precision (checked by mp-verify-precision), and the IR verifies.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/Analysis/PrecisionPolicy.h"
#include "mp/Dialect/MP/IR/MPOps.h"
#include "mp/Dialect/MP/Transforms/Passes.h"
#include "Report.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/JSON.h"

namespace mp {
#define GEN_PASS_DEF_MPINSERTCASTSPASS
#include "mp/Dialect/MP/Transforms/Passes.h.inc"
} // namespace mp

using namespace mlir;
using namespace mp;

namespace {

bool isFloatTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && isa<FloatType>(rt.getElementType());
}

int64_t staticElements(Type t) {
  auto rt = cast<RankedTensorType>(t);
  int64_t n = 1;
  for (int64_t d : rt.getShape())
    n *= ShapedType::isDynamic(d) ? 1 : d;
  return n;
}

/// Whether every `from` value is exactly representable in `to`.
bool lossless(Type from, Type to) {
  auto f = dyn_cast<FloatType>(from), t = dyn_cast<FloatType>(to);
  return f && t &&
         APFloat::isRepresentableAsNormalIn(f.getFloatSemantics(),
                                            t.getFloatSemantics());
}

/// Converts a float constant to another float element type, or null.
ElementsAttr convertConstant(ElementsAttr value, FloatType to) {
  auto type = cast<RankedTensorType>(value.getType()).clone(to);
  auto convert = [&](APFloat x) {
    bool lost;
    x.convert(to.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    return x;
  };
  if (auto dense = dyn_cast<DenseFPElementsAttr>(value)) {
    if (dense.isSplat())
      return DenseElementsAttr::get(type,
                                    convert(dense.getSplatValue<APFloat>()));
    SmallVector<APFloat> values;
    for (const APFloat &x : dense.getValues<APFloat>())
      values.push_back(convert(x));
    return DenseElementsAttr::get(type, values);
  }
  auto res = dyn_cast<DenseResourceElementsAttr>(value);
  if (!res || !res.getElementType().isF32())
    return nullptr;
  AsmResourceBlob *blob = res.getRawHandle().getBlob();
  if (!blob)
    return nullptr;
  ArrayRef<char> data = blob->getData();
  size_t n = data.size() / 4, width = to.getWidth() / 8;
  std::vector<char> out(n * width);
  for (size_t i = 0; i < n; ++i) {
    float x;
    std::memcpy(&x, data.data() + 4 * i, 4);
    APInt bits = convert(APFloat(x)).bitcastToAPInt();
    uint64_t raw = bits.getZExtValue();
    std::memcpy(out.data() + i * width, &raw, width);
  }
  return DenseResourceElementsAttr::get(
      type, (res.getRawHandle().getKey() + "_" + Twine(width * 8)).str(),
      HeapAsmResourceBlob::allocateAndCopyWithAlign(ArrayRef<char>(out),
                                                    alignof(uint64_t)));
}

class CastInserter {
public:
  CastInserter(func::FuncOp func, const PrecisionPolicy &f16Pins)
      : func(func), pins(f16Pins), b(func.getContext()) {}

  LogicalResult run(bool keepIOTypes);
  int64_t casts = 0, bytes = 0, folded = 0;

private:
  /// `v` as element type `elt`: itself, a reused value, or a new cast.
  Value as(Value v, Type elt);
  LogicalResult retype(Operation *op);

  func::FuncOp func;
  const PrecisionPolicy &pins;
  OpBuilder b;
  DenseMap<std::pair<Value, Type>, Value> cache;
  DenseMap<Value, Type> originalTypes;
};

Value CastInserter::as(Value v, Type elt) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getElementType() == elt)
    return v;
  auto key = std::make_pair(v, elt);
  if (Value hit = cache.lookup(key))
    return hit;
  // Reuse the source of a lossless cast instead of casting back.
  if (auto c = v.getDefiningOp<CastOp>())
    if (getElementTypeOrSelf(c.getInput()) == elt &&
        lossless(elt, t.getElementType()))
      return cache[key] = c.getInput();
  OpBuilder::InsertionGuard guard(b);
  Location loc = v.getLoc();
  if (auto def = v.getDefiningOp()) {
    b.setInsertionPointAfter(def);
    // Constants convert at compile time.
    if (auto c = dyn_cast<ConstantOp>(def); c && isa<FloatType>(elt))
      if (ElementsAttr conv = convertConstant(c.getValue(), cast<FloatType>(elt))) {
        ++folded;
        return cache[key] = ConstantOp::create(b, c.getLoc(), conv);
      }
    loc = def->getLoc();
  } else {
    b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
  }
  Value out = CastOp::create(b, loc, t.clone(elt), v, TypeAttr::get(elt));
  ++casts;
  int64_t n = staticElements(t);
  bytes += n * (t.getElementTypeBitWidth() / 8 + elt.getIntOrFloatBitWidth() / 8);
  return cache[key] = out;
}

LogicalResult CastInserter::retype(Operation *op) {
  auto iface = dyn_cast<InferTypeOpInterface>(op);
  if (!iface)
    return success();
  SmallVector<Type> types;
  if (failed(iface.inferReturnTypes(
          op->getContext(), op->getLoc(), op->getOperands(),
          op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
          op->getRegions(), types)))
    return op->emitError("mp-insert-casts: cannot infer result types after "
                         "changing operand precisions");
  for (auto [r, t] : llvm::zip(op->getResults(), types)) {
    // Keep any shape refinement the op already had; take the element type.
    auto cur = cast<RankedTensorType>(r.getType());
    r.setType(cur.clone(cast<RankedTensorType>(t).getElementType()));
  }
  return success();
}

LogicalResult CastInserter::run(bool keepIOTypes) {
  Block &body = func.getBody().front();
  for (Operation &op : body)
    for (Value r : op.getResults())
      originalTypes[r] = r.getType();

  for (Operation &op : llvm::make_early_inc_range(body)) {
    if (isa<func::ReturnOp>(op))
      continue;
    std::optional<Precision> p = getPrecision(&op);
    bool isMP = op.getDialect() && isa<MPDialect>(op.getDialect());
    if (p && isMP) {
      Type low = getFloatType(op.getContext(), *p);
      Type f32 = Float32Type::get(op.getContext());
      StringRef type = PrecisionPolicy::onnxName(op.getName().getStringRef());
      for (OpOperand &operand : op.getOpOperands()) {
        if (!isFloatTensor(operand.get().getType()))
          continue;
        // Pow's exponent and other secondary float operands follow the op.
        Type want = pins.isPinned(type, operand.getOperandNumber()) ? f32 : low;
        operand.set(as(operand.get(), want));
      }
      // mp.cast keeps its explicit target; everything else re-infers.
      if (failed(retype(&op)))
        return failure();
      continue;
    }
    if (isMP && isa<CastOp, ShapeOp, SizeOp, ConstantOp>(op)) {
      // Leaves and shape queries take any precision: re-infer if needed.
      if (failed(retype(&op)))
        return failure();
      continue;
    }
    if (isMP && llvm::none_of(op.getOperands(), [](Value v) {
          return isFloatTensor(v.getType());
        })) {
      // Integer shape math.
      if (failed(retype(&op)))
        return failure();
      continue;
    }
    // Unpainted ops (other dialects', optimizer updates) keep their operand
    // types: gradients reach an optimizer update in the precision it was
    // built for.
    for (OpOperand &operand : op.getOpOperands()) {
      Type orig = originalTypes.lookup(operand.get());
      if (orig && orig != operand.get().getType())
        operand.set(as(operand.get(), getElementTypeOrSelf(orig)));
    }
  }

  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (OpOperand &operand : ret->getOpOperands()) {
    Type want = func.getResultTypes()[operand.getOperandNumber()];
    if (keepIOTypes && operand.get().getType() != want &&
        isFloatTensor(want))
      operand.set(as(operand.get(), getElementTypeOrSelf(want)));
  }
  if (!keepIOTypes)
    func.setType(FunctionType::get(func.getContext(), func.getArgumentTypes(),
                                   ret.getOperandTypes()));
  return success();
}

struct InsertCastsPass : public mp::impl::MPInsertCastsPassBase<InsertCastsPass> {
  using Base::Base;
  void runOnOperation() override {
    // Pins are part of the op semantics under autocast's defaults; the
    // target does not matter for pins.
    PrecisionPolicy policy = PrecisionPolicy::defaults(Precision::f16);
    int64_t c = 0, by = 0, f = 0;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.getBody().hasOneBlock())
        continue;
      CastInserter inserter(func, policy);
      if (failed(inserter.run(keepIOTypes)))
        return signalPassFailure();
      c += inserter.casts;
      by += inserter.bytes;
      f += inserter.folded;
    }
    numCasts += c;
    castBytes += by;
    numFoldedConstants += f;
    if (reportFile.empty())
      return;
    // Add the cast totals to autocast's report.
    llvm::json::Object report = mp::readReport(reportFile);
    llvm::json::Object *totals = report.getObject("totals");
    if (!totals) {
      report["totals"] = llvm::json::Object{};
      totals = report.getObject("totals");
    }
    (*totals)["casts"] = c;
    (*totals)["cast_bytes_per_step"] = by;
    (*totals)["constants_converted"] = f;
    std::error_code ec;
    llvm::raw_fd_ostream os(reportFile, ec);
    if (ec) {
      getOperation().emitError() << "mp-insert-casts: cannot write report '"
                                 << reportFile << "': " << ec.message();
      return signalPassFailure();
    }
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
  }
};

} // namespace
