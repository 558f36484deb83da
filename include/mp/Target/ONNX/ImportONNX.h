//===- ImportONNX.h - ONNX model to mp IR -----------------------*- C++ -*-===//
//
// Imports an ONNX model (binary protobuf or ONNX textual syntax) into a
// module holding one `func.func` whose body is mp ops. Node names become
// NameLocs; floating-point initializers become `mp.role = "param"` function
// arguments carrying their initial value in `mp.init`; other initializers
// and Constant nodes become `mp.constant`. Errors name the node and op type
// and leave no module behind.
//
//===----------------------------------------------------------------------===//
#ifndef MP_TARGET_ONNX_IMPORTONNX_H
#define MP_TARGET_ONNX_IMPORTONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include <string>

namespace mp {

struct ImportOptions {
  /// Name of the imported function.
  std::string funcName = "forward";
  /// When non-empty, only floating-point initializers whose name matches this
  /// regex are parameters; the others become constants.
  std::string paramRegex;
  /// Floating-point initializers matching this regex are constants, not
  /// parameters (applied after paramRegex).
  std::string constRegex;
  /// Constants with more elements than this become `dense_resource` blobs.
  int64_t resourceThreshold = 16;
  /// Directory that external-data locations are relative to (defaults to
  /// the model file's directory).
  std::string externalDataDir;
  /// The model's file name, for error locations ("model.onnx:0:0: error").
  std::string sourceName;
  /// When > 0: the symbolic leading dim of every graph input (a dynamic
  /// batch axis, e.g. dim_param "batch") takes this value, everywhere that
  /// dim_param appears.
  int64_t batch = 0;

  // Limits against hostile models (docs/Reliability.md). A model over one
  // fails to import with an error naming the node or value; nothing of that
  // size is allocated first.
  /// Bytes of one tensor: initializers, Constant values, graph inputs and
  /// outputs, and every op result the importer infers
  /// (--onnx-max-tensor-bytes).
  int64_t maxTensorBytes = int64_t(16) << 30;
  /// Rank of any tensor (--onnx-max-rank).
  int64_t maxRank = 16;
  /// Nodes imported in all, counting each inlined function body node at
  /// every call site (--onnx-max-nodes).
  int64_t maxNodes = 1000000;
  /// Nesting of model-local function calls; a function calling itself
  /// exceeds it (--onnx-max-function-depth).
  int64_t maxFunctionDepth = 32;
};

/// Imports `buffer` (binary ModelProto, or ONNX textual syntax when
/// `isText`) into a new module. On failure, emits one error diagnostic and
/// returns null.
mlir::OwningOpRef<mlir::ModuleOp> importONNX(llvm::StringRef buffer,
                                             bool isText,
                                             mlir::MLIRContext *context,
                                             const ImportOptions &options);

/// Whether `path` or its content look like ONNX textual syntax rather than a
/// binary protobuf (".onnxtxt" suffix, or text that starts with '<' / '#').
bool looksLikeONNXText(llvm::StringRef path, llvm::StringRef buffer);

/// Registers the `--import-onnx` translation and the importer's command-line
/// options (shared by mp-translate and mp-opt).
void registerImportONNXTranslation();
/// The options given on the command line (after cl::ParseCommandLineOptions).
ImportOptions getImportOptionsFromCL();
/// Makes the importer's command-line options known (idempotent).
void registerImportONNXCLOptions();

} // namespace mp

#endif // MP_TARGET_ONNX_IMPORTONNX_H
