//===- ExportONNX.cpp - mp IR to an ONNX model ----------------------------===//
//
// Walks one function in order and writes a ModelProto at opset 20 (IR 9):
// - arguments with `mp.role = "param"` and an `mp.init` value become
//   initializers; the other arguments become graph inputs;
// - `mp.constant` becomes an initializer;
// - each other op becomes one node named after its NameLoc, with the ONNX op
//   type from ONNXOps.def and its attributes by name. Attributes that mp keeps
//   static but ONNX-20 takes as inputs (Reduce/Squeeze/Unsqueeze axes, Split
//   sizes, Slice bounds, Clip bounds, Dropout ratio and mode, Trilu k) are
//   written as constant initializers feeding those inputs;
// - results keep their `mp.name`, through an Identity node where a returned
//   value already has another name.
// Discardable attributes (`mp.precision`, ...) are not ONNX and are dropped.
//
//===----------------------------------------------------------------------===//

#include "mp/Target/ONNX/ExportONNX.h"
#include "ONNXTensor.h"
#include "mp/Dialect/MP/IR/MPOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mp;
namespace io = mp::onnx_io;

namespace {

constexpr int64_t kExportOpset = 20;
constexpr int64_t kExportIRVersion = 9;

const llvm::StringMap<StringRef> &onnxNames() {
  static const llvm::StringMap<StringRef> names = [] {
    llvm::StringMap<StringRef> m;
#define ONNX_OP(Name, Class, Since) m[Class::getOperationName()] = #Name;
#include "mp/Dialect/MP/IR/ONNXOps.def"
    return m;
  }();
  return names;
}

class Exporter {
public:
  explicit Exporter(onnx::GraphProto &graph) : graph(graph) {}

  LogicalResult run(func::FuncOp func);

private:
  std::string unique(StringRef base) {
    std::string name = base.empty() ? "v" : base.str();
    std::string candidate = name;
    for (int i = 1; !used.insert(candidate).second; ++i)
      candidate = name + "_" + std::to_string(i);
    return candidate;
  }

  static std::string locName(Location loc) {
    if (auto n = dyn_cast<NameLoc>(loc))
      return n.getName().str();
    if (auto f = dyn_cast<FusedLoc>(loc))
      for (Location l : f.getLocations())
        if (auto n = locName(l); !n.empty())
          return n;
    return "";
  }

  LogicalResult fail(Operation *op, const Twine &msg) {
    return op->emitError() << "cannot export to ONNX: " << msg;
  }

  void setValueInfo(onnx::ValueInfoProto &vi, StringRef name, Type type) {
    vi.set_name(name.str());
    auto t = cast<RankedTensorType>(type);
    auto *tt = vi.mutable_type()->mutable_tensor_type();
    tt->set_elem_type(io::dataTypeCode(t.getElementType()));
    auto *shape = tt->mutable_shape();
    for (auto [i, d] : llvm::enumerate(t.getShape())) {
      auto *dim = shape->add_dim();
      if (ShapedType::isDynamic(d))
        dim->set_dim_param(name.str() + "_d" + std::to_string(i));
      else
        dim->set_dim_value(d);
    }
  }

  /// A constant initializer; returns its name.
  FailureOr<std::string> addInitializer(Operation *op, StringRef base,
                                        ElementsAttr value) {
    onnx::TensorProto *t = graph.add_initializer();
    std::string err;
    if (failed(io::attrToTensor(value, *t, err))) {
      (void)fail(op, err);
      return failure();
    }
    t->set_name(unique(base));
    return t->name();
  }

  FailureOr<std::string> addInts(Operation *op, StringRef base,
                                 ArrayRef<int64_t> values, bool scalar = false) {
    Builder b(op->getContext());
    auto type = RankedTensorType::get(
        scalar ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{(int64_t)values.size()},
        b.getI64Type());
    return addInitializer(op, base, DenseElementsAttr::get(type, values));
  }

  FailureOr<std::string> addScalar(Operation *op, StringRef base, Type elt,
                                   double v) {
    auto type = RankedTensorType::get({}, elt);
    Attribute a;
    if (auto ft = dyn_cast<FloatType>(elt))
      a = DenseElementsAttr::get(type, FloatAttr::get(ft, v));
    else if (elt.isInteger(1))
      a = DenseElementsAttr::get(type, v != 0);
    else
      a = DenseElementsAttr::get(type, IntegerAttr::get(elt, (int64_t)v));
    return addInitializer(op, base, cast<ElementsAttr>(a));
  }

  LogicalResult convertAttr(Operation *op, NamedAttribute na,
                            onnx::AttributeProto &a);
  LogicalResult exportOp(Operation *op);

  onnx::GraphProto &graph;
  llvm::StringSet<> used;
  llvm::DenseMap<Value, std::string> names;
};

LogicalResult Exporter::convertAttr(Operation *op, NamedAttribute na,
                                    onnx::AttributeProto &a) {
  using AP = onnx::AttributeProto;
  a.set_name(na.getName().str());
  Attribute v = na.getValue();
  if (auto i = dyn_cast<IntegerAttr>(v)) {
    a.set_type(AP::INT);
    a.set_i(i.getInt());
  } else if (auto f = dyn_cast<FloatAttr>(v)) {
    a.set_type(AP::FLOAT);
    a.set_f(f.getValueAsDouble());
  } else if (auto s = dyn_cast<StringAttr>(v)) {
    a.set_type(AP::STRING);
    a.set_s(s.str());
  } else if (auto ints = dyn_cast<DenseI64ArrayAttr>(v)) {
    a.set_type(AP::INTS);
    for (int64_t x : ints.asArrayRef())
      a.add_ints(x);
  } else if (auto floats = dyn_cast<DenseF32ArrayAttr>(v)) {
    a.set_type(AP::FLOATS);
    for (float x : floats.asArrayRef())
      a.add_floats(x);
  } else if (auto e = dyn_cast<ElementsAttr>(v)) {
    a.set_type(AP::TENSOR);
    std::string err;
    if (failed(io::attrToTensor(e, *a.mutable_t(), err)))
      return fail(op, err);
  } else if (auto t = dyn_cast<TypeAttr>(v)) {
    a.set_type(AP::INT);
    a.set_i(io::dataTypeCode(t.getValue()));
  } else {
    return fail(op, "attribute '" + na.getName().getValue() +
                        "' has no ONNX form");
  }
  return success();
}

LogicalResult Exporter::exportOp(Operation *op) {
  if (auto c = dyn_cast<ConstantOp>(op)) {
    auto name = addInitializer(op, locName(op->getLoc()), c.getValue());
    if (failed(name))
      return failure();
    names[c.getResult()] = *name;
    return success();
  }
  auto it = onnxNames().find(op->getName().getStringRef());
  if (it == onnxNames().end())
    return fail(op, "op '" + op->getName().getStringRef() +
                        "' has no ONNX equivalent");

  std::string nodeName = unique(locName(op->getLoc()).empty()
                                    ? it->second.str()
                                    : locName(op->getLoc()));
  onnx::NodeProto node;
  node.set_op_type(it->second.str());
  node.set_name(nodeName);
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    auto n = names.find(v);
    if (n == names.end())
      return fail(op, "operand is not defined by an exported value");
    std::string name = n->second;
    // ONNX LayerNormalization wants Scale and B in X's type; mp keeps them
    // pinned to f32 under autocast, so the export casts them.
    if (auto ln = dyn_cast<LayerNormOp>(op); ln && i > 0) {
      Type want = getElementTypeOrSelf(ln.getX());
      if (getElementTypeOrSelf(v) != want) {
        onnx::NodeProto *c = graph.add_node();
        c->set_op_type("Cast");
        c->set_name(unique(nodeName + "_cast" + std::to_string(i)));
        c->add_input(name);
        name = unique(nodeName + ":cast" + std::to_string(i));
        c->add_output(name);
        auto *to = c->add_attribute();
        to->set_name("to");
        to->set_type(onnx::AttributeProto::INT);
        to->set_i(io::dataTypeCode(want));
      }
    }
    node.add_input(name);
  }

  // Attributes that ONNX-20 takes as inputs.
  llvm::StringSet<> asInputs;
  auto addInput = [&](FailureOr<std::string> name) -> LogicalResult {
    if (failed(name))
      return failure();
    node.add_input(*name);
    return success();
  };
  auto optionalInts = [&](StringRef attr) -> LogicalResult {
    asInputs.insert(attr);
    auto a = op->getAttrOfType<DenseI64ArrayAttr>(attr);
    if (!a) {
      node.add_input("");
      return success();
    }
    return addInput(addInts(op, nodeName + "_" + attr.str(), a.asArrayRef()));
  };
  LogicalResult special =
      TypeSwitch<Operation *, LogicalResult>(op)
          .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp, SqueezeOp,
                UnsqueezeOp>([&](auto) { return optionalInts("axes"); })
          .Case<SplitOp>([&](auto) { return optionalInts("split"); })
          .Case<SliceOp>([&](auto) {
            for (StringRef a : {"starts", "ends", "axes", "steps"})
              if (failed(optionalInts(a)))
                return failure();
            return success();
          })
          .Case<ClipOp>([&](ClipOp clip) -> LogicalResult {
            asInputs.insert("min");
            asInputs.insert("max");
            Type elt = getElementTypeOrSelf(clip.getInput());
            for (auto [name, v] :
                 {std::pair<StringRef, std::optional<APFloat>>{"min", clip.getMin()},
                  {"max", clip.getMax()}}) {
              if (!v) {
                node.add_input("");
                continue;
              }
              if (failed(addInput(addScalar(op, nodeName + "_" + name.str(),
                                            elt, v->convertToDouble()))))
                return failure();
            }
            return success();
          })
          .Case<DropoutOp>([&](DropoutOp d) -> LogicalResult {
            asInputs.insert("ratio");
            asInputs.insert("training_mode");
            Builder b(op->getContext());
            if (failed(addInput(addScalar(op, nodeName + "_ratio",
                                          b.getF32Type(),
                                          d.getRatio().convertToFloat()))))
              return failure();
            return addInput(addScalar(op, nodeName + "_training_mode",
                                      b.getI1Type(), d.getTrainingMode()));
          })
          .Case<PadOp>([&](PadOp p) -> LogicalResult {
            asInputs.insert("pads");
            asInputs.insert("value");
            if (failed(addInput(addInts(op, nodeName + "_pads", p.getPads()))))
              return failure();
            return addInput(addScalar(op, nodeName + "_value",
                                      getElementTypeOrSelf(p.getData()),
                                      p.getValue().convertToDouble()));
          })
          .Case<TriluOp>([&](TriluOp t) {
            asInputs.insert("k");
            return addInput(
                addInts(op, nodeName + "_k", {(int64_t)t.getK()}, /*scalar=*/true));
          })
          .Default([](Operation *) { return success(); });
  if (failed(special))
    return failure();
  // Trailing omitted optional inputs are dropped.
  while (node.input_size() && node.input(node.input_size() - 1).empty())
    node.mutable_input()->RemoveLast();

  for (NamedAttribute na : op->getAttrDictionary()) {
    StringRef name = na.getName().getValue();
    if (name.contains('.') || asInputs.contains(name) ||
        name == "operandSegmentSizes")
      continue;
    if (failed(convertAttr(op, na, *node.add_attribute())))
      return failure();
  }

  // Inference-mode BatchNormalization has one output in ONNX; its running
  // statistics results are the inputs themselves.
  unsigned numOutputs = op->getNumResults();
  if (auto bn = dyn_cast<BatchNormOp>(op); bn && !bn.getTrainingMode()) {
    numOutputs = 1;
    names[bn.getRunningMean()] = names[bn.getInputMean()];
    names[bn.getRunningVar()] = names[bn.getInputVar()];
  }
  for (unsigned i = 0; i < numOutputs; ++i) {
    Value r = op->getResult(i);
    std::string name = names.count(r) ? names[r]
                                      : unique(nodeName + ":" + std::to_string(i));
    names[r] = name;
    node.add_output(name);
  }
  *graph.add_node() = std::move(node);
  return success();
}

LogicalResult Exporter::run(func::FuncOp func) {
  graph.set_name(func.getSymName().str());
  // Returned values keep their mp.name where they can.
  auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
  SmallVector<std::string> outNames;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto n = func.getResultAttrOfType<StringAttr>(i, "mp.name");
    outNames.push_back(unique(n ? n.getValue() : "output_" + std::to_string(i)));
    if (!names.count(v) && !isa<BlockArgument>(v))
      names[v] = outNames.back();
  }

  for (BlockArgument arg : func.getArguments()) {
    unsigned i = arg.getArgNumber();
    auto n = func.getArgAttrOfType<StringAttr>(i, "mp.name");
    std::string name = unique(n ? n.getValue() : "input_" + std::to_string(i));
    names[arg] = name;
    auto init = func.getArgAttrOfType<ElementsAttr>(i, "mp.init");
    if (init) {
      onnx::TensorProto *t = graph.add_initializer();
      std::string err;
      if (failed(io::attrToTensor(init, *t, err)))
        return func.emitError() << "cannot export parameter '" << name
                                << "': " << err;
      t->set_name(name);
      continue;
    }
    setValueInfo(*graph.add_input(), name, arg.getType());
  }

  for (Operation &op : func.getBody().front().without_terminator())
    if (failed(exportOp(&op)))
      return failure();

  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    if (names[v] != outNames[i]) {
      onnx::NodeProto *id = graph.add_node();
      id->set_op_type("Identity");
      id->set_name(unique(outNames[i] + "_identity"));
      id->add_input(names[v]);
      id->add_output(outNames[i]);
    }
    setValueInfo(*graph.add_output(), outNames[i], v.getType());
  }
  return success();
}

} // namespace

LogicalResult mp::exportONNX(Operation *op, llvm::raw_ostream &os) {
  func::FuncOp func = dyn_cast<func::FuncOp>(op);
  if (auto module = dyn_cast<ModuleOp>(op)) {
    for (auto f : module.getOps<func::FuncOp>())
      if (!f.isExternal() && (!func || f.getSymName() == "forward"))
        func = f;
  }
  if (!func || func.isExternal())
    return op->emitError() << "cannot export to ONNX: no function body";
  if (!func.getBody().hasOneBlock())
    return func.emitError() << "cannot export to ONNX: the function must have "
                               "a single block";

  onnx::ModelProto model;
  model.set_ir_version(kExportIRVersion);
  model.set_producer_name("mp");
  model.set_producer_version("0.1");
  auto *opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kExportOpset);
  Exporter exporter(*model.mutable_graph());
  if (failed(exporter.run(func)))
    return failure();
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    return func.emitError() << "cannot export to ONNX: the model exceeds "
                               "protobuf's 2 GiB limit";
  os.write(bytes.data(), bytes.size());
  return success();
}

void mp::registerExportONNXTranslation() {
  static TranslateFromMLIRRegistration reg(
      "export-onnx", "Export mp IR to a binary ONNX model (opset 20)",
      [](Operation *op, llvm::raw_ostream &os) { return exportONNX(op, os); },
      [](DialectRegistry &registry) {
        registry.insert<MPDialect, func::FuncDialect>();
      });
}
