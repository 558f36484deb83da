//===- PrecisionPolicy.cpp - default lists and policy files ---------------===//
//
// The built-in lists for f16 and bf16, each entry with its reason, and the
// parser for policy files. JSON is read as YAML (a JSON document is a YAML
// document), so one parser serves both formats. See docs/Precision.md for
// the file format.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/Analysis/PrecisionPolicy.h"
#include "mp/Dialect/MP/IR/MPOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"

using namespace mlir;
using namespace mp;

StringRef mp::stringifyOpClass(OpClass c) {
  switch (c) {
  case OpClass::Allow:
    return "allow";
  case OpClass::Infer:
    return "infer";
  case OpClass::Clear:
    return "clear";
  case OpClass::Deny:
    return "deny";
  }
  return "";
}

std::optional<OpClass> mp::symbolizeOpClass(StringRef s) {
  return llvm::StringSwitch<std::optional<OpClass>>(s)
      .Case("allow", OpClass::Allow)
      .Case("infer", OpClass::Infer)
      .Case("clear", OpClass::Clear)
      .Case("deny", OpClass::Deny)
      .Default(std::nullopt);
}

ArrayRef<StringRef> PrecisionPolicy::knownOpTypes() {
  static const SmallVector<StringRef> names = {
#define ONNX_OP(Name, Class, Since) #Name,
#include "mp/Dialect/MP/IR/ONNXOps.def"
  };
  return names;
}

StringRef PrecisionPolicy::onnxName(StringRef mpOpName) {
  static const llvm::StringMap<StringRef> names = [] {
    llvm::StringMap<StringRef> m;
#define ONNX_OP(Name, Class, Since) m[Class::getOperationName()] = #Name;
#include "mp/Dialect/MP/IR/ONNXOps.def"
    return m;
  }();
  auto it = names.find(mpOpName);
  return it == names.end() ? StringRef() : it->second;
}

/// Accepts ONNX names and mp op names; returns the ONNX name or "".
static StringRef canonicalOpType(StringRef name) {
  if (llvm::is_contained(PrecisionPolicy::knownOpTypes(), name))
    return *llvm::find(PrecisionPolicy::knownOpTypes(), name);
  StringRef viaMp = PrecisionPolicy::onnxName(name);
  if (viaMp.empty())
    viaMp = PrecisionPolicy::onnxName(("mp." + name).str());
  return viaMp;
}

static std::string unknownOp(StringRef name) {
  std::string msg = "unknown op type '" + name.str() + "'";
  unsigned best = 4;
  StringRef suggestion;
  for (StringRef known : PrecisionPolicy::knownOpTypes()) {
    unsigned d = name.edit_distance(known, true, best);
    if (d < best) {
      best = d;
      suggestion = known;
    }
  }
  if (!suggestion.empty())
    msg += " (did you mean '" + suggestion.str() + "'?)";
  return msg;
}

PrecisionPolicy PrecisionPolicy::defaults(Precision target) {
  PrecisionPolicy p;
  p.target_ = target;
  bool f16 = target == Precision::f16;
  std::string err;
  auto set = [&](OpClass c, ArrayRef<StringRef> ops, StringRef reason) {
    for (StringRef op : ops)
      (void)p.setClass(op, c, reason, err);
  };
  set(OpClass::Allow, {"MatMul", "Gemm", "Conv"},
      "contraction: runs on tensor cores in low precision and accumulates in "
      "f32");
  set(OpClass::Infer, {"Add", "Sub", "Mul", "Div", "Sum"},
      "elementwise arithmetic is as accurate as its inputs");
  set(OpClass::Infer, {"Sqrt", "Erf", "Tanh", "Sigmoid", "Gelu", "LeakyRelu"},
      "smooth activation with a bounded or compressing range");
  set(OpClass::Infer, {"Softmax"},
      "max and sum are computed in f32; the output lies in [0, 1]");
  set(OpClass::Infer, {"LayerNormalization"},
      "statistics accumulate in f32 (stash_type); Scale and B stay f32");
  set(OpClass::Infer, {"BatchNormalization"},
      "batch statistics accumulate in f32; scale, bias and running "
      "statistics stay f32");
  set(OpClass::Infer, {"AveragePool", "GlobalAveragePool"},
      "window sums accumulate in f32");
  set(OpClass::Infer, {"ReduceSum", "ReduceMean"},
      "accumulates in f32; reductions over more than large-reduction "
      "elements stay f32");
  set(OpClass::Infer,
      {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"},
      "a comparison follows its inputs");
  set(OpClass::Clear,
      {"Neg", "Abs", "Relu", "Max", "Min", "Where", "Clip", "Identity",
       "Dropout", "MaxPool", "ReduceMax", "Trilu"},
      "selects or negates values: exact in any precision");
  set(OpClass::Clear,
      {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat",
       "Split", "Slice", "Gather", "GatherElements", "ScatterElements",
       "ScatterND", "Expand"},
      "data movement: exact in any precision");
  if (f16) {
    set(OpClass::Deny, {"Exp"}, "overflows f16 above 11.09");
    set(OpClass::Deny, {"Log"},
        "f16 cannot represent inputs below 6e-8 and loses precision near 0");
    set(OpClass::Deny, {"Pow"}, "powers overflow f16 (max 65504) easily");
    set(OpClass::Deny, {"Reciprocal"}, "1/x overflows f16 for |x| < 1.5e-5");
  } else {
    set(OpClass::Deny, {"Exp", "Log", "Pow"},
        "bf16 keeps 8 significant bits; exp/log/pow amplify relative error");
    set(OpClass::Infer, {"Reciprocal"},
        "bf16 has the f32 exponent range: 1/x cannot overflow");
  }
  set(OpClass::Deny, {"LogSoftmax"}, "log-probabilities feed the loss");
  set(OpClass::Deny, {"SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss"},
      "losses and their reductions stay f32");
  p.pins_.push_back({"LayerNormalization", {1, 2}});
  p.pins_.push_back({"BatchNormalization", {1, 2, 3, 4}});
  // bf16 sums cannot overflow (f32 range), so the large-reduction rule only
  // guards f16 by default.
  p.largeReduction = f16 ? 16384 : -1;
  return p;
}

LogicalResult PrecisionPolicy::setClass(StringRef op, std::optional<OpClass> c,
                                        StringRef reason, std::string &error) {
  StringRef canon = canonicalOpType(op);
  if (canon.empty()) {
    error = unknownOp(op);
    return failure();
  }
  if (!c)
    classes_.erase(canon);
  else
    classes_[canon] = {*c, reason.str()};
  return success();
}

std::optional<OpClass> PrecisionPolicy::classOf(StringRef onnxType) const {
  auto it = classes_.find(onnxType);
  if (it == classes_.end())
    return std::nullopt;
  return it->second.opClass;
}

StringRef PrecisionPolicy::reasonOf(StringRef onnxType) const {
  auto it = classes_.find(onnxType);
  return it == classes_.end() ? StringRef("in no list: stays f32")
                              : StringRef(it->second.reason);
}

const NodeRule *PrecisionPolicy::nodeRule(StringRef nodeName) const {
  for (const NodeRule &r : nodeRules_)
    if (r.regex->match(nodeName))
      return &r;
  return nullptr;
}

bool PrecisionPolicy::isPinned(StringRef onnxType, unsigned idx) const {
  for (const OperandPin &p : pins_)
    if (p.opType == onnxType && llvm::is_contained(p.operands, idx))
      return true;
  return false;
}

SmallVector<std::string> PrecisionPolicy::opsOfClass(OpClass c) const {
  SmallVector<std::string> out;
  for (auto &e : classes_)
    if (e.second.opClass == c)
      out.push_back(e.first().str());
  llvm::sort(out);
  return out;
}

LogicalResult PrecisionPolicy::applyEdit(StringRef edit, std::string &error) {
  // LIST(+|-)?=OP
  auto [lhs, op] = edit.split('=');
  op = op.trim();
  lhs = lhs.trim();
  char mode = 0;
  if (lhs.ends_with("+") || lhs.ends_with("-")) {
    mode = lhs.back();
    lhs = lhs.drop_back();
  }
  std::optional<OpClass> c = symbolizeOpClass(lhs);
  if (!c || op.empty()) {
    error = "bad list edit '" + edit.str() +
            "' (expected allow|infer|clear|deny followed by +=, -= or =, "
            "then an op type)";
    return failure();
  }
  StringRef canon = canonicalOpType(op);
  if (canon.empty()) {
    error = unknownOp(op);
    return failure();
  }
  std::optional<OpClass> current = classOf(canon);
  if (mode == '+') {
    if (current && *current != *c) {
      error = "op '" + canon.str() + "' is already in the " +
              stringifyOpClass(*current).str() + " list; remove it first (" +
              stringifyOpClass(*current).str() + "-=" + canon.str() +
              ") or move it (" + lhs.str() + "=" + canon.str() + ")";
      return failure();
    }
    return setClass(canon, c, "added to " + lhs.str() + " by the policy",
                    error);
  }
  if (mode == '-') {
    if (current != c) {
      error = "op '" + canon.str() + "' is not in the " + lhs.str() + " list";
      return failure();
    }
    return setClass(canon, std::nullopt, "", error);
  }
  return setClass(canon, c, "moved to " + lhs.str() + " by the policy", error);
}

LogicalResult PrecisionPolicy::addNodeRule(StringRef spec, std::string &error) {
  auto [pattern, what] = spec.rsplit('=');
  NodeRule r;
  r.pattern = pattern.str();
  r.regex = std::make_shared<llvm::Regex>(pattern);
  std::string regexError;
  if (!r.regex->isValid(regexError)) {
    error = "bad node regex '" + pattern.str() + "': " + regexError;
    return failure();
  }
  if (what == "f32")
    r.forceLow = false;
  else if (what == "low" || what == "f16" || what == "bf16")
    r.forceLow = true;
  else if (auto c = symbolizeOpClass(what))
    r.opClass = c;
  else {
    error = "bad node rule '" + spec.str() +
            "' (expected REGEX=f32|low|allow|infer|clear|deny)";
    return failure();
  }
  nodeRules_.push_back(std::move(r));
  return success();
}

LogicalResult PrecisionPolicy::addPin(StringRef spec, std::string &error) {
  auto [op, list] = spec.split(':');
  StringRef canon = canonicalOpType(op.trim());
  if (canon.empty()) {
    error = unknownOp(op.trim());
    return failure();
  }
  OperandPin pin{canon.str(), {}};
  SmallVector<StringRef> parts;
  list.split(parts, ',', -1, false);
  for (StringRef p : parts) {
    unsigned idx;
    if (p.trim().getAsInteger(10, idx)) {
      error = "bad pin '" + spec.str() + "' (expected OpType:1,2)";
      return failure();
    }
    pin.operands.push_back(idx);
  }
  if (pin.operands.empty()) {
    error = "pin '" + spec.str() + "' names no operand";
    return failure();
  }
  pins_.push_back(std::move(pin));
  return success();
}

//===----------------------------------------------------------------------===//
// Policy files
//===----------------------------------------------------------------------===//

namespace {
/// Walks a parsed YAML/JSON policy document, collecting the first error.
class FileReader {
public:
  FileReader(PrecisionPolicy &p, StringRef name, llvm::SourceMgr &sm)
      : policy(p), name(name), sm(sm) {}

  LogicalResult read(llvm::yaml::Node *root);
  std::string error;

private:
  LogicalResult fail(llvm::yaml::Node *n, const Twine &msg) {
    std::string where = name.str();
    // The YAML parser gives some nodes of a malformed document a location
    // outside the buffer (mp-fuzz-policy): no line then, rather than a
    // lookup that reads out of bounds.
    llvm::SMLoc loc = n ? n->getSourceRange().Start : llvm::SMLoc();
    if (loc.isValid() && sm.FindBufferContainingLoc(loc) != 0) {
      auto lc = sm.getLineAndColumn(loc);
      where += ":" + std::to_string(lc.first) + ":" + std::to_string(lc.second);
    }
    error = where + ": " + msg.str();
    return failure();
  }
  std::optional<std::string> scalar(llvm::yaml::Node *n) {
    auto *s = llvm::dyn_cast_or_null<llvm::yaml::ScalarNode>(n);
    if (!s)
      return std::nullopt;
    SmallString<32> storage;
    return s->getValue(storage).str();
  }
  LogicalResult readStrings(llvm::yaml::Node *n, SmallVectorImpl<std::string> &out);
  LogicalResult readTarget(llvm::yaml::MappingNode *m);
  LogicalResult readNodes(llvm::yaml::Node *n);
  LogicalResult readPins(llvm::yaml::Node *n);

  PrecisionPolicy &policy;
  StringRef name;
  llvm::SourceMgr &sm;
};

LogicalResult FileReader::readStrings(llvm::yaml::Node *n,
                                      SmallVectorImpl<std::string> &out) {
  if (auto s = scalar(n)) {
    out.push_back(*s);
    return success();
  }
  auto *seq = llvm::dyn_cast_or_null<llvm::yaml::SequenceNode>(n);
  if (!seq)
    return fail(n, "expected a list of op types");
  for (llvm::yaml::Node &item : *seq) {
    auto s = scalar(&item);
    if (!s)
      return fail(&item, "expected an op type");
    out.push_back(*s);
  }
  return success();
}

LogicalResult FileReader::readTarget(llvm::yaml::MappingNode *m) {
  for (llvm::yaml::KeyValueNode &kv : *m) {
    auto key = scalar(kv.getKey());
    if (!key)
      return fail(kv.getKey(), "expected a list name");
    SmallVector<std::string> ops;
    if (failed(readStrings(kv.getValue(), ops)))
      return failure();
    StringRef list = *key;
    std::string op = "=";
    if (list.ends_with("+") || list.ends_with("-")) {
      op = std::string(1, list.back()) + "=";
      list = list.drop_back();
    }
    if (!symbolizeOpClass(list))
      return fail(kv.getKey(), "unknown list '" + *key +
                                   "' (expected allow, infer, clear or deny, "
                                   "optionally followed by + or -)");
    for (const std::string &o : ops) {
      std::string err;
      if (failed(policy.applyEdit((list + op + o).str(), err)))
        return fail(kv.getValue(), err);
    }
  }
  return success();
}

LogicalResult FileReader::readNodes(llvm::yaml::Node *n) {
  auto *seq = llvm::dyn_cast_or_null<llvm::yaml::SequenceNode>(n);
  if (!seq)
    return fail(n, "'nodes' must be a list of {match, precision|class}");
  for (llvm::yaml::Node &item : *seq) {
    auto *m = llvm::dyn_cast<llvm::yaml::MappingNode>(&item);
    if (!m)
      return fail(&item, "expected {match: REGEX, precision: f32|low} or "
                         "{match: REGEX, class: allow|infer|clear|deny}");
    std::optional<std::string> match, what;
    for (llvm::yaml::KeyValueNode &kv : *m) {
      auto key = scalar(kv.getKey());
      auto value = scalar(kv.getValue());
      if (!key || !value)
        return fail(&kv, "expected scalar keys and values");
      if (*key == "match")
        match = value;
      else if (*key == "precision" || *key == "class")
        what = value;
      else
        return fail(kv.getKey(), "unknown key '" + *key + "' in a node rule");
    }
    if (!match || !what)
      return fail(&item, "a node rule needs 'match' and 'precision' or 'class'");
    std::string err;
    if (failed(policy.addNodeRule(*match + "=" + *what, err)))
      return fail(&item, err);
  }
  return success();
}

LogicalResult FileReader::readPins(llvm::yaml::Node *n) {
  auto *seq = llvm::dyn_cast_or_null<llvm::yaml::SequenceNode>(n);
  if (!seq)
    return fail(n, "'pins' must be a list of {op, operands}");
  for (llvm::yaml::Node &item : *seq) {
    auto *m = llvm::dyn_cast<llvm::yaml::MappingNode>(&item);
    if (!m)
      return fail(&item, "expected {op: OpType, operands: [i, ...]}");
    std::string op;
    SmallVector<std::string> operands;
    for (llvm::yaml::KeyValueNode &kv : *m) {
      auto key = scalar(kv.getKey());
      if (key && *key == "op" && scalar(kv.getValue()))
        op = *scalar(kv.getValue());
      else if (key && *key == "operands") {
        if (failed(readStrings(kv.getValue(), operands)))
          return failure();
      } else
        return fail(&kv, "unknown key in a pin (expected op, operands)");
    }
    std::string err;
    if (failed(policy.addPin(op + ":" + llvm::join(operands, ","), err)))
      return fail(&item, err);
  }
  return success();
}

LogicalResult FileReader::read(llvm::yaml::Node *root) {
  if (!root || llvm::isa<llvm::yaml::NullNode>(root))
    return success(); // An empty policy changes nothing.
  auto *m = llvm::dyn_cast<llvm::yaml::MappingNode>(root);
  if (!m)
    return fail(root, "a policy is a mapping (targets, nodes, pins, "
                      "large-reduction)");
  StringRef target = stringifyPrecision(policy.target());
  for (llvm::yaml::KeyValueNode &kv : *m) {
    auto key = scalar(kv.getKey());
    if (!key)
      return fail(kv.getKey(), "expected a key");
    llvm::yaml::Node *value = kv.getValue();
    if (*key == "f16" || *key == "bf16" || *key == "all") {
      auto *lists = llvm::dyn_cast_or_null<llvm::yaml::MappingNode>(value);
      if (!lists)
        return fail(value, "'" + *key + "' must map list names to op types");
      if (*key == "all" || *key == target) {
        if (failed(readTarget(lists)))
          return failure();
      } else {
        lists->skip(); // The other target's edits do not apply here.
      }
    } else if (*key == "nodes") {
      if (failed(readNodes(value)))
        return failure();
    } else if (*key == "pins") {
      if (failed(readPins(value)))
        return failure();
    } else if (*key == "large-reduction") {
      auto s = scalar(value);
      int64_t n;
      if (!s || StringRef(*s).getAsInteger(10, n))
        return fail(value, "'large-reduction' must be an integer (-1: off)");
      policy.largeReduction = n;
    } else {
      return fail(kv.getKey(), "unknown key '" + *key +
                                   "' (expected f16, bf16, all, nodes, pins, "
                                   "large-reduction)");
    }
  }
  return success();
}
} // namespace

LogicalResult PrecisionPolicy::applyText(StringRef text, StringRef name,
                                         std::string &error) {
  llvm::SourceMgr sm;
  std::string diag;
  sm.setDiagHandler(
      [](const llvm::SMDiagnostic &d, void *ctx) {
        auto *out = static_cast<std::string *>(ctx);
        if (out->empty())
          *out = std::to_string(d.getLineNo()) + ":" +
                 std::to_string(d.getColumnNo() + 1) + ": " +
                 d.getMessage().str();
      },
      &diag);
  llvm::yaml::Stream stream(text, sm);
  FileReader reader(*this, name, sm);
  llvm::yaml::document_iterator doc = stream.begin();
  LogicalResult result = success();
  if (doc != stream.end())
    result = reader.read(doc->getRoot());
  if (!diag.empty()) {
    error = name.str() + ":" + diag;
    return failure();
  }
  if (failed(result)) {
    error = reader.error;
    return failure();
  }
  return success();
}

LogicalResult PrecisionPolicy::applyFile(StringRef path, std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf) {
    error = "cannot read policy file '" + path.str() +
            "': " + buf.getError().message();
    return failure();
  }
  return applyText((*buf)->getBuffer(), path, error);
}
