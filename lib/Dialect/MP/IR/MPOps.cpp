//===- MPOps.cpp - mp op type inference and verification ------------------===//
//
// Result-type inference for every mp op. Inference doubles as the verifier:
// the generated verifier re-infers the result types and compares them with
// the actual ones, so every shape or attribute rule lives in one place and
// its message names the operand and the dims involved.
//
// Shapes follow ONNX. A dynamic dim (`?`) is accepted wherever a static one
// would be, and propagates; a conflict between two static dims is an error.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mp;

static constexpr int64_t kDyn = ShapedType::kDynamic;

bool mp::areCompatibleReturnTypes(TypeRange inferred, TypeRange actual) {
  if (inferred.size() != actual.size())
    return false;
  for (auto [i, a] : llvm::zip(inferred, actual)) {
    if (i == a)
      continue;
    auto it = dyn_cast<RankedTensorType>(i);
    auto at = dyn_cast<RankedTensorType>(a);
    if (!it || !at || it.getElementType() != at.getElementType() ||
        failed(verifyCompatibleShape(it.getShape(), at.getShape())))
      return false;
  }
  return true;
}

LogicalResult mp::reportMismatch(Operation *op, TypeRange inferred) {
  InFlightDiagnostic diag = op->emitOpError("result type(s) ");
  llvm::interleaveComma(op->getResultTypes(), diag);
  diag << " do not match the inferred type(s) ";
  llvm::interleaveComma(inferred, diag);
  return diag;
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {
using Loc = std::optional<Location>;

RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

Type tensor(ArrayRef<int64_t> shape, Type elt) {
  return RankedTensorType::get(shape, elt);
}

LogicalResult fail(Loc loc, const Twine &msg) {
  return emitOptionalError(loc, msg);
}

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ",";
    s += ShapedType::isDynamic(d) ? "?" : std::to_string(d);
  }
  return s + "]";
}

/// Normalizes an ONNX axis in [-rank, rank) to [0, rank).
FailureOr<int64_t> normAxis(Loc loc, int64_t axis, int64_t rank,
                            StringRef what = "axis") {
  if (axis < -rank || axis >= rank) {
    (void)fail(loc, Twine(what) + " " + Twine(axis) + " is out of range for rank " +
                        Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

/// Normalizes a list of axes; rejects duplicates.
FailureOr<SmallVector<int64_t>> normAxes(Loc loc, ArrayRef<int64_t> axes,
                                         int64_t rank) {
  SmallVector<int64_t> out;
  llvm::SmallSet<int64_t, 8> seen;
  for (int64_t a : axes) {
    auto n = normAxis(loc, a, rank);
    if (failed(n))
      return failure();
    if (!seen.insert(*n).second) {
      (void)fail(loc, "axis " + Twine(a) + " is repeated");
      return failure();
    }
    out.push_back(*n);
  }
  return out;
}

/// Numpy multidirectional broadcasting of several shapes.
FailureOr<SmallVector<int64_t>> broadcast(Loc loc,
                                          ArrayRef<ArrayRef<int64_t>> shapes) {
  size_t rank = 0;
  for (auto s : shapes)
    rank = std::max(rank, s.size());
  SmallVector<int64_t> out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    bool anyDyn = false;
    int64_t dim = 1;
    for (auto s : shapes) {
      if (i >= s.size())
        continue;
      int64_t d = s[s.size() - 1 - i];
      if (ShapedType::isDynamic(d)) {
        anyDyn = true;
        continue;
      }
      if (d == 1)
        continue;
      if (dim != 1 && dim != d) {
        std::string msg = "operands are not broadcast-compatible:";
        for (auto t : shapes)
          msg += " " + shapeStr(t);
        (void)fail(loc, msg);
        return failure();
      }
      dim = d;
    }
    out[rank - 1 - i] = (dim == 1 && anyDyn) ? kDyn : dim;
  }
  return out;
}

bool isFloat(Type t) { return isa<FloatType>(getElementTypeOrSelf(t)); }
bool isBool(Type t) { return getElementTypeOrSelf(t).isInteger(1); }

LogicalResult sameElementType(Loc loc, ValueRange values, StringRef what) {
  for (Value v : values.drop_front())
    if (getElementTypeOrSelf(v) != getElementTypeOrSelf(values.front()))
      return fail(loc, Twine(what) + " must have one element type, got " +
                           llvm::formatv("{0} and {1}",
                                         getElementTypeOrSelf(values.front()),
                                         getElementTypeOrSelf(v))
                               .str());
  return success();
}

/// Reads a constant integer tensor (e.g. a Reshape shape operand).
std::optional<SmallVector<int64_t>> constInts(Value v) {
  DenseIntElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> out;
  for (const APInt &x : attr.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

/// The number of elements of `dims`; kDyn when a dim is dynamic or the
/// product overflows int64 (hostile shapes: callers treat it as unknown).
int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (ShapedType::isDynamic(d) || __builtin_mul_overflow(p, d, &p))
      return kDyn;
  }
  return p;
}

/// Attribute and constant-operand values that take part in shape
/// arithmetic (pads, strides, window sizes, ...) are bounded by this, so
/// sums and products of a few of them stay far from int64 overflow.
constexpr int64_t kMaxShapeValue = int64_t(1) << 40;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
} // namespace

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

#define MP_INFER(OP)                                                           \
  LogicalResult OP::inferReturnTypes(MLIRContext *ctx, Loc loc,                \
                                     OP::Adaptor a, SmallVectorImpl<Type> &out)

static LogicalResult inferUnary(Loc loc, Value x, StringRef name,
                                bool needFloat, SmallVectorImpl<Type> &out) {
  if (needFloat && !isFloat(x.getType()))
    return fail(loc, Twine("'") + name + "' needs a floating-point operand, got " +
                         llvm::formatv("{0}", x.getType()).str());
  if (!needFloat && isBool(x.getType()))
    return fail(loc, Twine("'") + name + "' needs a numeric operand, got bool");
  out.push_back(x.getType());
  return success();
}

#define MP_UNARY(OP, NAME, FLOAT)                                              \
  MP_INFER(OP) { return inferUnary(loc, a.getX(), NAME, FLOAT, out); }
MP_UNARY(NegOp, "mp.neg", false)
MP_UNARY(AbsOp, "mp.abs", false)
MP_UNARY(ReluOp, "mp.relu", false)
MP_UNARY(SqrtOp, "mp.sqrt", true)
MP_UNARY(ReciprocalOp, "mp.reciprocal", true)
MP_UNARY(ExpOp, "mp.exp", true)
MP_UNARY(LogOp, "mp.log", true)
MP_UNARY(ErfOp, "mp.erf", true)
MP_UNARY(TanhOp, "mp.tanh", true)
MP_UNARY(SigmoidOp, "mp.sigmoid", true)
MP_UNARY(LeakyReluOp, "mp.leaky_relu", true)
#undef MP_UNARY

MP_INFER(GeluOp) {
  StringRef approx = a.getApproximate();
  if (approx != "none" && approx != "tanh")
    return fail(loc, "'approximate' must be \"none\" or \"tanh\", got \"" +
                         approx + "\"");
  return inferUnary(loc, a.getX(), "mp.gelu", true, out);
}

MP_INFER(IdentityOp) {
  out.push_back(a.getX().getType());
  return success();
}

MP_INFER(NotOp) {
  if (!isBool(a.getX().getType()))
    return fail(loc, "'mp.not' needs a bool (i1) operand");
  out.push_back(a.getX().getType());
  return success();
}

static LogicalResult inferBinary(Loc loc, Value lhs, Value rhs, Type resultElt,
                                 SmallVectorImpl<Type> &out) {
  auto shape = broadcast(loc, {tensorOf(lhs).getShape(), tensorOf(rhs).getShape()});
  if (failed(shape))
    return failure();
  out.push_back(tensor(*shape, resultElt));
  return success();
}

#define MP_ARITH(OP)                                                           \
  MP_INFER(OP) {                                                               \
    if (failed(sameElementType(loc, {a.getA(), a.getB()}, "operands")))        \
      return failure();                                                        \
    if (isBool(a.getA().getType()))                                            \
      return fail(loc, "arithmetic on bool operands is not defined");          \
    return inferBinary(loc, a.getA(), a.getB(),                                \
                       getElementTypeOrSelf(a.getA()), out);                   \
  }
MP_ARITH(AddOp)
MP_ARITH(SubOp)
MP_ARITH(MulOp)
MP_ARITH(DivOp)
#undef MP_ARITH

MP_INFER(PowOp) {
  if (isBool(a.getX().getType()) || isBool(a.getY().getType()))
    return fail(loc, "'mp.pow' needs numeric operands");
  return inferBinary(loc, a.getX(), a.getY(), getElementTypeOrSelf(a.getX()),
                     out);
}

#define MP_LOGIC(OP)                                                           \
  MP_INFER(OP) {                                                               \
    if (!isBool(a.getA().getType()) || !isBool(a.getB().getType()))            \
      return fail(loc, "logical ops need bool (i1) operands");                 \
    return inferBinary(loc, a.getA(), a.getB(), IntegerType::get(ctx, 1),      \
                       out);                                                   \
  }
MP_LOGIC(AndOp)
MP_LOGIC(OrOp)
#undef MP_LOGIC

#define MP_COMPARE(OP)                                                         \
  MP_INFER(OP) {                                                               \
    if (failed(sameElementType(loc, {a.getA(), a.getB()}, "operands")))        \
      return failure();                                                        \
    return inferBinary(loc, a.getA(), a.getB(), IntegerType::get(ctx, 1),      \
                       out);                                                   \
  }
MP_COMPARE(EqualOp)
MP_COMPARE(LessOp)
MP_COMPARE(LessOrEqualOp)
MP_COMPARE(GreaterOp)
MP_COMPARE(GreaterOrEqualOp)
#undef MP_COMPARE

static LogicalResult inferVariadic(Loc loc, ValueRange inputs,
                                   SmallVectorImpl<Type> &out) {
  if (inputs.empty())
    return fail(loc, "needs at least one operand");
  if (failed(sameElementType(loc, inputs, "operands")))
    return failure();
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : inputs)
    shapes.push_back(tensorOf(v).getShape());
  auto shape = broadcast(loc, shapes);
  if (failed(shape))
    return failure();
  out.push_back(tensor(*shape, getElementTypeOrSelf(inputs.front())));
  return success();
}
MP_INFER(MinOp) { return inferVariadic(loc, a.getData_0(), out); }
MP_INFER(MaxOp) { return inferVariadic(loc, a.getData_0(), out); }
MP_INFER(SumOp) { return inferVariadic(loc, a.getData_0(), out); }

MP_INFER(WhereOp) {
  if (failed(sameElementType(loc, {a.getX(), a.getY()}, "X and Y")))
    return failure();
  auto shape = broadcast(loc, {tensorOf(a.getCondition()).getShape(),
                               tensorOf(a.getX()).getShape(),
                               tensorOf(a.getY()).getShape()});
  if (failed(shape))
    return failure();
  out.push_back(tensor(*shape, getElementTypeOrSelf(a.getX())));
  return success();
}

MP_INFER(ClipOp) {
  if (a.getMin() && a.getMax() &&
      a.getMin()->convertToDouble() > a.getMax()->convertToDouble())
    return fail(loc, "'min' is greater than 'max'");
  return inferUnary(loc, a.getInput(), "mp.clip", false, out);
}

MP_INFER(CastOp) {
  Type to = a.getTo();
  if (!isa<FloatType, IntegerType>(to))
    return fail(loc, "'to' must be a float or integer element type, got " +
                         llvm::formatv("{0}", to).str());
  out.push_back(tensorOf(a.getInput()).clone(to));
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

MP_INFER(MatMulOp) {
  if (failed(sameElementType(loc, {a.getA(), a.getB()}, "operands")))
    return failure();
  ArrayRef<int64_t> as = tensorOf(a.getA()).getShape();
  ArrayRef<int64_t> bs = tensorOf(a.getB()).getShape();
  if (as.empty() || bs.empty())
    return fail(loc, "matmul operands must have rank >= 1");
  SmallVector<int64_t> aa(as), bb(bs);
  if (as.size() == 1)
    aa.insert(aa.begin(), 1);
  if (bs.size() == 1)
    bb.push_back(1);
  int64_t ka = aa.back(), kb = bb[bb.size() - 2];
  if (!ShapedType::isDynamic(ka) && !ShapedType::isDynamic(kb) && ka != kb)
    return fail(loc, "contraction dims differ: A " + shapeStr(as) + " has K=" +
                         Twine(ka) + ", B " + shapeStr(bs) + " has K=" +
                         Twine(kb));
  auto batch = broadcast(loc, {ArrayRef(aa).drop_back(2), ArrayRef(bb).drop_back(2)});
  if (failed(batch))
    return failure();
  SmallVector<int64_t> shape = *batch;
  if (as.size() != 1)
    shape.push_back(aa[aa.size() - 2]);
  if (bs.size() != 1)
    shape.push_back(bb.back());
  out.push_back(tensor(shape, getElementTypeOrSelf(a.getA())));
  return success();
}

MP_INFER(GemmOp) {
  if (failed(sameElementType(loc, {a.getA(), a.getB()}, "A and B")))
    return failure();
  ArrayRef<int64_t> as = tensorOf(a.getA()).getShape();
  ArrayRef<int64_t> bs = tensorOf(a.getB()).getShape();
  if (as.size() != 2 || bs.size() != 2)
    return fail(loc, "gemm operands must be 2-D, got A " + shapeStr(as) +
                         " and B " + shapeStr(bs));
  int64_t m = a.getTransA() ? as[1] : as[0];
  int64_t ka = a.getTransA() ? as[0] : as[1];
  int64_t kb = a.getTransB() ? bs[1] : bs[0];
  int64_t n = a.getTransB() ? bs[0] : bs[1];
  if (!ShapedType::isDynamic(ka) && !ShapedType::isDynamic(kb) && ka != kb)
    return fail(loc, "contraction dims differ: op(A) has K=" + Twine(ka) +
                         ", op(B) has K=" + Twine(kb));
  SmallVector<int64_t> shape = {m, n};
  if (Value c = a.getC()) {
    ArrayRef<int64_t> cs = tensorOf(c).getShape();
    auto b = broadcast(std::nullopt, {cs, shape});
    if (failed(b) || cs.size() > 2 || failed(verifyCompatibleShape(*b, shape)))
      return fail(loc, "C " + shapeStr(cs) +
                           " does not broadcast to the result " +
                           shapeStr(shape));
  }
  out.push_back(tensor(shape, getElementTypeOrSelf(a.getA())));
  return success();
}

/// Output size of one spatial dim of a convolution or pooling window.
static int64_t windowOut(int64_t in, int64_t k, int64_t stride, int64_t dil,
                         int64_t padBegin, int64_t padEnd, StringRef autoPad,
                         bool ceilMode) {
  if (ShapedType::isDynamic(in))
    return kDyn;
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")
    return ceilDiv(in, stride);
  if (autoPad == "VALID")
    padBegin = padEnd = 0;
  int64_t span = in + padBegin + padEnd - ((k - 1) * dil + 1);
  if (span < 0)
    return -1;
  int64_t out = (ceilMode ? ceilDiv(span, stride) : span / stride) + 1;
  // A window that would start inside the end padding is dropped.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

/// Checks the shared window attributes (kernel, strides, pads, dilations)
/// and computes the spatial output dims.
static LogicalResult
inferWindow(Loc loc, ArrayRef<int64_t> xs, ArrayRef<int64_t> kernel,
            std::optional<ArrayRef<int64_t>> strides,
            std::optional<ArrayRef<int64_t>> pads,
            std::optional<ArrayRef<int64_t>> dilations, StringRef autoPad,
            bool ceilMode, SmallVectorImpl<int64_t> &shape) {
  size_t n = xs.size() - 2;
  if (kernel.size() != n)
    return fail(loc, "kernel_shape has " + Twine(kernel.size()) +
                         " dims, expected " + Twine(n));
  if (strides && strides->size() != n)
    return fail(loc, "strides has " + Twine(strides->size()) +
                         " entries, expected " + Twine(n));
  if (dilations && dilations->size() != n)
    return fail(loc, "dilations has " + Twine(dilations->size()) +
                         " entries, expected " + Twine(n));
  if (pads && pads->size() != 2 * n)
    return fail(loc, "pads has " + Twine(pads->size()) + " entries, expected " +
                         Twine(2 * n));
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return fail(loc, "unknown auto_pad \"" + autoPad + "\"");
  for (size_t i = 0; i < n; ++i) {
    int64_t s = strides ? (*strides)[i] : 1;
    int64_t d = dilations ? (*dilations)[i] : 1;
    int64_t pb = pads ? (*pads)[i] : 0, pe = pads ? (*pads)[i + n] : 0;
    if (s < 1 || d < 1 || kernel[i] < 1 || pb < 0 || pe < 0)
      return fail(loc, "kernel, strides and dilations must be positive and "
                       "pads non-negative");
    if (s > kMaxShapeValue || d > kMaxShapeValue ||
        kernel[i] > kMaxShapeValue || pb > kMaxShapeValue ||
        pe > kMaxShapeValue)
      return fail(loc, "kernel, strides, dilations or pads are too large");
    int64_t o = windowOut(xs[i + 2], kernel[i], s, d, pb, pe, autoPad, ceilMode);
    if (o != kDyn && o < 1)
      return fail(loc, "window " + Twine(kernel[i]) + " (dilation " + Twine(d) +
                           ") does not fit spatial dim " + Twine(i) + " of size " +
                           Twine(xs[i + 2]) + " with its padding");
    shape.push_back(o);
  }
  return success();
}

MP_INFER(ConvOp) {
  if (failed(sameElementType(loc, {a.getX(), a.getW()}, "X and W")))
    return failure();
  ArrayRef<int64_t> xs = tensorOf(a.getX()).getShape();
  ArrayRef<int64_t> ws = tensorOf(a.getW()).getShape();
  if (xs.size() < 3 || ws.size() != xs.size())
    return fail(loc, "conv needs X (N x C x D...) and W (M x C/group x k...) of "
                     "equal rank >= 3, got X " + shapeStr(xs) + " and W " +
                         shapeStr(ws));
  int64_t group = a.getGroup();
  if (group < 1)
    return fail(loc, "group must be >= 1");
  if (group > kMaxShapeValue)
    return fail(loc, "group is too large");
  if (!ShapedType::isDynamic(xs[1]) && !ShapedType::isDynamic(ws[1]) &&
      xs[1] != ws[1] * group)
    return fail(loc, "X has " + Twine(xs[1]) + " channels but W expects " +
                         Twine(ws[1]) + " x group " + Twine(group));
  if (!ShapedType::isDynamic(ws[0]) && ws[0] % group != 0)
    return fail(loc, "W has " + Twine(ws[0]) +
                         " output channels, not divisible by group " +
                         Twine(group));
  SmallVector<int64_t> kernel(ws.drop_front(2));
  if (auto k = a.getKernelShape()) {
    for (auto [i, d] : llvm::enumerate(*k))
      if (i < kernel.size() && !ShapedType::isDynamic(kernel[i]) && kernel[i] != d)
        return fail(loc, "kernel_shape " + shapeStr(*k) +
                             " does not match W " + shapeStr(ws));
    kernel.assign(k->begin(), k->end());
  }
  if (llvm::any_of(kernel, ShapedType::isDynamic))
    return fail(loc, "conv needs a static kernel size");
  if (Value b = a.getB()) {
    ArrayRef<int64_t> bs = tensorOf(b).getShape();
    if (bs.size() != 1 || failed(verifyCompatibleShape(bs, {ws[0]})))
      return fail(loc, "B must be 1-D of size M = " + Twine(ws[0]) + ", got " +
                           shapeStr(bs));
  }
  SmallVector<int64_t> shape = {xs[0], ws[0]};
  if (failed(inferWindow(loc, xs, kernel, a.getStrides(), a.getPads(),
                         a.getDilations(), a.getAutoPad(), false, shape)))
    return failure();
  out.push_back(tensor(shape, getElementTypeOrSelf(a.getX())));
  return success();
}

//===----------------------------------------------------------------------===//
// Normalization, softmax, pooling
//===----------------------------------------------------------------------===//

MP_INFER(SoftmaxOp) {
  if (failed(normAxis(loc, a.getAxis(), tensorOf(a.getInput()).getRank())))
    return failure();
  return inferUnary(loc, a.getInput(), "mp.softmax", true, out);
}

MP_INFER(LogSoftmaxOp) {
  if (failed(normAxis(loc, a.getAxis(), tensorOf(a.getInput()).getRank())))
    return failure();
  return inferUnary(loc, a.getInput(), "mp.log_softmax", true, out);
}

/// ONNX TensorProto.DataType code of a stash type to an MLIR float type.
static FloatType stashType(MLIRContext *ctx, int64_t code) {
  switch (code) {
  case 1:
    return Float32Type::get(ctx);
  case 10:
    return Float16Type::get(ctx);
  case 11:
    return Float64Type::get(ctx);
  case 16:
    return BFloat16Type::get(ctx);
  default:
    return nullptr;
  }
}

MP_INFER(LayerNormOp) {
  RankedTensorType xt = tensorOf(a.getX());
  if (!isFloat(xt))
    return fail(loc, "'mp.layer_norm' needs a floating-point X");
  auto axis = normAxis(loc, a.getAxis(), xt.getRank());
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> norm = xt.getShape().drop_front(*axis);
  for (Value p : {a.getScale(), a.getB()}) {
    if (!p)
      continue;
    ArrayRef<int64_t> ps = tensorOf(p).getShape();
    auto b = broadcast(std::nullopt, {ps, norm});
    if (failed(b) || ps.size() > norm.size() ||
        failed(verifyCompatibleShape(*b, norm)))
      return fail(loc, "Scale/B " + shapeStr(ps) +
                           " must broadcast to the normalized dims " +
                           shapeStr(norm));
  }
  FloatType stash = stashType(ctx, a.getStashType());
  if (!stash)
    return fail(loc, "unsupported stash_type " + Twine(a.getStashType()));
  SmallVector<int64_t> statShape(xt.getShape().take_front(*axis));
  statShape.append(norm.size(), 1);
  out.push_back(xt);
  out.push_back(tensor(statShape, stash));
  out.push_back(tensor(statShape, stash));
  return success();
}

MP_INFER(BatchNormOp) {
  RankedTensorType xt = tensorOf(a.getX());
  if (xt.getRank() < 2 || !isFloat(xt))
    return fail(loc, "batch_norm needs a floating-point X of rank >= 2 "
                     "(N x C x D...)");
  int64_t c = xt.getDimSize(1);
  for (auto [name, v] : {std::pair<StringRef, Value>{"scale", a.getScale()},
                         {"B", a.getB()},
                         {"input_mean", a.getInputMean()},
                         {"input_var", a.getInputVar()}}) {
    ArrayRef<int64_t> s = tensorOf(v).getShape();
    if (s.size() != 1 || failed(verifyCompatibleShape(s, {c})))
      return fail(loc, name + " must be 1-D of size C = " +
                           (ShapedType::isDynamic(c) ? std::string("?")
                                                     : std::to_string(c)) +
                           ", got " + shapeStr(s));
  }
  if (a.getTrainingMode() != 0 && a.getTrainingMode() != 1)
    return fail(loc, "training_mode must be 0 or 1");
  out.push_back(xt);
  out.push_back(a.getInputMean().getType());
  out.push_back(a.getInputVar().getType());
  return success();
}

MP_INFER(MaxPoolOp) {
  ArrayRef<int64_t> xs = tensorOf(a.getX()).getShape();
  if (xs.size() < 3)
    return fail(loc, "pooling needs X of rank >= 3 (N x C x D...)");
  if (a.getStorageOrder() != 0)
    return fail(loc, "storage_order = 1 is not supported");
  SmallVector<int64_t> shape = {xs[0], xs[1]};
  if (failed(inferWindow(loc, xs, a.getKernelShape(), a.getStrides(),
                         a.getPads(), a.getDilations(), a.getAutoPad(),
                         a.getCeilMode(), shape)))
    return failure();
  out.push_back(tensor(shape, getElementTypeOrSelf(a.getX())));
  return success();
}

MP_INFER(AveragePoolOp) {
  ArrayRef<int64_t> xs = tensorOf(a.getX()).getShape();
  if (xs.size() < 3 || !isFloat(a.getX().getType()))
    return fail(loc, "pooling needs a floating-point X of rank >= 3");
  SmallVector<int64_t> shape = {xs[0], xs[1]};
  if (failed(inferWindow(loc, xs, a.getKernelShape(), a.getStrides(),
                         a.getPads(), a.getDilations(), a.getAutoPad(),
                         a.getCeilMode(), shape)))
    return failure();
  out.push_back(tensor(shape, getElementTypeOrSelf(a.getX())));
  return success();
}

MP_INFER(GlobalAveragePoolOp) {
  RankedTensorType xt = tensorOf(a.getX());
  if (xt.getRank() < 3 || !isFloat(xt))
    return fail(loc, "pooling needs a floating-point X of rank >= 3");
  SmallVector<int64_t> shape(xt.getShape());
  std::fill(shape.begin() + 2, shape.end(), 1);
  out.push_back(xt.clone(shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(Loc loc, Value data,
                                 std::optional<ArrayRef<int64_t>> axes,
                                 int64_t keepdims, int64_t noop,
                                 SmallVectorImpl<Type> &out) {
  RankedTensorType t = tensorOf(data);
  if ((!axes || axes->empty()) && noop) {
    out.push_back(t);
    return success();
  }
  SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, t.getRank()));
  auto norm = (axes && !axes->empty())
                  ? normAxes(loc, *axes, t.getRank())
                  : FailureOr<SmallVector<int64_t>>(all);
  if (failed(norm))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (!llvm::is_contained(*norm, i))
      shape.push_back(t.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  out.push_back(t.clone(shape));
  return success();
}
MP_INFER(ReduceSumOp) {
  return inferReduce(loc, a.getData(), a.getAxes(), a.getKeepdims(),
                     a.getNoopWithEmptyAxes(), out);
}
MP_INFER(ReduceMeanOp) {
  if (!isFloat(a.getData().getType()))
    return fail(loc, "'mp.reduce_mean' needs a floating-point operand");
  return inferReduce(loc, a.getData(), a.getAxes(), a.getKeepdims(),
                     a.getNoopWithEmptyAxes(), out);
}
MP_INFER(ReduceMaxOp) {
  return inferReduce(loc, a.getData(), a.getAxes(), a.getKeepdims(),
                     a.getNoopWithEmptyAxes(), out);
}

//===----------------------------------------------------------------------===//
// Data movement and shapes
//===----------------------------------------------------------------------===//

/// A 1-D i64 shape operand of static length; returns that length.
static FailureOr<int64_t> shapeOperandLength(Loc loc, Value shape) {
  RankedTensorType st = tensorOf(shape);
  if (st.getRank() != 1 || st.isDynamicDim(0)) {
    (void)fail(loc, "shape operand must be 1-D with a static length, got " +
                        llvm::formatv("{0}", st).str());
    return failure();
  }
  return st.getDimSize(0);
}

MP_INFER(ReshapeOp) {
  RankedTensorType in = tensorOf(a.getData());
  auto len = shapeOperandLength(loc, a.getShape());
  if (failed(len))
    return failure();
  std::optional<SmallVector<int64_t>> req = constInts(a.getShape());
  if (!req) {
    out.push_back(in.clone(SmallVector<int64_t>(*len, kDyn)));
    return success();
  }
  SmallVector<int64_t> shape;
  int64_t inferIdx = -1, known = 1;
  bool knownDyn = false;
  for (auto [i, d] : llvm::enumerate(*req)) {
    if (d == -1) {
      if (inferIdx >= 0)
        return fail(loc, "shape " + shapeStr(*req) + " has more than one -1");
      inferIdx = i;
      shape.push_back(kDyn);
      continue;
    }
    if (d < -1)
      return fail(loc, "shape " + shapeStr(*req) + " has a negative dim");
    if (d == 0 && !a.getAllowzero()) {
      if (i >= (size_t)in.getRank())
        return fail(loc, "shape " + shapeStr(*req) + " copies dim " + Twine(i) +
                             " that the input " + shapeStr(in.getShape()) +
                             " lacks");
      d = in.getDimSize(i);
    }
    shape.push_back(d);
    if (ShapedType::isDynamic(d))
      knownDyn = true;
    else if (__builtin_mul_overflow(known, d, &known))
      return fail(loc, "shape " + shapeStr(*req) + " has too many elements");
  }
  if (a.getAllowzero() && inferIdx >= 0 && llvm::is_contained(*req, 0))
    return fail(loc, "allowzero with both 0 and -1 in the shape");
  int64_t total = product(in.getShape());
  if (!ShapedType::isDynamic(total) && !knownDyn) {
    if (inferIdx >= 0) {
      if (known == 0 || total % known != 0)
        return fail(loc, "cannot reshape " + shapeStr(in.getShape()) + " to " +
                             shapeStr(*req));
      shape[inferIdx] = total / known;
    } else if (known != total) {
      return fail(loc, "cannot reshape " + shapeStr(in.getShape()) + " (" +
                           Twine(total) + " elements) to " + shapeStr(shape));
    }
  }
  out.push_back(in.clone(shape));
  return success();
}

MP_INFER(FlattenOp) {
  RankedTensorType in = tensorOf(a.getInput());
  int64_t r = in.getRank(), axis = a.getAxis();
  if (axis < -r || axis > r)
    return fail(loc, "axis " + Twine(axis) + " is out of range for rank " +
                         Twine(r));
  if (axis < 0)
    axis += r;
  out.push_back(in.clone({product(in.getShape().take_front(axis)),
                          product(in.getShape().drop_front(axis))}));
  return success();
}

MP_INFER(TransposeOp) {
  RankedTensorType in = tensorOf(a.getData());
  int64_t r = in.getRank();
  SmallVector<int64_t> perm;
  if (auto p = a.getPerm())
    perm.assign(p->begin(), p->end());
  else
    perm = llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, r)));
  if ((int64_t)perm.size() != r)
    return fail(loc, "perm " + shapeStr(perm) + " has the wrong length for rank " +
                         Twine(r));
  SmallVector<int64_t> shape;
  llvm::SmallSet<int64_t, 8> seen;
  for (int64_t p : perm) {
    if (p < 0 || p >= r || !seen.insert(p).second)
      return fail(loc, "perm " + shapeStr(perm) + " is not a permutation");
    shape.push_back(in.getDimSize(p));
  }
  out.push_back(in.clone(shape));
  return success();
}

MP_INFER(SqueezeOp) {
  RankedTensorType in = tensorOf(a.getData());
  SmallVector<int64_t> shape;
  if (auto axes = a.getAxes()) {
    auto norm = normAxes(loc, *axes, in.getRank());
    if (failed(norm))
      return failure();
    for (int64_t i = 0; i < in.getRank(); ++i) {
      int64_t d = in.getDimSize(i);
      if (!llvm::is_contained(*norm, i)) {
        shape.push_back(d);
        continue;
      }
      if (!ShapedType::isDynamic(d) && d != 1)
        return fail(loc, "cannot squeeze dim " + Twine(i) + " of size " +
                             Twine(d));
    }
  } else {
    if (llvm::any_of(in.getShape(), ShapedType::isDynamic))
      return fail(loc, "squeeze without axes needs a static shape");
    for (int64_t d : in.getShape())
      if (d != 1)
        shape.push_back(d);
  }
  out.push_back(in.clone(shape));
  return success();
}

MP_INFER(UnsqueezeOp) {
  RankedTensorType in = tensorOf(a.getData());
  int64_t r = in.getRank() + a.getAxes().size();
  auto norm = normAxes(loc, a.getAxes(), r);
  if (failed(norm))
    return failure();
  SmallVector<int64_t> shape;
  int64_t src = 0;
  for (int64_t i = 0; i < r; ++i)
    shape.push_back(llvm::is_contained(*norm, i) ? 1 : in.getDimSize(src++));
  out.push_back(in.clone(shape));
  return success();
}

MP_INFER(ConcatOp) {
  ValueRange ins = a.getInputs();
  if (ins.empty())
    return fail(loc, "concat needs at least one operand");
  if (failed(sameElementType(loc, ins, "operands")))
    return failure();
  RankedTensorType first = tensorOf(ins.front());
  int64_t r = first.getRank();
  auto axis = normAxis(loc, a.getAxis(), r);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  shape[*axis] = 0;
  for (Value v : ins) {
    RankedTensorType t = tensorOf(v);
    if (t.getRank() != r)
      return fail(loc, "concat operands must have one rank, got " +
                           shapeStr(first.getShape()) + " and " +
                           shapeStr(t.getShape()));
    for (int64_t i = 0; i < r; ++i) {
      int64_t d = t.getDimSize(i);
      if (i == *axis) {
        shape[i] = (ShapedType::isDynamic(d) || ShapedType::isDynamic(shape[i]))
                       ? kDyn
                       : shape[i] + d;
        continue;
      }
      if (ShapedType::isDynamic(shape[i]))
        shape[i] = d;
      else if (!ShapedType::isDynamic(d) && d != shape[i])
        return fail(loc, "concat operands differ in dim " + Twine(i) +
                             " outside the concat axis: " +
                             shapeStr(first.getShape()) + " vs " +
                             shapeStr(t.getShape()));
    }
  }
  out.push_back(first.clone(shape));
  return success();
}

MP_INFER(SplitOp) {
  RankedTensorType in = tensorOf(a.getInput());
  auto axis = normAxis(loc, a.getAxis(), in.getRank());
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> split = a.getSplit();
  if (split.empty())
    return fail(loc, "split needs at least one output");
  int64_t total = 0;
  for (int64_t s : split) {
    if (s < 0)
      return fail(loc, "split sizes must be non-negative");
    total += s;
  }
  int64_t d = in.getDimSize(*axis);
  if (!ShapedType::isDynamic(d) && total != d)
    return fail(loc, "split sizes " + shapeStr(split) + " add up to " +
                         Twine(total) + ", but dim " + Twine(*axis) + " is " +
                         Twine(d));
  for (int64_t s : split) {
    SmallVector<int64_t> shape(in.getShape());
    shape[*axis] = s;
    out.push_back(in.clone(shape));
  }
  return success();
}

namespace {
/// One normalized slice range along an axis.
struct SliceRange {
  int64_t start, step, length;
};
} // namespace

/// ONNX Slice clamping for one axis of (static) size `dim`.
static SliceRange sliceRange(int64_t dim, int64_t start, int64_t end,
                             int64_t step) {
  if (start < 0)
    start += dim;
  if (end < 0)
    end = end <= std::numeric_limits<int64_t>::min() + dim ? -1 : end + dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
  }
  int64_t len = step > 0 ? ceilDiv(std::max<int64_t>(end - start, 0), step)
                         : ceilDiv(std::max<int64_t>(start - end, 0), -step);
  return {start, step, len};
}

/// Per-axis ranges of a slice (axes normalized, steps defaulted).
static LogicalResult sliceParams(Loc loc, RankedTensorType in,
                                 ArrayRef<int64_t> starts,
                                 ArrayRef<int64_t> ends,
                                 std::optional<ArrayRef<int64_t>> axesAttr,
                                 std::optional<ArrayRef<int64_t>> stepsAttr,
                                 SmallVectorImpl<int64_t> &axes,
                                 SmallVectorImpl<int64_t> &steps) {
  size_t n = starts.size();
  if (ends.size() != n)
    return fail(loc, "starts and ends differ in length");
  if (axesAttr) {
    if (axesAttr->size() != n)
      return fail(loc, "axes and starts differ in length");
    auto norm = normAxes(loc, *axesAttr, in.getRank());
    if (failed(norm))
      return failure();
    axes.assign(norm->begin(), norm->end());
  } else {
    if (n > (size_t)in.getRank())
      return fail(loc, "more slice bounds than dims");
    axes = llvm::to_vector(llvm::seq<int64_t>(0, n));
  }
  if (stepsAttr) {
    if (stepsAttr->size() != n)
      return fail(loc, "steps and starts differ in length");
    steps.assign(stepsAttr->begin(), stepsAttr->end());
  } else {
    steps.assign(n, 1);
  }
  if (llvm::is_contained(steps, 0))
    return fail(loc, "slice steps must be non-zero");
  return success();
}

MP_INFER(SliceOp) {
  RankedTensorType in = tensorOf(a.getData());
  SmallVector<int64_t> axes, steps;
  if (failed(sliceParams(loc, in, a.getStarts(), a.getEnds(), a.getAxes(),
                         a.getSteps(), axes, steps)))
    return failure();
  SmallVector<int64_t> shape(in.getShape());
  for (auto [i, ax] : llvm::enumerate(axes)) {
    int64_t d = in.getDimSize(ax);
    shape[ax] = ShapedType::isDynamic(d)
                    ? kDyn
                    : sliceRange(d, a.getStarts()[i], a.getEnds()[i], steps[i])
                          .length;
  }
  out.push_back(in.clone(shape));
  return success();
}

MP_INFER(GatherOp) {
  RankedTensorType in = tensorOf(a.getData());
  if (in.getRank() < 1)
    return fail(loc, "gather needs data of rank >= 1");
  auto axis = normAxis(loc, a.getAxis(), in.getRank());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(in.getShape().take_front(*axis));
  llvm::append_range(shape, tensorOf(a.getIndices()).getShape());
  llvm::append_range(shape, in.getShape().drop_front(*axis + 1));
  out.push_back(in.clone(shape));
  return success();
}

MP_INFER(GatherElementsOp) {
  RankedTensorType in = tensorOf(a.getData());
  RankedTensorType idx = tensorOf(a.getIndices());
  if (idx.getRank() != in.getRank())
    return fail(loc, "indices must have the rank of data");
  if (failed(normAxis(loc, a.getAxis(), in.getRank())))
    return failure();
  out.push_back(in.clone(idx.getShape()));
  return success();
}

static LogicalResult checkReduction(Loc loc, StringRef r) {
  if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min")
    return fail(loc, "unknown reduction \"" + r + "\"");
  return success();
}

MP_INFER(ScatterElementsOp) {
  RankedTensorType in = tensorOf(a.getData());
  RankedTensorType idx = tensorOf(a.getIndices());
  RankedTensorType upd = tensorOf(a.getUpdates());
  if (idx.getRank() != in.getRank() ||
      failed(verifyCompatibleShape(idx.getShape(), upd.getShape())))
    return fail(loc, "indices and updates must have one shape and the rank "
                     "of data");
  if (upd.getElementType() != in.getElementType())
    return fail(loc, "updates must have the element type of data");
  if (failed(normAxis(loc, a.getAxis(), in.getRank())) ||
      failed(checkReduction(loc, a.getReduction())))
    return failure();
  out.push_back(in);
  return success();
}

MP_INFER(ScatterNDOp) {
  RankedTensorType in = tensorOf(a.getData());
  RankedTensorType idx = tensorOf(a.getIndices());
  RankedTensorType upd = tensorOf(a.getUpdates());
  if (idx.getRank() < 1 || idx.isDynamicDim(idx.getRank() - 1))
    return fail(loc, "indices must have rank >= 1 and a static last dim");
  int64_t k = idx.getDimSize(idx.getRank() - 1);
  if (k > in.getRank())
    return fail(loc, "indices address " + Twine(k) + " dims of a rank-" +
                         Twine(in.getRank()) + " tensor");
  SmallVector<int64_t> expect(idx.getShape().drop_back());
  llvm::append_range(expect, in.getShape().drop_front(k));
  if (failed(verifyCompatibleShape(expect, upd.getShape())))
    return fail(loc, "updates " + shapeStr(upd.getShape()) +
                         " must have shape " + shapeStr(expect));
  if (upd.getElementType() != in.getElementType())
    return fail(loc, "updates must have the element type of data");
  if (failed(checkReduction(loc, a.getReduction())))
    return failure();
  out.push_back(in);
  return success();
}

MP_INFER(ExpandOp) {
  RankedTensorType in = tensorOf(a.getInput());
  auto len = shapeOperandLength(loc, a.getShape());
  if (failed(len))
    return failure();
  std::optional<SmallVector<int64_t>> req = constInts(a.getShape());
  if (!req) {
    out.push_back(
        in.clone(SmallVector<int64_t>(std::max(*len, in.getRank()), kDyn)));
    return success();
  }
  auto shape = broadcast(loc, {in.getShape(), *req});
  if (failed(shape))
    return failure();
  out.push_back(in.clone(*shape));
  return success();
}

MP_INFER(TriluOp) {
  if (tensorOf(a.getInput()).getRank() < 2)
    return fail(loc, "trilu needs rank >= 2");
  out.push_back(a.getInput().getType());
  return success();
}

MP_INFER(PadOp) {
  RankedTensorType in = tensorOf(a.getData());
  ArrayRef<int64_t> pads = a.getPads();
  int64_t r = in.getRank();
  if ((int64_t)pads.size() != 2 * r)
    return fail(loc, "pads has " + Twine(pads.size()) +
                         " entries, expected 2 x rank = " + Twine(2 * r));
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < r; ++i) {
    int64_t d = in.getDimSize(i);
    if (ShapedType::isDynamic(d)) {
      shape.push_back(kDyn);
      continue;
    }
    auto big = [](int64_t v) {
      return v > kMaxShapeValue || v < -kMaxShapeValue;
    };
    if (big(pads[i]) || big(pads[i + r]))
      return fail(loc, "pads " + shapeStr(pads) + " are too large");
    int64_t o = d + pads[i] + pads[i + r];
    if (o < 0)
      return fail(loc, "pads " + shapeStr(pads) + " crop dim " + Twine(i) +
                           " of size " + Twine(d) + " below zero");
    shape.push_back(o);
  }
  out.push_back(in.clone(shape));
  return success();
}

/// The [start, end) dims that Shape-15 returns.
static std::pair<int64_t, int64_t> shapeBounds(int64_t rank, int64_t start,
                                               std::optional<int64_t> end) {
  int64_t e = end.value_or(rank);
  if (start < 0)
    start += rank;
  if (e < 0)
    e += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  e = std::clamp<int64_t>(e, 0, rank);
  return {start, std::max(start, e)};
}

MP_INFER(ShapeOp) {
  auto [s, e] = shapeBounds(tensorOf(a.getData()).getRank(), a.getStart(),
                            a.getEnd());
  out.push_back(tensor({e - s}, IntegerType::get(ctx, 64)));
  return success();
}

MP_INFER(SizeOp) {
  out.push_back(tensor({}, IntegerType::get(ctx, 64)));
  return success();
}

MP_INFER(RangeOp) {
  if (failed(sameElementType(loc, {a.getStart(), a.getLimit(), a.getDelta()},
                             "start, limit and delta")))
    return failure();
  for (Value v : {a.getStart(), a.getLimit(), a.getDelta()})
    if (tensorOf(v).getRank() != 0)
      return fail(loc, "range operands must be scalars (rank 0)");
  int64_t n = kDyn;
  DenseElementsAttr s, l, d;
  if (matchPattern(a.getStart(), m_Constant(&s)) &&
      matchPattern(a.getLimit(), m_Constant(&l)) &&
      matchPattern(a.getDelta(), m_Constant(&d))) {
    auto get = [](DenseElementsAttr x) {
      return isa<FloatType>(x.getElementType())
                 ? (*x.getValues<APFloat>().begin()).convertToDouble()
                 : (double)(*x.getValues<APInt>().begin()).getSExtValue();
    };
    double ds = get(s), dl = get(l), dd = get(d);
    if (dd == 0)
      return fail(loc, "range delta is zero");
    double count = std::ceil((dl - ds) / dd);
    // A NaN, infinite or absurd count is not a shape (and converting it to
    // int64 would be undefined behaviour).
    if (!(count < double(kMaxShapeValue)))
      return fail(loc, "range has too many elements");
    // An empty range (count <= 0, however negative) has no elements.
    n = count > 0 ? (int64_t)count : 0;
  }
  out.push_back(tensor({n}, getElementTypeOrSelf(a.getStart())));
  return success();
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

MP_INFER(ConstantOp) {
  auto t = dyn_cast<RankedTensorType>(a.getValue().getType());
  if (!t)
    return fail(loc, "constant value must be a ranked tensor");
  out.push_back(t);
  return success();
}

MP_INFER(ConstantOfShapeOp) {
  auto len = shapeOperandLength(loc, a.getInput());
  if (failed(len))
    return failure();
  Type elt = Float32Type::get(ctx);
  if (auto v = a.getValue()) {
    if (v->getNumElements() != 1)
      return fail(loc, "'value' must hold exactly one element");
    elt = v->getElementType();
  }
  SmallVector<int64_t> shape(*len, kDyn);
  if (auto req = constInts(a.getInput())) {
    if (llvm::any_of(*req, [](int64_t d) { return d < 0; }))
      return fail(loc, "shape " + shapeStr(*req) + " has a negative dim");
    shape = *req;
  }
  out.push_back(tensor(shape, elt));
  return success();
}

//===----------------------------------------------------------------------===//
// Training-mode ops and losses
//===----------------------------------------------------------------------===//

MP_INFER(DropoutOp) {
  float r = a.getRatio().convertToFloat();
  if (!(r >= 0.0f && r < 1.0f))
    return fail(loc, "ratio must be in [0, 1), got " + std::to_string(r));
  if (!isFloat(a.getData().getType()))
    return fail(loc, "dropout needs a floating-point operand");
  RankedTensorType t = tensorOf(a.getData());
  out.push_back(t);
  out.push_back(t.clone(IntegerType::get(ctx, 1)));
  return success();
}

/// Shared shape rules of SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss.
static LogicalResult inferLoss(Loc loc, Value scores, Value labels,
                               Value weights, StringRef reduction,
                               SmallVectorImpl<Type> &out) {
  RankedTensorType st = tensorOf(scores);
  RankedTensorType lt = tensorOf(labels);
  if (!isFloat(st) || st.getRank() < 2)
    return fail(loc, "scores must be floating-point N x C x D...");
  SmallVector<int64_t> expect = {st.getDimSize(0)};
  llvm::append_range(expect, st.getShape().drop_front(2));
  if (failed(verifyCompatibleShape(expect, lt.getShape())))
    return fail(loc, "labels " + shapeStr(lt.getShape()) +
                         " must have shape N x D... = " + shapeStr(expect));
  if (weights) {
    RankedTensorType wt = tensorOf(weights);
    if (wt.getRank() != 1 ||
        failed(verifyCompatibleShape(wt.getShape(), {st.getDimSize(1)})) ||
        wt.getElementType() != st.getElementType())
      return fail(loc, "weights must be 1-D of size C with the scores' type");
  }
  if (reduction == "none")
    out.push_back(lt.clone(st.getElementType()));
  else if (reduction == "mean" || reduction == "sum")
    out.push_back(tensor({}, st.getElementType()));
  else
    return fail(loc, "reduction must be none, mean or sum, got \"" + reduction +
                         "\"");
  return success();
}

MP_INFER(SoftmaxCrossEntropyLossOp) {
  if (failed(inferLoss(loc, a.getScores(), a.getLabels(), a.getWeights(),
                       a.getReduction(), out)))
    return failure();
  out.push_back(a.getScores().getType());
  return success();
}

MP_INFER(NegativeLogLikelihoodLossOp) {
  return inferLoss(loc, a.getInput(), a.getTarget(), a.getWeight(),
                   a.getReduction(), out);
}

#undef MP_INFER

#define GET_OP_CLASSES
#include "mp/Dialect/MP/IR/MPOps.cpp.inc"
