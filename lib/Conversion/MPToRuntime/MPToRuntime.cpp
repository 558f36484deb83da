//===- MPToRuntime.cpp - mp IR to a runtime program -----------------------===//
//
// Lowers each function to a list of kernel instructions over tensors:
// - arguments become persistent tensors named by `mp.name`, with their role
//   from `mp.role` (input, label, param, buffer, opt_state, hyper, scaler) and
//   their initial data from `mp.init`; functions that name the same argument
//   share the tensor (a @forward and a @train_step share the parameters);
// - `mp.constant` becomes a constant tensor; every other mp op one
//   instruction whose kernel is the op's mnemonic, with its attributes by
//   name (`mp.accumulate` becomes `acc`, a cast's `to` the dtype name);
// - fusion (RuntimeLoweringOptions::fuseElementwise): a chain of float
//   elementwise ops, each op's only user the next, becomes one
//   `fused_elementwise` instruction at the chain's last op; a chain that
//   alone reads a matmul/gemm product of its result's shape (bias add,
//   activation, cast) becomes that contraction's epilogue instead
//   (`epilogue_*` attributes). Fused intermediates get no tensor; every
//   step still rounds to its own dtype, so results do not change;
// - each other SSA value is a transient tensor, placed in one arena by the
//   runtime's memory planner (first fit over live ranges);
// - a result with `mp.updates = i` writes argument i's tensor in place; other
//   results are output tensors named "<function>.<mp.name>" the caller reads;
// - every instruction records the ONNX node it comes from (the first NameLoc
//   of its op's location; a fused chain: its last named op) as an attribute
//   `name`, which runtime errors and numerics checking report.
// Shapes must be static. Validation is the runtime's own (validateProgram),
// so whatever this writes, the runtime accepts.
//
//===----------------------------------------------------------------------===//

#include "mp/Conversion/MPToRuntime/MPToRuntime.h"
#include "mp/Dialect/MP/IR/MPOps.h"

#include "mp_rt/program.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"

#include <algorithm>
#include <map>
#include <unordered_map>

using namespace mlir;
namespace rt = mp::rt;
using mp::ConstantOp;
using mp::MPDialect;
using mp::PrecisionAttr;

namespace {

FailureOr<rt::DType> dtypeOf(Type t) {
  if (t.isF32())
    return rt::DType::F32;
  if (t.isF16())
    return rt::DType::F16;
  if (t.isBF16())
    return rt::DType::BF16;
  if (t.isF64())
    return rt::DType::F64;
  if (t.isInteger(1))
    return rt::DType::Bool;
  if (auto it = dyn_cast<IntegerType>(t)) {
    if (it.getWidth() == 64 && !it.isUnsigned())
      return rt::DType::I64;
    if (it.getWidth() == 32 && !it.isUnsigned())
      return rt::DType::I32;
    if (it.getWidth() == 8)
      return it.isUnsigned() ? rt::DType::U8 : rt::DType::I8;
  }
  return failure();
}

std::optional<rt::Role> roleOf(StringRef role) {
  return llvm::StringSwitch<std::optional<rt::Role>>(role)
      .Case("input", rt::Role::Input)
      .Case("label", rt::Role::Label)
      .Case("param", rt::Role::Param)
      .Case("buffer", rt::Role::Param)
      .Cases({"opt_state", "hyper"}, rt::Role::OptState)
      .Case("scaler", rt::Role::Scaler)
      .Default(std::nullopt);
}

/// Constants of at least this many bytes holding one repeated value are
/// filled at run time (constant_of_shape) rather than stored.
constexpr size_t kSplatFillBytes = 64 * 1024;

/// The constant_of_shape `value` attribute of a constant whose elements all
/// equal one value (a splat attribute, or stored bytes that are all zero),
/// given its bytes in `t`; none otherwise.
std::optional<rt::Attribute> splatFill(ConstantOp c, const rt::TensorDesc &t) {
  bool isFloat = rt::isFloat(t.dtype);
  if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
      dense && dense.isSplat()) {
    Attribute v = dense.getSplatValue<Attribute>();
    if (auto f = dyn_cast<FloatAttr>(v))
      return rt::Attribute::ofFloat("value", f.getValueAsDouble());
    if (auto i = dyn_cast<IntegerAttr>(v)) {
      int64_t x = i.getType().isInteger(1)
                      ? int64_t(i.getValue().getBoolValue())
                      : i.getValue().getSExtValue();
      return isFloat ? rt::Attribute::ofFloat("value", double(x))
                     : rt::Attribute::ofInt("value", x);
    }
    return std::nullopt;
  }
  if (t.data.empty() ||
      !std::all_of(t.data.begin(), t.data.end(), [](uint8_t b) { return !b; }))
    return std::nullopt;
  return isFloat ? rt::Attribute::ofFloat("value", 0.0)
                 : rt::Attribute::ofInt("value", 0);
}

/// The packed little-endian bytes of an elements attribute.
LogicalResult bytesOf(ElementsAttr attr, std::vector<uint8_t> &out) {
  auto type = cast<ShapedType>(attr.getType());
  int64_t n = type.getNumElements();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return failure();
    ArrayRef<char> data = blob->getData();
    out.assign(data.begin(), data.end());
    return success();
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return failure();
  if (type.getElementType().isInteger(1)) {
    for (bool b : dense.getValues<bool>())
      out.push_back(b ? 1 : 0);
    return success();
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    out.reserve(raw.size() * n);
    for (int64_t i = 0; i < n; ++i)
      out.insert(out.end(), raw.begin(), raw.end());
  } else {
    out.assign(raw.begin(), raw.end());
  }
  return success();
}

class Lowering {
public:
  Lowering(rt::Program &p, const mp::RuntimeLoweringOptions &options)
      : program(p), options(options) {}
  LogicalResult lower(func::FuncOp func);

private:
  FailureOr<uint32_t> newTensor(Value v, StringRef name, rt::Role role,
                                Operation *where) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape())
      return where->emitError()
             << "mp-to-runtime: value of type " << v.getType()
             << " has no static shape; the runtime needs static shapes "
                "(mp-compile --batch N pins a dynamic batch axis)",
             failure();
    auto dt = dtypeOf(t.getElementType());
    if (failed(dt))
      return where->emitError() << "mp-to-runtime: element type "
                                << t.getElementType()
                                << " has no runtime dtype",
             failure();
    return program.addTensor(name.str(), *dt,
                             std::vector<int64_t>(t.getShape().begin(),
                                                  t.getShape().end()),
                             role);
  }
  std::string uniqueName(StringRef base) {
    std::string name = base.str();
    for (int i = 1; usedNames.count(name); ++i)
      name = (base + "." + Twine(i)).str();
    usedNames[name] = true;
    return name;
  }
  LogicalResult convertAttrs(Operation *op, rt::Instruction &ins);
  void findChains(Block &body);
  Operation *epilogueProducer(ArrayRef<Operation *> chain);
  LogicalResult emitChain(ArrayRef<Operation *> chain, Operation *producer,
                          rt::Function &fn);
  void findFoldedTransposes(Block &body);
  void operandIds(Operation *op, rt::Instruction &ins);

  /// Transposes of the last two dims that every user (a matmul) reads
  /// through its transA/transB flag instead: emitted as no instruction.
  llvm::DenseSet<Operation *> foldedTransposes;

  /// Fusion: each op of a fused chain -> its chain's index; a chain fuses
  /// when it has two ops or more, or when it becomes its producer's
  /// epilogue (producerOf: chain index -> the matmul/gemm it follows;
  /// epilogueOf the reverse).
  DenseMap<Operation *, unsigned> chainOf;
  SmallVector<SmallVector<Operation *>> chains;
  DenseMap<unsigned, Operation *> producerOf;
  DenseMap<Operation *, unsigned> epilogueOf;

  rt::Program &program;
  const mp::RuntimeLoweringOptions &options;
  llvm::StringMap<uint32_t> persistent; // mp.name -> tensor
  llvm::StringMap<bool> usedNames;
  DenseMap<Value, uint32_t> ids;
  /// constant_of_shape fills not yet emitted, by result tensor: each goes
  /// right before its first user, so the filled tensor lives no longer
  /// than needed.
  std::map<uint32_t, rt::Instruction> pendingFills;
  /// Constant tensors by dtype, shape and bytes.
  std::unordered_map<std::string, uint32_t> constants;

  /// Appends `ins` to `fn`, preceded by the fills of its operands.
  void append(rt::Function &fn, rt::Instruction ins) {
    for (uint32_t id : ins.operands)
      if (auto it = pendingFills.find(id); it != pendingFills.end()) {
        fn.body.push_back(std::move(it->second));
        pendingFills.erase(it);
      }
    fn.body.push_back(std::move(ins));
  }
};

LogicalResult Lowering::convertAttrs(Operation *op, rt::Instruction &ins) {
  for (NamedAttribute na : op->getAttrDictionary()) {
    StringRef name = na.getName().getValue();
    Attribute v = na.getValue();
    if (name == MPDialect::kPrecisionAttrName)
      continue;
    if (name == MPDialect::kAccumulateAttrName) {
      // The runtime accumulates in f32 unless told otherwise (docs/
      // ProgramFormat.md), so only a low-precision accumulation is written.
      mp::Precision acc = cast<PrecisionAttr>(v).getValue();
      if (acc != mp::Precision::f32)
        ins.attrs.push_back(
            rt::Attribute::ofString("acc", stringifyPrecision(acc).str()));
      continue;
    }
    if (name.contains('.') || name == "operandSegmentSizes")
      continue; // Discardable attributes; operand positions (see above).
    if (auto bl = dyn_cast<BoolAttr>(v))
      ins.attrs.push_back(rt::Attribute::ofInt(name.str(), bl.getValue()));
    else if (auto i = dyn_cast<IntegerAttr>(v))
      ins.attrs.push_back(rt::Attribute::ofInt(name.str(), i.getInt()));
    else if (auto f = dyn_cast<FloatAttr>(v))
      ins.attrs.push_back(
          rt::Attribute::ofFloat(name.str(), f.getValueAsDouble()));
    else if (auto s = dyn_cast<StringAttr>(v))
      ins.attrs.push_back(rt::Attribute::ofString(name.str(), s.str()));
    else if (auto a = dyn_cast<DenseI64ArrayAttr>(v))
      ins.attrs.push_back(rt::Attribute::ofInts(
          name.str(), std::vector<int64_t>(a.asArrayRef().begin(),
                                           a.asArrayRef().end())));
    else if (auto a = dyn_cast<DenseF32ArrayAttr>(v))
      ins.attrs.push_back(rt::Attribute::ofFloats(
          name.str(), std::vector<double>(a.asArrayRef().begin(),
                                          a.asArrayRef().end())));
    else if (auto t = dyn_cast<TypeAttr>(v)) {
      auto dt = dtypeOf(t.getValue());
      if (failed(dt))
        return op->emitError() << "mp-to-runtime: no runtime dtype for "
                               << t.getValue();
      ins.attrs.push_back(
          rt::Attribute::ofString(name.str(), rt::dtypeName(*dt)));
    } else if (auto e = dyn_cast<DenseElementsAttr>(v); e && e.getNumElements() == 1) {
      double x = isa<FloatType>(e.getElementType())
                     ? (*e.getValues<APFloat>().begin()).convertToDouble()
                     : double((*e.getValues<APInt>().begin()).getSExtValue());
      ins.attrs.push_back(rt::Attribute::ofFloat(name.str(), x));
    } else
      return op->emitError() << "mp-to-runtime: attribute '" << name
                             << "' has no runtime form";
  }
  return success();
}

/// The ONNX node name of a location: its first NameLoc (generated backward
/// ops have a FusedLoc naming their forward op), or "".
static std::string nodeName(Location loc) {
  std::string name;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      name = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

/// Records `op`'s node name on `ins` (attribute `name`); false if it has
/// none.
static bool addNodeName(Operation *op, rt::Instruction &ins) {
  std::string name = nodeName(op->getLoc());
  if (name.empty())
    return false;
  ins.attrs.push_back(rt::Attribute::ofString("name", std::move(name)));
  return true;
}

/// A statically shaped f32/f16/bf16 tensor: what fused steps operate on.
static bool isStaticFloatTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  Type e = rt ? rt.getElementType() : Type();
  return rt && rt.hasStaticShape() && (e.isF32() || e.isF16() || e.isBF16());
}

/// Ops the fused_elementwise kernel evaluates, on f32/f16/bf16 only.
static bool isFusable(Operation *op) {
  if (!isa<mp::NegOp, mp::AbsOp, mp::SqrtOp, mp::ReciprocalOp, mp::ExpOp,
           mp::LogOp, mp::ErfOp, mp::TanhOp, mp::SigmoidOp, mp::ReluOp,
           mp::LeakyReluOp, mp::GeluOp, mp::AddOp, mp::SubOp, mp::MulOp,
           mp::DivOp, mp::CastOp>(op))
    return false;
  return llvm::all_of(op->getOperandTypes(), isStaticFloatTensor) &&
         llvm::all_of(op->getResultTypes(), isStaticFloatTensor);
}

/// Chains: a fusable op whose only user is the next fusable op. Only the
/// last op's result becomes a tensor; the chain runs as one kernel at the
/// last op's place (every outside operand is defined before it).
void Lowering::findChains(Block &body) {
  chainOf.clear();
  chains.clear();
  DenseMap<Operation *, unsigned> tail; // chain tail -> chain index
  for (Operation &op : body) {
    if (!options.fuseElementwise || !isFusable(&op))
      continue;
    std::optional<unsigned> extend;
    for (Value v : op.getOperands()) {
      Operation *def = v.getDefiningOp();
      auto it = def ? tail.find(def) : tail.end();
      if (it != tail.end() && def->getResult(0).hasOneUse()) {
        extend = it->second;
        tail.erase(it);
        break;
      }
    }
    unsigned id = extend ? *extend : chains.size();
    if (!extend)
      chains.emplace_back();
    chains[id].push_back(&op);
    tail[&op] = id;
  }
  producerOf.clear();
  epilogueOf.clear();
  for (auto [id, chain] : llvm::enumerate(chains)) {
    if (Operation *p = epilogueProducer(chain)) {
      producerOf[id] = p;
      epilogueOf[p] = id;
    }
    if (chain.size() > 1 || producerOf.count(id))
      for (Operation *op : chain)
        chainOf[op] = id;
  }
}

/// The matmul or gemm whose product only `chain` reads, through its first
/// op, when the product has the chain's result shape: the chain then runs
/// as that contraction's epilogue.
Operation *Lowering::epilogueProducer(ArrayRef<Operation *> chain) {
  for (Value v : chain.front()->getOperands()) {
    Operation *p = v.getDefiningOp();
    if (!p || !isa<mp::MatMulOp, mp::GemmOp>(p) || !v.hasOneUse())
      continue;
    // The chain's ops are fusable, so its result is a static float tensor.
    auto last = cast<RankedTensorType>(chain.back()->getResult(0).getType());
    if (isStaticFloatTensor(v.getType()) &&
        cast<RankedTensorType>(v.getType()).getShape() == last.getShape())
      return p;
  }
  return nullptr;
}

/// The matmul operand a transpose of its last two dims feeds, read
/// through the runtime's transA/transB flag: the transpose's input, or null.
static Value transposedSource(Value v) {
  auto t = v.getDefiningOp<mp::TransposeOp>();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!t || !type || type.getRank() < 2 || !t.getPerm())
    return nullptr;
  ArrayRef<int64_t> perm = *t.getPerm();
  int64_t r = type.getRank();
  for (int64_t i = 0; i < r - 2; ++i)
    if (perm[size_t(i)] != i)
      return nullptr;
  if (perm[size_t(r - 2)] != r - 1 || perm[size_t(r - 1)] != r - 2)
    return nullptr;
  return t.getData();
}

/// Transposes whose every use is a matmul's first or second operand.
void Lowering::findFoldedTransposes(Block &body) {
  foldedTransposes.clear();
  if (!options.fuseElementwise)
    return;
  for (Operation &op : body) {
    auto t = dyn_cast<mp::TransposeOp>(op);
    if (!t || !transposedSource(t.getResult()))
      continue;
    bool all = !t->use_empty() &&
               llvm::all_of(t->getUses(), [](OpOperand &u) {
                 return isa<mp::MatMulOp>(u.getOwner()) &&
                        u.getOperandNumber() < 2;
               });
    if (all)
      foldedTransposes.insert(&op);
  }
}

/// Appends op's operand ids to `ins`; a matmul reads a folded transpose's
/// input instead, with transA/transB set.
void Lowering::operandIds(Operation *op, rt::Instruction &ins) {
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    Operation *def = v.getDefiningOp();
    if (isa<mp::MatMulOp>(op) && i < 2 && def &&
        foldedTransposes.count(def)) {
      ins.operands.push_back(ids.lookup(transposedSource(v)));
      ins.attrs.push_back(rt::Attribute::ofInt(i == 0 ? "transA" : "transB", 1));
      continue;
    }
    ins.operands.push_back(ids.lookup(v));
  }
}

LogicalResult Lowering::emitChain(ArrayRef<Operation *> chain,
                                  Operation *producer, rt::Function &fn) {
  rt::Instruction ins;
  ins.kernel = "fused_elementwise";
  std::string prefix;
  if (producer) {
    // The contraction itself, with the chain as its epilogue.
    ins.kernel = producer->getName().stripDialect().str();
    operandIds(producer, ins);
    if (failed(convertAttrs(producer, ins)))
      return failure();
    prefix = "epilogue_";
    ins.attrs.push_back(rt::Attribute::ofInt(
        "epilogue_first", int64_t(producer->getNumOperands())));
  }
  SmallVector<Value> leaves;
  std::string ops, types;
  std::vector<int64_t> args;
  std::vector<double> alphas;
  for (auto [i, op] : llvm::enumerate(chain)) {
    Operation *prev = i ? chain[i - 1] : producer;
    ops += (i ? "," : "") + op->getName().stripDialect().str();
    auto dt = dtypeOf(getElementTypeOrSelf(op->getResult(0)));
    types += (i ? "," : "") + std::string(rt::dtypeName(*dt));
    for (Value v : op->getOperands()) {
      if (prev && v.getDefiningOp() == prev) {
        args.push_back(-1);
        continue;
      }
      auto it = llvm::find(leaves, v);
      args.push_back(it - leaves.begin());
      if (it == leaves.end())
        leaves.push_back(v);
    }
    if (op->getNumOperands() == 1)
      args.push_back(-2);
    double alpha = 0;
    if (auto l = dyn_cast<mp::LeakyReluOp>(op))
      alpha = l.getAlpha().convertToDouble();
    if (auto g = dyn_cast<mp::GeluOp>(op))
      alpha = g.getApproximate() == "tanh";
    alphas.push_back(alpha);
  }
  for (Value v : leaves)
    ins.operands.push_back(ids.lookup(v));
  Value result = chain.back()->getResult(0);
  ins.results.push_back(ids.lookup(result));
  ins.attrs.push_back(rt::Attribute::ofString(prefix + "ops", ops));
  ins.attrs.push_back(rt::Attribute::ofInts(prefix + "args", args));
  ins.attrs.push_back(rt::Attribute::ofFloats(prefix + "alphas", alphas));
  ins.attrs.push_back(rt::Attribute::ofString(prefix + "types", types));
  // The chain's last named op: the node whose value the instruction makes.
  for (Operation *op : llvm::reverse(chain))
    if (addNodeName(op, ins))
      break;
  append(fn, std::move(ins));
  return success();
}

LogicalResult Lowering::lower(func::FuncOp func) {
  rt::Function fn;
  fn.name = func.getSymName().str();
  ids.clear();
  pendingFills.clear();
  Block &body = func.getBody().front();

  for (BlockArgument arg : func.getArguments()) {
    unsigned i = arg.getArgNumber();
    auto nameAttr = func.getArgAttrOfType<StringAttr>(i, "mp.name");
    auto roleAttr = func.getArgAttrOfType<StringAttr>(i, "mp.role");
    std::string name =
        nameAttr ? nameAttr.str() : fn.name + ".arg" + std::to_string(i);
    std::optional<rt::Role> role =
        roleOf(roleAttr ? roleAttr.getValue() : StringRef("input"));
    if (!role)
      return func.emitError() << "mp-to-runtime: unknown mp.role '"
                              << roleAttr.getValue() << "' on argument " << i;
    auto it = persistent.find(name);
    uint32_t id;
    if (it != persistent.end()) {
      id = it->second;
      const rt::TensorDesc &t = program.tensors[id];
      auto type = cast<RankedTensorType>(arg.getType());
      if (t.role != *role || t.shape != std::vector<int64_t>(type.getShape().begin(), type.getShape().end()))
        return func.emitError() << "mp-to-runtime: argument '" << name
                                << "' differs in role or shape between "
                                   "functions";
    } else {
      auto t = newTensor(arg, uniqueName(name), *role, func);
      if (failed(t))
        return failure();
      id = *t;
      persistent[name] = id;
      bool trainable = roleAttr && roleAttr.getValue() == "param";
      auto init = func.getArgAttrOfType<ElementsAttr>(i, "mp.init");
      if (options.omitStateData && (trainable || (!init && *role != rt::Role::Input &&
                                                  *role != rt::Role::Label))) {
        // Written by the caller, or zero-filled by the loader.
      } else if (init) {
        if (failed(bytesOf(init, program.tensors[id].data)) ||
            program.tensors[id].data.size() != program.tensors[id].numBytes())
          return func.emitError() << "mp-to-runtime: cannot read the initial "
                                     "value of '" << name << "'";
        std::vector<uint8_t> &d = program.tensors[id].data;
        if (options.omitStateData &&
            std::all_of(d.begin(), d.end(), [](uint8_t b) { return !b; }))
          d.clear(); // the loader zero-fills
      } else if (*role != rt::Role::Input && *role != rt::Role::Label) {
        // State without an initial value starts at zero.
        program.tensors[id].data.assign(program.tensors[id].numBytes(), 0);
      }
    }
    ids[arg] = id;
    if (*role == rt::Role::Input || *role == rt::Role::Label)
      fn.inputs.push_back(id);
  }

  // Results that update an argument in place write into that argument's
  // storage; other results are outputs.
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  DenseMap<Value, uint32_t> updates;
  for (auto [i, v] : llvm::enumerate(ret.getOperands()))
    if (auto u = func.getResultAttrOfType<IntegerAttr>(i, "mp.updates")) {
      if (u.getInt() < 0 || u.getInt() >= func.getNumArguments())
        return func.emitError() << "mp-to-runtime: result " << i
                                << " updates a missing argument";
      updates[v] = ids[func.getArgument(u.getInt())];
    }

  findChains(body);
  findFoldedTransposes(body);
  for (Operation &op : body.without_terminator()) {
    if (epilogueOf.count(&op))
      continue; // Emitted with its epilogue at the chain's end.
    if (foldedTransposes.count(&op))
      continue; // Its matmuls read the input transposed.
    auto chainIt = chainOf.find(&op);
    bool inChain = chainIt != chainOf.end();
    if (inChain && chains[chainIt->second].back() != &op)
      continue; // Only the chain's last result becomes a tensor.
    if (auto c = dyn_cast<ConstantOp>(op)) {
      auto id = newTensor(c.getResult(),
                          uniqueName(fn.name + ".const" +
                                     std::to_string(program.tensors.size())),
                          rt::Role::Constant, &op);
      if (failed(id))
        return failure();
      rt::TensorDesc &t = program.tensors[*id];
      if (failed(bytesOf(c.getValue(), t.data)))
        return op.emitError("mp-to-runtime: cannot read constant data");
      // Equal constants (every layer's copy of a causal mask) share one
      // read-only tensor, across functions too.
      std::string key = std::to_string(int(t.dtype)) + ":";
      for (int64_t d : t.shape)
        key += std::to_string(d) + ",";
      key.append(t.data.begin(), t.data.end());
      if (auto it = constants.find(key); it != constants.end()) {
        assert(*id + 1 == program.tensors.size() && "the newest tensor");
        program.tensors.pop_back();
        ids[c.getResult()] = it->second;
        continue;
      }
      ids[c.getResult()] = *id;
      // A large constant of one repeated value (the zeros a gather's
      // gradient scatters into) is filled on the device by
      // constant_of_shape instead of being stored in the program.
      std::optional<rt::Attribute> fill = splatFill(c, t);
      if (fill && t.data.size() >= kSplatFillBytes) {
        t.role = rt::Role::Transient;
        t.data.clear();
        std::vector<uint8_t> dims;
        for (int64_t d : t.shape)
          for (int b = 0; b < 8; ++b)
            dims.push_back(uint8_t(uint64_t(d) >> (8 * b)));
        uint32_t shapeId = program.addTensor(
            uniqueName(t.name + ".shape"), rt::DType::I64,
            {int64_t(t.shape.size())}, rt::Role::Constant, std::move(dims));
        rt::Instruction fillIns;
        fillIns.kernel = "constant_of_shape";
        fillIns.operands = {shapeId};
        fillIns.results = {*id};
        fillIns.attrs.push_back(*fill);
        pendingFills[*id] = std::move(fillIns);
      } else {
        constants[key] = *id;
      }
      continue;
    }
    if (!op.getDialect() || !isa<MPDialect>(op.getDialect()))
      return op.emitError() << "mp-to-runtime: op '" << op.getName()
                            << "' has no runtime kernel (only mp ops lower)";
    rt::Instruction ins;
    ins.kernel = op.getName().stripDialect().str();
    // Ops with several optional operands (the optimizer updates) keep their
    // positions: an absent operand is kNoTensor.
    if (auto segments =
            op.getAttrOfType<DenseI32ArrayAttr>("operandSegmentSizes")) {
      // One slot per ODS operand (optional ones absent = kNoTensor), then
      // the runtime kernel's order: sgd_update takes `step` last
      // (docs/ProgramFormat.md), the dialect right after momentum_buffer.
      SmallVector<uint32_t> slots;
      unsigned next = 0;
      for (int32_t size : segments.asArrayRef()) {
        if (size != 0 && size != 1)
          return op.emitError("mp-to-runtime: variadic operand groups of "
                              "optimizer ops are not supported");
        slots.push_back(size ? ids.lookup(op.getOperand(next++))
                             : rt::kNoTensor);
      }
      if (isa<mp::SGDUpdateOp>(op) && slots.size() == 7)
        slots = {slots[0], slots[1], slots[2], slots[4],
                 slots[5], slots[6], slots[3]};
      ins.operands.assign(slots.begin(), slots.end());
      while (!ins.operands.empty() && ins.operands.back() == rt::kNoTensor)
        ins.operands.pop_back();
    } else {
      operandIds(&op, ins);
    }
    for (OpResult r : op.getResults()) {
      uint32_t id;
      if (auto it = updates.find(r); it != updates.end()) {
        // Write straight into the updated state.
        // A tensor that updates another shares its storage and its role.
        auto t = newTensor(r, uniqueName(program.tensors[it->second].name + ".new"),
                           program.tensors[it->second].role, &op);
        if (failed(t))
          return failure();
        id = *t;
        program.tensors[id].updates = it->second;
      } else {
        auto t = newTensor(r, uniqueName(fn.name + ".t" +
                                         std::to_string(program.tensors.size())),
                           rt::Role::Transient, &op);
        if (failed(t))
          return failure();
        id = *t;
      }
      ids[r] = id;
      ins.results.push_back(id);
    }
    if (inChain) {
      if (failed(emitChain(chains[chainIt->second],
                           producerOf.lookup(chainIt->second), fn)))
        return failure();
      continue;
    }
    if (failed(convertAttrs(&op, ins)))
      return failure();
    addNodeName(&op, ins);
    append(fn, std::move(ins));
  }

  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    if (updates.count(v))
      continue;
    // Outputs are per function: "forward.logits", "train_step.loss".
    auto nameAttr = func.getResultAttrOfType<StringAttr>(i, "mp.name");
    std::string name = fn.name + "." +
                       (nameAttr ? nameAttr.str() : "result" + std::to_string(i));
    auto out = newTensor(v, uniqueName(name), rt::Role::Output, func);
    if (failed(out))
      return failure();
    rt::Instruction copy;
    copy.kernel = "identity";
    copy.operands = {ids.lookup(v)};
    copy.results = {*out};
    append(fn, std::move(copy));
    fn.outputs.push_back(*out);
  }
  program.functions.push_back(std::move(fn));
  return success();
}

/// A readable dump for tests and humans.
void printProgram(const rt::Program &p, llvm::raw_ostream &os) {
  auto shape = [](const rt::TensorDesc &t) {
    std::string s = std::string(rt::dtypeName(t.dtype)) + "[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      s += (i ? "," : "") + std::to_string(t.shape[i]);
    return s + "]";
  };
  os << "program: " << p.tensors.size() << " tensors, " << p.functions.size()
     << " functions, arena " << p.arenaSize << " bytes\n";
  for (const rt::TensorDesc &t : p.tensors) {
    if (t.role == rt::Role::Transient && t.updates == rt::kNoTensor)
      continue;
    os << "tensor %" << t.id << " \"" << t.name << "\" " << shape(t) << " "
       << rt::roleName(t.role);
    if (!t.data.empty())
      os << " data=" << t.data.size() << "B";
    if (t.updates != rt::kNoTensor)
      os << " updates=%" << t.updates;
    os << "\n";
  }
  for (const rt::Function &f : p.functions) {
    os << "func " << f.name << " inputs(";
    for (size_t i = 0; i < f.inputs.size(); ++i)
      os << (i ? ", " : "") << "%" << f.inputs[i];
    os << ") outputs(";
    for (size_t i = 0; i < f.outputs.size(); ++i)
      os << (i ? ", " : "") << "%" << f.outputs[i];
    os << ")\n";
    for (const rt::Instruction &ins : f.body) {
      os << "  ";
      for (size_t i = 0; i < ins.results.size(); ++i) {
        const rt::TensorDesc &t = p.tensors[ins.results[i]];
        os << (i ? ", " : "") << "%" << t.id << ":" << shape(t);
        if (t.arenaOffset != rt::kNoOffset)
          os << "@" << t.arenaOffset;
      }
      os << " = " << ins.kernel << "(";
      for (size_t i = 0; i < ins.operands.size(); ++i)
        os << (i ? ", " : "") << "%" << ins.operands[i];
      os << ")";
      for (const rt::Attribute &a : ins.attrs) {
        os << " " << a.name << "=";
        switch (a.kind) {
        case rt::Attribute::Kind::I64:
          os << a.i;
          break;
        case rt::Attribute::Kind::F64:
          os << a.f;
          break;
        case rt::Attribute::Kind::Str:
          os << "\"" << a.s << "\"";
          break;
        case rt::Attribute::Kind::I64s:
        case rt::Attribute::Kind::F64s: {
          os << "[";
          size_t n = a.kind == rt::Attribute::Kind::I64s ? a.ints.size()
                                                        : a.floats.size();
          for (size_t i = 0; i < n; ++i) {
            os << (i ? "," : "");
            if (a.kind == rt::Attribute::Kind::I64s)
              os << a.ints[i];
            else
              os << a.floats[i];
          }
          os << "]";
          break;
        }
        }
      }
      os << "\n";
    }
  }
}

} // namespace

LogicalResult mp::lowerToRuntime(ModuleOp module, raw_ostream &os, bool text,
                                 const RuntimeLoweringOptions &options) {
  rt::Program program;
  Lowering lowering(program, options);
  bool any = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || func.isPrivate())
      continue;
    if (!func.getBody().hasOneBlock())
      return func.emitError("mp-to-runtime: functions must have one block");
    if (failed(lowering.lower(func)))
      return failure();
    any = true;
  }
  if (!any)
    return module.emitError("mp-to-runtime: no public function to lower");
  rt::planMemory(program);
  std::string problem = rt::validateProgram(program);
  if (!problem.empty())
    return module.emitError("mp-to-runtime: the runtime rejects the program: ")
           << problem;
  if (text) {
    printProgram(program, os);
    return success();
  }
  std::vector<uint8_t> bytes;
  rt::writeProgram(program, bytes);
  os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  return success();
}

/// The translations' options, read from the command line.
static mp::RuntimeLoweringOptions translateOptions() {
  static llvm::cl::opt<bool> fuse(
      "mp-fuse-elementwise",
      llvm::cl::desc("mp-to-mpb / mp-to-runtime-text: fuse chains of float "
                     "elementwise ops into one kernel and fold matmul "
                     "operand transposes into transA/transB (default true)"),
      llvm::cl::init(true));
  mp::RuntimeLoweringOptions options;
  options.fuseElementwise = fuse;
  return options;
}

void mp::registerMPToRuntimeTranslations() {
  (void)translateOptions(); // Registers the option before parsing.
  auto deps = [](DialectRegistry &registry) {
    registry.insert<MPDialect, func::FuncDialect>();
  };
  static TranslateFromMLIRRegistration bin(
      "mp-to-mpb", "Lower mp IR to a runtime program (.mpb)",
      [](Operation *op, raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("mp-to-mpb: expected a module");
        return lowerToRuntime(module, os, /*text=*/false, translateOptions());
      },
      deps);
  static TranslateFromMLIRRegistration text(
      "mp-to-runtime-text",
      "Lower mp IR to a runtime program and print it readably",
      [](Operation *op, raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("mp-to-runtime-text: expected a module");
        return lowerToRuntime(module, os, /*text=*/true, translateOptions());
      },
      deps);
}
