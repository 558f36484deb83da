//===- ImportONNX.cpp - ONNX model to mp IR -------------------------------===//
//
// The importer walks the graph once, in node order (ONNX graphs are
// topologically sorted), keeping a map from ONNX value names to MLIR values.
// Each node type has a handler; most are the generic one, which converts the
// ONNX attributes to MLIR attributes by name and builds the mp op with its
// inferred result types. Special handlers turn constant inputs into the
// attributes the dialect keeps static (Reduce axes, Squeeze/Unsqueeze axes,
// Split sizes, Slice bounds, Clip bounds, Dropout ratio, Trilu k), across
// the opset versions where those moved from attributes to inputs.
//
// Every op is folded as it is created, so the Shape -> Gather -> Concat ->
// Reshape chains of exported models become constants and static shapes.
//
// Model-local functions (FunctionProto) are inlined at their call sites with
// a fresh name scope; attribute references resolve against the call node.
//
// Errors never assert: each one names the node, its op type and the reason,
// and the caller gets a null module.
//
// Hostile models: every tensor type the importer makes (graph values,
// initializers, inferred op results) is checked against the rank and byte
// limits of ImportOptions before anything of that size exists; the number
// of imported nodes and the nesting of function calls are bounded too.
//
//===----------------------------------------------------------------------===//

#include "mp/Target/ONNX/ImportONNX.h"
#include "ONNXTensor.h"
#include "mp/Dialect/MP/IR/MPInterfaces.h"
#include "mp/Dialect/MP/IR/MPOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ManagedStatic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"

#include "onnx/defs/parser.h"

#include <functional>
#include <utility>

using namespace mlir;
using namespace mp;
namespace io = mp::onnx_io;

namespace {

/// The model file as a location (line 0: ONNX has no source lines).
Location sourceLoc(MLIRContext *ctx, const ImportOptions &opts) {
  if (opts.sourceName.empty())
    return UnknownLoc::get(ctx);
  return FileLineColLoc::get(ctx, opts.sourceName, 0, 0);
}

constexpr int64_t kMinOpset = 12;
constexpr llvm::StringLiteral kPreviewTraining = "ai.onnx.preview.training";
constexpr int64_t kMaxOpset = 21;

/// Names that a graph or function body sees: ONNX value name -> MLIR value.
using Scope = llvm::StringMap<Value>;

/// Everything a handler needs about one node.
struct NodeCtx {
  const onnx::NodeProto &node;
  std::string name;   // node name (synthesized when empty)
  Location loc;
  SmallVector<Value> inputs;             // null where an input is omitted
  SmallVector<NamedAttribute> attrs;     // converted ONNX attributes
  llvm::StringSet<> consumed;            // attributes a handler took itself
  int64_t opset;
};

/// The operand counts `OpTy` accepts ([min, max]) from its ODS traits, so
/// that type inference never sees too few or too many operands.
struct OperandCounts {
  unsigned min = 0, max = ~0u;
};
template <typename OpTy, size_t... N>
constexpr OperandCounts operandCountsImpl(std::index_sequence<N...>) {
  OperandCounts r;
  if constexpr (OpTy::template hasTrait<OpTrait::ZeroOperands>())
    r.min = r.max = 0;
  else if constexpr (OpTy::template hasTrait<OpTrait::OneOperand>())
    r.min = r.max = 1;
  ((OpTy::template hasTrait<OpTrait::NOperands<N + 2>::template Impl>()
        ? (void)(r.min = r.max = unsigned(N + 2))
        : (void)0),
   ...);
  ((OpTy::template hasTrait<OpTrait::AtLeastNOperands<N + 1>::template Impl>()
        ? (void)(r.min = unsigned(N + 1))
        : (void)0),
   ...);
  return r;
}
template <typename OpTy> constexpr OperandCounts operandCounts() {
  return operandCountsImpl<OpTy>(std::make_index_sequence<8>());
}

class Importer;
using Handler = std::function<LogicalResult(Importer &, NodeCtx &)>;
LogicalResult importGradient(Importer &im, NodeCtx &n);
LogicalResult importPreviewTraining(Importer &im, NodeCtx &n);

struct OpEntry {
  Handler handler;
  int64_t since = 1; // first opset in which the op exists
};

class Importer {
public:
  Importer(MLIRContext *ctx, const ImportOptions &opts, StringRef dir)
      : ctx(ctx), b(ctx), opts(opts), externalDir(dir.str()),
        fileLoc(sourceLoc(ctx, opts)) {}

  /// The location of everything named `name` in the model.
  Location nameLoc(StringRef name) {
    return NameLoc::get(b.getStringAttr(name), fileLoc);
  }

  OwningOpRef<ModuleOp> run(const onnx::ModelProto &model);

  // --- Helpers for handlers -------------------------------------------------

  LogicalResult error(NodeCtx &n, const Twine &msg) {
    emitError(n.loc) << "node '" << n.name << "' (" << n.node.op_type()
                     << "): " << msg;
    return failure();
  }

  /// Checks a tensor type against the rank and byte limits; "" when within.
  std::string checkType(Type type) {
    auto rt = dyn_cast<RankedTensorType>(type);
    if (!rt)
      return "";
    if (rt.getRank() > opts.maxRank)
      return "rank " + std::to_string(rt.getRank()) + " exceeds the limit " +
             std::to_string(opts.maxRank) + " (--onnx-max-rank)";
    Type elt = rt.getElementType();
    int64_t bytes = elt.isIntOrFloat()
                        ? std::max<int64_t>(1, elt.getIntOrFloatBitWidth() / 8)
                        : 1;
    for (int64_t d : rt.getShape()) {
      if (ShapedType::isDynamic(d))
        continue;
      if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes))
        return "tensor of " + typeStr(type) + " is too large";
    }
    if (bytes > opts.maxTensorBytes)
      return "tensor of " + typeStr(type) + " needs " + std::to_string(bytes) +
             " bytes, over the limit " + std::to_string(opts.maxTensorBytes) +
             " (--onnx-max-tensor-bytes)";
    return "";
  }

  static std::string typeStr(Type t) {
    std::string s;
    llvm::raw_string_ostream os(s);
    t.print(os);
    return s;
  }

  /// Builds `OpTy` from operands and attributes, inferring the result types,
  /// folds it, and binds its results to the node's outputs.
  template <typename OpTy>
  LogicalResult emit(NodeCtx &n, ValueRange operands,
                     ArrayRef<NamedAttribute> attrs) {
    if (failed(checkAttrs<OpTy>(n, attrs)))
      return failure();
    constexpr OperandCounts counts = operandCounts<OpTy>();
    if (operands.size() < counts.min || operands.size() > counts.max)
      return error(
          n, (counts.min == counts.max ? "expects " : "expects at least ") +
                 Twine(counts.min) + " inputs, got " + Twine(operands.size()));
    OperationState state(n.loc, OpTy::getOperationName());
    state.addOperands(operands);
    auto &props = state.getOrAddProperties<typename OpTy::Properties>();
    // Diagnostics of the property conversion and of type inference are
    // captured and reported, after the capture ends, as this node's error.
    std::string diag;
    const char *what = nullptr;
    {
      ScopedDiagnosticHandler capture(ctx, [&](Diagnostic &d) {
        if (diag.empty())
          diag = d.str();
        return success();
      });
      if constexpr (!std::is_same_v<typename OpTy::Properties,
                                    EmptyProperties>) {
        auto dict = DictionaryAttr::get(ctx, attrs);
        if (failed(OpTy::setPropertiesFromAttr(
                props, dict, [&] { return emitError(n.loc); })))
          what = "invalid attributes";
        else
          OpTy::populateDefaultProperties(state.name, props);
      }
      // Required attributes and attribute constraints, before type
      // inference reads them (a missing kernel_shape was a null deref).
      if (!what) {
        typename OpTy::Adaptor adaptor(state.operands,
                                       DictionaryAttr::get(ctx, attrs),
                                       state.getRawProperties(), state.regions);
        if (failed(adaptor.verify(n.loc)))
          what = "invalid attributes";
      }
      SmallVector<Type> types;
      if (!what && failed(OpTy::inferReturnTypes(
                       ctx, n.loc, state.operands,
                       DictionaryAttr::get(ctx, attrs),
                       state.getRawProperties(), state.regions, types)))
        what = "invalid operands";
      state.addTypes(types);
    }
    if (what)
      return fail(n, diag.empty() ? what : diag);
    // Nothing of an absurd size is created (or folded into a constant).
    for (auto [i, t] : llvm::enumerate(state.types))
      if (std::string e = checkType(t); !e.empty())
        return error(n, "result " + Twine(i) + ": " + e);
    Operation *op = b.create(state);
    // The op's own verifier (optional operands given twice, attribute
    // ranges...): an invalid op never reaches the module.
    {
      ScopedDiagnosticHandler capture(ctx, [&](Diagnostic &d) {
        if (diag.empty())
          diag = d.str();
        return success();
      });
      if (failed(verify(op, /*verifyRecursively=*/false)))
        what = "invalid op";
    }
    if (what) {
      op->erase();
      return fail(n, diag.empty() ? what : diag);
    }
    SmallVector<Value> results(op->getResults());
    SmallVector<Value> folded;
    if (succeeded(b.tryFold(op, folded)) && !folded.empty()) {
      op->erase();
      results = folded;
    }
    return bindOutputs(n, results);
  }

  /// Generic: all inputs are operands, attributes map by name.
  template <typename OpTy> LogicalResult emitGeneric(NodeCtx &n) {
    SmallVector<Value> operands;
    for (auto [i, v] : llvm::enumerate(n.inputs)) {
      if (v)
        operands.push_back(v);
      else if (i + 1 < n.inputs.size())
        return error(n, "omitting input " + Twine(i) +
                            " while giving a later one is not supported");
    }
    return emit<OpTy>(n, operands, n.attrs);
  }

  /// An input that must be a constant of integers (axes, shapes...).
  FailureOr<SmallVector<int64_t>> constInts(NodeCtx &n, unsigned idx,
                                            StringRef what) {
    DenseIntElementsAttr attr;
    if (idx >= n.inputs.size() || !n.inputs[idx] ||
        !matchPattern(n.inputs[idx], m_Constant(&attr))) {
      (void)error(n, "input '" + what +
                         "' must be a constant (computed values are not "
                         "supported)");
      return failure();
    }
    SmallVector<int64_t> out;
    for (const APInt &v : attr.getValues<APInt>())
      out.push_back(v.getSExtValue());
    return out;
  }

  /// A scalar constant input as a double (Clip bounds, Dropout ratio).
  FailureOr<double> constScalar(NodeCtx &n, unsigned idx, StringRef what) {
    DenseElementsAttr attr;
    if (idx >= n.inputs.size() || !n.inputs[idx] ||
        !matchPattern(n.inputs[idx], m_Constant(&attr)) ||
        attr.getNumElements() != 1) {
      (void)error(n, "input '" + what +
                         "' must be a constant scalar (computed values are "
                         "not supported)");
      return failure();
    }
    if (isa<FloatType>(attr.getElementType()))
      return (*attr.getValues<APFloat>().begin()).convertToDouble();
    APInt v = *attr.getValues<APInt>().begin();
    if (attr.getElementType().isInteger(1))
      return (double)v.getBoolValue();
    return attr.getElementType().isUnsignedInteger() ? (double)v.getZExtValue()
                                                     : (double)v.getSExtValue();
  }

  std::optional<Attribute> takeAttr(NodeCtx &n, StringRef name) {
    n.consumed.insert(name);
    for (auto &a : n.attrs)
      if (a.getName() == name)
        return a.getValue();
    return std::nullopt;
  }

  /// The node's attributes minus those a handler consumed.
  SmallVector<NamedAttribute> remainingAttrs(NodeCtx &n) {
    SmallVector<NamedAttribute> out;
    for (auto &a : n.attrs)
      if (!n.consumed.contains(a.getName().getValue()))
        out.push_back(a);
    return out;
  }

  /// The value an ONNX name refers to in the current scope, or null.
  Value lookup(StringRef name) { return scope->lookup(name); }

  DenseI64ArrayAttr i64Array(ArrayRef<int64_t> v) {
    return DenseI64ArrayAttr::get(ctx, v);
  }

  LogicalResult bindOutputs(NodeCtx &n, ArrayRef<Value> results) {
    for (int i = 0; i < n.node.output_size(); ++i) {
      const std::string &out = n.node.output(i);
      if (out.empty())
        continue;
      if ((size_t)i >= results.size())
        return error(n, "output " + Twine(i) + " ('" + out +
                            "') is not supported by mp");
      if (!scope->try_emplace(out, results[i]).second)
        return error(n, "output '" + out +
                            "' is already defined (ONNX assigns each value "
                            "once)");
    }
    return success();
  }

  MLIRContext *ctx;
  OpBuilder b;

private:
  LogicalResult fail(NodeCtx &n, StringRef diag) { return error(n, diag); }

  template <typename OpTy>
  LogicalResult checkAttrs(NodeCtx &n, ArrayRef<NamedAttribute> attrs) {
    ArrayRef<StringRef> known = OpTy::getAttributeNames();
    for (auto &a : attrs)
      if (!llvm::is_contained(known, a.getName().getValue()))
        return error(n, "attribute '" + a.getName().getValue() +
                            "' is not supported");
    return success();
  }

  /// Imports `graph` as function `funcName`. Initializers named in `state`
  /// are always arguments (mutable training state); results named in
  /// `updates` (output name -> initializer name) carry mp.updates.
  LogicalResult importGraph(const onnx::GraphProto &graph,
                            StringRef funcName,
                            const llvm::StringSet<> &state = {},
                            const llvm::StringMap<std::string> &updates = {});
  LogicalResult importTraining(const onnx::ModelProto &model);
  LogicalResult importNode(const onnx::NodeProto &node, StringRef prefix,
                           const onnx::NodeProto *caller);
  LogicalResult inlineFunction(const onnx::FunctionProto &fn, NodeCtx &call);
  FailureOr<Attribute> convertAttr(NodeCtx &n, const onnx::AttributeProto &a);
  FailureOr<Type> convertValueType(const onnx::ValueInfoProto &vi);
  bool isParam(const onnx::TensorProto &t);

  const ImportOptions &opts;
  std::string externalDir;
  Location fileLoc;
  int64_t opset = 0;
  ModuleOp module;
  Scope *scope = nullptr;
  llvm::StringMap<const onnx::FunctionProto *> functions;
  /// Symbolic dims given a value (ImportOptions::batch): dim_param -> value.
  llvm::StringMap<int64_t> pinnedDims;
  int64_t unnamed = 0;
  /// Nodes imported so far (ImportOptions::maxNodes).
  int64_t nodeCount = 0;
  /// Function calls being inlined (ImportOptions::maxFunctionDepth).
  int64_t functionDepth = 0;
};

//===----------------------------------------------------------------------===//
// Op table
//===----------------------------------------------------------------------===//

template <typename OpTy> OpEntry generic(int64_t since = 1) {
  return {[](Importer &im, NodeCtx &n) { return im.emitGeneric<OpTy>(n); },
          since};
}

/// Reduce*: `axes` is an attribute before `inputSince`, an input after.
template <typename OpTy> OpEntry reduce(int64_t inputSince) {
  return {[inputSince](Importer &im, NodeCtx &n) -> LogicalResult {
            SmallVector<NamedAttribute> attrs = im.remainingAttrs(n);
            if (n.opset >= inputSince && n.inputs.size() > 1 && n.inputs[1]) {
              auto axes = im.constInts(n, 1, "axes");
              if (failed(axes))
                return failure();
              attrs.push_back(im.b.getNamedAttr("axes", im.i64Array(*axes)));
            }
            return im.emit<OpTy>(n, {n.inputs[0]}, attrs);
          }};
}

/// Squeeze/Unsqueeze (opset >= 13): axes is an optional input.
template <typename OpTy> OpEntry squeezeLike() {
  return {[](Importer &im, NodeCtx &n) -> LogicalResult {
    SmallVector<NamedAttribute> attrs = im.remainingAttrs(n);
    if (n.inputs.size() > 1 && n.inputs[1]) {
      auto axes = im.constInts(n, 1, "axes");
      if (failed(axes))
        return failure();
      attrs.push_back(im.b.getNamedAttr("axes", im.i64Array(*axes)));
    }
    return im.emit<OpTy>(n, {n.inputs[0]}, attrs);
  }};
}

LogicalResult importSplit(Importer &im, NodeCtx &n) {
  auto axisAttr = im.takeAttr(n, "axis");
  auto numAttr = im.takeAttr(n, "num_outputs");
  int64_t axis = axisAttr ? cast<IntegerAttr>(*axisAttr).getInt() : 0;
  auto in = cast<RankedTensorType>(n.inputs[0].getType());
  if (axis < -in.getRank() || axis >= in.getRank())
    return im.error(n, "axis " + Twine(axis) + " is out of range");
  int64_t dim = in.getDimSize(axis < 0 ? axis + in.getRank() : axis);
  SmallVector<int64_t> sizes;
  auto splitAttr = im.takeAttr(n, "split"); // Split-11/12 form
  if (n.inputs.size() > 1 && n.inputs[1]) {
    auto s = im.constInts(n, 1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (splitAttr) {
    auto arr = cast<DenseI64ArrayAttr>(*splitAttr).asArrayRef();
    sizes.assign(arr.begin(), arr.end());
  } else {
    int64_t parts = numAttr ? cast<IntegerAttr>(*numAttr).getInt()
                            : n.node.output_size();
    if (parts < 1)
      return im.error(n, "needs at least one output");
    if (ShapedType::isDynamic(dim))
      return im.error(n, "an even split of a dynamic dim is not supported");
    // ONNX-18 num_outputs: ceil-sized chunks, the last one smaller.
    int64_t chunk = (dim + parts - 1) / parts;
    if (!numAttr && dim % parts != 0)
      return im.error(n, "dim " + Twine(dim) + " does not split evenly into " +
                             Twine(parts) + " outputs");
    for (int64_t i = 0, left = dim; i < parts; ++i, left -= chunk)
      sizes.push_back(std::min(chunk, left));
  }
  return im.emit<SplitOp>(
      n, {n.inputs[0]},
      {im.b.getNamedAttr("axis", im.b.getI64IntegerAttr(axis)),
       im.b.getNamedAttr("split", im.i64Array(sizes))});
}

LogicalResult importSlice(Importer &im, NodeCtx &n) {
  auto starts = im.constInts(n, 1, "starts");
  if (failed(starts))
    return failure();
  auto ends = im.constInts(n, 2, "ends");
  if (failed(ends))
    return failure();
  SmallVector<NamedAttribute> attrs = {
      im.b.getNamedAttr("starts", im.i64Array(*starts)),
      im.b.getNamedAttr("ends", im.i64Array(*ends))};
  const char *names[] = {"axes", "steps"};
  for (unsigned i = 3; i < 5; ++i) {
    if (i >= n.inputs.size() || !n.inputs[i])
      continue;
    auto v = im.constInts(n, i, names[i - 3]);
    if (failed(v))
      return failure();
    attrs.push_back(im.b.getNamedAttr(names[i - 3], im.i64Array(*v)));
  }
  return im.emit<SliceOp>(n, {n.inputs[0]}, attrs);
}

LogicalResult importClip(Importer &im, NodeCtx &n) {
  SmallVector<NamedAttribute> attrs;
  const char *names[] = {"min", "max"};
  for (unsigned i = 1; i < 3; ++i) {
    if (i >= n.inputs.size() || !n.inputs[i])
      continue;
    auto v = im.constScalar(n, i, names[i - 1]);
    if (failed(v))
      return failure();
    attrs.push_back(im.b.getNamedAttr(names[i - 1], im.b.getF64FloatAttr(*v)));
  }
  return im.emit<ClipOp>(n, {n.inputs[0]}, attrs);
}

LogicalResult importDropout(Importer &im, NodeCtx &n) {
  SmallVector<NamedAttribute> attrs = im.remainingAttrs(n);
  int64_t training = 0;
  if (n.inputs.size() > 2 && n.inputs[2]) {
    auto t = im.constScalar(n, 2, "training_mode");
    if (failed(t))
      return failure();
    training = *t != 0;
  }
  // Outside training mode Dropout is the identity whatever the ratio, so
  // only a training-mode ratio must be a constant.
  double ratio = 0.5;
  if (n.inputs.size() > 1 && n.inputs[1] &&
      (training || matchPattern(n.inputs[1], m_Constant()))) {
    auto r = im.constScalar(n, 1, "ratio");
    if (failed(r))
      return failure();
    ratio = *r;
  }
  attrs.push_back(im.b.getNamedAttr("ratio", im.b.getF32FloatAttr(ratio)));
  attrs.push_back(
      im.b.getNamedAttr("training_mode", im.b.getI64IntegerAttr(training)));
  return im.emit<DropoutOp>(n, {n.inputs[0]}, attrs);
}

LogicalResult importPad(Importer &im, NodeCtx &n) {
  auto mode = im.takeAttr(n, "mode");
  if (mode && cast<StringAttr>(*mode).getValue() != "constant")
    return im.error(n, "mode '" + cast<StringAttr>(*mode).getValue() +
                           "' is not supported (only constant)");
  auto pads = im.constInts(n, 1, "pads");
  if (failed(pads))
    return failure();
  int64_t rank = cast<RankedTensorType>(n.inputs[0].getType()).getRank();
  SmallVector<int64_t> full(2 * rank, 0);
  if (n.inputs.size() > 3 && n.inputs[3]) {
    // Opset 18: pads apply to the listed axes only.
    auto axes = im.constInts(n, 3, "axes");
    if (failed(axes))
      return failure();
    if (pads->size() != 2 * axes->size())
      return im.error(n, "pads must hold two entries per axis");
    for (auto [i, ax] : llvm::enumerate(*axes)) {
      if (ax < -rank || ax >= rank)
        return im.error(n, "axis " + Twine(ax) + " is out of range");
      int64_t a = ax < 0 ? ax + rank : ax;
      full[a] = (*pads)[i];
      full[a + rank] = (*pads)[i + axes->size()];
    }
  } else {
    if ((int64_t)pads->size() != 2 * rank)
      return im.error(n, "pads holds " + Twine(pads->size()) +
                             " entries, expected " + Twine(2 * rank));
    full.assign(pads->begin(), pads->end());
  }
  double value = 0;
  if (n.inputs.size() > 2 && n.inputs[2]) {
    auto v = im.constScalar(n, 2, "constant_value");
    if (failed(v))
      return failure();
    value = *v;
  }
  return im.emit<PadOp>(
      n, {n.inputs[0]},
      {im.b.getNamedAttr("pads", im.i64Array(full)),
       im.b.getNamedAttr("value", im.b.getF64FloatAttr(value))});
}

LogicalResult importTrilu(Importer &im, NodeCtx &n) {
  SmallVector<NamedAttribute> attrs = im.remainingAttrs(n);
  if (n.inputs.size() > 1 && n.inputs[1]) {
    auto k = im.constInts(n, 1, "k");
    if (failed(k))
      return failure();
    if (k->size() != 1)
      return im.error(n, "input 'k' must be a scalar");
    attrs.push_back(im.b.getNamedAttr("k", im.b.getI64IntegerAttr((*k)[0])));
  }
  return im.emit<TriluOp>(n, {n.inputs[0]}, attrs);
}

LogicalResult importCast(Importer &im, NodeCtx &n, Type to) {
  (void)im.takeAttr(n, "saturate");
  return im.emit<CastOp>(n, {n.inputs[0]},
                         {im.b.getNamedAttr("to", TypeAttr::get(to))});
}

LogicalResult importConstant(Importer &im, NodeCtx &n) {
  if (n.attrs.size() != 1)
    return im.error(n, "needs exactly one value attribute");
  StringRef kind = n.attrs[0].getName().getValue();
  Attribute v = n.attrs[0].getValue();
  ElementsAttr value;
  Builder &b = im.b;
  if (kind == "value") {
    value = cast<ElementsAttr>(v);
  } else if (kind == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                   cast<FloatAttr>(v).getValue());
  } else if (kind == "value_int") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                   cast<IntegerAttr>(v).getValue());
  } else if (kind == "value_ints") {
    auto arr = cast<DenseI64ArrayAttr>(v).asArrayRef();
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)arr.size()}, b.getI64Type()), arr);
  } else if (kind == "value_floats") {
    auto arr = cast<DenseF32ArrayAttr>(v).asArrayRef();
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)arr.size()}, b.getF32Type()), arr);
  } else {
    return im.error(n, "attribute '" + kind + "' is not supported");
  }
  return im.emit<ConstantOp>(n, {}, {b.getNamedAttr("value", value)});
}

/// ONNX's standard optimizers (domain ai.onnx.preview.training, version 1),
/// written out as the elementwise mp ops their definitions are made of, so
/// every backend runs them and autocast sees plain arithmetic. Inputs: R
/// (learning rate), T (update count), then one group of n tensors per
/// operand kind; outputs: one group per updated kind.
///   Adam:     Gr = norm*X + G; V' = alpha*V + (1-alpha)*Gr;
///             H' = beta*H + (1-beta)*Gr^2;
///             R' = T > 0 ? R*sqrt(1-beta^T)/(1-alpha^T) : R;
///             X' = (1-post)*(X - R'*V'/(sqrt(H')+eps))
///   Adagrad:  r = R/(1+T*decay); Gr = norm*X + G; H' = H + Gr^2;
///             X' = X - r*Gr/(sqrt(H')+eps)
///   Momentum: Gr = norm*X + G; b = T > 0 ? beta : 1; V' = alpha*V + b*Gr;
///             X' = X - R*V' (standard) or X - R*(Gr + alpha*V') (nesterov)
/// ONNX's Gradient (ai.onnx.preview.training): the gradients of `y` with
/// respect to `xs`, over the subgraph from xs and zs to y, built right here
/// by reverse-mode differentiation through each op's GradientOpInterface
/// (the rules mp-build-training uses). Inputs are the values of xs then zs;
/// output i is dy/dxs[i] (zero where y does not depend on it).
LogicalResult importGradient(Importer &im, NodeCtx &n) {
  SmallVector<std::string> xs, zs;
  std::string y;
  for (const auto &a : n.node.attribute()) {
    if (a.name() == "xs")
      xs.assign(a.strings().begin(), a.strings().end());
    else if (a.name() == "zs")
      zs.assign(a.strings().begin(), a.strings().end());
    else if (a.name() == "y")
      y = a.s();
    else
      return im.error(n, "attribute '" + a.name() + "' is not supported");
  }
  if (xs.empty() || y.empty())
    return im.error(n, "needs the attributes xs and y");
  if (n.inputs.size() != xs.size() + zs.size() ||
      llvm::is_contained(n.inputs, Value()))
    return im.error(n, "needs one input per name in xs and zs");
  if (n.node.output_size() > (int)xs.size())
    return im.error(n, "has more outputs than xs");
  Value target = im.lookup(y);
  if (!target)
    return im.error(n, "y '" + y + "' is not defined before this node");
  auto targetType = cast<RankedTensorType>(target.getType());
  if (!isa<FloatType>(targetType.getElementType()) ||
      !targetType.hasStaticShape())
    return im.error(n, "y must be a floating-point tensor of static shape");

  // The ops between the inputs and y.
  DenseSet<Value> stops(n.inputs.begin(), n.inputs.end());
  DenseSet<Operation *> between;
  SmallVector<Value> work = {target};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    Operation *def = v.getDefiningOp();
    if (stops.contains(v) || !def || !between.insert(def).second)
      continue;
    llvm::append_range(work, def->getOperands());
  }
  OpBuilder &b = im.b;
  Block *block = b.getInsertionBlock();
  DenseMap<Value, Value> grads;
  grads[target] = ConstantOp::create(
      b, n.loc,
      DenseElementsAttr::get(targetType,
                             FloatAttr::get(targetType.getElementType(), 1.0)));
  SmallVector<Operation *> order;
  for (Operation &op : *block)
    if (between.contains(&op))
      order.push_back(&op);
  for (Operation *op : llvm::reverse(order)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(grads.lookup(r));
      any |= bool(resultGrads.back());
    }
    if (!any)
      continue;
    auto iface = dyn_cast<GradientOpInterface>(op);
    if (!iface)
      return im.error(n, "no gradient rule for " +
                             op->getName().getStringRef() + " on the path to y");
    SmallVector<Value> operandGrads;
    if (failed(iface.buildGradients(b, resultGrads, operandGrads)))
      return im.error(n, "cannot differentiate " +
                             op->getName().getStringRef());
    for (auto [v, g] : llvm::zip(op->getOperands(), operandGrads)) {
      if (!g)
        continue;
      Value &slot = grads[v];
      slot = slot ? Value(AddOp::create(b, n.loc, slot, g)) : g;
    }
  }
  SmallVector<Value> results;
  for (unsigned i = 0; i < xs.size(); ++i) {
    Value g = grads.lookup(n.inputs[i]);
    if (!g) {
      auto t = cast<RankedTensorType>(n.inputs[i].getType());
      if (!isa<FloatType>(t.getElementType()) || !t.hasStaticShape())
        return im.error(n, "xs '" + xs[i] + "' has no gradient");
      g = ConstantOp::create(
          b, n.loc,
          DenseElementsAttr::get(t, FloatAttr::get(t.getElementType(), 0.0)));
    }
    results.push_back(g);
  }
  return im.bindOutputs(n, results);
}

LogicalResult importPreviewTraining(Importer &im, NodeCtx &n) {
  StringRef type = n.node.op_type();
  unsigned groups = llvm::StringSwitch<unsigned>(type)
                        .Case("Adam", 4)
                        .Cases({"Adagrad", "Momentum"}, 3)
                        .Default(0);
  if (!groups)
    return im.error(n, "unsupported op of ai.onnx.preview.training (Adam, "
                       "Adagrad and Momentum are supported; Gradient is not)");
  if (n.inputs.size() < 2 + groups || (n.inputs.size() - 2) % groups)
    return im.error(n, "needs R, T and " + Twine(groups) +
                           " groups of equally many tensors");
  for (Value v : n.inputs)
    if (!v)
      return im.error(n, "no input may be omitted");
  auto f32 = [&](StringRef name, double def) {
    auto a = im.takeAttr(n, name);
    return a ? cast<FloatAttr>(*a).getValueAsDouble() : def;
  };
  OpBuilder &b = im.b;
  // Each op of the expansion is located at "<node>/<k>": the node name,
  // and distinct names for reports and exported ONNX values.
  unsigned counter = 0;
  auto nextLoc = [&]() {
    return im.nameLoc(n.name + "/" + std::to_string(counter++));
  };
  Value R = n.inputs[0], T = n.inputs[1];
  auto isScalar = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return t.getRank() == 0 || (t.getRank() == 1 && t.getDimSize(0) == 1);
  };
  if (!isa<FloatType>(getElementTypeOrSelf(R)) ||
      !getElementTypeOrSelf(T).isInteger(64) || !isScalar(R) || !isScalar(T))
    return im.error(n, "R must be a float scalar and T an int64 scalar");
  unsigned count = (n.inputs.size() - 2) / groups;
  // Every tensor of an update has X's type: the expansion's elementwise ops
  // then never broadcast (and their types always infer).
  for (unsigned i = 0; i < count; ++i) {
    Type xType = n.inputs[2 + i].getType();
    auto xt = cast<RankedTensorType>(xType);
    if (!isa<FloatType>(xt.getElementType()) || !xt.hasStaticShape())
      return im.error(n, "X must be a floating-point tensor of static shape");
    for (unsigned g = 1; g < groups; ++g)
      if (n.inputs[2 + g * count + i].getType() != xType)
        return im.error(n, "input " + Twine(2 + g * count + i) +
                               " does not have the type of its X (input " +
                               Twine(2 + i) + ")");
  }
  SmallVector<SmallVector<Value>> outs(groups - 1);
  // Attributes are read once (takeAttr marks them consumed).
  double alpha = 0, beta = 0, eps = 0, norm = 0, post = 0, decay = 0;
  bool nesterov = false;
  if (type == "Adam") {
    alpha = f32("alpha", 0.9), beta = f32("beta", 0.999);
    eps = f32("epsilon", 1e-6), norm = f32("norm_coefficient", 0);
    post = f32("norm_coefficient_post", 0);
  } else if (type == "Adagrad") {
    decay = f32("decay_factor", 0), eps = f32("epsilon", 1e-6);
    norm = f32("norm_coefficient", 0);
  } else {
    for (StringRef req : {"alpha", "beta", "mode", "norm_coefficient"})
      if (!llvm::any_of(n.attrs, [&](NamedAttribute a) {
            return a.getName() == req;
          }))
        return im.error(n, "attribute '" + req + "' is required");
    alpha = f32("alpha", 0), beta = f32("beta", 0);
    norm = f32("norm_coefficient", 0);
    StringRef mode = cast<StringAttr>(*im.takeAttr(n, "mode")).getValue();
    if (mode != "standard" && mode != "nesterov")
      return im.error(n, "mode must be standard or nesterov, got '" + mode +
                             "'");
    nesterov = mode == "nesterov";
  }
  for (auto &a : n.attrs)
    if (!n.consumed.contains(a.getName().getValue()))
      return im.error(n, "attribute '" + a.getName().getValue() +
                             "' is not supported");
  Value zeroT = ConstantOp::create(
      b, nextLoc(), DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                     b.getI64IntegerAttr(0).getValue()));
  Value positive = GreaterOp::create(b, nextLoc(), T, zeroT);
  for (unsigned i = 0; i < count; ++i) {
    Value X = n.inputs[2 + i], G = n.inputs[2 + count + i];
    Type elt = getElementTypeOrSelf(X);
    if (!isa<FloatType>(elt))
      return im.error(n, "X must be floating point");
    auto cst = [&](double v) -> Value {
      return ConstantOp::create(
          b, nextLoc(),
          DenseElementsAttr::get(RankedTensorType::get({}, elt),
                                 FloatAttr::get(elt, v).getValue()));
    };
    auto as = [&](Value v) -> Value {
      if (getElementTypeOrSelf(v) == elt)
        return v;
      return CastOp::create(b, nextLoc(), v, TypeAttr::get(elt));
    };
    auto add = [&](Value x, Value y) -> Value { return AddOp::create(b, nextLoc(), x, y); };
    auto sub = [&](Value x, Value y) -> Value { return SubOp::create(b, nextLoc(), x, y); };
    auto mul = [&](Value x, Value y) -> Value { return MulOp::create(b, nextLoc(), x, y); };
    auto div = [&](Value x, Value y) -> Value { return DivOp::create(b, nextLoc(), x, y); };
    auto sqrt = [&](Value x) -> Value { return SqrtOp::create(b, nextLoc(), x); };
    // One statement per op, so the IR's order does not depend on the
    // compiler's order of evaluating arguments.
    Value r = as(R), t = as(T);
    Value nx = mul(cst(norm), X);
    Value gr = add(nx, G);
    if (type == "Adam") {
      Value V = n.inputs[2 + 2 * count + i], H = n.inputs[2 + 3 * count + i];
      Value av = mul(cst(alpha), V);
      Value ag = mul(cst(1 - alpha), gr);
      Value vNew = add(av, ag);
      Value bh = mul(cst(beta), H);
      Value g2 = mul(gr, gr);
      Value bg = mul(cst(1 - beta), g2);
      Value hNew = add(bh, bg);
      Value betaT = PowOp::create(b, nextLoc(), cst(beta), t);
      Value alphaT = PowOp::create(b, nextLoc(), cst(alpha), t);
      Value num = sqrt(sub(cst(1), betaT));
      Value den = sub(cst(1), alphaT);
      Value rBc = mul(r, div(num, den));
      Value rAdj = WhereOp::create(b, nextLoc(), positive, rBc, r);
      Value sh = sqrt(hNew);
      Value denom = add(sh, cst(eps));
      Value upd = div(mul(rAdj, vNew), denom);
      Value xUpd = sub(X, upd);
      Value xNew = mul(cst(1 - post), xUpd);
      outs[0].push_back(xNew);
      outs[1].push_back(vNew);
      outs[2].push_back(hNew);
    } else if (type == "Adagrad") {
      Value H = n.inputs[2 + 2 * count + i];
      Value td = mul(t, cst(decay));
      Value rAdj = div(r, add(cst(1), td));
      Value g2 = mul(gr, gr);
      Value hNew = add(H, g2);
      Value sh = sqrt(hNew);
      Value denom = add(sh, cst(eps));
      Value upd = div(mul(rAdj, gr), denom);
      Value xNew = sub(X, upd);
      outs[0].push_back(xNew);
      outs[1].push_back(hNew);
    } else {
      Value V = n.inputs[2 + 2 * count + i];
      Value betaC = cst(beta), one = cst(1);
      Value bSel = WhereOp::create(b, nextLoc(), positive, betaC, one);
      Value av = mul(cst(alpha), V);
      Value bg = mul(bSel, gr);
      Value vNew = add(av, bg);
      Value step = vNew;
      if (nesterov) {
        Value avn = mul(cst(alpha), vNew);
        step = add(gr, avn);
      }
      Value rs = mul(r, step);
      outs[0].push_back(sub(X, rs));
      outs[1].push_back(vNew);
    }
  }
  SmallVector<Value> results;
  for (auto &group : outs)
    llvm::append_range(results, group);
  return im.bindOutputs(n, results);
}

const llvm::StringMap<OpEntry> &opTable() {
  static const llvm::StringMap<OpEntry> table = [] {
    llvm::StringMap<OpEntry> t;
    // Every mapped op starts generic; the entries below replace the handlers
    // of ops whose ONNX form needs care.
#define ONNX_OP(Name, Class, Since) t[#Name] = generic<Class>(Since);
#include "mp/Dialect/MP/IR/ONNXOps.def"
    t["Clip"] = {importClip};
    // Before opset 13, (Log)Softmax flattens the input to 2-D at `axis`
    // (default 1): the same as opset-13 semantics only on the last axis.
    for (StringRef name : {"Softmax", "LogSoftmax"}) {
      OpEntry modern = t[name];
      t[name] = {[modern](Importer &im, NodeCtx &n) -> LogicalResult {
                   if (n.opset >= 13)
                     return modern.handler(im, n);
                   int64_t rank =
                       cast<RankedTensorType>(n.inputs[0].getType()).getRank();
                   int64_t axis = 1;
                   for (auto &a : n.attrs)
                     if (a.getName() == "axis")
                       axis = cast<IntegerAttr>(a.getValue()).getInt();
                   if ((axis < 0 ? axis + rank : axis) != rank - 1)
                     return im.error(n, "before opset 13 this op flattens to "
                                        "2-D at axis " + Twine(axis) +
                                        "; only the last axis is supported");
                   return modern.handler(im, n);
                 },
                 modern.since};
    }
    t["Cast"] = {[](Importer &im, NodeCtx &n) -> LogicalResult {
      auto to = im.takeAttr(n, "to");
      if (!to || !isa<IntegerAttr>(*to))
        return im.error(n, "needs an integer 'to' attribute");
      int64_t code = cast<IntegerAttr>(*to).getInt();
      Type elt = code > 0 && code < 1024 ? io::elementType(im.ctx, code)
                                         : Type();
      if (!elt)
        return im.error(n, "cannot cast to unsupported element type " +
                               Twine(io::dataTypeName(code)));
      return importCast(im, n, elt);
    }};
    t["CastLike"] = {[](Importer &im, NodeCtx &n) -> LogicalResult {
                       if (n.inputs.size() < 2 || !n.inputs[1])
                         return im.error(n, "needs two inputs");
                       return importCast(
                           im, n, getElementTypeOrSelf(n.inputs[1].getType()));
                     },
                     15};
    t["BatchNormalization"] = {[](Importer &im, NodeCtx &n) -> LogicalResult {
      if (n.opset < 14 && n.node.output_size() > 1)
        return im.error(n, "training-mode BatchNormalization needs opset >= 14 "
                           "(the opset-9 form with saved statistics is not "
                           "supported)");
      return im.emitGeneric<BatchNormOp>(n);
    }};
    // Reductions: ReduceSum took axes as input at 13, the others at 18.
    t["ReduceSum"] = reduce<ReduceSumOp>(13);
    t["ReduceMean"] = reduce<ReduceMeanOp>(18);
    t["ReduceMax"] = reduce<ReduceMaxOp>(18);
    t["Squeeze"] = squeezeLike<SqueezeOp>();
    t["Unsqueeze"] = squeezeLike<UnsqueezeOp>();
    t["Split"] = {importSplit};
    t["Slice"] = {importSlice};
    t["Trilu"] = {importTrilu, 14};
    t["Pad"] = {importPad, 11};
    t["Constant"] = {importConstant};
    t["Dropout"] = {importDropout};
    return t;
  }();
  return table;
}

//===----------------------------------------------------------------------===//
// Importer
//===----------------------------------------------------------------------===//

FailureOr<Attribute> Importer::convertAttr(NodeCtx &n,
                                           const onnx::AttributeProto &a) {
  using AP = onnx::AttributeProto;
  switch (a.type()) {
  case AP::INT:
    return Attribute(b.getI64IntegerAttr(a.i()));
  case AP::FLOAT:
    return Attribute(b.getF32FloatAttr(a.f()));
  case AP::STRING:
    return Attribute(b.getStringAttr(a.s()));
  case AP::INTS:
    return Attribute(i64Array(SmallVector<int64_t>(a.ints().begin(), a.ints().end())));
  case AP::FLOATS:
    return Attribute(DenseF32ArrayAttr::get(
        ctx, SmallVector<float>(a.floats().begin(), a.floats().end())));
  case AP::TENSOR: {
    std::string err;
    onnx::TensorProto named;
    const onnx::TensorProto *t = &a.t();
    if (t->name().empty()) { // Name resource blobs after the node.
      named = *t;
      named.set_name(n.name);
      t = &named;
    }
    ElementsAttr v =
        io::tensorToAttr(ctx, *t, externalDir, opts.resourceThreshold, err,
                         opts.maxTensorBytes, opts.maxRank);
    if (!v) {
      (void)error(n, "attribute '" + a.name() + "': " + err);
      return failure();
    }
    return Attribute(v);
  }
  default:
    (void)error(n, "attribute '" + a.name() + "' has an unsupported type (" +
                       AP::AttributeType_Name(a.type()) + ")");
    return failure();
  }
}

FailureOr<Type> Importer::convertValueType(const onnx::ValueInfoProto &vi) {
  Location loc = nameLoc(vi.name());
  if (!vi.type().has_tensor_type()) {
    emitError(loc) << "graph value '" << vi.name()
                   << "' is not a tensor (sequences, maps and optionals are "
                      "not supported)";
    return failure();
  }
  const auto &tt = vi.type().tensor_type();
  Type elt = io::elementType(ctx, tt.elem_type());
  if (!elt) {
    emitError(loc) << "graph value '" << vi.name()
                   << "' has unsupported element type "
                   << io::dataTypeName(tt.elem_type());
    return failure();
  }
  if (!tt.has_shape()) {
    emitError(loc) << "graph value '" << vi.name()
                   << "' has no shape; mp needs at least its rank";
    return failure();
  }
  SmallVector<int64_t> dims;
  for (const auto &d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() < 0) {
      emitError(loc) << "graph value '" << vi.name() << "' has a negative dim";
      return failure();
    }
    auto pinned = d.has_dim_param() ? pinnedDims.find(d.dim_param())
                                    : pinnedDims.end();
    dims.push_back(d.has_dim_value()          ? d.dim_value()
                   : pinned != pinnedDims.end() ? pinned->second
                                                : ShapedType::kDynamic);
  }
  if (dims.size() > (size_t)opts.maxRank) {
    emitError(loc) << "graph value '" << vi.name() << "' has rank "
                   << dims.size() << ", over the limit " << opts.maxRank
                   << " (--onnx-max-rank)";
    return failure();
  }
  Type type = RankedTensorType::get(dims, elt);
  if (std::string e = checkType(type); !e.empty()) {
    emitError(loc) << "graph value '" << vi.name() << "': " << e;
    return failure();
  }
  return type;
}

bool Importer::isParam(const onnx::TensorProto &t) {
  Type elt = io::elementType(ctx, t.data_type());
  if (!elt || !isa<FloatType>(elt))
    return false;
  if (!opts.paramRegex.empty() && !llvm::Regex(opts.paramRegex).match(t.name()))
    return false;
  if (!opts.constRegex.empty() && llvm::Regex(opts.constRegex).match(t.name()))
    return false;
  if (!opts.paramRegex.empty())
    return true;
  // Default: scalars and exporter-made constants ("onnx::Mul_12") are not
  // trainable parameters.
  return t.dims_size() > 0 && !StringRef(t.name()).starts_with("onnx::");
}

LogicalResult Importer::inlineFunction(const onnx::FunctionProto &fn,
                                       NodeCtx &call) {
  if (call.node.input_size() > fn.input_size() ||
      call.node.output_size() > fn.output_size())
    return error(call, "more inputs or outputs than function '" + fn.name() +
                           "' declares");
  // The body means what its nodes mean at the function's own default-domain
  // opset, which may differ from the model's.
  int64_t fnOpset = opset;
  for (const auto &imp : fn.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      fnOpset = imp.version();
  if (fnOpset < kMinOpset || fnOpset > kMaxOpset)
    return error(call, "function '" + fn.name() +
                           "' imports unsupported default-domain opset " +
                           Twine(fnOpset) + " (supported: " +
                           Twine(kMinOpset) + " to " + Twine(kMaxOpset) + ")");
  if (functionDepth >= opts.maxFunctionDepth)
    return error(call, "function calls nest deeper than " +
                           Twine(opts.maxFunctionDepth) +
                           " (a recursive function?) (--onnx-max-function-"
                           "depth)");
  Scope inner;
  for (int i = 0; i < fn.input_size(); ++i)
    if (i < (int)call.inputs.size() && call.inputs[i])
      inner[fn.input(i)] = call.inputs[i];
  Scope *outer = scope;
  int64_t outerOpset = opset;
  scope = &inner;
  opset = fnOpset;
  std::string prefix = call.name + "/";
  ++functionDepth;
  for (const auto &node : fn.node())
    if (failed(importNode(node, prefix, &call.node))) {
      scope = outer;
      opset = outerOpset;
      --functionDepth;
      return failure();
    }
  --functionDepth;
  scope = outer;
  opset = outerOpset;
  for (int i = 0; i < call.node.output_size(); ++i) {
    const std::string &out = call.node.output(i);
    if (out.empty())
      continue;
    auto it = inner.find(fn.output(i));
    if (it == inner.end())
      return error(call, "function '" + fn.name() + "' does not compute '" +
                             fn.output(i) + "'");
    (*scope)[out] = it->second;
  }
  return success();
}

/// The ONNX type of the attributes that handlers read by name (the same in
/// every op that has them), or nullopt for others (checked by the op).
static std::optional<onnx::AttributeProto::AttributeType>
expectedAttrType(StringRef name) {
  using AP = onnx::AttributeProto;
  return llvm::StringSwitch<std::optional<AP::AttributeType>>(name)
      .Cases({"axis", "num_outputs", "to", "value_int"}, AP::INT)
      .Cases({"split", "value_ints"}, AP::INTS)
      .Case("mode", AP::STRING)
      .Case("value", AP::TENSOR)
      .Case("value_floats", AP::FLOATS)
      .Cases({"value_float", "alpha", "beta", "epsilon", "norm_coefficient",
              "norm_coefficient_post", "decay_factor"},
             AP::FLOAT)
      .Default(std::nullopt);
}

LogicalResult Importer::importNode(const onnx::NodeProto &node,
                                   StringRef prefix,
                                   const onnx::NodeProto *caller) {
  std::string name = node.name();
  if (name.empty())
    name = node.op_type() + "_" + std::to_string(unnamed++);
  name = prefix.str() + name;
  NodeCtx n{node, name, nameLoc(name), {}, {}, {}, opset};
  if (++nodeCount > opts.maxNodes)
    return error(n, "the model has more than " + Twine(opts.maxNodes) +
                        " nodes, counting inlined function bodies "
                        "(--onnx-max-nodes)");

  for (const std::string &in : node.input()) {
    if (in.empty()) {
      n.inputs.push_back(Value());
      continue;
    }
    auto it = scope->find(in);
    if (it == scope->end())
      return error(n, "input '" + in + "' is not defined before this node");
    n.inputs.push_back(it->second);
  }
  // Unsupported ops are reported as such before their attributes are read.
  const std::string &domain = node.domain();
  bool isFunction = functions.count(domain + "::" + node.op_type());
  if (!isFunction) {
    if (domain == kPreviewTraining && node.op_type() == "Gradient")
      return importGradient(*this, n);
    if (domain == kPreviewTraining &&
        !llvm::is_contained({"Adam", "Adagrad", "Momentum"}, node.op_type()))
      return error(n, "unsupported op of ai.onnx.preview.training (Adam, "
                      "Adagrad, Momentum and Gradient are supported)");
    if (!domain.empty() && domain != "ai.onnx" && domain != kPreviewTraining)
      return error(n, "op domain '" + domain + "' is not supported");
    if (domain != kPreviewTraining && !opTable().count(node.op_type()))
      return error(n, "unsupported op");
  }
  for (const auto &a : node.attribute()) {
    const onnx::AttributeProto *attr = &a;
    if (!a.ref_attr_name().empty()) {
      attr = nullptr;
      if (caller)
        for (const auto &ca : caller->attribute())
          if (ca.name() == a.ref_attr_name())
            attr = &ca;
      if (!attr)
        continue; // Unset reference: the attribute takes its default.
    }
    // Handlers read these by name with a fixed kind; ONNX gives each name
    // one kind in every op.
    std::optional<onnx::AttributeProto::AttributeType> want =
        expectedAttrType(a.name());
    if (want && attr->type() != *want)
      return error(
          n, "attribute '" + a.name() + "' must be of type " +
                 onnx::AttributeProto::AttributeType_Name(*want) + ", not " +
                 onnx::AttributeProto::AttributeType_Name(attr->type()));
    auto v = convertAttr(n, *attr);
    if (failed(v))
      return failure();
    n.attrs.push_back(b.getNamedAttr(a.name(), *v));
  }

  auto fnIt = functions.find(domain + "::" + node.op_type());
  if (fnIt != functions.end())
    return inlineFunction(*fnIt->second, n);
  if (domain == kPreviewTraining)
    return importPreviewTraining(*this, n);
  if (!domain.empty() && domain != "ai.onnx")
    return error(n, "op domain '" + domain + "' is not supported");
  auto entry = opTable().find(node.op_type());
  if (entry == opTable().end())
    return error(n, "unsupported op");
  if (opset < entry->second.since)
    return error(n, "op needs opset >= " + Twine(entry->second.since) +
                        ", the model imports opset " + Twine(opset));
  for (Value v : n.inputs)
    if (v && !isa<RankedTensorType>(v.getType()))
      return error(n, "operands must be ranked tensors");
  if (n.inputs.empty() && node.op_type() != "Constant")
    return error(n, "needs at least one input");
  if (!n.inputs.empty() && !n.inputs[0])
    return error(n, "the first input is required");
  return entry->second.handler(*this, n);
}

LogicalResult Importer::importGraph(const onnx::GraphProto &graph,
                                    StringRef funcName,
                                    const llvm::StringSet<> &state,
                                    const llvm::StringMap<std::string> &updates) {
  llvm::StringMap<const onnx::TensorProto *> inits;
  for (const auto &t : graph.initializer())
    inits[t.name()] = &t;
  if (graph.sparse_initializer_size())
    return emitError(fileLoc)
           << "sparse initializers are not supported";

  // Arguments: data inputs (not initializers), then parameters.
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<std::string> argNames;
  for (const auto &vi : graph.input()) {
    if (inits.count(vi.name()))
      continue;
    auto type = convertValueType(vi);
    if (failed(type))
      return failure();
    argTypes.push_back(*type);
    argNames.push_back(vi.name());
    argAttrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("mp.name", b.getStringAttr(vi.name())),
         b.getNamedAttr("mp.role", b.getStringAttr("input"))}));
  }
  SmallVector<std::pair<const onnx::TensorProto *, ElementsAttr>> constants;
  for (const auto &t : graph.initializer()) {
    std::string err;
    ElementsAttr value =
        io::tensorToAttr(ctx, t, externalDir, opts.resourceThreshold, err,
                         opts.maxTensorBytes, opts.maxRank);
    if (!value)
      return emitError(nameLoc(t.name()))
             << "initializer '" << t.name() << "': " << err;
    bool isState = state.contains(t.name());
    if (!isParam(t) && !isState) {
      constants.push_back({&t, value});
      continue;
    }
    // Mutable training state that is not a float tensor (a step counter) is
    // optimizer state.
    StringRef role = isState && !isa<FloatType>(value.getElementType())
                         ? "opt_state"
                         : "param";
    argTypes.push_back(value.getType());
    argNames.push_back(t.name());
    argAttrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("mp.name", b.getStringAttr(t.name())),
         b.getNamedAttr("mp.role", b.getStringAttr(role)),
         b.getNamedAttr("mp.init", value)}));
  }

  std::string graphName = graph.name().empty() ? "graph" : graph.name();
  auto func = func::FuncOp::create(nameLoc(graphName), funcName,
                                   b.getFunctionType(argTypes, {}));
  func.setAllArgAttrs(argAttrs);
  module.push_back(func);
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);

  Scope top;
  scope = &top;
  for (auto [i, name] : llvm::enumerate(argNames)) {
    body->getArgument(i).setLoc(nameLoc(name));
    top[name] = body->getArgument(i);
  }
  for (auto &[t, value] : constants)
    top[t->name()] = ConstantOp::create(
        b, nameLoc(t->name()), value);

  for (const auto &node : graph.node())
    if (failed(importNode(node, "", nullptr)))
      return failure();

  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resAttrs;
  for (const auto &vi : graph.output()) {
    Location loc = nameLoc(vi.name());
    auto it = top.find(vi.name());
    if (it == top.end())
      return emitError(loc) << "graph output '" << vi.name()
                            << "' is not computed by any node";
    Value v = it->second;
    if (vi.type().has_tensor_type()) {
      auto declared = convertValueType(vi);
      if (failed(declared))
        return failure();
      if (!areCompatibleReturnTypes(v.getType(), *declared))
        return emitError(loc) << "graph output '" << vi.name()
                              << "' is declared " << *declared
                              << " but computes " << v.getType();
    }
    results.push_back(v);
    SmallVector<NamedAttribute> attrs = {
        b.getNamedAttr("mp.name", b.getStringAttr(vi.name()))};
    if (auto it = updates.find(vi.name()); it != updates.end()) {
      auto arg = llvm::find(argNames, it->second);
      if (arg == argNames.end())
        return emitError(loc) << "update binding of '" << it->second
                              << "': not an initializer of the model";
      int64_t index = arg - argNames.begin();
      if (argTypes[index] != v.getType())
        return emitError(loc) << "update binding '" << it->second << "' <- '"
                              << vi.name() << "': " << v.getType()
                              << " does not match " << argTypes[index];
      attrs.push_back(b.getNamedAttr("mp.updates", b.getI64IntegerAttr(index)));
    }
    resAttrs.push_back(b.getDictionaryAttr(attrs));
  }
  func::ReturnOp::create(b, func.getLoc(), results);
  // Parameters read only as BatchNormalization running statistics are
  // buffers: state the training step updates, never trains.
  for (BlockArgument arg : func.getArguments()) {
    auto role = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "mp.role");
    if (!role || role.getValue() != "param" || arg.use_empty())
      continue;
    bool stats = llvm::all_of(arg.getUses(), [](OpOperand &use) {
      return isa<BatchNormOp>(use.getOwner()) && use.getOperandNumber() >= 3;
    });
    if (stats)
      func.setArgAttr(arg.getArgNumber(), "mp.role", b.getStringAttr("buffer"));
  }
  // Constant inputs that became attributes leave dead constants behind.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*body)))
    if (isOpTriviallyDead(&op))
      op.erase();
  func.setType(b.getFunctionType(argTypes, ValueRange(results).getTypes()));
  func.setAllResultAttrs(resAttrs);
  return success();
}

LogicalResult Importer::importTraining(const onnx::ModelProto &model) {
  if (model.training_info_size() == 0)
    return success();
  if (model.training_info_size() > 1)
    return emitError(fileLoc) << "more than one TrainingInfoProto is not "
                                 "supported";
  const onnx::TrainingInfoProto &info = model.training_info(0);
  if (info.initialization().node_size() ||
      info.initialization_binding_size())
    return emitError(fileLoc) << "TrainingInfoProto.initialization is not "
                                 "supported (initial values come from the "
                                 "initializers)";
  // The training step runs on the concatenation of the inference graph and
  // the algorithm (ONNX IR 7): inputs, initializers, nodes, outputs.
  onnx::GraphProto merged = model.graph();
  const onnx::GraphProto &algo = info.algorithm();
  for (const auto &vi : algo.input())
    *merged.add_input() = vi;
  for (const auto &t : algo.initializer())
    *merged.add_initializer() = t;
  for (const auto &node : algo.node())
    *merged.add_node() = node;
  onnx::GraphProto outputsOnly;
  // The step's results: the algorithm's outputs, then the graph's.
  for (const auto &vi : algo.output())
    *outputsOnly.add_output() = vi;
  for (const auto &vi : model.graph().output())
    *outputsOnly.add_output() = vi;
  *merged.mutable_output() = outputsOnly.output();
  merged.set_name(algo.name().empty() ? "train_step" : algo.name());
  llvm::StringSet<> state;
  llvm::StringMap<std::string> updates;
  for (const auto &kv : info.update_binding()) {
    state.insert(kv.key());
    if (!updates.try_emplace(kv.value(), kv.key()).second)
      return emitError(fileLoc) << "output '" << kv.value()
                                << "' is bound to two initializers";
  }
  return importGraph(merged, "train_step", state, updates);
}

OwningOpRef<ModuleOp> Importer::run(const onnx::ModelProto &model) {
  Location loc = fileLoc;
  if (model.ir_version() < 3 || model.ir_version() > 10) {
    emitError(loc) << "unsupported ONNX IR version " << model.ir_version()
                   << " (supported: 3 to 10)";
    return nullptr;
  }
  // Both are required; a protobuf cut at a field boundary still parses, and
  // these are what such a cut loses.
  if (!model.has_graph()) {
    emitError(loc) << "the model has no graph (truncated?)";
    return nullptr;
  }
  if (model.opset_import_size() == 0) {
    emitError(loc) << "the model imports no opset (truncated?)";
    return nullptr;
  }
  bool defaultDomain = false;
  for (const auto &imp : model.opset_import()) {
    if (imp.domain().empty() || imp.domain() == "ai.onnx") {
      opset = imp.version();
      defaultDomain = true;
    } else if (imp.domain() == kPreviewTraining && imp.version() != 1) {
      emitError(loc) << "unsupported " << kPreviewTraining << " version "
                     << imp.version() << " (supported: 1)";
      return nullptr;
    }
  }
  // A model of only ai.onnx.preview.training ops imports no default domain;
  // its nodes are then checked one by one (importNode).
  if (!defaultDomain)
    opset = kMaxOpset;
  if (opset < kMinOpset || opset > kMaxOpset) {
    emitError(loc) << "unsupported default-domain opset " << opset
                   << " (supported: " << kMinOpset << " to " << kMaxOpset
                   << ")";
    return nullptr;
  }
  for (const auto &fn : model.functions())
    functions[fn.domain() + "::" + fn.name()] = &fn;
  if (opts.batch > 0) {
    // The leading symbolic dim of each real input is the batch axis.
    llvm::StringSet<> inits;
    for (const auto &t : model.graph().initializer())
      inits.insert(t.name());
    for (const auto &vi : model.graph().input()) {
      const auto &shape = vi.type().tensor_type().shape();
      if (!inits.contains(vi.name()) && shape.dim_size() > 0 &&
          !shape.dim(0).has_dim_value() && shape.dim(0).has_dim_param())
        pinnedDims[shape.dim(0).dim_param()] = opts.batch;
    }
    if (pinnedDims.empty()) {
      emitError(loc) << "batch " << opts.batch
                     << " requested, but no graph input has a symbolic "
                        "leading dim (export with a dynamic batch axis)";
      return nullptr;
    }
  }

  module = ModuleOp::create(loc);
  OwningOpRef<ModuleOp> owned(module);
  module->setAttr("mp.opset", b.getI64IntegerAttr(opset));
  if (!model.producer_name().empty())
    module->setAttr("mp.producer",
                    b.getStringAttr(model.producer_name() +
                                    (model.producer_version().empty()
                                         ? ""
                                         : " " + model.producer_version())));
  if (failed(importGraph(model.graph(), opts.funcName)) ||
      failed(importTraining(model)))
    return nullptr;
  return owned;
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

bool mp::looksLikeONNXText(StringRef path, StringRef buffer) {
  if (path.ends_with(".onnxtxt"))
    return true;
  StringRef t = buffer.ltrim();
  return t.starts_with("<") || t.starts_with("#");
}

OwningOpRef<ModuleOp> mp::importONNX(StringRef buffer, bool isText,
                                     MLIRContext *context,
                                     const ImportOptions &options) {
  context->loadDialect<MPDialect, func::FuncDialect>();
  onnx::ModelProto model;
  if (isText) {
    std::string text = buffer.str();
    auto status = onnx::OnnxParser::Parse(model, text.c_str());
    if (!status.IsOK()) {
      emitError(sourceLoc(context, options))
          << "cannot parse ONNX text: " << status.ErrorMessage();
      return nullptr;
    }
  } else if (buffer.size() > (size_t)std::numeric_limits<int>::max() ||
             !model.ParseFromArray(buffer.data(), (int)buffer.size())) {
    emitError(sourceLoc(context, options))
        << "cannot parse the ONNX protobuf (truncated or not an ONNX model)";
    return nullptr;
  }
  Importer importer(context, options, options.externalDataDir);
  return importer.run(model);
}

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

namespace {
struct ImportCLOptions {
  llvm::cl::opt<std::string> funcName{
      "onnx-func-name", llvm::cl::desc("Name of the imported function"),
      llvm::cl::init("forward")};
  llvm::cl::opt<std::string> params{
      "onnx-params",
      llvm::cl::desc("Regex: only float initializers whose name matches are "
                     "trainable parameters (default: every float initializer "
                     "of rank >= 1 not named 'onnx::*')")};
  llvm::cl::opt<std::string> consts{
      "onnx-consts",
      llvm::cl::desc("Regex: float initializers whose name matches are "
                     "constants, not parameters")};
  llvm::cl::opt<int64_t> resourceThreshold{
      "onnx-resource-threshold",
      llvm::cl::desc("Constants with more elements become dense_resource "
                     "blobs"),
      llvm::cl::init(16)};
  llvm::cl::opt<int64_t> batch{
      "onnx-batch",
      llvm::cl::desc("Give the symbolic leading dim of the graph inputs (a "
                     "dynamic batch axis) this value"),
      llvm::cl::init(0)};
  // Limits against hostile models (docs/Reliability.md).
  llvm::cl::opt<int64_t> maxTensorBytes{
      "onnx-max-tensor-bytes",
      llvm::cl::desc("Reject a model with a tensor (initializer, constant, "
                     "graph value or inferred op result) of more bytes"),
      llvm::cl::init(ImportOptions().maxTensorBytes)};
  llvm::cl::opt<int64_t> maxRank{
      "onnx-max-rank",
      llvm::cl::desc("Reject a model with a tensor of "
                     "higher rank"),
      llvm::cl::init(ImportOptions().maxRank)};
  llvm::cl::opt<int64_t> maxNodes{
      "onnx-max-nodes",
      llvm::cl::desc("Reject a model of more nodes (inlined function bodies "
                     "count at every call)"),
      llvm::cl::init(ImportOptions().maxNodes)};
  llvm::cl::opt<int64_t> maxFunctionDepth{
      "onnx-max-function-depth",
      llvm::cl::desc("Reject a model whose local function calls nest deeper"),
      llvm::cl::init(ImportOptions().maxFunctionDepth)};
};
llvm::ManagedStatic<ImportCLOptions> clOptions;
} // namespace

void mp::registerImportONNXCLOptions() { *clOptions; }

ImportOptions mp::getImportOptionsFromCL() {
  ImportOptions o;
  if (!clOptions.isConstructed())
    return o;
  o.funcName = clOptions->funcName;
  o.paramRegex = clOptions->params;
  o.constRegex = clOptions->consts;
  o.resourceThreshold = clOptions->resourceThreshold;
  o.batch = clOptions->batch;
  o.maxTensorBytes = clOptions->maxTensorBytes;
  o.maxRank = clOptions->maxRank;
  o.maxNodes = clOptions->maxNodes;
  o.maxFunctionDepth = clOptions->maxFunctionDepth;
  return o;
}

void mp::registerImportONNXTranslation() {
  registerImportONNXCLOptions();
  static TranslateToMLIRRegistration reg(
      "import-onnx",
      "Import an ONNX model (binary .onnx, or ONNX text syntax .onnxtxt)",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *ctx) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buf =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        StringRef path = buf->getBufferIdentifier();
        ImportOptions opts = getImportOptionsFromCL();
        opts.externalDataDir = llvm::sys::path::parent_path(path).str();
        if (opts.externalDataDir.empty())
          opts.externalDataDir = ".";
        opts.sourceName = path.str();
        auto module = importONNX(buf->getBuffer(),
                                 looksLikeONNXText(path, buf->getBuffer()),
                                 ctx, opts);
        return OwningOpRef<Operation *>(module.release());
      },
      [](DialectRegistry &registry) {
        registry.insert<MPDialect, func::FuncDialect>();
      });
}
