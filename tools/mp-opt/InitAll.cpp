//===- InitAll.cpp - registration of mp dialects and passes ---------------===//
#include "mp/InitAll.h"

#include "mp/Dialect/MP/IR/MPDialect.h"
#include "mp/Dialect/MP/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void mp::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mp::MPDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect>();
  mlir::func::registerInlinerExtension(registry);
}

void mp::registerAllPasses() {
  mp::registerMPPassesAndPipelines();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerInlinerPass();
  mlir::registerSymbolDCEPass();
}
