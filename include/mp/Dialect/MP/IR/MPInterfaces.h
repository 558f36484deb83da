//===- MPInterfaces.h - mp op interfaces ------------------------*- C++ -*-===//
#ifndef MP_DIALECT_MP_IR_MPINTERFACES_H
#define MP_DIALECT_MP_IR_MPINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "mp/Dialect/MP/IR/MPInterfaces.h.inc"

namespace mp {
/// Metadata string of the FusedLoc that backward ops carry.
inline constexpr llvm::StringLiteral kGradLocTag = "grad";

/// The location of a backward op built for `forward`: a FusedLoc holding the
/// forward op's location with the metadata string "grad".
mlir::Location getGradientLoc(mlir::Operation *forward);

/// Whether `loc` is a backward op's location (FusedLoc tagged "grad").
bool isGradientLoc(mlir::Location loc);

/// Attaches GradientOpInterface to every op of the mp dialect (called from
/// MPDialect::initialize).
void registerGradientModels(mlir::MLIRContext &ctx);
} // namespace mp

#endif // MP_DIALECT_MP_IR_MPINTERFACES_H
