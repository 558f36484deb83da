//===- mp-compile.cpp - ONNX model to runtime program in one command ------===//
//
// For users who never touch mp-opt: imports an ONNX model, builds the
// training step when asked (--optimizer), runs the AMP pipeline (--amp),
// lowers to the runtime program and writes the .mpb file.
//
//   mp-compile model.onnx -o model.mpb --amp f16 --report amp.json
//
//===----------------------------------------------------------------------===//

#include "mp/Conversion/MPToRuntime/MPToRuntime.h"
#include "mp/Dialect/MP/Transforms/Passes.h"
#include "mp/InitAll.h"
#include "mp/Target/ONNX/ImportONNX.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory cat("mp-compile options");
static cl::opt<std::string> input(cl::Positional, cl::desc("<model.onnx>"),
                                  cl::Required, cl::cat(cat));
static cl::opt<std::string> output("o", cl::desc("Output program (.mpb)"),
                                   cl::value_desc("file"), cl::Required,
                                   cl::cat(cat));
static cl::opt<std::string>
    amp("amp", cl::desc("Mixed precision: f16, bf16 or off (default off)"),
        cl::init("off"), cl::cat(cat));
static cl::opt<std::string> policy("policy",
                                   cl::desc("Precision policy file (YAML/JSON)"),
                                   cl::cat(cat));
static cl::opt<std::string> report("report",
                                   cl::desc("Write the precision report (JSON)"),
                                   cl::cat(cat));
static cl::opt<std::string> dot("dot", cl::desc("Write the precision graph (DOT)"),
                                cl::cat(cat));
static cl::opt<std::string>
    loss("loss", cl::desc("Name of the loss output (default: the first "
                          "scalar output)"),
         cl::cat(cat));
static cl::opt<std::string> optimizer(
    "optimizer",
    cl::desc("Build a training step with this optimizer: sgd, momentum, "
             "adam, adamw (default: none, compile the forward pass only)"),
    cl::cat(cat));
static cl::opt<std::string> trainOptions(
    "train-options",
    cl::desc("Extra mp-build-training options, e.g. \"lr=0.01 wd=0.01\""),
    cl::cat(cat));
static cl::opt<double> lr("lr",
                          cl::desc("Learning rate (same as --train-options "
                                   "lr=...; default 0.01 for sgd/momentum, "
                                   "0.001 for adam/adamw)"),
                          cl::init(0), cl::cat(cat));
static cl::opt<int64_t> batch(
    "batch",
    cl::desc("Pin the symbolic leading dim of the model's inputs (a "
             "dynamic batch axis) to N; programs have static shapes"),
    cl::init(0), cl::cat(cat));
static cl::opt<std::string> lossScaling(
    "loss-scaling",
    cl::desc("Loss scaling when training with --amp: dynamic, static or "
             "none (default: dynamic for f16, static (scale 1) for bf16)"),
    cl::cat(cat));
static cl::opt<double> lossScale(
    "loss-scale", cl::desc("Initial (dynamic) or fixed (static) loss scale"),
    cl::init(0), cl::cat(cat));
static cl::opt<bool> fuseGelu(
    "fuse-gelu",
    cl::desc("Recognise exported GELU (erf form or tanh approximation) as "
             "one gelu op before building the training step (default true)"),
    cl::init(true), cl::cat(cat));
static cl::opt<bool> fuseElementwise(
    "fuse-elementwise",
    cl::desc("Fuse chains of float elementwise ops into one kernel and "
             "fold matmul operand transposes into transA/transB (default "
             "true; --fuse-elementwise=false keeps one instruction per op)"),
    cl::init(true), cl::cat(cat));
static cl::opt<bool> noStateData(
    "no-state-data",
    cl::desc("Write parameters (and all-zero optimizer state) without "
             "initial data; mp-run --init-params fills the parameters. For "
             "shipping large benchmark programs"),
    cl::cat(cat));
static cl::opt<bool> emitMLIR("emit-mlir",
                              cl::desc("Print the final mp IR instead of "
                                       "writing a program"),
                              cl::cat(cat));

/// Adds a textual pipeline, with a clear error if a pass is not built in.
static LogicalResult addPipeline(OpPassManager &pm, StringRef text) {
  std::string err;
  llvm::raw_string_ostream os(err);
  if (failed(parsePassPipeline(text, pm, os))) {
    llvm::errs() << "mp-compile: error: cannot build the pipeline '" << text
                 << "': " << err << "\n";
    return failure();
  }
  return success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  DialectRegistry registry;
  mp::registerAllDialects(registry);
  mp::registerAllPasses();
  mp::registerImportONNXCLOptions();
  // The importer's --onnx-* options work too (see mp-translate --help).
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "mp-compile: ONNX training model -> mixed-precision runtime program\n");

  if (amp != "off" && amp != "f16" && amp != "bf16") {
    llvm::errs() << "mp-compile: error: --amp must be f16, bf16 or off, got '"
                 << amp << "'\n";
    return 1;
  }
  MLIRContext ctx(registry);
  // Errors carry the ONNX node name; printing the whole function after
  // them would bury the message.
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  std::string err;
  auto file = openInputFile(input, &err);
  if (!file) {
    llvm::errs() << "mp-compile: error: " << err << "\n";
    return 1;
  }
  mp::ImportOptions opts = mp::getImportOptionsFromCL();
  opts.externalDataDir = llvm::sys::path::parent_path(input).str();
  if (opts.externalDataDir.empty())
    opts.externalDataDir = ".";
  opts.sourceName = input;
  if (batch < 0) {
    llvm::errs() << "mp-compile: error: --batch must be positive\n";
    return 1;
  }
  if (batch > 0)
    opts.batch = batch;
  auto module = mp::importONNX(file->getBuffer(),
                               mp::looksLikeONNXText(input, file->getBuffer()),
                               &ctx, opts);
  if (!module)
    return 1;

  PassManager pm(&ctx);
  if (fuseGelu)
    pm.addPass(mp::createMPFuseGeluPass());
  std::string train = trainOptions;
  if (lr.getNumOccurrences()) {
    if (!(lr >= 0)) {
      llvm::errs() << "mp-compile: error: --lr must be a non-negative "
                      "number\n";
      return 1;
    }
    train += " lr=" + llvm::formatv("{0:e}", double(lr)).str();
  }
  std::string common;
  if (!loss.empty())
    common += " loss=" + loss;
  if (amp != "off") {
    // The AMP pipeline; with an optimizer it builds the mixed-precision
    // training step (autocast, autodiff, casts, master weights, loss
    // scaling) in the order those passes need.
    std::string o = "target=" + amp + common;
    if (!policy.empty())
      o += " policy=" + policy;
    if (!report.empty())
      o += " report=" + report;
    if (!dot.empty())
      o += " dot=" + dot;
    if (!optimizer.empty()) {
      o += " optimizer=" + optimizer;
      if (!train.empty())
        o += " " + train;
      if (!lossScaling.empty())
        o += " loss-scaling=" + lossScaling;
      if (lossScale > 0)
        o += " loss-scale=" + std::to_string(lossScale);
    }
    if (failed(addPipeline(pm, "mp-amp-pipeline{" + o + "}")))
      return 1;
  } else if (!optimizer.empty()) {
    std::string o = "optimizer=" + optimizer + common;
    if (!train.empty())
      o += " " + train;
    if (failed(addPipeline(pm, "mp-build-training{" + o + "}")))
      return 1;
  }
  if (failed(pm.run(*module)))
    return 1;

  auto out = openOutputFile(output, &err);
  if (!out) {
    llvm::errs() << "mp-compile: error: " << err << "\n";
    return 1;
  }
  mp::RuntimeLoweringOptions loweringOptions;
  loweringOptions.fuseElementwise = fuseElementwise;
  loweringOptions.omitStateData = noStateData;
  if (emitMLIR)
    module->print(out->os());
  else if (failed(mp::lowerToRuntime(*module, out->os(), /*text=*/false,
                                      loweringOptions)))
    return 1;
  out->keep();
  return 0;
}
