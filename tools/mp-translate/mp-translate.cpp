//===- mp-translate.cpp - ONNX <-> mp IR translations ---------------------===//
//
// mlir-translate style driver:
//   --import-onnx         model.onnx | model.onnxtxt -> mp IR
//   --export-onnx         input.mlir -> binary ONNX model
//   --mp-to-mpb           input.mlir -> runtime program (.mpb)
//   --mp-to-runtime-text  input.mlir -> the runtime program, readable
//
//===----------------------------------------------------------------------===//

#include "mp/Conversion/MPToRuntime/MPToRuntime.h"
#include "mp/Target/ONNX/ExportONNX.h"
#include "mp/Target/ONNX/ImportONNX.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  mp::registerImportONNXTranslation();
  mp::registerExportONNXTranslation();
  mp::registerMPToRuntimeTranslations();
  return mlir::failed(mlir::mlirTranslateMain(
      argc, argv,
      "mp translation driver: import ONNX models to mp IR and export mp IR "
      "to ONNX\n"));
}
