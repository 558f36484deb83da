//===- Pipelines.cpp - the AMP pipeline -----------------------------------===//
//
// `--mp-amp-pipeline="target=f16 ..."`: autocast decides, insert-casts
// materializes, canonicalize + CSE clean up (lossless cast pairs fold, equal
// constants merge), verify-precision checks the result. With `optimizer=...`
// it builds the mixed-precision training step (buildAMPTrainingPipeline).
// Other compilers call buildAMPPipeline / buildAMPTrainingPipeline.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/Transforms/Passes.h"
#include "mp/Dialect/MP/Transforms/TrainingPipeline.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// mp-autocast's options from the pipeline's (without report and picture).
static mp::MPAutocastPassOptions autocastOptions(const mp::AMPOptions &o) {
  mp::MPAutocastPassOptions autocast;
  autocast.target = o.target;
  autocast.policyFile = o.policy;
  autocast.edits.assign(o.edits.begin(), o.edits.end());
  autocast.nodeRules.assign(o.nodes.begin(), o.nodes.end());
  autocast.pins.assign(o.pins.begin(), o.pins.end());
  autocast.largeReduction = o.largeReduction;
  autocast.lossName = o.loss;
  return autocast;
}

/// mp-insert-casts, adding its totals to the report.
static void addInsertCasts(OpPassManager &pm, const mp::AMPOptions &o) {
  mp::MPInsertCastsPassOptions casts;
  casts.keepIOTypes = o.keepIOTypes;
  casts.reportFile = o.report;
  pm.addPass(mp::createMPInsertCastsPass(casts));
}

/// Both pipelines' end: canonicalize + CSE, then verify-precision.
static void addCleanupAndVerify(OpPassManager &pm, const mp::AMPOptions &o) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  mp::MPVerifyPrecisionPassOptions verify;
  verify.pins.assign(o.pins.begin(), o.pins.end());
  pm.addPass(mp::createMPVerifyPrecisionPass(verify));
}

void mp::buildAMPPipeline(OpPassManager &pm, const AMPOptions &o) {
  MPAutocastPassOptions autocast = autocastOptions(o);
  autocast.reportFile = o.report;
  autocast.dotFile = o.dot;
  pm.addPass(createMPAutocastPass(autocast));
  addInsertCasts(pm, o);
  addCleanupAndVerify(pm, o);
}

void mp::buildAMPTrainingPipeline(OpPassManager &pm,
                                  const AMPTrainingOptions &o) {
  if (o.optimizer.empty())
    return buildAMPPipeline(pm, o);
  bool bf16 = o.target == "bf16";
  // 1. Decide @forward, so that 2. the backward ops inherit its decisions;
  // its report keeps the forward ops' reasons for 3.
  MPAutocastPassOptions autocast = autocastOptions(o);
  autocast.reportFile = o.report;
  pm.addPass(createMPAutocastPass(autocast));
  MPBuildTrainingPassOptions training;
  training.lossName = o.loss;
  training.optimizer = o.optimizer;
  training.lr = o.lr;
  training.momentum = o.momentum;
  training.dampening = o.dampening;
  training.nesterov = o.nesterov;
  training.weightDecay = o.wd;
  training.beta1 = o.beta1;
  training.beta2 = o.beta2;
  training.eps = o.eps;
  training.frozen = o.frozen;
  pm.addPass(createMPBuildTrainingPass(training));
  // 3. Paint what is left (updates, scalar arithmetic) and report.
  autocast.dotFile = o.dot;
  autocast.inheritReport = true;
  pm.addPass(createMPAutocastPass(autocast));
  addInsertCasts(pm, o);
  MPMasterWeightsPassOptions master;
  master.moments = o.moments;
  pm.addPass(createMPMasterWeightsPass(master));
  // Loss scaling finds the loss seed by name: before canonicalize/CSE.
  MPLossScalingPassOptions scaling;
  scaling.mode = o.lossScaling.empty()
                     ? std::string(bf16 ? "static" : "dynamic")
                     : std::string(o.lossScaling);
  scaling.initScale = o.lossScale > 0 ? o.lossScale : (bf16 ? 1.0 : 65536.0);
  scaling.growth = o.growth;
  scaling.backoff = o.backoff;
  scaling.interval = o.interval;
  scaling.minScale = o.minScale;
  scaling.maxScale = o.maxScale;
  scaling.clipNorm = o.clipNorm;
  pm.addPass(createMPLossScalingPass(scaling));
  addCleanupAndVerify(pm, o);
}

void mp::registerMPPassesAndPipelines() {
  registerMPPasses();
  PassPipelineRegistration<AMPTrainingOptions>(
      "mp-amp-pipeline",
      "Automatic mixed precision: autocast, insert casts, clean up, verify; "
      "with optimizer=..., the mixed-precision training step (autodiff, "
      "master weights, loss scaling)",
      buildAMPTrainingPipeline);
}
