//===- ExportONNX.h - mp IR to an ONNX model --------------------*- C++ -*-===//
//
// Writes a module's function (mp ops, including mp.cast and f16/bf16
// tensors) as a binary ONNX ModelProto that onnxruntime can run and Netron
// can open: `mp.role = "param"` arguments become initializers, attributes
// that mp keeps static become the inputs ONNX expects at the exported opset.
//
//===----------------------------------------------------------------------===//
#ifndef MP_TARGET_ONNX_EXPORTONNX_H
#define MP_TARGET_ONNX_EXPORTONNX_H

#include "mlir/IR/Operation.h"
#include "llvm/Support/raw_ostream.h"

namespace mp {
/// Serializes `op` (a module with one public func, or a func) to `os`.
mlir::LogicalResult exportONNX(mlir::Operation *op, llvm::raw_ostream &os);
/// Registers the `--export-onnx` translation.
void registerExportONNXTranslation();
} // namespace mp

#endif // MP_TARGET_ONNX_EXPORTONNX_H
