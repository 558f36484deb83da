//===- onnx_import_fuzzer.cpp - libFuzzer target for the ONNX importer ----===//
//
// Feeds arbitrary bytes to the ONNX importer as a binary ModelProto, then
// verifies the module it returns. The importer must either fail with one
// diagnostic or return a module that verifies; it must never crash, assert,
// hang or allocate without bound (the importer's limits, ImportOptions, are
// left at their defaults, which is what users get).
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPDialect.h"
#include "mp/Target/ONNX/ImportONNX.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    r->insert<mp::MPDialect, mlir::func::FuncDialect>();
    return r;
  }();
  mlir::MLIRContext ctx(*registry, mlir::MLIRContext::Threading::DISABLED);
  int errors = 0;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++errors;
    return mlir::success();
  });
  mp::ImportOptions opts;
  // Keep the seeds' external data (if any) out of reach: a fuzzer must not
  // read files.
  opts.externalDataDir = "/nonexistent-mp-fuzz";
  auto module = mp::importONNX(
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      /*isText=*/false, &ctx, opts);
  if (!module) {
    // The contract: a failed import says why.
    if (errors == 0) {
      std::fprintf(stderr, "import failed without a diagnostic\n");
      std::abort();
    }
    return 0;
  }
  if (failed(mlir::verify(*module))) {
    std::fprintf(stderr, "imported module does not verify\n");
    std::abort();
  }
  return 0;
}
