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
} // namespace mp

#define GET_OP_CLASSES
#include "mp/Dialect/MP/IR/MPOps.h.inc"

#endif // MP_DIALECT_MP_IR_MPOPS_H
