//===- MPDialect.h - mp dialect --------------------------------*- C++ -*-===//
#ifndef MP_DIALECT_MP_IR_MPDIALECT_H
#define MP_DIALECT_MP_IR_MPDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "mp/Dialect/MP/IR/MPEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "mp/Dialect/MP/IR/MPAttrs.h.inc"

#include "mp/Dialect/MP/IR/MPDialect.h.inc"

namespace mp {
/// Reads `mp.precision` from any op; std::nullopt when absent.
std::optional<Precision> getPrecision(mlir::Operation *op);
/// Reads `mp.accumulate` from any op; std::nullopt when absent.
std::optional<Precision> getAccumulate(mlir::Operation *op);
/// The MLIR element type of a precision (f32, f16, bf16).
mlir::FloatType getFloatType(mlir::MLIRContext *ctx, Precision p);
} // namespace mp

#endif // MP_DIALECT_MP_IR_MPDIALECT_H
