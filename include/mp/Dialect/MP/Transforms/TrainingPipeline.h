//===- TrainingPipeline.h - the AMP pipeline with a training step -*- C++
//-*-===//
//
// `--mp-amp-pipeline="target=f16 loss=loss optimizer=adamw ..."`: the AMP
// options plus the training step's (mp-build-training, mp-master-weights,
// mp-loss-scaling). Without `optimizer` the pipeline is buildAMPPipeline.
//
//===----------------------------------------------------------------------===//
#ifndef MP_DIALECT_MP_TRANSFORMS_TRAININGPIPELINE_H
#define MP_DIALECT_MP_TRANSFORMS_TRAININGPIPELINE_H

#include "mp/Dialect/MP/Transforms/Passes.h"

namespace mp {

/// Options of `--mp-amp-pipeline`: AMPOptions and the training step's.
struct AMPTrainingOptions : public AMPOptions {
  Option<std::string> optimizer{
      *this, "optimizer",
      llvm::cl::desc("Build @train_step with this optimizer: sgd, momentum, "
                     "adam, adamw or none (default: no training step)")};
  Option<double> lr{*this, "lr", llvm::cl::desc("Learning rate"),
                    llvm::cl::init(-1.0)};
  Option<double> momentum{*this, "momentum", llvm::cl::desc("SGD momentum"),
                          llvm::cl::init(-1.0)};
  Option<double> dampening{*this, "dampening", llvm::cl::desc("SGD dampening"),
                           llvm::cl::init(0.0)};
  Option<bool> nesterov{*this, "nesterov", llvm::cl::desc("Nesterov momentum"),
                        llvm::cl::init(false)};
  Option<double> wd{*this, "wd", llvm::cl::desc("Weight decay"),
                    llvm::cl::init(-1.0)};
  Option<double> beta1{*this, "beta1", llvm::cl::desc("Adam beta1"),
                       llvm::cl::init(0.9)};
  Option<double> beta2{*this, "beta2", llvm::cl::desc("Adam beta2"),
                       llvm::cl::init(0.999)};
  Option<double> eps{*this, "eps", llvm::cl::desc("Adam epsilon"),
                     llvm::cl::init(1e-8)};
  Option<std::string> frozen{
      *this, "frozen", llvm::cl::desc("Regex of parameters without updates")};
  Option<std::string> moments{*this, "moments",
                              llvm::cl::desc("Optimizer moments: f32 or bf16"),
                              llvm::cl::init("f32")};
  Option<std::string> lossScaling{
      *this, "loss-scaling",
      llvm::cl::desc("dynamic, static or none (default: dynamic for f16; "
                     "static with scale 1, i.e. the finite check only, for "
                     "bf16)")};
  Option<double> lossScale{*this, "loss-scale",
                           llvm::cl::desc("Initial loss scale (default: "
                                          "65536 for f16, 1 for bf16)"),
                           llvm::cl::init(-1.0)};
  Option<double> growth{*this, "growth", llvm::cl::desc("Scale growth factor"),
                        llvm::cl::init(2.0)};
  Option<double> backoff{*this, "backoff",
                         llvm::cl::desc("Scale backoff factor"),
                         llvm::cl::init(0.5)};
  Option<int64_t> interval{*this, "interval",
                           llvm::cl::desc("Clean steps before growth"),
                           llvm::cl::init(2000)};
  Option<double> minScale{*this, "min-scale", llvm::cl::desc("Smallest scale"),
                          llvm::cl::init(1.0)};
  Option<double> maxScale{*this, "max-scale", llvm::cl::desc("Largest scale"),
                          llvm::cl::init(16777216.0)};
  Option<double> clipNorm{*this, "clip-norm",
                          llvm::cl::desc("Global gradient-norm clipping "
                                         "(0: off)"),
                          llvm::cl::init(0.0)};
};

/// Appends the mixed-precision training pipeline: autocast (paints
/// @forward), build-training (backward ops inherit the forward decisions),
/// autocast (paints the rest of @train_step), insert-casts, master-weights,
/// loss-scaling, canonicalize + CSE, verify-precision. Without
/// `options.optimizer` this is buildAMPPipeline.
void buildAMPTrainingPipeline(mlir::OpPassManager &pm,
                              const AMPTrainingOptions &options);

} // namespace mp

#endif // MP_DIALECT_MP_TRANSFORMS_TRAININGPIPELINE_H
