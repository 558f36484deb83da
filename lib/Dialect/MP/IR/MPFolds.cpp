//===- MPFolds.cpp - mp folders and canonicalization patterns -------------===//
//
// Folders that are obviously right:
// - identities (identity, transpose by the identity permutation, a reshape
//   or cast to the operand's own type, a one-operand concat);
// - constant evaluation of the small integer "shape arithmetic" that ONNX
//   exporters emit (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), so a
//   statically shaped model imports with static shapes everywhere.
// Constant evaluation is limited to integer and bool tensors of at most
// kMaxFoldElements elements: large or floating-point math is never folded
// here, since folding it at compile time would change rounding and bloat IR.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APSInt.h"

using namespace mlir;
using namespace mp;

static constexpr int64_t kMaxFoldElements = 4096;

namespace {
/// An integer/bool constant unpacked to int64 values with its static shape.
struct IntConst {
  SmallVector<int64_t> shape;
  SmallVector<int64_t> values;
};

std::optional<IntConst> getIntConst(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseIntElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kMaxFoldElements)
    return std::nullopt;
  IntConst c;
  c.shape.assign(dense.getType().getShape().begin(),
                 dense.getType().getShape().end());
  bool isBool = dense.getElementType().isInteger(1);
  bool isUnsigned = dense.getElementType().isUnsignedInteger();
  for (const APInt &v : dense.getValues<APInt>()) {
    if (isBool) {
      c.values.push_back(v.getBoolValue());
    } else if (isUnsigned) {
      // Unsigned values zero-extend; those beyond int64 are not folded.
      if (v.getActiveBits() > 63)
        return std::nullopt;
      c.values.push_back(v.getZExtValue());
    } else {
      c.values.push_back(v.getSExtValue());
    }
  }
  return c;
}

/// Builds a DenseElementsAttr of `type` (static, integer or bool elements).
Attribute makeInt(ShapedType type, ArrayRef<int64_t> values) {
  auto it = cast<IntegerType>(type.getElementType());
  SmallVector<APInt> ap;
  for (int64_t v : values)
    ap.push_back(APInt(it.getWidth(), it.getWidth() == 1 ? (v != 0) : v,
                       /*isSigned=*/true, /*implicitTrunc=*/true));
  return DenseElementsAttr::get(type, ap);
}

bool smallStaticInt(Type t) {
  auto st = dyn_cast<RankedTensorType>(t);
  return st && st.hasStaticShape() && isa<IntegerType>(st.getElementType()) &&
         st.getNumElements() <= kMaxFoldElements;
}

/// Linear index into a broadcast operand of `shape` for output index `idx`.
int64_t broadcastIndex(ArrayRef<int64_t> outShape, ArrayRef<int64_t> shape,
                       int64_t idx) {
  int64_t src = 0, stride = 1;
  for (int64_t i = outShape.size() - 1, j = shape.size() - 1; i >= 0;
       --i, --j) {
    int64_t coord = idx % outShape[i];
    idx /= outShape[i];
    if (j >= 0) {
      if (shape[j] != 1)
        src += coord * stride;
      stride *= shape[j];
    }
  }
  return src;
}

/// Evaluates an n-ary integer function elementwise with broadcasting.
Attribute foldIntElementwise(
    Type resultType, ArrayRef<Attribute> operands,
    function_ref<std::optional<int64_t>(ArrayRef<int64_t>)> fn) {
  if (!smallStaticInt(resultType))
    return {};
  SmallVector<IntConst> cs;
  for (Attribute a : operands) {
    auto c = getIntConst(a);
    if (!c)
      return {};
    cs.push_back(std::move(*c));
  }
  auto rt = cast<RankedTensorType>(resultType);
  SmallVector<int64_t> out;
  SmallVector<int64_t> args(cs.size());
  for (int64_t i = 0, e = rt.getNumElements(); i < e; ++i) {
    for (auto [k, c] : llvm::enumerate(cs))
      args[k] = c.values[broadcastIndex(rt.getShape(), c.shape, i)];
    auto v = fn(args);
    if (!v)
      return {};
    out.push_back(*v);
  }
  return makeInt(rt, out);
}

/// Re-shapes a constant to `type` (same elements, static type).
Attribute reshapeConst(Attribute input, Type type) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(input);
  auto rt = dyn_cast<RankedTensorType>(type);
  if (!dense || !rt || !rt.hasStaticShape() ||
      (!dense.isSplat() && dense.getNumElements() > kMaxFoldElements))
    return {};
  return dense.reshape(rt);
}
} // namespace

//===----------------------------------------------------------------------===//
// Identities and constants
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

OpFoldResult IdentityOp::fold(FoldAdaptor) {
  if (getX().getType() == getType())
    return getX();
  return {};
}

OpFoldResult NegOp::fold(FoldAdaptor a) {
  return foldIntElementwise(getType(), {a.getX()}, [](ArrayRef<int64_t> v) {
    return int64_t(0 - uint64_t(v[0])); // wraps like the result type
  });
}

OpFoldResult NotOp::fold(FoldAdaptor a) {
  return foldIntElementwise(getType(), {a.getX()},
                            [](ArrayRef<int64_t> v) { return int64_t(!v[0]); });
}

//===----------------------------------------------------------------------===//
// Integer elementwise arithmetic and comparisons
//===----------------------------------------------------------------------===//

#define MP_FOLD_BINARY(OP, EXPR)                                               \
  OpFoldResult OP::fold(FoldAdaptor a) {                                       \
    return foldIntElementwise(                                                 \
        getType(), {a.getA(), a.getB()},                                       \
        [](ArrayRef<int64_t> v) -> std::optional<int64_t> {                    \
          int64_t x = v[0], y = v[1];                                          \
          (void)x;                                                             \
          (void)y;                                                             \
          EXPR;                                                                \
        });                                                                    \
  }
// Two's-complement wrap-around, as the result type truncates anyway.
MP_FOLD_BINARY(AddOp, return int64_t(uint64_t(x) + uint64_t(y)))
MP_FOLD_BINARY(SubOp, return int64_t(uint64_t(x) - uint64_t(y)))
MP_FOLD_BINARY(MulOp, return int64_t(uint64_t(x) * uint64_t(y)))
MP_FOLD_BINARY(DivOp, if (y == 0) return std::nullopt;
               if (y == -1) return int64_t(0 - uint64_t(x)); return x / y)
MP_FOLD_BINARY(AndOp, return x && y)
MP_FOLD_BINARY(OrOp, return x || y)
MP_FOLD_BINARY(EqualOp, return x == y)
MP_FOLD_BINARY(LessOp, return x < y)
MP_FOLD_BINARY(LessOrEqualOp, return x <= y)
MP_FOLD_BINARY(GreaterOp, return x > y)
MP_FOLD_BINARY(GreaterOrEqualOp, return x >= y)
#undef MP_FOLD_BINARY

OpFoldResult WhereOp::fold(FoldAdaptor a) {
  // A constant splat condition selects one side outright.
  if (auto cond = dyn_cast_or_null<DenseIntElementsAttr>(a.getCondition());
      cond && cond.isSplat()) {
    Value pick = cond.getSplatValue<bool>() ? getX() : getY();
    if (pick.getType() == getType())
      return pick;
  }
  return foldIntElementwise(getType(), {a.getCondition(), a.getX(), a.getY()},
                            [](ArrayRef<int64_t> v) -> std::optional<int64_t> {
                              return v[0] ? v[1] : v[2];
                            });
}

//===----------------------------------------------------------------------===//
// Casts
//===----------------------------------------------------------------------===//

OpFoldResult CastOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  auto rt = cast<RankedTensorType>(getType());
  auto dense = dyn_cast_or_null<DenseElementsAttr>(a.getInput());
  if (!dense || !rt.hasStaticShape())
    return {};
  // Splats of any type, and small integer tensors, convert exactly here.
  if (!dense.isSplat() && dense.getNumElements() > kMaxFoldElements)
    return {};
  Type from = dense.getElementType(), to = rt.getElementType();
  auto convert = [&](Attribute elt) -> Attribute {
    if (auto i = dyn_cast<IntegerAttr>(elt)) {
      // Bools are 0/1 and unsigned values zero-extend; one rounding to float.
      APInt v = i.getValue();
      bool isSigned = !from.isInteger(1) && !from.isUnsignedInteger();
      if (from.isInteger(1))
        v = APInt(8, v.getBoolValue());
      if (auto ft = dyn_cast<FloatType>(to)) {
        APFloat f(ft.getFloatSemantics());
        (void)f.convertFromAPInt(v, isSigned, APFloat::rmNearestTiesToEven);
        return FloatAttr::get(ft, f);
      }
      auto it = cast<IntegerType>(to);
      if (it.getWidth() == 1)
        return IntegerAttr::get(it, APInt(1, !v.isZero()));
      return IntegerAttr::get(it, isSigned ? v.sextOrTrunc(it.getWidth())
                                           : v.zextOrTrunc(it.getWidth()));
    }
    auto f = cast<FloatAttr>(elt).getValue();
    if (auto ft = dyn_cast<FloatType>(to)) {
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      return FloatAttr::get(ft, f);
    }
    auto it = cast<IntegerType>(to);
    if (it.getWidth() == 1)
      return IntegerAttr::get(it, APInt(1, !f.isZero()));
    if (!f.isFinite())
      return {};
    APSInt r(it.getWidth(), /*isUnsigned=*/it.isUnsigned());
    bool exact;
    if (f.convertToInteger(r, APFloat::rmTowardZero, &exact) &
        APFloat::opInvalidOp)
      return {};
    return IntegerAttr::get(it, r);
  };
  if (dense.isSplat()) {
    Attribute v = convert(dense.getSplatValue<Attribute>());
    return v ? DenseElementsAttr::get(rt, v) : Attribute();
  }
  SmallVector<Attribute> values;
  for (Attribute elt : dense.getValues<Attribute>()) {
    Attribute v = convert(elt);
    if (!v)
      return {};
    values.push_back(v);
  }
  return DenseElementsAttr::get(rt, values);
}

/// Whether every value of `from` is exactly representable in `to`.
static bool isLosslessConversion(Type from, Type to) {
  if (from == to)
    return true;
  auto ff = dyn_cast<FloatType>(from), tf = dyn_cast<FloatType>(to);
  if (ff && tf)
    return APFloat::isRepresentableAsNormalIn(ff.getFloatSemantics(),
                                              tf.getFloatSemantics());
  auto fi = dyn_cast<IntegerType>(from), ti = dyn_cast<IntegerType>(to);
  // Bools (0/1) and unsigned values fit any wider integer type; signed
  // values only a wider signed one.
  if (fi && ti)
    return fi.getWidth() < ti.getWidth() &&
           (fi.getWidth() == 1 || fi.isUnsigned() || !ti.isUnsigned());
  if (fi && tf)
    return fi.getWidth() < tf.getFPMantissaWidth();
  return false;
}

namespace {
/// cast(cast(x : A -> B) : B -> C) -> cast(x : A -> C) when A -> B is
/// lossless (B holds every A), and to x itself when C == A. The f16 -> f32
/// -> f16 round trip autocast might leave behind disappears here; f32 -> f16
/// -> f32 does not, since it rounds.
struct FoldLosslessCastPair : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<CastOp>();
    if (!inner)
      return rewriter.notifyMatchFailure(op, "operand is not a cast");
    Type a = getElementTypeOrSelf(inner.getInput());
    Type b = getElementTypeOrSelf(inner.getType());
    if (!isLosslessConversion(a, b))
      return rewriter.notifyMatchFailure(op, "inner cast rounds");
    if (inner.getInput().getType() == op.getType()) {
      rewriter.replaceOp(op, inner.getInput());
      return success();
    }
    rewriter.replaceOpWithNewOp<CastOp>(op, op.getType(), inner.getInput(),
                                        op.getToAttr());
    return success();
  }
};
} // namespace

void CastOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *ctx) {
  results.add<FoldLosslessCastPair>(ctx);
}

//===----------------------------------------------------------------------===//
// Shapes and data movement
//===----------------------------------------------------------------------===//

OpFoldResult ReshapeOp::fold(FoldAdaptor a) {
  if (getData().getType() == getType())
    return getData();
  return reshapeConst(a.getData(), getType());
}

OpFoldResult FlattenOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  return reshapeConst(a.getInput(), getType());
}

OpFoldResult SqueezeOp::fold(FoldAdaptor a) {
  if (getData().getType() == getType())
    return getData();
  return reshapeConst(a.getData(), getType());
}

OpFoldResult UnsqueezeOp::fold(FoldAdaptor a) {
  return reshapeConst(a.getData(), getType());
}

OpFoldResult TransposeOp::fold(FoldAdaptor a) {
  int64_t rank = cast<RankedTensorType>(getType()).getRank();
  std::optional<ArrayRef<int64_t>> perm = getPerm();
  bool identity = perm ? llvm::equal(*perm, llvm::seq<int64_t>(0, rank))
                       : rank <= 1;
  if (identity && getData().getType() == getType())
    return getData();
  // transpose(transpose(x, p1), p2) = transpose(x, p1[p2[i]]): x itself when
  // that is the identity (a weight's gradient transposes it back), else one
  // transpose of x.
  if (auto inner = getData().getDefiningOp<TransposeOp>()) {
    auto permOf = [](TransposeOp t, int64_t r) {
      SmallVector<int64_t> p;
      if (auto q = t.getPerm())
        p.assign(q->begin(), q->end());
      else
        for (int64_t i = r - 1; i >= 0; --i)
          p.push_back(i);
      return p;
    };
    SmallVector<int64_t> p1 = permOf(inner, rank), p2 = permOf(*this, rank);
    if (int64_t(p1.size()) == rank && int64_t(p2.size()) == rank) {
      SmallVector<int64_t> composed;
      for (int64_t i : p2)
        composed.push_back(p1[size_t(i)]);
      Value x = inner.getData();
      if (llvm::equal(composed, llvm::seq<int64_t>(0, rank)) &&
          x.getType() == getType())
        return x;
      setPermAttr(DenseI64ArrayAttr::get(getContext(), composed));
      getDataMutable().assign(x);
      return getResult();
    }
  }
  // Transposing a splat or a rank <= 1 constant keeps its elements.
  if (auto d = dyn_cast_or_null<DenseElementsAttr>(a.getData());
      d && (d.isSplat() || rank <= 1))
    return reshapeConst(d, getType());
  return {};
}

OpFoldResult ConcatOp::fold(FoldAdaptor a) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  auto rt = cast<RankedTensorType>(getType());
  if (rt.getRank() != 1 || !smallStaticInt(rt))
    return {};
  SmallVector<int64_t> values;
  for (Attribute attr : a.getInputs()) {
    auto c = getIntConst(attr);
    if (!c)
      return {};
    llvm::append_range(values, c->values);
  }
  return makeInt(rt, values);
}

OpFoldResult SliceOp::fold(FoldAdaptor a) {
  auto in = cast<RankedTensorType>(getData().getType());
  auto rt = cast<RankedTensorType>(getType());
  auto c = getIntConst(a.getData());
  if (!c || in.getRank() != 1 || !rt.hasStaticShape())
    return {};
  // 1-D integer slice: walk the one range.
  int64_t d = in.getDimSize(0);
  int64_t start = getStarts()[0], end = getEnds()[0];
  int64_t step = getSteps() ? (*getSteps())[0] : 1;
  if (start < 0)
    start += d;
  if (end < 0)
    end = end <= std::numeric_limits<int64_t>::min() + d ? -1 : end + d;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, d);
    end = std::clamp<int64_t>(end, 0, d);
  } else {
    start = std::clamp<int64_t>(start, 0, d - 1);
    end = std::clamp<int64_t>(end, -1, d - 1);
  }
  SmallVector<int64_t> values;
  for (int64_t i = start; step > 0 ? i < end : i > end; i += step)
    values.push_back(c->values[i]);
  if ((int64_t)values.size() != rt.getNumElements())
    return {};
  return makeInt(rt, values);
}

OpFoldResult GatherOp::fold(FoldAdaptor a) {
  auto rt = cast<RankedTensorType>(getType());
  auto data = getIntConst(a.getData());
  auto idx = getIntConst(a.getIndices());
  // Gather from the shape of a partly dynamic tensor: the selected dims may
  // be static even when the whole shape is not (a `[N, 16]` input's T).
  if (!data && idx && smallStaticInt(rt))
    if (auto shape = getData().getDefiningOp<ShapeOp>()) {
      auto in = cast<RankedTensorType>(shape.getData().getType());
      int64_t rank = in.getRank(), start = shape.getStart();
      int64_t end = shape.getEnd().value_or(rank);
      start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
      end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
      int64_t n = std::max<int64_t>(end - start, 0);
      SmallVector<int64_t> values;
      for (int64_t i : idx->values) {
        if (i < -n || i >= n)
          return {};
        int64_t d = in.getDimSize(start + (i < 0 ? i + n : i));
        if (ShapedType::isDynamic(d))
          return {};
        values.push_back(d);
      }
      return makeInt(rt, values);
    }
  if (!data || !idx || data->shape.size() != 1 || !smallStaticInt(rt))
    return {};
  int64_t n = data->shape[0];
  SmallVector<int64_t> values;
  for (int64_t i : idx->values) {
    if (i < -n || i >= n)
      return {};
    values.push_back(data->values[i < 0 ? i + n : i]);
  }
  return makeInt(rt, values);
}

OpFoldResult PadOp::fold(FoldAdaptor) {
  if (llvm::all_of(getPads(), [](int64_t p) { return p == 0; }) &&
      getData().getType() == getType())
    return getData();
  return {};
}

OpFoldResult ExpandOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  auto dense = dyn_cast_or_null<DenseElementsAttr>(a.getInput());
  auto rt = cast<RankedTensorType>(getType());
  if (dense && dense.isSplat() && rt.hasStaticShape())
    return DenseElementsAttr::get(rt, dense.getSplatValue<Attribute>());
  return foldIntElementwise(getType(), {a.getInput()},
                            [](ArrayRef<int64_t> v) { return v[0]; });
}

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto in = cast<RankedTensorType>(getData().getType());
  int64_t rank = in.getRank(), s = getStart();
  int64_t e = getEnd().value_or(rank);
  if (s < 0)
    s += rank;
  if (e < 0)
    e += rank;
  s = std::clamp<int64_t>(s, 0, rank);
  e = std::max(s, std::clamp<int64_t>(e, 0, rank));
  ArrayRef<int64_t> dims = in.getShape().slice(s, e - s);
  if (llvm::any_of(dims, ShapedType::isDynamic))
    return {};
  return makeInt(cast<ShapedType>(getType()), dims);
}

OpFoldResult SizeOp::fold(FoldAdaptor) {
  auto in = cast<RankedTensorType>(getData().getType());
  if (!in.hasStaticShape())
    return {};
  return makeInt(cast<ShapedType>(getType()), {in.getNumElements()});
}

OpFoldResult RangeOp::fold(FoldAdaptor a) {
  auto rt = cast<RankedTensorType>(getType());
  if (!rt.hasStaticShape() || rt.getNumElements() > kMaxFoldElements)
    return {};
  auto s = dyn_cast_or_null<DenseElementsAttr>(a.getStart());
  auto l = dyn_cast_or_null<DenseElementsAttr>(a.getLimit());
  auto d = dyn_cast_or_null<DenseElementsAttr>(a.getDelta());
  if (!s || !l || !d)
    return {};
  if (auto ft = dyn_cast<FloatType>(rt.getElementType())) {
    // ONNX defines element i as start + i * delta, computed in the type.
    double start = s.getSplatValue<APFloat>().convertToDouble();
    double delta = d.getSplatValue<APFloat>().convertToDouble();
    SmallVector<APFloat> values;
    for (int64_t i = 0; i < rt.getNumElements(); ++i) {
      APFloat v(start + i * delta);
      bool lost;
      v.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v);
    }
    return DenseElementsAttr::get(rt, values);
  }
  int64_t start = s.getSplatValue<APInt>().getSExtValue();
  int64_t delta = d.getSplatValue<APInt>().getSExtValue();
  SmallVector<int64_t> values;
  for (int64_t i = 0; i < rt.getNumElements(); ++i)
    values.push_back(start + i * delta);
  return makeInt(rt, values);
}

OpFoldResult ConstantOfShapeOp::fold(FoldAdaptor) {
  auto rt = cast<RankedTensorType>(getType());
  if (!rt.hasStaticShape())
    return {};
  if (auto v = getValue()) {
    auto dense = dyn_cast<DenseElementsAttr>(*v);
    if (!dense)
      return {};
    return DenseElementsAttr::get(rt, dense.getValues<Attribute>()[0]);
  }
  return DenseElementsAttr::get(rt, FloatAttr::get(rt.getElementType(), 0.0));
}
