//===- Pipelines.cpp - the AMP pipeline -----------------------------------===//
//
// `--mp-amp-pipeline="target=f16 ..."`: autocast decides, insert-casts
// materializes, canonicalize + CSE clean up (lossless cast pairs fold, equal
// constants merge), verify-precision checks the result. The training passes
// slot in here as they land. Other compilers call buildAMPPipeline.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mp::buildAMPPipeline(OpPassManager &pm, const AMPOptions &o) {
  MPAutocastPassOptions autocast;
  autocast.target = o.target;
  autocast.policyFile = o.policy;
  autocast.edits.assign(o.edits.begin(), o.edits.end());
  autocast.nodeRules.assign(o.nodes.begin(), o.nodes.end());
  autocast.pins.assign(o.pins.begin(), o.pins.end());
  autocast.largeReduction = o.largeReduction;
  autocast.lossName = o.loss;
  autocast.reportFile = o.report;
  autocast.dotFile = o.dot;
  pm.addPass(createMPAutocastPass(autocast));
  MPInsertCastsPassOptions casts;
  casts.keepIOTypes = o.keepIOTypes;
  casts.reportFile = o.report;
  pm.addPass(createMPInsertCastsPass(casts));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  MPVerifyPrecisionPassOptions verify;
  verify.pins.assign(o.pins.begin(), o.pins.end());
  pm.addPass(createMPVerifyPrecisionPass(verify));
}

void mp::registerMPPassesAndPipelines() {
  registerMPPasses();
  PassPipelineRegistration<AMPOptions>(
      "mp-amp-pipeline",
      "Automatic mixed precision: autocast, insert casts, clean up, verify",
      buildAMPPipeline);
}
