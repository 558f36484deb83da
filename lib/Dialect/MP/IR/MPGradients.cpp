//===- MPGradients.cpp - gradient rules of every mp op --------------------===//
//
// GradientOpInterface external models for every op of the dialect: the
// vector-Jacobian product of each op, built from forward ops where that is
// both fast and stable (elementwise math, broadcasting reductions, matmul and
// gemm, shape ops, embedding lookups as scatter-add), and from the dedicated
// gradient ops of MPTrainingOps.td otherwise (losses, softmax, norms, conv,
// pooling, GELU, slice). Every op built here gets `getGradientLoc(forward)`.
//
// Conventions: a result gradient may be null (zero); integer, bool and shape
// operands get a null gradient; gradients w.r.t. broadcast operands are
// reduced (mp.reduce_sum over the broadcast dims, then mp.reshape) to the
// operand's exact type. Rules that need static shapes (window ops, slices,
// scatter_nd) fail with an error naming the op when the shape is dynamic.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPInterfaces.h"
#include "mp/Dialect/MP/IR/MPOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <numeric>

using namespace mlir;
using namespace mp;

#include "mp/Dialect/MP/IR/MPInterfaces.cpp.inc"

Location mp::getGradientLoc(Operation *forward) {
  MLIRContext *ctx = forward->getContext();
  if (isGradientLoc(forward->getLoc()))
    return forward->getLoc();
  return FusedLoc::get(ctx, {forward->getLoc()},
                       StringAttr::get(ctx, kGradLocTag));
}

bool mp::isGradientLoc(Location loc) {
  auto f = dyn_cast<FusedLoc>(loc);
  auto tag = f ? dyn_cast_or_null<StringAttr>(f.getMetadata()) : StringAttr();
  return tag && tag.getValue() == kGradLocTag;
}

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }
Type eltOf(Value v) { return typeOf(v).getElementType(); }
bool isFloatValue(Value v) { return v && isa<FloatType>(eltOf(v)); }
bool hasStaticShape(Value v) { return typeOf(v).hasStaticShape(); }

/// An ONNX axis (I64Attr getters return it as uint64_t) in [0, rank).
int64_t normAxis(uint64_t axis, int64_t rank) {
  int64_t a = static_cast<int64_t>(axis);
  return a < 0 ? a + rank : a;
}

SmallVector<int64_t> iota(int64_t from, int64_t to) {
  return llvm::to_vector(llvm::seq<int64_t>(from, to));
}

/// Builds the ops of one gradient rule at the caller's insertion point, all
/// located at the forward op (FusedLoc tagged "grad").
class GradBuilder {
public:
  GradBuilder(OpBuilder &builder, Operation *op)
      : b(getGradientLoc(op), builder), op(op) {}

  ImplicitLocOpBuilder b;
  Operation *op;

  LogicalResult error(const Twine &msg) {
    return op->emitOpError("gradient: ") << msg;
  }

  NamedAttribute attr(StringRef name, Attribute value) {
    return b.getNamedAttr(name, value);
  }
  NamedAttribute i64(StringRef name, int64_t v) {
    return attr(name, b.getI64IntegerAttr(v));
  }
  NamedAttribute array(StringRef name, ArrayRef<int64_t> v) {
    return attr(name, b.getDenseI64ArrayAttr(v));
  }

  /// Creates an op with inferred result types from operands and (inherent)
  /// attributes, going through the op's properties.
  template <typename OpTy>
  OpTy make(ValueRange operands, ArrayRef<NamedAttribute> attrs = {}) {
    using Props = typename OpTy::Properties;
    if constexpr (std::is_same_v<Props, EmptyProperties>) {
      return OpTy::create(b, operands, attrs);
    } else {
      Props props;
      OpTy::populateDefaultProperties(
          OperationName(OpTy::getOperationName(), b.getContext()), props);
      if (!attrs.empty() && failed(OpTy::setPropertiesFromAttr(
                                props, b.getDictionaryAttr(attrs),
                                [&] { return emitError(b.getLoc()); })))
        return nullptr;
      return OpTy::create(b, operands, props);
    }
  }

  // Constants ---------------------------------------------------------------

  Value constant(RankedTensorType type, double v) {
    Attribute x =
        isa<FloatType>(type.getElementType())
            ? Attribute(b.getFloatAttr(type.getElementType(), v))
            : Attribute(b.getIntegerAttr(type.getElementType(), (int64_t)v));
    return ConstantOp::create(b, DenseElementsAttr::get(type, x));
  }
  Value scalar(Type elt, double v) {
    return constant(RankedTensorType::get({}, elt), v);
  }
  Value i64Vector(ArrayRef<int64_t> v) {
    auto type = RankedTensorType::get({(int64_t)v.size()}, b.getI64Type());
    return ConstantOp::create(b, DenseElementsAttr::get(type, v));
  }
  /// The shape of `v` as a 1-D i64 tensor (a constant when static).
  Value shapeOf(Value v) {
    if (hasStaticShape(v))
      return i64Vector(typeOf(v).getShape());
    return make<ShapeOp>(ValueRange{v}, ArrayRef<NamedAttribute>());
  }
  /// Zeros of `v`'s type.
  Value zerosLike(Value v) {
    RankedTensorType t = typeOf(v);
    if (t.hasStaticShape())
      return constant(t, 0.0);
    auto one = RankedTensorType::get({1}, t.getElementType());
    Attribute zero = b.getZeroAttr(t.getElementType());
    return make<ConstantOfShapeOp>(
        ValueRange{shapeOf(v)},
        {attr("value", DenseElementsAttr::get(one, zero))});
  }

  // Elementwise -------------------------------------------------------------

  Value add(Value x, Value y) { return AddOp::create(b, x, y); }
  Value sub(Value x, Value y) { return SubOp::create(b, x, y); }
  Value mul(Value x, Value y) { return MulOp::create(b, x, y); }
  Value div(Value x, Value y) { return DivOp::create(b, x, y); }
  Value neg(Value x) { return NegOp::create(b, x); }
  Value mulScalar(Value x, double s) {
    if (s == 1.0)
      return x;
    return mul(x, scalar(eltOf(x), s));
  }
  Value where(Value c, Value x, Value y) {
    return make<WhereOp>(ValueRange{c, x, y}, ArrayRef<NamedAttribute>());
  }
  Value castTo(Value x, Type elt) {
    if (eltOf(x) == elt)
      return x;
    return make<CastOp>(ValueRange{x}, {attr("to", TypeAttr::get(elt))});
  }
  /// `mask ? g : 0`, with the zero a scalar of g's type.
  Value select(Value mask, Value g) {
    return where(mask, g, scalar(eltOf(g), 0.0));
  }

  // Shapes ------------------------------------------------------------------

  /// The result of a reshape/expand to `like`'s shape gets `like`'s shape
  /// even when it is partly dynamic (the verifier accepts a result more
  /// static than the inferred one; the shape operand is `like`'s).
  Value refineTo(Value v, Value like) {
    auto lt = typeOf(like);
    if (typeOf(v).getShape() != lt.getShape())
      v.setType(typeOf(v).clone(lt.getShape()));
    return v;
  }
  Value reshapeTo(Value x, Value like) {
    if (x.getType() == like.getType())
      return x;
    return refineTo(make<ReshapeOp>(ValueRange{x, shapeOf(like)},
                                    ArrayRef<NamedAttribute>()),
                    like);
  }
  Value reshape(Value x, ArrayRef<int64_t> shape) {
    if (typeOf(x).getShape() == shape)
      return x;
    return make<ReshapeOp>(ValueRange{x, i64Vector(shape)},
                           ArrayRef<NamedAttribute>());
  }
  Value unsqueeze(Value x, ArrayRef<int64_t> axes) {
    if (axes.empty())
      return x;
    return make<UnsqueezeOp>(ValueRange{x}, {array("axes", axes)});
  }
  Value transpose(Value x, ArrayRef<int64_t> perm) {
    if (llvm::equal(perm, iota(0, perm.size())))
      return x;
    return make<TransposeOp>(ValueRange{x}, {array("perm", perm)});
  }
  Value reduceSum(Value x, ArrayRef<int64_t> axes, bool keepdims) {
    return make<ReduceSumOp>(ValueRange{x},
                             {array("axes", axes), i64("keepdims", keepdims)});
  }
  Value expandTo(Value x, Value like) {
    if (x.getType() == like.getType())
      return x;
    return refineTo(make<ExpandOp>(ValueRange{x, shapeOf(like)},
                                   ArrayRef<NamedAttribute>()),
                    like);
  }
  /// Sums a gradient of a broadcast result down to the shape of `like` (the
  /// broadcast operand) and gives it exactly `like`'s type.
  Value reduceTo(Value g, Value like) {
    RankedTensorType gt = typeOf(g), lt = typeOf(like);
    if (gt.getShape() == lt.getShape())
      return castTo(g, lt.getElementType());
    int64_t lead = gt.getRank() - lt.getRank();
    SmallVector<int64_t> axes = iota(0, std::max<int64_t>(lead, 0));
    for (int64_t i = 0; i < lt.getRank(); ++i)
      if (lt.getDimSize(i) == 1 && gt.getDimSize(lead + i) != 1)
        axes.push_back(lead + i);
    // Only leading dims reduced: keepdims = 0 already gives the shape.
    bool leadingOnly = lead > 0 && (int64_t)axes.size() == lead &&
                       gt.getShape().drop_front(lead) == lt.getShape();
    Value r = axes.empty() ? g : reduceSum(g, axes, /*keepdims=*/!leadingOnly);
    return castTo(reshapeTo(r, like), lt.getElementType());
  }
  /// Transpose of the last two dims.
  Value transposeLast2(Value x) {
    int64_t r = typeOf(x).getRank();
    SmallVector<int64_t> perm = iota(0, r);
    std::swap(perm[r - 1], perm[r - 2]);
    return transpose(x, perm);
  }
  /// Integer indices as i64 with negative values wrapped by `dim`.
  Value normalizeIndices(Value idx, Value dims) {
    Value i64 = castTo(idx, b.getI64Type());
    Value zero = scalar(b.getI64Type(), 0);
    Value isNeg = LessOp::create(b, i64, zero);
    return where(isNeg, add(i64, dims), i64);
  }
};

/// Window attributes of conv and pools with auto_pad resolved into pads.
struct Window {
  SmallVector<int64_t> kernel, strides, pads, dilations;
};

FailureOr<Window> resolveWindow(GradBuilder &g, Value x,
                                ArrayRef<int64_t> kernel,
                                std::optional<ArrayRef<int64_t>> strides,
                                std::optional<ArrayRef<int64_t>> pads,
                                std::optional<ArrayRef<int64_t>> dilations,
                                StringRef autoPad) {
  RankedTensorType xt = typeOf(x);
  size_t n = xt.getRank() - 2;
  Window w;
  w.kernel.assign(kernel.begin(), kernel.end());
  w.strides =
      strides ? SmallVector<int64_t>(*strides) : SmallVector<int64_t>(n, 1);
  w.dilations =
      dilations ? SmallVector<int64_t>(*dilations) : SmallVector<int64_t>(n, 1);
  w.pads = pads ? SmallVector<int64_t>(*pads) : SmallVector<int64_t>(2 * n, 0);
  for (size_t i = 0; i < n; ++i)
    if (xt.isDynamicDim(i + 2)) {
      (void)g.error("needs static spatial dims, got " +
                    llvm::formatv("{0}", xt).str());
      return failure();
    }
  if (autoPad == "VALID") {
    w.pads.assign(2 * n, 0);
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      int64_t in = xt.getDimSize(i + 2), s = w.strides[i];
      int64_t out = (in + s - 1) / s;
      int64_t eff = (w.kernel[i] - 1) * w.dilations[i] + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * s + eff - in);
      int64_t small = total / 2, large = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : large;
      w.pads[i + n] = autoPad == "SAME_UPPER" ? large : small;
    }
  }
  return w;
}

/// The shape of `x` as an attribute array (static spatial dims required;
/// the batch dim may be dynamic).
FailureOr<SmallVector<int64_t>> staticShape(GradBuilder &g, Value x,
                                            bool allowDynamicBatch) {
  RankedTensorType t = typeOf(x);
  for (int64_t i = allowDynamicBatch ? 1 : 0; i < t.getRank(); ++i)
    if (t.isDynamicDim(i)) {
      (void)g.error("needs a static shape, got " +
                    llvm::formatv("{0}", t).str());
      return failure();
    }
  return SmallVector<int64_t>(t.getShape());
}

using Grads = ArrayRef<Value>;
using Out = MutableArrayRef<Value>;

//===----------------------------------------------------------------------===//
// Rules. Each `grad` overload fills `out` (pre-sized to the operand count,
// all null) from the result gradients `gs` (at least one non-null).
//===----------------------------------------------------------------------===//

// Ops without a gradient: comparisons, logic, shape queries, constants.
template <typename OpTy> LogicalResult noGrad(OpTy, GradBuilder &, Grads, Out) {
  return success();
}

// Unary elementwise ---------------------------------------------------------

LogicalResult grad(NegOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getX()))
    out[0] = g.neg(gs[0]);
  return success();
}

LogicalResult grad(AbsOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX();
  if (!isFloatValue(x))
    return success();
  Value zero = g.scalar(eltOf(x), 0.0);
  Value pos = g.castTo(GreaterOp::create(g.b, x, zero), eltOf(x));
  Value negm = g.castTo(LessOp::create(g.b, x, zero), eltOf(x));
  out[0] = g.mul(gs[0], g.sub(pos, negm));
  return success();
}

LogicalResult grad(SqrtOp op, GradBuilder &g, Grads gs, Out out) {
  out[0] = g.div(g.mulScalar(gs[0], 0.5), op.getY());
  return success();
}

LogicalResult grad(ReciprocalOp op, GradBuilder &g, Grads gs, Out out) {
  Value y = op.getY();
  out[0] = g.neg(g.mul(gs[0], g.mul(y, y)));
  return success();
}

LogicalResult grad(ExpOp op, GradBuilder &g, Grads gs, Out out) {
  out[0] = g.mul(gs[0], op.getY());
  return success();
}

LogicalResult grad(LogOp op, GradBuilder &g, Grads gs, Out out) {
  out[0] = g.div(gs[0], op.getX());
  return success();
}

LogicalResult grad(ErfOp op, GradBuilder &g, Grads gs, Out out) {
  // d erf(x) = 2/sqrt(pi) * exp(-x^2)
  Value x = op.getX();
  Value e = ExpOp::create(g.b, g.neg(g.mul(x, x)));
  out[0] = g.mul(g.mulScalar(gs[0], 2.0 / std::sqrt(M_PI)), e);
  return success();
}

LogicalResult grad(TanhOp op, GradBuilder &g, Grads gs, Out out) {
  Value y = op.getY();
  Value one = g.scalar(eltOf(y), 1.0);
  out[0] = g.mul(gs[0], g.sub(one, g.mul(y, y)));
  return success();
}

LogicalResult grad(SigmoidOp op, GradBuilder &g, Grads gs, Out out) {
  Value y = op.getY();
  Value one = g.scalar(eltOf(y), 1.0);
  out[0] = g.mul(gs[0], g.mul(y, g.sub(one, y)));
  return success();
}

LogicalResult grad(ReluOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX();
  if (!isFloatValue(x))
    return success();
  // y > 0 exactly where x > 0 (NaN gives false either way). Reading the
  // result, which the next layer keeps for its own gradient anyway, lets
  // the input die after the forward relu (or never materialise, fused into
  // the producing matmul's epilogue).
  Value y = op.getY();
  Value pos = GreaterOp::create(g.b, y, g.scalar(eltOf(y), 0.0));
  out[0] = g.select(pos, gs[0]);
  return success();
}

LogicalResult grad(LeakyReluOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX();
  Value pos = GreaterOp::create(g.b, x, g.scalar(eltOf(x), 0.0));
  double alpha = op.getAlpha().convertToDouble();
  out[0] = g.where(pos, gs[0], g.mulScalar(gs[0], alpha));
  return success();
}

LogicalResult grad(GeluOp op, GradBuilder &g, Grads gs, Out out) {
  out[0] = g.make<GeluGradOp>(ValueRange{gs[0], op.getX()},
                              {g.attr("approximate", op.getApproximateAttr())});
  return success();
}

LogicalResult grad(IdentityOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getX()))
    out[0] = gs[0];
  return success();
}

LogicalResult grad(CastOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getInput()) && isFloatValue(op.getOutput()))
    out[0] = g.castTo(gs[0], eltOf(op.getInput()));
  return success();
}

LogicalResult grad(ClipOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getInput();
  if (!isFloatValue(x))
    return success();
  // PyTorch's clamp backward: the gradient passes where min <= x <= max.
  Value mask;
  if (auto lo = op.getMin())
    mask = GreaterOrEqualOp::create(g.b, x,
                                    g.scalar(eltOf(x), lo->convertToDouble()));
  if (auto hi = op.getMax()) {
    Value m = LessOrEqualOp::create(g.b, x,
                                    g.scalar(eltOf(x), hi->convertToDouble()));
    mask = mask ? Value(AndOp::create(g.b, mask, m)) : m;
  }
  out[0] = mask ? g.select(mask, gs[0]) : gs[0];
  return success();
}

LogicalResult grad(TriluOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getInput()))
    out[0] = g.make<TriluOp>(ValueRange{gs[0]},
                             {g.i64("upper", op.getUpper()),
                              g.i64("k", static_cast<int64_t>(op.getK()))});
  return success();
}

// Binary elementwise --------------------------------------------------------

LogicalResult grad(AddOp op, GradBuilder &g, Grads gs, Out out) {
  if (!isFloatValue(op.getA()))
    return success();
  out[0] = g.reduceTo(gs[0], op.getA());
  out[1] = g.reduceTo(gs[0], op.getB());
  return success();
}

LogicalResult grad(SubOp op, GradBuilder &g, Grads gs, Out out) {
  if (!isFloatValue(op.getA()))
    return success();
  out[0] = g.reduceTo(gs[0], op.getA());
  out[1] = g.reduceTo(g.neg(gs[0]), op.getB());
  return success();
}

LogicalResult grad(MulOp op, GradBuilder &g, Grads gs, Out out) {
  if (!isFloatValue(op.getA()))
    return success();
  out[0] = g.reduceTo(g.mul(gs[0], op.getB()), op.getA());
  out[1] = g.reduceTo(g.mul(gs[0], op.getA()), op.getB());
  return success();
}

LogicalResult grad(DivOp op, GradBuilder &g, Grads gs, Out out) {
  if (!isFloatValue(op.getA()))
    return success();
  Value b = op.getB();
  out[0] = g.reduceTo(g.div(gs[0], b), op.getA());
  // d(a/b)/db = -(a/b)/b
  out[1] = g.reduceTo(g.neg(g.div(g.mul(gs[0], op.getC()), b)), b);
  return success();
}

LogicalResult grad(PowOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX(), y = op.getY();
  if (!isFloatValue(x))
    return success();
  Type elt = eltOf(x);
  Value yx = g.castTo(y, elt);
  // dx = g * y * x^(y-1)
  Value ym1 = g.sub(yx, g.scalar(elt, 1.0));
  Value dpow = PowOp::create(g.b, x, ym1);
  out[0] = g.reduceTo(g.mul(gs[0], g.mul(yx, dpow)), x);
  // dy = g * x^y * ln(x)
  if (isFloatValue(y)) {
    Value d = g.mul(g.mul(gs[0], op.getZ()), LogOp::create(g.b, x));
    out[1] = g.reduceTo(d, y);
  }
  return success();
}

// Variadic ------------------------------------------------------------------

LogicalResult grad(SumOp op, GradBuilder &g, Grads gs, Out out) {
  for (auto [i, x] : llvm::enumerate(op.getData_0()))
    if (isFloatValue(x))
      out[i] = g.reduceTo(gs[0], x);
  return success();
}

/// Min/Max: the gradient goes to the inputs equal to the result, split
/// evenly between ties (as PyTorch's maximum/minimum).
LogicalResult gradMinMax(Operation *op, GradBuilder &g, Grads gs, Out out) {
  ValueRange xs = op->getOperands();
  Value y = op->getResult(0);
  if (!isFloatValue(y))
    return success();
  if (xs.size() == 1) {
    out[0] = gs[0];
    return success();
  }
  SmallVector<Value> masks;
  for (Value x : xs)
    masks.push_back(g.castTo(EqualOp::create(g.b, x, y), eltOf(y)));
  Value count = g.make<SumOp>(ValueRange(masks));
  Value share = g.div(gs[0], count);
  for (auto [i, x] : llvm::enumerate(xs))
    out[i] = g.reduceTo(g.mul(share, masks[i]), x);
  return success();
}
LogicalResult grad(MinOp op, GradBuilder &g, Grads gs, Out out) {
  return gradMinMax(op, g, gs, out);
}
LogicalResult grad(MaxOp op, GradBuilder &g, Grads gs, Out out) {
  return gradMinMax(op, g, gs, out);
}

LogicalResult grad(WhereOp op, GradBuilder &g, Grads gs, Out out) {
  if (!isFloatValue(op.getX()))
    return success();
  Value zero = g.scalar(eltOf(gs[0]), 0.0);
  out[1] = g.reduceTo(g.where(op.getCondition(), gs[0], zero), op.getX());
  out[2] = g.reduceTo(g.where(op.getCondition(), zero, gs[0]), op.getY());
  return success();
}

// Contractions --------------------------------------------------------------

LogicalResult grad(MatMulOp op, GradBuilder &g, Grads gs, Out out) {
  Value a = op.getA(), b = op.getB(), gy = gs[0];
  if (!isFloatValue(a))
    return success();
  int64_t ra = typeOf(a).getRank(), rb = typeOf(b).getRank();
  // Promote 1-D operands and the gradient to the 2-D forms numpy uses.
  Value ap = ra == 1 ? g.unsqueeze(a, {0}) : a;
  Value bp = rb == 1 ? g.unsqueeze(b, {1}) : b;
  int64_t rg = typeOf(gy).getRank();
  Value gp = gy;
  if (ra == 1 && rb == 1)
    gp = g.unsqueeze(gy, {0, 1});
  else if (ra == 1)
    gp = g.unsqueeze(gy, {rg - 1});
  else if (rb == 1)
    gp = g.unsqueeze(gy, {rg});
  int64_t rgp = typeOf(gp).getRank();

  // dA = g @ B^T, summed over broadcast batch dims.
  out[0] = g.reshapeTo(
      g.reduceTo(MatMulOp::create(g.b, gp, g.transposeLast2(bp)), ap), a);

  // dB = A^T @ g. When B is an unbatched matrix and A is batched, fold A's
  // batch dims into its rows: one [K, rows] x [rows, N] matmul instead of a
  // batched matmul and a reduction.
  RankedTensorType apt = typeOf(ap), gpt = typeOf(gp);
  if (rb <= 2 && rgp > 2 && apt.getRank() == rgp && apt.hasStaticShape() &&
      gpt.hasStaticShape()) {
    int64_t k = apt.getDimSize(apt.getRank() - 1);
    int64_t n = gpt.getDimSize(rgp - 1);
    Value a2 = g.reshape(ap, {apt.getNumElements() / k, k});
    Value g2 = g.reshape(gp, {gpt.getNumElements() / n, n});
    out[1] = g.reshapeTo(MatMulOp::create(g.b, g.transposeLast2(a2), g2), b);
  } else {
    out[1] = g.reshapeTo(
        g.reduceTo(MatMulOp::create(g.b, g.transposeLast2(ap), gp), bp), b);
  }
  return success();
}

LogicalResult grad(GemmOp op, GradBuilder &g, Grads gs, Out out) {
  Value a = op.getA(), b = op.getB(), gy = gs[0];
  if (!isFloatValue(a))
    return success();
  bool ta = op.getTransA(), tb = op.getTransB();
  double alpha = op.getAlpha().convertToDouble();
  double beta = op.getBeta().convertToDouble();
  auto gemm = [&](Value x, Value y, bool tx, bool ty) -> Value {
    return g.make<GemmOp>(ValueRange{x, y},
                          {g.attr("alpha", g.b.getF32FloatAttr(alpha)),
                           g.i64("transA", tx), g.i64("transB", ty)});
  };
  // Y = alpha op(A) op(B): d op(A) = alpha g op(B)^T, d op(B) = alpha op(A)^T
  // g.
  out[0] = ta ? gemm(b, gy, tb, true) : gemm(gy, b, false, !tb);
  out[1] = tb ? gemm(gy, a, true, ta) : gemm(a, gy, !ta, false);
  if (Value c = op.getC())
    out[2] = g.reduceTo(g.mulScalar(gy, beta), c);
  return success();
}

LogicalResult grad(ConvOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX(), w = op.getW(), gy = gs[0];
  if (!isFloatValue(x))
    return success();
  SmallVector<int64_t> kernel(typeOf(w).getShape().drop_front(2));
  if (auto k = op.getKernelShape())
    kernel.assign(k->begin(), k->end());
  auto win = resolveWindow(g, x, kernel, op.getStrides(), op.getPads(),
                           op.getDilations(), op.getAutoPad());
  if (failed(win))
    return failure();
  auto xshape = staticShape(g, x, /*allowDynamicBatch=*/true);
  if (failed(xshape))
    return failure();
  SmallVector<NamedAttribute> attrs = {
      g.array("kernel_shape", win->kernel), g.array("strides", win->strides),
      g.array("pads", win->pads), g.array("dilations", win->dilations),
      g.i64("group", op.getGroup())};
  SmallVector<NamedAttribute> inAttrs(attrs);
  inAttrs.push_back(g.array("input_shape", *xshape));
  out[0] = g.make<ConvGradInputOp>(ValueRange{gy, w}, inAttrs);
  out[1] = g.make<ConvGradFilterOp>(ValueRange{x, gy}, attrs);
  if (Value bias = op.getB()) {
    SmallVector<int64_t> axes = {0};
    llvm::append_range(axes, iota(2, typeOf(gy).getRank()));
    out[2] = g.reduceTo(g.reduceSum(gy, axes, /*keepdims=*/false), bias);
  }
  return success();
}

// Normalization, softmax, pooling -------------------------------------------

LogicalResult grad(SoftmaxOp op, GradBuilder &g, Grads gs, Out out) {
  out[0] = g.make<SoftmaxGradOp>(
      ValueRange{gs[0], op.getOutput()},
      {g.i64("axis", static_cast<int64_t>(op.getAxis()))});
  return success();
}

LogicalResult grad(LogSoftmaxOp op, GradBuilder &g, Grads gs, Out out) {
  out[0] = g.make<LogSoftmaxGradOp>(
      ValueRange{gs[0], op.getOutput()},
      {g.i64("axis", static_cast<int64_t>(op.getAxis()))});
  return success();
}

LogicalResult grad(LayerNormOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX();
  RankedTensorType xt = typeOf(x);
  int64_t axis = normAxis(op.getAxis(), xt.getRank());
  Type elt = xt.getElementType();
  Value dx;
  if (gs[0]) {
    auto lg = g.make<LayerNormGradOp>(
        ValueRange{gs[0], x, op.getScale(), op.getMean(), op.getInvStdDev()},
        {g.i64("axis", axis)});
    dx = lg.getDX();
    out[1] = g.reduceTo(lg.getDScale(), op.getScale());
    if (Value bias = op.getB())
      out[2] = g.reduceTo(g.castTo(lg.getDB(), eltOf(bias)), bias);
  }
  // The saved statistics are results too; their gradients (rarely used)
  // flow to X: d mean/dx = 1/n, d invstd/dx = -invstd^3 (x - mean) / n.
  int64_t n = 1;
  for (int64_t d : xt.getShape().drop_front(axis))
    n = ShapedType::isDynamic(d) || n == kDyn ? kDyn : n * d;
  if ((gs[1] || gs[2]) && n == kDyn)
    return g.error("needs static normalized dims to differentiate Mean or "
                   "InvStdDev");
  auto accumulate = [&](Value v) {
    v = g.expandTo(g.castTo(v, elt), x);
    dx = dx ? g.add(dx, v) : v;
  };
  if (gs[1])
    accumulate(g.mulScalar(gs[1], 1.0 / n));
  if (gs[2]) {
    Value inv = op.getInvStdDev();
    Value inv3 = g.mul(inv, g.mul(inv, inv));
    Value centered = g.sub(g.castTo(x, eltOf(inv)), op.getMean());
    accumulate(
        g.mul(g.mulScalar(g.neg(g.mul(gs[2], inv3)), 1.0 / n), centered));
  }
  out[0] = dx;
  return success();
}

LogicalResult grad(BatchNormOp op, GradBuilder &g, Grads gs, Out out) {
  // The running statistics (results 1, 2) are state, not differentiated;
  // input_mean / input_var are buffers and get no gradient.
  if (!gs[0])
    return success();
  Value x = op.getX(), gy = gs[0], scale = op.getScale();
  RankedTensorType xt = typeOf(x);
  Type elt = xt.getElementType();
  if (op.getTrainingMode()) {
    auto bg = g.make<BatchNormGradOp>(ValueRange{gy, x, scale},
                                      {g.attr("epsilon", op.getEpsilonAttr())});
    out[0] = bg.getDX();
    out[1] = bg.getDscale();
    out[2] = g.castTo(bg.getDB(), eltOf(op.getB()));
    return success();
  }
  // Inference mode: Y = scale * (X - mean) * invstd + B with fixed statistics.
  SmallVector<int64_t> cshape(xt.getRank(), 1);
  cshape[1] = xt.getDimSize(1);
  if (ShapedType::isDynamic(cshape[1]))
    return g.error("needs a static channel dim");
  SmallVector<int64_t> axes = {0};
  llvm::append_range(axes, iota(2, xt.getRank()));
  Value var = op.getInputVar();
  Value eps = g.scalar(eltOf(var), op.getEpsilon().convertToDouble());
  Value inv = ReciprocalOp::create(g.b, SqrtOp::create(g.b, g.add(var, eps)));
  Value invc = g.castTo(g.reshape(inv, cshape), elt);
  Value scalec = g.castTo(g.reshape(scale, cshape), elt);
  Value meanc = g.castTo(g.reshape(op.getInputMean(), cshape), elt);
  out[0] = g.mul(gy, g.mul(scalec, invc));
  Value xhat = g.mul(g.sub(x, meanc), invc);
  out[1] = g.castTo(g.reduceSum(g.mul(gy, xhat), axes, false), eltOf(scale));
  out[2] = g.castTo(g.reduceSum(gy, axes, false), eltOf(op.getB()));
  return success();
}

LogicalResult grad(MaxPoolOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX();
  if (!isFloatValue(x))
    return success();
  auto win = resolveWindow(g, x, op.getKernelShape(), op.getStrides(),
                           op.getPads(), op.getDilations(), op.getAutoPad());
  if (failed(win))
    return failure();
  bool same = op.getAutoPad() != "NOTSET" && op.getAutoPad() != "VALID";
  out[0] = g.make<MaxPoolGradOp>(
      ValueRange{gs[0], x},
      {g.array("kernel_shape", win->kernel), g.array("strides", win->strides),
       g.array("pads", win->pads), g.array("dilations", win->dilations),
       g.i64("ceil_mode", same ? 0 : op.getCeilMode())});
  return success();
}

LogicalResult grad(AveragePoolOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX();
  auto win = resolveWindow(g, x, op.getKernelShape(), op.getStrides(),
                           op.getPads(), op.getDilations(), op.getAutoPad());
  if (failed(win))
    return failure();
  auto xshape = staticShape(g, x, /*allowDynamicBatch=*/false);
  if (failed(xshape))
    return failure();
  bool same = op.getAutoPad() != "NOTSET" && op.getAutoPad() != "VALID";
  out[0] = g.make<AveragePoolGradOp>(
      ValueRange{gs[0]},
      {g.array("input_shape", *xshape), g.array("kernel_shape", win->kernel),
       g.array("strides", win->strides), g.array("pads", win->pads),
       g.array("dilations", win->dilations),
       g.i64("ceil_mode", same ? 0 : op.getCeilMode()),
       g.i64("count_include_pad", op.getCountIncludePad())});
  return success();
}

LogicalResult grad(GlobalAveragePoolOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getX();
  RankedTensorType xt = typeOf(x);
  int64_t n = 1;
  for (int64_t d : xt.getShape().drop_front(2)) {
    if (ShapedType::isDynamic(d))
      return g.error("needs static spatial dims");
    n *= d;
  }
  out[0] = g.expandTo(g.mulScalar(gs[0], 1.0 / n), x);
  return success();
}

// Reductions ----------------------------------------------------------------

/// The reduced axes of a reduction (normalized, sorted), or all dims.
SmallVector<int64_t> reducedAxes(std::optional<ArrayRef<int64_t>> axes,
                                 int64_t rank) {
  if (!axes || axes->empty())
    return iota(0, rank);
  SmallVector<int64_t> out;
  for (int64_t a : *axes)
    out.push_back(a < 0 ? a + rank : a);
  llvm::sort(out);
  return out;
}

/// A reduction's result (or its gradient) with the reduced dims restored
/// as size 1, so it broadcasts against the input.
template <typename OpTy> Value keepDims(OpTy op, GradBuilder &g, Value v) {
  if (op.getKeepdims())
    return v;
  return g.unsqueeze(v,
                     reducedAxes(op.getAxes(), typeOf(op.getData()).getRank()));
}

template <typename OpTy> bool isNoopReduce(OpTy op) {
  return (!op.getAxes() || op.getAxes()->empty()) && op.getNoopWithEmptyAxes();
}

LogicalResult grad(ReduceSumOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getData();
  if (!isFloatValue(x))
    return success();
  out[0] = isNoopReduce(op) ? gs[0] : g.expandTo(keepDims(op, g, gs[0]), x);
  return success();
}

LogicalResult grad(ReduceMeanOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getData();
  if (isNoopReduce(op)) {
    out[0] = gs[0];
    return success();
  }
  RankedTensorType xt = typeOf(x);
  int64_t n = 1;
  for (int64_t a : reducedAxes(op.getAxes(), xt.getRank())) {
    if (xt.isDynamicDim(a))
      return g.error("needs static reduced dims");
    n *= xt.getDimSize(a);
  }
  out[0] = g.expandTo(keepDims(op, g, g.mulScalar(gs[0], 1.0 / n)), x);
  return success();
}

LogicalResult grad(ReduceMaxOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getData();
  if (!isFloatValue(x))
    return success();
  if (isNoopReduce(op)) {
    out[0] = gs[0];
    return success();
  }
  // Split evenly between the maxima (PyTorch's amax).
  SmallVector<int64_t> axes = reducedAxes(op.getAxes(), typeOf(x).getRank());
  Value mask = g.castTo(
      EqualOp::create(g.b, x, keepDims(op, g, op.getReduced())), eltOf(x));
  Value count = g.reduceSum(mask, axes, /*keepdims=*/true);
  out[0] = g.mul(mask, g.div(keepDims(op, g, gs[0]), count));
  return success();
}

// Data movement ---------------------------------------------------------------

LogicalResult grad(ReshapeOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getData()))
    out[0] = g.reshapeTo(gs[0], op.getData());
  return success();
}

LogicalResult grad(FlattenOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getInput()))
    out[0] = g.reshapeTo(gs[0], op.getInput());
  return success();
}

LogicalResult grad(SqueezeOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getData()))
    out[0] = g.reshapeTo(gs[0], op.getData());
  return success();
}

LogicalResult grad(UnsqueezeOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getData()))
    out[0] = g.reshapeTo(gs[0], op.getData());
  return success();
}

LogicalResult grad(ExpandOp op, GradBuilder &g, Grads gs, Out out) {
  if (isFloatValue(op.getInput()))
    out[0] = g.reduceTo(gs[0], op.getInput());
  return success();
}

LogicalResult grad(TransposeOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getData();
  if (!isFloatValue(x))
    return success();
  int64_t r = typeOf(x).getRank();
  SmallVector<int64_t> perm = op.getPerm()
                                  ? SmallVector<int64_t>(*op.getPerm())
                                  : llvm::to_vector(llvm::reverse(iota(0, r)));
  SmallVector<int64_t> inverse(r);
  for (int64_t i = 0; i < r; ++i)
    inverse[perm[i]] = i;
  out[0] = g.transpose(gs[0], inverse);
  return success();
}

LogicalResult grad(ConcatOp op, GradBuilder &g, Grads gs, Out out) {
  ValueRange ins = op.getInputs();
  if (!isFloatValue(ins.front()))
    return success();
  int64_t r = typeOf(ins.front()).getRank();
  int64_t axis = normAxis(op.getAxis(), r);
  SmallVector<int64_t> sizes;
  for (Value v : ins) {
    if (typeOf(v).isDynamicDim(axis))
      return g.error("needs static sizes along the concat axis");
    sizes.push_back(typeOf(v).getDimSize(axis));
  }
  if (ins.size() == 1) {
    out[0] = gs[0];
    return success();
  }
  auto split = g.make<SplitOp>(ValueRange{gs[0]},
                               {g.i64("axis", axis), g.array("split", sizes)});
  for (auto [i, v] : llvm::enumerate(split.getOutputs()))
    out[i] = v;
  return success();
}

LogicalResult grad(SplitOp op, GradBuilder &g, Grads gs, Out out) {
  if (!isFloatValue(op.getInput()))
    return success();
  SmallVector<Value> parts;
  for (auto [r, gr] : llvm::zip(op.getOutputs(), gs))
    parts.push_back(gr ? gr : g.zerosLike(r));
  int64_t rank = typeOf(op.getInput()).getRank();
  int64_t axis = normAxis(op.getAxis(), rank);
  out[0] =
      parts.size() == 1
          ? parts[0]
          : Value(g.make<ConcatOp>(ValueRange(parts), {g.i64("axis", axis)}));
  return success();
}

LogicalResult grad(PadOp op, GradBuilder &g, Grads gs, Out out) {
  // Padding by -pads crops what was added and zero-pads what was cropped.
  if (!isFloatValue(op.getData()))
    return success();
  SmallVector<int64_t> pads;
  for (int64_t p : op.getPads())
    pads.push_back(-p);
  out[0] = g.make<PadOp>(ValueRange{gs[0]}, {g.array("pads", pads)});
  return success();
}

LogicalResult grad(SliceOp op, GradBuilder &g, Grads gs, Out out) {
  Value x = op.getData();
  if (!isFloatValue(x))
    return success();
  auto shape = staticShape(g, x, /*allowDynamicBatch=*/false);
  if (failed(shape))
    return failure();
  SmallVector<NamedAttribute> attrs = {g.array("input_shape", *shape),
                                       g.attr("starts", op.getStartsAttr()),
                                       g.attr("ends", op.getEndsAttr())};
  if (op.getAxesAttr())
    attrs.push_back(g.attr("axes", op.getAxesAttr()));
  if (op.getStepsAttr())
    attrs.push_back(g.attr("steps", op.getStepsAttr()));
  out[0] = g.make<SliceGradOp>(ValueRange{gs[0]}, attrs);
  return success();
}

LogicalResult grad(GatherOp op, GradBuilder &g, Grads gs, Out out) {
  // The embedding backward: scatter-add the rows of the gradient into zeros
  // of the table (mp.scatter_nd, reduction add), moving `axis` to the front
  // first when it is not already there.
  Value data = op.getData(), gy = gs[0];
  if (!isFloatValue(data))
    return success();
  RankedTensorType dt = typeOf(data);
  int64_t r = dt.getRank(), axis = normAxis(op.getAxis(), r);
  int64_t q = typeOf(op.getIndices()).getRank();
  if (dt.isDynamicDim(axis))
    return g.error("needs a static size of the gathered axis");
  Value idx = g.normalizeIndices(
      op.getIndices(), g.scalar(g.b.getI64Type(), dt.getDimSize(axis)));
  idx = g.unsqueeze(idx, {q});
  // Move the indexed dims of the gradient and `axis` of the table to the front.
  SmallVector<int64_t> gperm = iota(axis, axis + q);
  llvm::append_range(gperm, iota(0, axis));
  llvm::append_range(gperm, iota(axis + q, typeOf(gy).getRank()));
  SmallVector<int64_t> dperm = {axis};
  llvm::append_range(dperm, iota(0, axis));
  llvm::append_range(dperm, iota(axis + 1, r));
  Value zeros = g.zerosLike(g.transpose(data, dperm));
  Value scattered =
      g.make<ScatterNDOp>(ValueRange{zeros, idx, g.transpose(gy, gperm)},
                          {g.attr("reduction", g.b.getStringAttr("add"))});
  SmallVector<int64_t> inverse(r);
  for (int64_t i = 0; i < r; ++i)
    inverse[dperm[i]] = i;
  out[0] = g.transpose(scattered, inverse);
  return success();
}

LogicalResult grad(GatherElementsOp op, GradBuilder &g, Grads gs, Out out) {
  Value data = op.getData();
  if (!isFloatValue(data))
    return success();
  RankedTensorType dt = typeOf(data);
  int64_t axis = normAxis(op.getAxis(), dt.getRank());
  if (dt.isDynamicDim(axis))
    return g.error("needs a static size of the gathered axis");
  Value idx = g.normalizeIndices(
      op.getIndices(), g.scalar(g.b.getI64Type(), dt.getDimSize(axis)));
  out[0] = g.make<ScatterElementsOp>(
      ValueRange{g.zerosLike(data), idx, gs[0]},
      {g.i64("axis", axis), g.attr("reduction", g.b.getStringAttr("add"))});
  return success();
}

LogicalResult grad(ScatterElementsOp op, GradBuilder &g, Grads gs, Out out) {
  Value data = op.getData(), upd = op.getUpdates();
  if (!isFloatValue(data))
    return success();
  StringRef red = op.getReduction();
  if (red != "none" && red != "add")
    return g.error("reduction \"" + red + "\" has no gradient rule");
  int64_t axis = normAxis(op.getAxis(), typeOf(data).getRank());
  // Overwritten positions of data get no gradient; updates read theirs.
  out[0] = red == "add"
               ? gs[0]
               : Value(g.make<ScatterElementsOp>(
                     ValueRange{gs[0], op.getIndices(), g.zerosLike(upd)},
                     {g.i64("axis", axis)}));
  out[2] = g.make<GatherElementsOp>(ValueRange{gs[0], op.getIndices()},
                                    {g.i64("axis", axis)});
  return success();
}

LogicalResult grad(ScatterNDOp op, GradBuilder &g, Grads gs, Out out) {
  Value data = op.getData(), upd = op.getUpdates(), idx = op.getIndices();
  if (!isFloatValue(data))
    return success();
  StringRef red = op.getReduction();
  if (red != "none" && red != "add")
    return g.error("reduction \"" + red + "\" has no gradient rule");
  RankedTensorType dt = typeOf(data), it = typeOf(idx);
  if (!dt.hasStaticShape())
    return g.error("needs a static data shape");
  out[0] =
      red == "add"
          ? gs[0]
          : Value(g.make<ScatterNDOp>(ValueRange{gs[0], idx, g.zerosLike(upd)},
                                      ArrayRef<NamedAttribute>()));
  // Gather the updates' gradient: linearize the k leading indexed dims of
  // data and gather rows of the flattened gradient.
  int64_t k = it.getDimSize(it.getRank() - 1);
  ArrayRef<int64_t> dims = dt.getShape();
  SmallVector<int64_t> strides(k, 1);
  for (int64_t j = k - 2; j >= 0; --j)
    strides[j] = strides[j + 1] * dims[j + 1];
  int64_t rows = k ? strides[0] * dims[0] : 1;
  Value norm = g.normalizeIndices(idx, g.i64Vector(dims.take_front(k)));
  Value lin = g.reduceSum(g.mul(norm, g.i64Vector(strides)), {it.getRank() - 1},
                          /*keepdims=*/false);
  SmallVector<int64_t> flat = {rows};
  llvm::append_range(flat, dims.drop_front(k));
  out[2] = g.reshapeTo(g.make<GatherOp>(ValueRange{g.reshape(gs[0], flat), lin},
                                        ArrayRef<NamedAttribute>()),
                       upd);
  return success();
}

// Training-mode ops and losses ------------------------------------------------

LogicalResult grad(DropoutOp op, GradBuilder &g, Grads gs, Out out) {
  if (!gs[0])
    return success();
  if (!op.getTrainingMode()) {
    out[0] = gs[0];
    return success();
  }
  double ratio = op.getRatio().convertToDouble();
  out[0] = g.select(op.getMask(), g.mulScalar(gs[0], 1.0 / (1.0 - ratio)));
  return success();
}

LogicalResult grad(SoftmaxCrossEntropyLossOp op, GradBuilder &g, Grads gs,
                   Out out) {
  Value d;
  if (gs[0]) {
    SmallVector<Value> operands = {gs[0], op.getLogProb(), op.getLabels()};
    if (op.getWeights())
      operands.push_back(op.getWeights());
    SmallVector<NamedAttribute> attrs = {
        g.attr("reduction", op.getReductionAttr())};
    if (op.getIgnoreIndexAttr())
      attrs.push_back(g.attr("ignore_index", op.getIgnoreIndexAttr()));
    d = g.make<SoftmaxCrossEntropyLossGradOp>(ValueRange(operands), attrs);
  }
  if (gs[1]) {
    Value d2 = g.make<LogSoftmaxGradOp>(ValueRange{gs[1], op.getLogProb()},
                                        {g.i64("axis", 1)});
    d = d ? g.add(d, d2) : d2;
  }
  out[0] = d;
  return success();
}

LogicalResult grad(NegativeLogLikelihoodLossOp op, GradBuilder &g, Grads gs,
                   Out out) {
  SmallVector<Value> operands = {gs[0], op.getInput(), op.getTarget()};
  if (op.getWeight())
    operands.push_back(op.getWeight());
  SmallVector<NamedAttribute> attrs = {
      g.attr("reduction", op.getReductionAttr())};
  if (op.getIgnoreIndexAttr())
    attrs.push_back(g.attr("ignore_index", op.getIgnoreIndexAttr()));
  out[0] = g.make<NegativeLogLikelihoodLossGradOp>(ValueRange(operands), attrs);
  return success();
}

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

/// Dispatches to the `grad` overload of the op.
template <typename OpTy>
struct GradModel
    : public GradientOpInterface::ExternalModel<GradModel<OpTy>, OpTy> {
  LogicalResult buildGradients(Operation *op, OpBuilder &builder,
                               ArrayRef<Value> resultGrads,
                               SmallVectorImpl<Value> &operandGrads) const {
    operandGrads.assign(op->getNumOperands(), Value());
    if (llvm::all_of(resultGrads, [](Value v) { return !v; }))
      return success();
    GradBuilder g(builder, op);
    return grad(cast<OpTy>(op), g, resultGrads, operandGrads);
  }
};

/// Ops whose operands never get a gradient (comparisons, logic, shape
/// queries, constants): all null.
template <typename OpTy>
struct NoGradModel
    : public GradientOpInterface::ExternalModel<NoGradModel<OpTy>, OpTy> {
  LogicalResult buildGradients(Operation *op, OpBuilder &, ArrayRef<Value>,
                               SmallVectorImpl<Value> &operandGrads) const {
    operandGrads.assign(op->getNumOperands(), Value());
    return success();
  }
};

/// Training ops (gradient ops, updates, scaler ops): differentiating through
/// them would be second-order; asking for it is an error.
template <typename OpTy>
struct SecondOrderModel
    : public GradientOpInterface::ExternalModel<SecondOrderModel<OpTy>, OpTy> {
  LogicalResult buildGradients(Operation *op, OpBuilder &,
                               ArrayRef<Value> resultGrads,
                               SmallVectorImpl<Value> &operandGrads) const {
    operandGrads.assign(op->getNumOperands(), Value());
    if (llvm::any_of(resultGrads, [](Value v) { return v; }))
      return op->emitOpError(
          "has no gradient rule (second-order differentiation is not "
          "supported)");
    return success();
  }
};

template <typename... OpTys> void attachGrad(MLIRContext &ctx) {
  (OpTys::template attachInterface<GradModel<OpTys>>(ctx), ...);
}
template <typename... OpTys> void attachNoGrad(MLIRContext &ctx) {
  (OpTys::template attachInterface<NoGradModel<OpTys>>(ctx), ...);
}
template <typename... OpTys> void attachSecondOrder(MLIRContext &ctx) {
  (OpTys::template attachInterface<SecondOrderModel<OpTys>>(ctx), ...);
}
} // namespace

void mp::registerGradientModels(MLIRContext &ctx) {
  attachGrad<NegOp, AbsOp, SqrtOp, ReciprocalOp, ExpOp, LogOp, ErfOp, TanhOp,
             SigmoidOp, ReluOp, LeakyReluOp, GeluOp, IdentityOp, CastOp, ClipOp,
             TriluOp, AddOp, SubOp, MulOp, DivOp, PowOp, SumOp, MinOp, MaxOp,
             WhereOp, MatMulOp, GemmOp, ConvOp, SoftmaxOp, LogSoftmaxOp,
             LayerNormOp, BatchNormOp, MaxPoolOp, AveragePoolOp,
             GlobalAveragePoolOp, ReduceSumOp, ReduceMeanOp, ReduceMaxOp,
             ReshapeOp, FlattenOp, SqueezeOp, UnsqueezeOp, ExpandOp,
             TransposeOp, ConcatOp, SplitOp, SliceOp, PadOp, GatherOp,
             GatherElementsOp, ScatterElementsOp, ScatterNDOp, DropoutOp,
             SoftmaxCrossEntropyLossOp, NegativeLogLikelihoodLossOp>(ctx);
  attachNoGrad<NotOp, AndOp, OrOp, EqualOp, LessOp, LessOrEqualOp, GreaterOp,
               GreaterOrEqualOp, ShapeOp, SizeOp, RangeOp, ConstantOp,
               ConstantOfShapeOp>(ctx);
  attachSecondOrder<SoftmaxCrossEntropyLossGradOp,
                    NegativeLogLikelihoodLossGradOp, SoftmaxGradOp,
                    LogSoftmaxGradOp, GeluGradOp, LayerNormGradOp,
                    BatchNormGradOp, ConvGradInputOp, ConvGradFilterOp,
                    MaxPoolGradOp, AveragePoolGradOp, SliceGradOp, SGDUpdateOp,
                    AdamUpdateOp, AllFiniteOp, GlobalNormOp, LossScaleUpdateOp>(
      ctx);
}
