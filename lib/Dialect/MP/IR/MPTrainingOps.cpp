//===- MPTrainingOps.cpp - gradient and optimizer op inference ------------===//
//
// Result-type inference (which is also the verification, as for every mp op)
// of the ops in MPTrainingOps.td: gradient ops check that the gradient and
// the saved forward values agree with each other and with the window or
// slice attributes; optimizer ops check shapes, scalar hyper-inputs and the
// hyperparameter ranges PyTorch enforces.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/IR/MPOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdio>

using namespace mlir;
using namespace mp;

namespace {
using Loc = std::optional<Location>;
constexpr int64_t kDyn = ShapedType::kDynamic;

RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

LogicalResult fail(Loc loc, const Twine &msg) {
  return emitOptionalError(loc, msg);
}

std::string num(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", d);
  return buf;
}

std::string str(Type t) { return llvm::formatv("{0}", t).str(); }

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ",";
    s += ShapedType::isDynamic(d) ? "?" : std::to_string(d);
  }
  return s + "]";
}

bool isFloat(Type t) { return isa<FloatType>(getElementTypeOrSelf(t)); }

bool isScalar(Value v) { return tensorOf(v).getRank() == 0; }

bool sameShape(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return succeeded(verifyCompatibleShape(a, b));
}

FailureOr<int64_t> normAxis(Loc loc, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    (void)fail(loc, "axis " + Twine(axis) + " is out of range for rank " +
                        Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

/// Output size of one spatial dim of a window op (explicit pads).
int64_t windowOut(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb,
                  int64_t pe, bool ceilMode) {
  if (ShapedType::isDynamic(in))
    return kDyn;
  int64_t span = in + pb + pe - ((k - 1) * d + 1);
  if (span < 0)
    return -1;
  int64_t out = (ceilMode ? (span + s - 1) / s : span / s) + 1;
  if (ceilMode && (out - 1) * s >= in + pb)
    --out;
  return out;
}

/// Checks explicit window attributes against a rank-(n+2) input shape and
/// the gradient's spatial dims.
LogicalResult checkWindow(Loc loc, ArrayRef<int64_t> in, ArrayRef<int64_t> dy,
                          ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                          ArrayRef<int64_t> pads, ArrayRef<int64_t> dilations,
                          bool ceilMode) {
  size_t n = in.size() - 2;
  if (kernel.size() != n || strides.size() != n || dilations.size() != n ||
      pads.size() != 2 * n)
    return fail(loc, "kernel_shape, strides and dilations need " + Twine(n) +
                         " entries and pads " + Twine(2 * n) + " for a rank-" +
                         Twine(in.size()) + " input");
  for (size_t i = 0; i < n; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 ||
        pads[i + n] < 0)
      return fail(loc, "kernel, strides and dilations must be positive and "
                       "pads non-negative");
    int64_t o = windowOut(in[i + 2], kernel[i], strides[i], dilations[i],
                          pads[i], pads[i + n], ceilMode);
    if (o != kDyn && o < 1)
      return fail(loc, "window does not fit spatial dim " + Twine(i) +
                           " of the input " + shapeStr(in));
    if (o != kDyn && !ShapedType::isDynamic(dy[i + 2]) && dy[i + 2] != o)
      return fail(loc, "gradient " + shapeStr(dy) + " has spatial dim " +
                           Twine(i) + " = " + Twine(dy[i + 2]) +
                           ", but the window over the input " + shapeStr(in) +
                           " gives " + Twine(o));
  }
  return success();
}

LogicalResult checkReductionKind(Loc loc, StringRef r) {
  if (r != "none" && r != "mean" && r != "sum")
    return fail(loc, "reduction must be none, mean or sum, got \"" + r + "\"");
  return success();
}

/// Shared checks of the two loss gradients: `primal` is N x C x D...,
/// labels N x D..., dloss scalar (mean/sum) or N x D... (none).
LogicalResult checkLossGrad(Loc loc, Value dloss, Value primal, Value labels,
                            Value weights, StringRef reduction,
                            StringRef primalName) {
  RankedTensorType pt = tensorOf(primal);
  if (!isFloat(pt) || pt.getRank() < 2)
    return fail(loc, primalName + " must be floating-point N x C x D..., got " +
                         str(pt));
  SmallVector<int64_t> expect = {pt.getDimSize(0)};
  llvm::append_range(expect, pt.getShape().drop_front(2));
  if (!sameShape(expect, tensorOf(labels).getShape()))
    return fail(loc, "labels " + shapeStr(tensorOf(labels).getShape()) +
                         " must have shape N x D... = " + shapeStr(expect));
  if (failed(checkReductionKind(loc, reduction)))
    return failure();
  RankedTensorType dt = tensorOf(dloss);
  if (!isFloat(dt))
    return fail(loc, "dloss must be floating-point, got " + str(dt));
  if (reduction == "none" ? !sameShape(dt.getShape(), expect)
                          : dt.getRank() != 0)
    return fail(loc, "dloss " + shapeStr(dt.getShape()) + " must be " +
                         (reduction == "none" ? "N x D... = " + shapeStr(expect)
                                              : std::string("a scalar")) +
                         " for reduction \"" + reduction + "\"");
  if (weights) {
    RankedTensorType wt = tensorOf(weights);
    if (wt.getRank() != 1 || !sameShape(wt.getShape(), {pt.getDimSize(1)}) ||
        !isFloat(wt))
      return fail(loc, "weights must be a 1-D float tensor of size C = " +
                           Twine(pt.getDimSize(1)) + ", got " + str(wt));
  }
  return success();
}
} // namespace

#define MP_INFER(OP)                                                           \
  LogicalResult OP::inferReturnTypes(MLIRContext *ctx, Loc loc, OP::Adaptor a, \
                                     SmallVectorImpl<Type> &out)

//===----------------------------------------------------------------------===//
// Gradient ops
//===----------------------------------------------------------------------===//

MP_INFER(SoftmaxCrossEntropyLossGradOp) {
  if (failed(checkLossGrad(loc, a.getDloss(), a.getLogProb(), a.getLabels(),
                           a.getWeights(), a.getReduction(), "log_prob")))
    return failure();
  out.push_back(a.getLogProb().getType());
  return success();
}

MP_INFER(NegativeLogLikelihoodLossGradOp) {
  if (failed(checkLossGrad(loc, a.getDloss(), a.getInput(), a.getTarget(),
                           a.getWeight(), a.getReduction(), "input")))
    return failure();
  out.push_back(a.getInput().getType());
  return success();
}

static LogicalResult inferSoftmaxGrad(Loc loc, Value dy, Value y, int64_t axis,
                                      SmallVectorImpl<Type> &out) {
  RankedTensorType yt = tensorOf(y), dt = tensorOf(dy);
  if (!isFloat(yt) || !isFloat(dt))
    return fail(loc, "dY and Y must be floating-point");
  if (!sameShape(yt.getShape(), dt.getShape()))
    return fail(loc, "dY " + shapeStr(dt.getShape()) + " and Y " +
                         shapeStr(yt.getShape()) + " must have one shape");
  if (failed(normAxis(loc, axis, yt.getRank())))
    return failure();
  out.push_back(yt);
  return success();
}
MP_INFER(SoftmaxGradOp) {
  return inferSoftmaxGrad(loc, a.getDY(), a.getY(), a.getAxis(), out);
}
MP_INFER(LogSoftmaxGradOp) {
  return inferSoftmaxGrad(loc, a.getDY(), a.getY(), a.getAxis(), out);
}

MP_INFER(GeluGradOp) {
  StringRef approx = a.getApproximate();
  if (approx != "none" && approx != "tanh")
    return fail(loc, "'approximate' must be \"none\" or \"tanh\", got \"" +
                         approx + "\"");
  RankedTensorType xt = tensorOf(a.getX()), dt = tensorOf(a.getDY());
  if (!isFloat(xt) || !isFloat(dt) || !sameShape(xt.getShape(), dt.getShape()))
    return fail(loc, "dY and X must be floating-point tensors of one shape, "
                     "got " +
                         str(dt) + " and " + str(xt));
  out.push_back(xt);
  return success();
}

MP_INFER(LayerNormGradOp) {
  RankedTensorType xt = tensorOf(a.getX()), dt = tensorOf(a.getDY());
  if (!isFloat(xt) || !sameShape(xt.getShape(), dt.getShape()))
    return fail(loc, "dY and X must be floating-point tensors of one shape, "
                     "got " +
                         str(dt) + " and " + str(xt));
  auto axis = normAxis(loc, a.getAxis(), xt.getRank());
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> norm = xt.getShape().drop_front(*axis);
  SmallVector<int64_t> stat(xt.getShape().take_front(*axis));
  stat.append(norm.size(), 1);
  for (Value s : {a.getMean(), a.getInvStdDev()})
    if (!sameShape(tensorOf(s).getShape(), stat) || !isFloat(s.getType()))
      return fail(loc, "Mean and InvStdDev must be float tensors of shape " +
                           shapeStr(stat) + ", got " + str(s.getType()));
  RankedTensorType st = tensorOf(a.getScale());
  if (st.getRank() > (int64_t)norm.size() || !isFloat(st))
    return fail(loc, "Scale " + shapeStr(st.getShape()) +
                         " must broadcast to the normalized dims " +
                         shapeStr(norm));
  for (int64_t i = 0; i < st.getRank(); ++i) {
    int64_t s = st.getDimSize(st.getRank() - 1 - i);
    int64_t n = norm[norm.size() - 1 - i];
    if (s != 1 && !ShapedType::isDynamic(s) && !ShapedType::isDynamic(n) &&
        s != n)
      return fail(loc, "Scale " + shapeStr(st.getShape()) +
                           " must broadcast to the normalized dims " +
                           shapeStr(norm));
  }
  out.push_back(xt);
  out.push_back(RankedTensorType::get(norm, st.getElementType()));
  out.push_back(RankedTensorType::get(norm, st.getElementType()));
  return success();
}

MP_INFER(BatchNormGradOp) {
  RankedTensorType xt = tensorOf(a.getX()), dt = tensorOf(a.getDY());
  if (xt.getRank() < 2 || !isFloat(xt) ||
      !sameShape(xt.getShape(), dt.getShape()))
    return fail(loc, "dY and X must be floating-point N x C x D... tensors of "
                     "one shape, got " +
                         str(dt) + " and " + str(xt));
  RankedTensorType st = tensorOf(a.getScale());
  if (st.getRank() != 1 || !sameShape(st.getShape(), {xt.getDimSize(1)}))
    return fail(loc, "scale must be 1-D of size C = " +
                         Twine(xt.getDimSize(1)) + ", got " + str(st));
  out.push_back(xt);
  out.push_back(st);
  out.push_back(st);
  return success();
}

MP_INFER(ConvGradInputOp) {
  RankedTensorType dt = tensorOf(a.getDY()), wt = tensorOf(a.getW());
  ArrayRef<int64_t> in = a.getInputShape();
  int64_t group = a.getGroup();
  if (dt.getRank() < 3 || wt.getRank() != dt.getRank() ||
      (int64_t)in.size() != dt.getRank())
    return fail(loc, "dY, W and input_shape must have one rank >= 3, got " +
                         str(dt) + ", " + str(wt) + " and " + shapeStr(in));
  if (getElementTypeOrSelf(dt) != getElementTypeOrSelf(wt) || !isFloat(dt))
    return fail(loc, "dY and W must have one floating-point element type");
  if (group < 1)
    return fail(loc, "group must be >= 1");
  if (!sameShape({in[0]}, {dt.getDimSize(0)}) ||
      !sameShape({dt.getDimSize(1)}, {wt.getDimSize(0)}))
    return fail(loc, "dY " + shapeStr(dt.getShape()) +
                         " must be N x M with N from input_shape " +
                         shapeStr(in) + " and M from W " +
                         shapeStr(wt.getShape()));
  if (!ShapedType::isDynamic(wt.getDimSize(1)) &&
      !ShapedType::isDynamic(in[1]) && in[1] != wt.getDimSize(1) * group)
    return fail(loc, "input_shape has " + Twine(in[1]) +
                         " channels but W expects " + Twine(wt.getDimSize(1)) +
                         " x group " + Twine(group));
  if (!sameShape(wt.getShape().drop_front(2), a.getKernelShape()))
    return fail(loc, "kernel_shape " + shapeStr(a.getKernelShape()) +
                         " does not match W " + shapeStr(wt.getShape()));
  if (failed(checkWindow(loc, in, dt.getShape(), a.getKernelShape(),
                         a.getStrides(), a.getPads(), a.getDilations(), false)))
    return failure();
  out.push_back(RankedTensorType::get(in, dt.getElementType()));
  return success();
}

MP_INFER(ConvGradFilterOp) {
  RankedTensorType xt = tensorOf(a.getX()), dt = tensorOf(a.getDY());
  int64_t group = a.getGroup();
  if (xt.getRank() < 3 || dt.getRank() != xt.getRank())
    return fail(loc, "X and dY must have one rank >= 3, got " + str(xt) +
                         " and " + str(dt));
  if (getElementTypeOrSelf(dt) != getElementTypeOrSelf(xt) || !isFloat(xt))
    return fail(loc, "X and dY must have one floating-point element type");
  if (group < 1)
    return fail(loc, "group must be >= 1");
  if (!sameShape({xt.getDimSize(0)}, {dt.getDimSize(0)}))
    return fail(loc, "X and dY differ in the batch dim");
  int64_t c = xt.getDimSize(1), m = dt.getDimSize(1);
  if ((!ShapedType::isDynamic(c) && c % group) ||
      (!ShapedType::isDynamic(m) && m % group))
    return fail(loc, "channels of X (" + Twine(c) + ") and dY (" + Twine(m) +
                         ") must be divisible by group " + Twine(group));
  if (failed(checkWindow(loc, xt.getShape(), dt.getShape(), a.getKernelShape(),
                         a.getStrides(), a.getPads(), a.getDilations(), false)))
    return failure();
  SmallVector<int64_t> shape = {m, ShapedType::isDynamic(c) ? kDyn : c / group};
  llvm::append_range(shape, a.getKernelShape());
  out.push_back(RankedTensorType::get(shape, xt.getElementType()));
  return success();
}

MP_INFER(MaxPoolGradOp) {
  RankedTensorType xt = tensorOf(a.getX()), dt = tensorOf(a.getDY());
  if (xt.getRank() < 3 || dt.getRank() != xt.getRank() ||
      getElementTypeOrSelf(xt) != getElementTypeOrSelf(dt))
    return fail(loc, "dY and X must have one rank >= 3 and one element type, "
                     "got " +
                         str(dt) + " and " + str(xt));
  if (!sameShape(xt.getShape().take_front(2), dt.getShape().take_front(2)))
    return fail(loc, "dY and X differ in N or C");
  if (failed(checkWindow(loc, xt.getShape(), dt.getShape(), a.getKernelShape(),
                         a.getStrides(), a.getPads(), a.getDilations(),
                         a.getCeilMode())))
    return failure();
  out.push_back(xt);
  return success();
}

MP_INFER(AveragePoolGradOp) {
  RankedTensorType dt = tensorOf(a.getDY());
  ArrayRef<int64_t> in = a.getInputShape();
  if (dt.getRank() < 3 || (int64_t)in.size() != dt.getRank() || !isFloat(dt))
    return fail(loc, "dY must be a floating-point tensor of rank >= 3 and "
                     "input_shape of the same rank, got " +
                         str(dt) + " and " + shapeStr(in));
  if (!sameShape(in.take_front(2), dt.getShape().take_front(2)))
    return fail(loc, "dY and input_shape differ in N or C");
  if (failed(checkWindow(loc, in, dt.getShape(), a.getKernelShape(),
                         a.getStrides(), a.getPads(), a.getDilations(),
                         a.getCeilMode())))
    return failure();
  out.push_back(RankedTensorType::get(in, dt.getElementType()));
  return success();
}

MP_INFER(SliceGradOp) {
  RankedTensorType dt = tensorOf(a.getDY());
  ArrayRef<int64_t> in = a.getInputShape();
  if ((int64_t)in.size() != dt.getRank())
    return fail(loc, "input_shape " + shapeStr(in) + " and dY " + str(dt) +
                         " differ in rank");
  size_t n = a.getStarts().size();
  if (a.getEnds().size() != n || (a.getAxes() && a.getAxes()->size() != n) ||
      (a.getSteps() && a.getSteps()->size() != n))
    return fail(loc, "starts, ends, axes and steps differ in length");
  SmallVector<int64_t> expect(in);
  for (size_t i = 0; i < n; ++i) {
    int64_t ax = a.getAxes() ? (*a.getAxes())[i] : (int64_t)i;
    auto axis = normAxis(loc, ax, in.size());
    if (failed(axis))
      return failure();
    int64_t step = a.getSteps() ? (*a.getSteps())[i] : 1;
    if (step == 0)
      return fail(loc, "slice steps must be non-zero");
    int64_t dim = in[*axis];
    if (ShapedType::isDynamic(dim)) {
      expect[*axis] = kDyn;
      continue;
    }
    int64_t start = a.getStarts()[i], end = a.getEnds()[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end = end <= std::numeric_limits<int64_t>::min() + dim ? -1 : end + dim;
    int64_t len;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      len = (std::max<int64_t>(end - start, 0) + step - 1) / step;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      len = (std::max<int64_t>(start - end, 0) - step - 1) / -step;
    }
    expect[*axis] = len;
  }
  if (!sameShape(expect, dt.getShape()))
    return fail(loc, "dY " + shapeStr(dt.getShape()) +
                         " is not the shape of the slice " + shapeStr(expect));
  out.push_back(RankedTensorType::get(in, dt.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Optimizers
//===----------------------------------------------------------------------===//

/// Shared operand checks of the fused updates.
static LogicalResult
checkUpdateOperands(Loc loc, Value param, Value grad,
                    ArrayRef<std::pair<StringRef, Value>> state, Value lr,
                    Value invScale, Value foundInf) {
  RankedTensorType pt = tensorOf(param), gt = tensorOf(grad);
  if (!isFloat(pt) || !isFloat(gt))
    return fail(loc, "param and grad must be floating-point, got " + str(pt) +
                         " and " + str(gt));
  if (!sameShape(pt.getShape(), gt.getShape()))
    return fail(loc, "grad " + shapeStr(gt.getShape()) +
                         " must have the shape of param " +
                         shapeStr(pt.getShape()));
  for (auto [name, v] : state) {
    RankedTensorType st = tensorOf(v);
    if (!isFloat(st) || !sameShape(st.getShape(), pt.getShape()))
      return fail(loc, name + " must be a float tensor of the shape of param " +
                           shapeStr(pt.getShape()) + ", got " + str(st));
  }
  if (!isScalar(lr) || !getElementTypeOrSelf(lr).isF32())
    return fail(loc, "lr must be an f32 scalar (tensor<f32>), got " +
                         str(lr.getType()));
  if (invScale &&
      (!isScalar(invScale) || !getElementTypeOrSelf(invScale).isF32()))
    return fail(loc, "inv_scale must be an f32 scalar (tensor<f32>), got " +
                         str(invScale.getType()));
  if (foundInf && !isScalar(foundInf))
    return fail(loc, "found_inf must be an i1 scalar (tensor<i1>), got " +
                         str(foundInf.getType()));
  return success();
}

MP_INFER(SGDUpdateOp) {
  SmallVector<std::pair<StringRef, Value>> state;
  if (a.getMomentumBuffer())
    state.push_back({"momentum_buffer", a.getMomentumBuffer()});
  if (failed(checkUpdateOperands(loc, a.getParam(), a.getGrad(), state,
                                 a.getLr(), a.getInvScale(), a.getFoundInf())))
    return failure();
  if (Value step = a.getStep()) {
    Type elt = getElementTypeOrSelf(step);
    if (!isScalar(step) || !(elt.isInteger(64) || elt.isF32()))
      return fail(loc, "step must be an i64 or f32 scalar, got " +
                           str(step.getType()));
    if (!a.getMomentumBuffer())
      return fail(loc, "step is only meaningful with a momentum_buffer");
  }
  double momentum = a.getMomentum().convertToDouble();
  double dampening = a.getDampening().convertToDouble();
  double wd = a.getWeightDecay().convertToDouble();
  if (!(momentum >= 0))
    return fail(loc, "momentum must be >= 0, got " + num(momentum));
  if (!(wd >= 0))
    return fail(loc, "weight_decay must be >= 0, got " + num(wd));
  if (a.getNesterov() && (momentum <= 0 || dampening != 0))
    return fail(loc, "nesterov needs momentum > 0 and dampening = 0");
  if ((momentum != 0) != (a.getMomentumBuffer() != nullptr))
    return fail(loc,
                momentum != 0
                    ? "momentum " + num(momentum) +
                          " needs a momentum_buffer operand"
                    : std::string("momentum_buffer given but momentum is 0"));
  out.push_back(a.getParam().getType());
  if (a.getMomentumBuffer())
    out.push_back(a.getMomentumBuffer().getType());
  return success();
}

MP_INFER(AdamUpdateOp) {
  if (failed(checkUpdateOperands(
          loc, a.getParam(), a.getGrad(),
          {{"exp_avg", a.getExpAvg()}, {"exp_avg_sq", a.getExpAvgSq()}},
          a.getLr(), a.getInvScale(), a.getFoundInf())))
    return failure();
  Type stepElt = getElementTypeOrSelf(a.getStep());
  if (!isScalar(a.getStep()) || !(stepElt.isInteger(64) || stepElt.isF32()))
    return fail(loc, "step must be an i64 or f32 scalar, got " +
                         str(a.getStep().getType()));
  double b1 = a.getBeta1().convertToDouble();
  double b2 = a.getBeta2().convertToDouble();
  double eps = a.getEps().convertToDouble();
  double wd = a.getWeightDecay().convertToDouble();
  if (!(b1 >= 0 && b1 < 1))
    return fail(loc, "beta1 must be in [0, 1), got " + num(b1));
  if (!(b2 >= 0 && b2 < 1))
    return fail(loc, "beta2 must be in [0, 1), got " + num(b2));
  if (!(eps >= 0))
    return fail(loc, "eps must be >= 0, got " + num(eps));
  if (!(wd >= 0))
    return fail(loc, "weight_decay must be >= 0, got " + num(wd));
  out.push_back(a.getParam().getType());
  out.push_back(a.getExpAvg().getType());
  out.push_back(a.getExpAvgSq().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// Mixed-precision helpers
//===----------------------------------------------------------------------===//

static LogicalResult checkFloatOperands(Loc loc, ValueRange inputs) {
  if (inputs.empty())
    return fail(loc, "needs at least one operand");
  for (auto [i, v] : llvm::enumerate(inputs))
    if (!isFloat(v.getType()))
      return fail(loc, "operand #" + Twine(i) +
                           " must be floating-point, got " + str(v.getType()));
  return success();
}

MP_INFER(AllFiniteOp) {
  if (failed(checkFloatOperands(loc, a.getInputs())))
    return failure();
  out.push_back(RankedTensorType::get({}, IntegerType::get(ctx, 1)));
  return success();
}

MP_INFER(GlobalNormOp) {
  if (failed(checkFloatOperands(loc, a.getInputs())))
    return failure();
  out.push_back(RankedTensorType::get({}, Float32Type::get(ctx)));
  return success();
}

MP_INFER(LossScaleUpdateOp) {
  if (!isScalar(a.getScale()) || !getElementTypeOrSelf(a.getScale()).isF32())
    return fail(loc, "scale must be an f32 scalar (tensor<f32>), got " +
                         str(a.getScale().getType()));
  if (!isScalar(a.getGrowthTracker()) ||
      !getElementTypeOrSelf(a.getGrowthTracker()).isInteger(64))
    return fail(loc,
                "growth_tracker must be an i64 scalar (tensor<i64>), got " +
                    str(a.getGrowthTracker().getType()));
  if (!isScalar(a.getFoundInf()))
    return fail(loc, "found_inf must be an i1 scalar (tensor<i1>), got " +
                         str(a.getFoundInf().getType()));
  double growth = a.getGrowthFactor().convertToDouble();
  double backoff = a.getBackoffFactor().convertToDouble();
  double lo = a.getMinScale().convertToDouble();
  double hi = a.getMaxScale().convertToDouble();
  if (!(growth > 1.0))
    return fail(loc, "growth_factor must be > 1, got " + num(growth));
  if (!(backoff > 0.0 && backoff < 1.0))
    return fail(loc, "backoff_factor must be in (0, 1), got " + num(backoff));
  if (a.getGrowthInterval() < 1)
    return fail(loc, "growth_interval must be >= 1, got " +
                         Twine(a.getGrowthInterval()));
  if (!(lo > 0.0 && lo <= hi))
    return fail(loc, "need 0 < min_scale <= max_scale, got " + num(lo) +
                         " and " + num(hi));
  out.push_back(a.getScale().getType());
  out.push_back(a.getGrowthTracker().getType());
  return success();
}

#undef MP_INFER
