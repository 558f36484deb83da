//===- MPOps.h - mp dialect operations -------------------------*- C++ -*-===//
#ifndef MP_DIALECT_MP_IR_MPOPS_H
#define MP_DIALECT_MP_IR_MPOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mp/Dialect/MP/IR/MPDialect.h"

namespace mp {
/// Result types are compatible when element types match and shapes agree
/// wherever both are static (a more static actual type is accepted).
bool areCompatibleReturnTypes(mlir::TypeRange inferred, mlir::TypeRange actual);

/// Emits "result type(s) ... do not match the inferred type(s) ...".
mlir::LogicalResult reportMismatch(mlir::Operation *op,
                                   mlir::TypeRange inferred);

/// Checks an op's result types against its inferred ones. Inference failures
/// report their own precise message; a mismatch reports both type lists.
template <typename ConcreteType>
class VerifyInferredTypes
    : public mlir::OpTrait::TraitBase<ConcreteType, VerifyInferredTypes> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    llvm::SmallVector<mlir::Type> inferred;
    if (mlir::failed(ConcreteType::inferReturnTypes(
            op->getContext(), op->getLoc(), op->getOperands(),
            op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
            op->getRegions(), inferred)))
      return mlir::failure();
    if (!areCompatibleReturnTypes(inferred, op->getResultTypes()))
      return reportMismatch(op, inferred);
    return mlir::success();
  }
};
} // namespace mp

#define GET_OP_CLASSES
#include "mp/Dialect/MP/IR/MPOps.h.inc"

#endif // MP_DIALECT_MP_IR_MPOPS_H
