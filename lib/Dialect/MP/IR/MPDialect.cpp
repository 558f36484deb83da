//===- MPDialect.cpp - mp dialect registration and attributes -------------===//
//
// Registers the ops and the precision attribute, materializes folded
// constants as `mp.constant`, and verifies the dialect's two discardable
// attributes (`mp.precision`, `mp.accumulate`) wherever they appear.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPDialect.h"
#include "mp/Dialect/MP/IR/MPInterfaces.h"
#include "mp/Dialect/MP/IR/MPOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mp;

#include "mp/Dialect/MP/IR/MPDialect.cpp.inc"
#include "mp/Dialect/MP/IR/MPEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "mp/Dialect/MP/IR/MPAttrs.cpp.inc"

void MPDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mp/Dialect/MP/IR/MPOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "mp/Dialect/MP/IR/MPAttrs.cpp.inc"
      >();
  registerGradientModels(*getContext());
}

Operation *MPDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}

LogicalResult MPDialect::verifyOperationAttribute(Operation *op,
                                                  NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == kPrecisionAttrName || name == kAccumulateAttrName) {
    if (!isa<PrecisionAttr>(attr.getValue()))
      return op->emitError() << "'" << name
                             << "' must be a #mp.precision attribute, got "
                             << attr.getValue();
    return success();
  }
  // Argument/result attributes (mp.role, mp.name, mp.init) are verified by
  // the passes that read them; anything else in the namespace is a typo.
  if (name == "mp.role" || name == "mp.name" || name == "mp.init" ||
      name == "mp.opset" || name == "mp.producer")
    return success();
  return op->emitError() << "unknown mp dialect attribute '" << name << "'";
}

std::optional<Precision> mp::getPrecision(Operation *op) {
  if (auto a = op->getAttrOfType<PrecisionAttr>(MPDialect::kPrecisionAttrName))
    return a.getValue();
  return std::nullopt;
}

std::optional<Precision> mp::getAccumulate(Operation *op) {
  if (auto a =
          op->getAttrOfType<PrecisionAttr>(MPDialect::kAccumulateAttrName))
    return a.getValue();
  return std::nullopt;
}

FloatType mp::getFloatType(MLIRContext *ctx, Precision p) {
  switch (p) {
  case Precision::f16:
    return Float16Type::get(ctx);
  case Precision::bf16:
    return BFloat16Type::get(ctx);
  case Precision::f32:
    break;
  }
  return Float32Type::get(ctx);
}
