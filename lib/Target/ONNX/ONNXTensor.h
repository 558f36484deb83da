//===- ONNXTensor.h - ONNX tensors <-> MLIR attributes ----------*- C++ -*-===//
//
// Shared by the importer and the exporter: element type codes, and the
// conversion of TensorProto data (raw, typed fields, external files) to and
// from ElementsAttr. Internal to lib/Target/ONNX.
//
//===----------------------------------------------------------------------===//
#ifndef MP_LIB_TARGET_ONNX_ONNXTENSOR_H
#define MP_LIB_TARGET_ONNX_ONNXTENSOR_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include "onnx/onnx_pb.h"

#include <string>

namespace mp::onnx_io {

/// MLIR element type of a TensorProto.DataType code, or null if unsupported.
mlir::Type elementType(mlir::MLIRContext *ctx, int32_t code);
/// TensorProto.DataType code of an MLIR element type, or 0 (UNDEFINED).
int32_t dataTypeCode(mlir::Type type);
/// A printable ONNX type name ("FLOAT16") of a code.
const char *dataTypeName(int32_t code);

/// Converts a TensorProto to an ElementsAttr. Tensors with more than
/// `resourceThreshold` elements become dense_resource blobs named after the
/// tensor. External data is read relative to `externalDir`. Tensors of more
/// than `maxBytes` bytes or `maxRank` dims are rejected before anything is
/// read or allocated. On failure returns null and sets `error`.
mlir::ElementsAttr tensorToAttr(mlir::MLIRContext *ctx,
                                const onnx::TensorProto &tensor,
                                llvm::StringRef externalDir,
                                int64_t resourceThreshold, std::string &error,
                                int64_t maxBytes = int64_t(16) << 30,
                                int64_t maxRank = 16);

/// Fills `tensor` (dims, data_type, raw_data) from an ElementsAttr.
mlir::LogicalResult attrToTensor(mlir::ElementsAttr attr,
                                 onnx::TensorProto &tensor, std::string &error);

} // namespace mp::onnx_io

#endif // MP_LIB_TARGET_ONNX_ONNXTENSOR_H
