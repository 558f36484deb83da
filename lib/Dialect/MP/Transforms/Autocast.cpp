//===- Autocast.cpp - decide the precision of every op --------------------===//
//
// mp-autocast paints each floating-point op of every function with
// `mp.precision` (the target low precision, or f32) and contractions,
// reductions, softmax, norms and pools with `mp.accumulate` (f32). It only
// decides; mp-insert-casts changes types.
//
// The algorithm is a data-flow problem over the function's op graph (edges
// are floating-point values), solved in a fixed order of passes over the
// ops, each recording the rule and the cause it applied:
//  1. Seed. Node-name rules, then the op's class from the policy: allow ops
//     are low, deny ops f32. Reductions over more than `large-reduction`
//     elements, and ops fed a constant outside the f16 range, are f32.
//  2. Loss subgraph. The loss value (option `loss`, else the first scalar
//     float result) and everything between the last contraction and it, plus
//     everything downstream of it, is f32. Found structurally, not by name.
//  3. Deny spreads downstream through infer and clear ops.
//  4. Infer and clear ops that lie between allow ops (an allow op upstream
//     and one downstream through undecided infer/clear ops) become low.
//  5. In order: clear and infer ops follow their inputs (low if every
//     decided input is low, f32 if any is f32). Ops fed only by parameters,
//     inputs and constants are "flexible".
//  6. In reverse order: flexible ops follow their users (low only if every
//     user takes them in low precision), so a weight transpose runs on the
//     cast weight and each parameter is cast once.
//  7. Cast minimization: an infer/clear op decided by rules 4-6 whose flip
//     would remove casts (a single cheap op between neighbours of the other
//     precision) is flipped.
//  8. Backward ops made by autodiff (location FusedLoc<"grad">[forward])
//     take the decision of their forward op, unless a node rule, the loss
//     subgraph or an earlier mp.precision decided them.
// Leaves (arguments, mp.constant, mp.cast results, constant_of_shape, range)
// have no precision of their own: insert-casts converts them at their uses.
// Ops without floating-point values (shape arithmetic) are not painted. Ops
// of other dialects are boundaries: they keep their operand types.
// Invariant: an op that already has `mp.precision` keeps it (idempotence).
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/Analysis/PrecisionPolicy.h"
#include "mp/Dialect/MP/IR/MPOps.h"
#include "mp/Dialect/MP/Transforms/Passes.h"
#include "Report.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

namespace mp {
#define GEN_PASS_DEF_MPAUTOCASTPASS
#include "mp/Dialect/MP/Transforms/Passes.h.inc"
} // namespace mp

using namespace mlir;
using namespace mp;

namespace {

enum class Dec { Undecided, Low, F32, Flex };

/// Everything autocast knows about one painted op.
struct Node {
  Operation *op;
  std::string name;     // ONNX node name (from the NameLoc)
  StringRef type;       // ONNX op type
  OpClass opClass = OpClass::Deny;
  Dec dec = Dec::Undecided;
  bool fixed = false;   // decided by a rule that later steps must not undo
  bool denied = false;  // f32 because of deny (spreads downstream)
  std::string rule;     // which layer decided
  std::string reason;   // why, with the causal chain
  // What the report shows instead, for an op decided by an earlier run
  // (inherit-report); the painting logic only looks at `rule`.
  std::string shownRule, shownReason, shownClass;
  // Deny propagation: where the chain started and the op types on it.
  std::string chainOrigin;
  SmallVector<StringRef, 6> chain;
  size_t chainLength = 0;
};

bool isFloatValue(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

/// The ONNX node name of an op: its NameLoc, or the first inside a FusedLoc.
std::string nodeName(Location loc) {
  if (auto n = dyn_cast<NameLoc>(loc))
    return n.getName().str();
  if (auto f = dyn_cast<FusedLoc>(loc))
    for (Location l : f.getLocations())
      if (auto s = nodeName(l); !s.empty())
        return s;
  return "";
}

/// Backward ops made by autodiff carry FusedLoc<"grad">[forward op's loc].
bool isGradLoc(Location loc) {
  auto f = dyn_cast<FusedLoc>(loc);
  auto tag = f ? dyn_cast_or_null<StringAttr>(f.getMetadata()) : StringAttr();
  return tag && tag.getValue() == "grad";
}

/// Leaves carry values in whatever precision their users want.
bool isLeaf(Operation *op) {
  return isa<ConstantOp, CastOp, ConstantOfShapeOp, RangeOp>(op);
}

bool hasFloatValues(Operation *op) {
  return llvm::any_of(op->getOperands(), isFloatValue) ||
         llvm::any_of(op->getResults(), isFloatValue);
}

/// Ops whose accumulation type is meaningful.
bool accumulates(Operation *op) {
  return isa<MatMulOp, GemmOp, ConvOp, ReduceSumOp, ReduceMeanOp, SoftmaxOp,
             LogSoftmaxOp, LayerNormOp, BatchNormOp, AveragePoolOp,
             GlobalAveragePoolOp, SumOp, SoftmaxCrossEntropyLossOp,
             NegativeLogLikelihoodLossOp>(op);
}

int64_t numElements(Type t) {
  auto st = dyn_cast<RankedTensorType>(t);
  if (!st)
    return 0;
  int64_t n = 1;
  for (int64_t d : st.getShape())
    n *= ShapedType::isDynamic(d) ? 1 : d;
  return n;
}

/// Floating-point operations of one execution (dynamic dims count as 1).
int64_t flops(Operation *op) {
  if (op->getNumResults() == 0)
    return 0;
  int64_t out = numElements(op->getResult(0).getType());
  auto dim = [](Value v, int64_t i) {
    auto t = cast<RankedTensorType>(v.getType());
    int64_t d = t.getDimSize(i < 0 ? t.getRank() + i : i);
    return ShapedType::isDynamic(d) ? int64_t(1) : d;
  };
  if (auto mm = dyn_cast<MatMulOp>(op))
    return 2 * out * dim(mm.getA(), -1);
  if (auto g = dyn_cast<GemmOp>(op))
    return 2 * out * dim(g.getA(), g.getTransA() ? 0 : 1);
  if (auto c = dyn_cast<ConvOp>(op)) {
    auto w = cast<RankedTensorType>(c.getW().getType());
    return 2 * out * numElements(w) / std::max<int64_t>(1, dim(c.getW(), 0));
  }
  return out;
}

/// Elements reduced into each output of a reduction, or 0.
int64_t reducedElements(Operation *op) {
  if (!isa<ReduceSumOp, ReduceMeanOp>(op))
    return 0;
  int64_t in = numElements(op->getOperand(0).getType());
  int64_t out = numElements(op->getResult(0).getType());
  return out ? in / out : 0;
}

/// Largest finite magnitude in a float constant and whether any non-zero
/// value would flush to zero in f16.
bool outsideF16(ElementsAttr value, double &maxAbs) {
  auto ft = dyn_cast<FloatType>(value.getElementType());
  if (!ft || ft.getWidth() <= 16)
    return false;
  maxAbs = 0;
  bool tiny = false;
  auto visit = [&](double x) {
    if (!std::isfinite(x))
      return;
    maxAbs = std::max(maxAbs, std::fabs(x));
    if (x != 0 && std::fabs(x) < 5.96e-8)
      tiny = true;
  };
  if (auto dense = dyn_cast<DenseFPElementsAttr>(value)) {
    if (dense.isSplat())
      visit(dense.getSplatValue<APFloat>().convertToDouble());
    else
      for (const APFloat &x : dense.getValues<APFloat>())
        visit(x.convertToDouble());
  } else if (auto res = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || !ft.isF32())
      return false;
    ArrayRef<char> data = blob->getData();
    for (size_t i = 0; i + 4 <= data.size(); i += 4) {
      float x;
      std::memcpy(&x, data.data() + i, 4);
      visit(x);
    }
  }
  return maxAbs > 65504.0 || tiny;
}

/// The rule and reason a report shows for a node.
static StringRef shownRule(const Node &n) {
  return n.shownRule.empty() ? StringRef(n.rule) : StringRef(n.shownRule);
}
static StringRef shownReason(const Node &n) {
  return n.shownRule.empty() ? StringRef(n.reason) : StringRef(n.shownReason);
}

/// What an earlier run's report says of an op.
struct Earlier {
  std::string opType, opClass, rule, reason;
};
/// "node\x1fop type" and "node" (its forward op) -> the earlier record.
using EarlierReasons = llvm::StringMap<Earlier>;

class Painter {
public:
  Painter(func::FuncOp func, const PrecisionPolicy &policy, StringRef loss,
          const EarlierReasons &earlier)
      : func(func), policy(policy), lossName(loss), earlier(earlier) {}

  void run();
  std::vector<Node> nodes;
  std::string lossDescription;

private:
  Node *nodeOf(Operation *op) {
    auto it = index.find(op);
    return it == index.end() ? nullptr : &nodes[it->second];
  }
  /// The decision a value arrives with: Low/F32 from a painted producer,
  /// Flex from a leaf or an argument.
  Dec valueDec(Value v) {
    if (Operation *def = v.getDefiningOp())
      if (Node *n = nodeOf(def))
        return n->dec;
    return Dec::Flex;
  }
  /// Whether `user` takes operand `idx` in low precision.
  bool wantsLow(Operation *user, unsigned idx) {
    Node *n = nodeOf(user);
    return n && n->dec == Dec::Low && !policy.isPinned(n->type, idx);
  }
  std::string label(Node &n) {
    return n.type.str() + " '" + n.name + "'";
  }
  void decide(Node &n, Dec d, StringRef rule, const Twine &reason,
              bool fixed = false) {
    n.dec = d;
    n.rule = rule.str();
    n.reason = reason.str();
    n.fixed = fixed;
  }

  void seed();
  void lossSubgraph();
  void spreadDeny();
  void betweenAllow();
  void followInputs();
  void followUsers();
  void minimizeCasts();
  void followForward();
  Value findLoss();

  func::FuncOp func;
  const PrecisionPolicy &policy;
  StringRef lossName;
  const EarlierReasons &earlier;
  DenseMap<Operation *, unsigned> index;
};

void Painter::seed() {
  for (Operation &op : func.getBody().front()) {
    // Shape and Size read only the type: precision does not matter to them.
    if (isLeaf(&op) || !hasFloatValues(&op) || isa<ShapeOp, SizeOp>(op))
      continue;
    if (!op.getDialect() || !isa<MPDialect>(op.getDialect()))
      continue; // Other dialects' ops are boundaries.
    // Gradient ops (no ONNX name) are painted too: they follow their
    // forward op (step 8). Other training ops (optimizer updates) are not.
    StringRef type = PrecisionPolicy::onnxName(op.getName().getStringRef());
    if (type.empty() && !isGradLoc(op.getLoc()))
      continue;
    if (type.empty())
      type = op.getName().getStringRef();
    Node n;
    n.op = &op;
    n.name = nodeName(op.getLoc());
    n.type = type;
    if (n.name.empty())
      n.name = type.str();
    index[&op] = nodes.size();
    nodes.push_back(std::move(n));
  }
  bool f16 = policy.target() == Precision::f16;
  for (Node &n : nodes) {
    if (auto p = getPrecision(n.op)) {
      decide(n, *p == Precision::f32 ? Dec::F32 : Dec::Low, "already decided",
             "the op carried mp.precision before this pass", true);
      if (isGradLoc(n.op->getLoc())) {
        // A backward op autodiff painted after its forward op.
        auto fwd = earlier.find(n.name);
        if (fwd != earlier.end()) {
          n.shownRule = "follows its forward op";
          n.shownReason = "backward of " + fwd->second.opType + " '" + n.name +
                          "' (" + fwd->second.rule + ")";
          n.shownClass = fwd->second.opClass;
        }
      } else if (auto it = earlier.find((n.name + "\x1f" + n.type).str());
                 it != earlier.end()) {
        n.shownRule = it->second.rule;
        n.shownReason = it->second.reason;
        n.shownClass = it->second.opClass;
      }
      continue;
    }
    std::optional<OpClass> cls = policy.classOf(n.type);
    // A gradient op without a list entry waits for its forward op's decision
    // (step 8) as an infer op, so it neither spreads deny nor blocks.
    n.opClass = cls.value_or(n.type.starts_with("mp.") ? OpClass::Infer
                                                       : OpClass::Deny);
    if (const NodeRule *r = policy.nodeRule(n.name)) {
      if (r->forceLow) {
        decide(n, *r->forceLow ? Dec::Low : Dec::F32, "node rule",
               "node name matches '" + r->pattern + "'", true);
        continue;
      }
      n.opClass = *r->opClass;
      n.rule = "node rule";
      n.reason = "node name matches '" + r->pattern + "': class " +
                 stringifyOpClass(n.opClass).str();
    }
    if (n.opClass == OpClass::Allow) {
      decide(n, Dec::Low, n.rule.empty() ? "allow list" : n.rule,
             n.reason.empty() ? "allow: " + policy.reasonOf(n.type).str()
                              : n.reason,
             true);
      continue;
    }
    if (n.opClass == OpClass::Deny) {
      decide(n, Dec::F32, n.rule.empty() ? "deny list" : n.rule,
             n.reason.empty() ? "deny: " + policy.reasonOf(n.type).str()
                              : n.reason,
             true);
      n.denied = true;
      continue;
    }
    if (int64_t r = reducedElements(n.op);
        policy.largeReduction >= 0 && r > policy.largeReduction) {
      decide(n, Dec::F32, "large reduction",
             "deny: reduces " + Twine(r) + " elements per output (> " +
                 Twine(policy.largeReduction) + ")",
             true);
      n.denied = true;
      continue;
    }
    if (f16) {
      for (Value v : n.op->getOperands()) {
        ElementsAttr value;
        double maxAbs;
        if (auto c = v.getDefiningOp<ConstantOp>();
            c && outsideF16(c.getValue(), maxAbs)) {
          decide(n, Dec::F32, "constant out of range",
                 "deny: constant operand '" + nodeName(c.getLoc()) +
                     "' holds values outside the f16 range (max |x| = " +
                     llvm::formatv("{0:g}", maxAbs).str() +
                     ", or a non-zero below 6e-8)",
                 true);
          n.denied = true;
          n.op->emitRemark() << "kept in f32: a constant operand is outside "
                                "the f16 range";
          break;
        }
      }
    }
  }
}

Value Painter::findLoss() {
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "mp.name");
    if (!lossName.empty()) {
      if ((name && name.getValue() == lossName) ||
          (v.getDefiningOp() && nodeName(v.getDefiningOp()->getLoc()) == lossName))
        return v;
      continue;
    }
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (t && t.getRank() == 0 && isFloatValue(v))
      return v;
  }
  if (!lossName.empty()) {
    // Any value defined by a node of that name.
    for (Operation &op : func.getBody().front())
      if (nodeName(op.getLoc()) == lossName && op.getNumResults())
        return op.getResult(0);
  }
  return {};
}

void Painter::lossSubgraph() {
  Value loss = findLoss();
  if (!loss || !loss.getDefiningOp())
    return;
  lossDescription = nodeName(loss.getDefiningOp()->getLoc());
  // Ops upstream of a contraction (an allow-class op reachable forward,
  // whatever precision a node rule gave it).
  DenseSet<Operation *> feedsAllow;
  for (Node &n : llvm::reverse(nodes)) {
    bool reaches = n.opClass == OpClass::Allow;
    for (Operation *user : n.op->getUsers())
      reaches |= feedsAllow.contains(user);
    if (reaches)
      feedsAllow.insert(n.op);
  }
  // Ops upstream of the loss.
  SetVector<Operation *> toLoss;
  SmallVector<Operation *> work = {loss.getDefiningOp()};
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!toLoss.insert(op))
      continue;
    for (Value v : op->getOperands())
      if (Operation *def = v.getDefiningOp(); def && isFloatValue(v))
        work.push_back(def);
  }
  // Ops downstream of the loss (loss scaling, reporting).
  DenseSet<Operation *> fromLoss;
  work = {loss.getDefiningOp()};
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!fromLoss.insert(op).second)
      continue;
    for (Operation *user : op->getUsers())
      work.push_back(user);
  }
  for (Node &n : nodes) {
    if (n.fixed && n.rule != "allow list")
      continue; // Node rules and earlier f32 decisions keep their reason.
    bool tail = toLoss.contains(n.op) && !feedsAllow.contains(n.op);
    // The backward pass is downstream of the loss too, but follows its
    // forward ops (step 8), not the loss.
    bool after = fromLoss.contains(n.op) && !isGradLoc(n.op->getLoc());
    if (!tail && !after)
      continue;
    decide(n, Dec::F32, "loss subgraph",
           after ? "deny: downstream of the loss '" + lossDescription + "'"
                 : "deny: between the last contraction and the loss '" +
                       lossDescription + "'",
           true);
    n.denied = true;
  }
}

void Painter::spreadDeny() {
  for (Node &n : nodes) {
    if (n.fixed || n.dec != Dec::Undecided)
      continue;
    for (Value v : n.op->getOperands()) {
      Node *src = v.getDefiningOp() ? nodeOf(v.getDefiningOp()) : nullptr;
      if (!src || !src->denied || !isFloatValue(v))
        continue;
      // The chain names its origin and the op types it passed through; past
      // kMaxChain hops it keeps the count, so long chains stay O(1) each.
      constexpr unsigned kMaxChain = 6;
      n.chainOrigin = src->chainOrigin.empty() ? label(*src) : src->chainOrigin;
      n.chain = src->chain;
      if (n.chain.size() < kMaxChain)
        n.chain.push_back(n.type);
      n.chainLength = src->chainLength + 1;
      std::string reason = "deny: downstream of " + n.chainOrigin + " via " +
                           llvm::join(n.chain, ", ");
      if (n.chainLength > n.chain.size())
        reason += " (+" + std::to_string(n.chainLength - n.chain.size()) +
                  " more ops)";
      decide(n, Dec::F32, "deny propagation", reason);
      n.denied = true;
      break;
    }
  }
}

void Painter::betweenAllow() {
  auto passable = [](Node &n) {
    return !n.denied && (n.opClass == OpClass::Infer ||
                         n.opClass == OpClass::Clear) &&
           n.dec == Dec::Undecided;
  };
  // Nearest allow op upstream / downstream through passable ops.
  DenseMap<Operation *, Node *> up, down;
  for (Node &n : nodes) {
    if (!passable(n))
      continue;
    for (Value v : n.op->getOperands()) {
      Node *src = v.getDefiningOp() ? nodeOf(v.getDefiningOp()) : nullptr;
      if (!src || !isFloatValue(v))
        continue;
      if (src->opClass == OpClass::Allow && src->dec == Dec::Low)
        up[n.op] = src;
      else if (up.count(src->op))
        up[n.op] = up[src->op];
      if (up.count(n.op))
        break;
    }
  }
  for (Node &n : llvm::reverse(nodes)) {
    if (!passable(n))
      continue;
    for (Operation *user : n.op->getUsers()) {
      Node *dst = nodeOf(user);
      if (!dst)
        continue;
      if (dst->opClass == OpClass::Allow && dst->dec == Dec::Low)
        down[n.op] = dst;
      else if (down.count(dst->op))
        down[n.op] = down[dst->op];
      if (down.count(n.op))
        break;
    }
  }
  for (Node &n : nodes)
    if (passable(n) && up.count(n.op) && down.count(n.op))
      decide(n, Dec::Low, "between allow ops",
             stringifyOpClass(n.opClass).str() + ": between " +
                 label(*up[n.op]) + " and " + label(*down[n.op]));
}

void Painter::followInputs() {
  for (Node &n : nodes) {
    if (n.dec != Dec::Undecided)
      continue;
    Node *lowSrc = nullptr, *f32Src = nullptr;
    for (Value v : n.op->getOperands()) {
      if (!isFloatValue(v))
        continue;
      Node *src = v.getDefiningOp() ? nodeOf(v.getDefiningOp()) : nullptr;
      if (!src)
        continue;
      if (src->dec == Dec::Low && !lowSrc)
        lowSrc = src;
      if (src->dec == Dec::F32 && !f32Src)
        f32Src = src;
    }
    StringRef cls = stringifyOpClass(n.opClass);
    if (f32Src)
      decide(n, Dec::F32, "follows inputs",
             cls.str() + ": input from " + label(*f32Src) + " is f32");
    else if (lowSrc)
      decide(n, Dec::Low, "follows inputs",
             cls.str() + ": inputs are low precision (from " +
                 label(*lowSrc) + ")");
    else
      n.dec = Dec::Flex;
  }
}

void Painter::followUsers() {
  for (Node &n : llvm::reverse(nodes)) {
    if (n.dec != Dec::Flex)
      continue;
    bool anyUser = false, allLow = true;
    std::string firstUser;
    for (OpOperand &use : n.op->getUses()) {
      if (!isFloatValue(use.get()))
        continue;
      anyUser = true;
      if (!wantsLow(use.getOwner(), use.getOperandNumber())) {
        allLow = false;
        break;
      }
      if (firstUser.empty())
        if (Node *u = nodeOf(use.getOwner()))
          firstUser = label(*u);
    }
    if (anyUser && allLow)
      decide(n, Dec::Low, "follows users",
             stringifyOpClass(n.opClass).str() +
                 ": fed only by parameters, inputs and constants; every user "
                 "takes it in low precision (" + firstUser + ")");
    else
      decide(n, Dec::F32, "follows users",
             stringifyOpClass(n.opClass).str() +
                 ": fed only by parameters, inputs and constants; a user "
                 "needs it in f32");
  }
}

void Painter::minimizeCasts() {
  // Casts an op causes at its boundary for a given decision of its own.
  auto castsFor = [&](Node &n, Dec d) {
    int casts = 0;
    for (auto [i, v] : llvm::enumerate(n.op->getOperands())) {
      if (!isFloatValue(v))
        continue;
      bool pinned = policy.isPinned(n.type, i);
      Dec want = pinned ? Dec::F32 : d;
      Dec have = valueDec(v);
      if (have != Dec::Flex && have != want)
        ++casts;
    }
    // One cast per (value, type) serves every user that wants the other
    // precision.
    bool otherWanted = false;
    for (OpOperand &use : n.op->getUses()) {
      if (!isFloatValue(use.get()))
        continue;
      Dec want = wantsLow(use.getOwner(), use.getOperandNumber()) ? Dec::Low
                                                                  : Dec::F32;
      otherWanted |= want != d;
    }
    return casts + int(otherWanted);
  };
  for (Node &n : nodes) {
    if (n.fixed || n.denied || (n.dec != Dec::Low && n.dec != Dec::F32) ||
        n.opClass == OpClass::Allow || isa<MatMulOp, GemmOp, ConvOp>(n.op))
      continue;
    Dec other = n.dec == Dec::Low ? Dec::F32 : Dec::Low;
    int now = castsFor(n, n.dec), flipped = castsFor(n, other);
    if (flipped < now) {
      std::string p = other == Dec::Low
                          ? stringifyPrecision(policy.target()).str()
                          : "f32";
      decide(n, other, "cast minimization",
             "flipped to " + p + ": " + Twine(now - flipped).str() +
                 " fewer casts around this op (was: " + n.reason + ")");
    }
  }
}

void Painter::followForward() {
  // Forward ops by node name (the first op of that name not made by
  // autodiff).
  llvm::StringMap<Node *> forward;
  for (Node &n : nodes)
    if (!isGradLoc(n.op->getLoc()))
      forward.try_emplace(n.name, &n);
  for (Node &n : nodes) {
    if (!isGradLoc(n.op->getLoc()) || n.rule == "node rule" ||
        n.rule == "already decided" || n.rule == "loss subgraph")
      continue;
    Node *fwd = forward.lookup(n.name);
    if (!fwd || fwd->dec == Dec::Flex)
      continue;
    decide(n, fwd->dec, "follows its forward op",
           "backward of " + label(*fwd) + " (" + shownRule(*fwd) + ")", true);
    n.denied = fwd->denied;
  }
}

/// Reads an earlier report's rule and reason per (node, op type); a missing
/// or unreadable file just gives nothing to inherit.
static void readEarlierReasons(StringRef file, EarlierReasons &out) {
  llvm::json::Object report = mp::readReport(file);
  llvm::json::Array *funcs = report.getArray("functions");
  for (auto &f : funcs ? *funcs : llvm::json::Array()) {
    auto *ops = f.getAsObject() ? f.getAsObject()->getArray("ops") : nullptr;
    for (auto &o : ops ? *ops : llvm::json::Array()) {
      auto *r = o.getAsObject();
      if (!r)
        continue;
      auto node = r->getString("node"), op = r->getString("op"),
           cls = r->getString("class"), rule = r->getString("rule"),
           reason = r->getString("reason");
      if (!node || !op || !cls || !rule || !reason ||
          *rule == "already decided" || op->starts_with("mp."))
        continue;
      Earlier e{op->str(), cls->str(), rule->str(), reason->str()};
      out.try_emplace((*node + "\x1f" + *op).str(), e);
      out.try_emplace(*node, std::move(e));
    }
  }
}

void Painter::run() {
  seed();
  lossSubgraph();
  spreadDeny();
  betweenAllow();
  followInputs();
  followUsers();
  minimizeCasts();
  followForward();
}

//===----------------------------------------------------------------------===//
// Report and picture
//===----------------------------------------------------------------------===//

StringRef decName(Dec d, Precision target) {
  return d == Dec::Low ? stringifyPrecision(target) : StringRef("f32");
}

void writeDot(raw_ostream &os, func::FuncOp func, ArrayRef<Node> nodes,
              Precision target) {
  DenseMap<Operation *, const Node *> byOp;
  for (const Node &n : nodes)
    byOp[n.op] = &n;
  auto id = [](const void *p) {
    return "n" + llvm::utohexstr(reinterpret_cast<uintptr_t>(p));
  };
  os << "digraph \"" << func.getSymName() << "\" {\n"
     << "  rankdir=TB; node [shape=box, style=\"rounded,filled\", "
        "fontname=\"Helvetica\", fontsize=10];\n"
     << "  label=\"mp-autocast: green = " << stringifyPrecision(target)
     << ", orange = f32, grey = leaves; red dashed edges are casts\";\n";
  for (BlockArgument a : func.getArguments()) {
    auto name = func.getArgAttrOfType<StringAttr>(a.getArgNumber(), "mp.name");
    os << "  " << id(a.getAsOpaquePointer()) << " [label=\""
       << (name ? name.getValue() : "arg") << "\", fillcolor=\"#dddddd\", "
       << "shape=ellipse];\n";
  }
  for (Operation &op : func.getBody().front()) {
    if (!hasFloatValues(&op) || isa<func::ReturnOp>(op))
      continue;
    const Node *n = byOp.lookup(&op);
    std::string label = n ? n->type.str() + "\\n" + n->name
                          : op.getName().getStringRef().str();
    StringRef color = !n ? "#dddddd"
                      : n->dec == Dec::Low ? "#9be39b"
                                           : "#f6c28b";
    os << "  " << id(&op) << " [label=\"" << label << "\", fillcolor=\""
       << color << "\"];\n";
    for (auto [i, v] : llvm::enumerate(op.getOperands())) {
      if (!isFloatValue(v))
        continue;
      const void *src = v.getDefiningOp()
                            ? static_cast<const void *>(v.getDefiningOp())
                            : v.getAsOpaquePointer();
      const Node *s = v.getDefiningOp() ? byOp.lookup(v.getDefiningOp()) : nullptr;
      bool cast = n && s && s->dec != Dec::Flex && n->dec != Dec::Flex &&
                  s->dec != n->dec;
      os << "  " << id(src) << " -> " << id(&op)
         << (cast ? " [color=red, style=dashed, label=\"cast\"]" : "") << ";\n";
    }
  }
  os << "}\n";
}

struct AutocastPass : public mp::impl::MPAutocastPassBase<AutocastPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<Precision> target = symbolizePrecision(this->target);
    if (!target || *target == Precision::f32) {
      getOperation().emitError() << "mp-autocast: target must be f16 or bf16, "
                                    "got '" << this->target << "'";
      return signalPassFailure();
    }
    PrecisionPolicy policy = PrecisionPolicy::defaults(*target);
    std::string err;
    auto failWith = [&](const Twine &msg) {
      getOperation().emitError() << "mp-autocast: " << msg;
      signalPassFailure();
    };
    if (!policyFile.empty() && failed(policy.applyFile(policyFile, err)))
      return failWith(err);
    for (const std::string &e : edits)
      if (failed(policy.applyEdit(e, err)))
        return failWith(err);
    for (const std::string &r : nodeRules)
      if (failed(policy.addNodeRule(r, err)))
        return failWith(err);
    for (const std::string &p : pins)
      if (failed(policy.addPin(p, err)))
        return failWith(err);
    if (largeReduction != -2)
      policy.largeReduction = largeReduction;

    // The training pipeline's second run shows the first run's rule and
    // reason for the forward ops that reach it already painted.
    EarlierReasons earlier;
    if (inheritReport && !reportFile.empty())
      readEarlierReasons(reportFile, earlier);

    MLIRContext *ctx = &getContext();
    auto lowAttr = PrecisionAttr::get(ctx, *target);
    auto f32Attr = PrecisionAttr::get(ctx, Precision::f32);
    DictionaryAttr dicts[2][2];
    for (bool low : {false, true})
      for (bool acc : {false, true}) {
        NamedAttrList attrs;
        attrs.append(MPDialect::kPrecisionAttrName, low ? lowAttr : f32Attr);
        if (acc)
          attrs.append(MPDialect::kAccumulateAttrName, f32Attr);
        dicts[low][acc] = attrs.getDictionary(ctx);
      }
    llvm::json::Array funcs;
    int64_t totalLow = 0, totalF32 = 0, flopsLow = 0, flopsF32 = 0;
    std::string dotText;
    llvm::raw_string_ostream dot(dotText);

    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.getBody().hasOneBlock())
        continue;
      Painter painter(func, policy, lossName, earlier);
      painter.run();
      llvm::json::Array ops;
      for (Node &n : painter.nodes) {
        bool low = n.dec == Dec::Low;
        bool acc = accumulates(n.op);
        if (n.op->getDiscardableAttrDictionary().empty()) {
          // The common case: one cached dictionary per decision, no merging.
          n.op->setDiscardableAttrs(dicts[low][acc]);
        } else {
          n.op->setAttr(MPDialect::kPrecisionAttrName, low ? lowAttr : f32Attr);
          if (acc && !n.op->hasAttr(MPDialect::kAccumulateAttrName))
            n.op->setAttr(MPDialect::kAccumulateAttrName, f32Attr);
        }
        (low ? numLow : numF32)++;
        (low ? totalLow : totalF32)++;
        (low ? flopsLow : flopsF32) += flops(n.op);
        if (remarks)
          n.op->emitRemark() << "mp.precision = " << decName(n.dec, *target)
                             << " (" << shownRule(n) << "; " << shownReason(n)
                             << ")";
        if (reportFile.empty())
          continue;
        llvm::json::Object rec{{"node", n.name},
                               {"op", n.type},
                               {"precision", decName(n.dec, *target)},
                               {"class", n.shownClass.empty()
                                             ? stringifyOpClass(n.opClass).str()
                                             : n.shownClass},
                               {"rule", shownRule(n).str()},
                               {"reason", shownReason(n).str()}};
        if (accumulates(n.op))
          rec["accumulate"] = "f32";
        ops.push_back(std::move(rec));
      }
      funcs.push_back(llvm::json::Object{{"function", func.getSymName()},
                                         {"loss", painter.lossDescription},
                                         {"ops", std::move(ops)}});
      if (!dotFile.empty())
        writeDot(dot, func, painter.nodes, *target);
    }

    if (!reportFile.empty()) {
      double frac = flopsLow + flopsF32
                        ? double(flopsLow) / double(flopsLow + flopsF32)
                        : 0.0;
      llvm::json::Object totals{
          {"ops", llvm::json::Object{{stringifyPrecision(*target), totalLow},
                                     {"f32", totalF32}}},
          {"flops", llvm::json::Object{{stringifyPrecision(*target), flopsLow},
                                       {"f32", flopsF32}}},
          {"low_precision_flop_fraction", frac}};
      llvm::json::Object report{{"target", stringifyPrecision(*target)},
                                {"functions", std::move(funcs)},
                                {"totals", std::move(totals)}};
      std::error_code ec;
      llvm::raw_fd_ostream os(reportFile, ec);
      if (ec)
        return failWith("cannot write report '" + reportFile + "': " +
                        ec.message());
      os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report)))
         << "\n";
    }
    if (!dotFile.empty()) {
      std::error_code ec;
      {
        llvm::raw_fd_ostream os(dotFile, ec);
        if (ec)
          return failWith("cannot write '" + dotFile + "': " + ec.message());
        os << dotText;
      }
      // An SVG beside the .dot when Graphviz is installed.
      if (auto dotExe = llvm::sys::findProgramByName("dot")) {
        std::string svg = (StringRef(dotFile).ends_with(".dot")
                               ? StringRef(dotFile).drop_back(4).str()
                               : dotFile) +
                          ".svg";
        std::string outArg = "-o" + svg;
        StringRef args[] = {*dotExe, "-Tsvg", dotFile, outArg};
        (void)llvm::sys::ExecuteAndWait(*dotExe, args);
      }
    }
  }
};

} // namespace
