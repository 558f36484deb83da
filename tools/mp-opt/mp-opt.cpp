//===- mp-opt.cpp - mp optimizer driver -----------------------------------===//
//
// mlir-opt with mp's dialects and passes. It also reads ONNX models
// directly: an input ending in .onnx or .onnxtxt is imported first (with
// the --onnx-* options), then the pass pipeline runs on the result.
//
//===----------------------------------------------------------------------===//

#include "mp/InitAll.h"
#include "mp/Target/ONNX/ImportONNX.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// Imports an ONNX file and prints it as MLIR text (locations kept) for
/// MlirOptMain to parse. Returns null after reporting the error.
static std::unique_ptr<llvm::MemoryBuffer>
importToBuffer(StringRef path, DialectRegistry &registry) {
  std::string err;
  auto file = openInputFile(path, &err);
  if (!file) {
    llvm::errs() << err << "\n";
    return nullptr;
  }
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  mp::ImportOptions opts = mp::getImportOptionsFromCL();
  opts.externalDataDir = llvm::sys::path::parent_path(path).str();
  if (opts.externalDataDir.empty())
    opts.externalDataDir = ".";
  opts.sourceName = path.str();
  auto module = mp::importONNX(file->getBuffer(),
                               mp::looksLikeONNXText(path, file->getBuffer()),
                               &ctx, opts);
  if (!module)
    return nullptr;
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().enableDebugInfo(/*enable=*/true,
                                                      /*pretty=*/false));
  return llvm::MemoryBuffer::getMemBufferCopy(text, path);
}

int main(int argc, char **argv) {
  DialectRegistry registry;
  mp::registerAllDialects(registry);
  mp::registerAllPasses();
  mp::registerImportONNXCLOptions();

  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv,
      "mp optimizer driver: runs mp passes on .mlir files, or on .onnx / "
      ".onnxtxt models (imported first)\n",
      registry);
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();

  std::unique_ptr<llvm::MemoryBuffer> input;
  StringRef in(inputFilename);
  if (in.ends_with(".onnx") || in.ends_with(".onnxtxt")) {
    input = importToBuffer(in, registry);
  } else {
    std::string err;
    input = openInputFile(inputFilename, &err);
    if (!input)
      llvm::errs() << err << "\n";
  }
  if (!input)
    return 1;

  std::string err;
  auto output = openOutputFile(outputFilename, &err);
  if (!output) {
    llvm::errs() << err << "\n";
    return 1;
  }
  if (failed(MlirOptMain(output->os(), std::move(input), registry, config)))
    return 1;
  output->keep();
  return 0;
}
