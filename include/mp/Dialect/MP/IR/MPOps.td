//===- MPOps.td - mp dialect operations ----------------------*- tablegen -*-===//
//
// Hand-written ops with ONNX semantics. Every op infers its result types
// (static shapes are the norm; `?` dims propagate) and verifies its operands
// through that inference: a wrong shape or attribute is reported by the
// inference function with a precise message.
//
// Precision behaviour, shared by all ops unless the op says otherwise:
// floating-point results are computed in the element type of the result; the
// optional `mp.accumulate` attribute selects the accumulation type of
// contractions (matmul, gemm, conv) and reductions, default f32.
//
//===----------------------------------------------------------------------===//

#ifndef MP_OPS_TD
#define MP_OPS_TD

include "mp/Dialect/MP/IR/MPBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def MP_Tensor : RankedTensorOf<[AnyType]>;
def MP_BoolTensor : RankedTensorOf<[I1]>;

// Result-type inference whose check accepts a result type that is more
// static than the inferred one (e.g. a reshape whose shape operand became a
// constant after import).
def MP_InferType : InferTypeOpAdaptorBase<[{
  static bool isCompatibleReturnTypes(::mlir::TypeRange l, ::mlir::TypeRange r) {
    return ::mp::areCompatibleReturnTypes(l, r);
  }
}]>;

// Verifies result types against inference with one precise error (placed
// before the interface, whose own verifier would add a second, generic one).
def MP_VerifyInferredTypes : NativeOpTrait<"VerifyInferredTypes"> {
  let cppNamespace = "::mp";
}

class MP_Op<string mnemonic, list<Trait> traits = []>
    : Op<MP_Dialect, mnemonic,
         !listconcat(traits, [MP_VerifyInferredTypes, MP_InferType])> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

class MP_PureOp<string mnemonic, list<Trait> traits = []>
    : MP_Op<mnemonic, !listconcat(traits, [Pure])>;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class MP_UnaryOp<string mnemonic, string onnx, string semantics,
                 list<Trait> traits = []>
    : MP_PureOp<mnemonic, traits> {
  let summary = "elementwise " # onnx # " (ONNX " # onnx # ")";
  let description = "Computes `" # semantics # "` elementwise. The result has "
      # "the operand's type; floating-point ops compute in that type.";
  let arguments = (ins MP_Tensor:$X);
  let results = (outs MP_Tensor:$Y);
}

def MP_NegOp : MP_UnaryOp<"neg", "Neg", "-x"> {
  let hasFolder = 1;
}
def MP_AbsOp : MP_UnaryOp<"abs", "Abs", "|x|">;
def MP_SqrtOp : MP_UnaryOp<"sqrt", "Sqrt", "sqrt(x)">;
def MP_ReciprocalOp : MP_UnaryOp<"reciprocal", "Reciprocal", "1/x">;
def MP_ExpOp : MP_UnaryOp<"exp", "Exp", "e^x">;
def MP_LogOp : MP_UnaryOp<"log", "Log", "ln(x)">;
def MP_ErfOp : MP_UnaryOp<"erf", "Erf", "erf(x)">;
def MP_TanhOp : MP_UnaryOp<"tanh", "Tanh", "tanh(x)">;
def MP_SigmoidOp : MP_UnaryOp<"sigmoid", "Sigmoid", "1/(1+e^-x)">;
def MP_ReluOp : MP_UnaryOp<"relu", "Relu", "max(x, 0)">;
def MP_NotOp : MP_UnaryOp<"not", "Not", "!x (bool)"> {
  let hasFolder = 1;
}
def MP_IdentityOp : MP_UnaryOp<"identity", "Identity", "x"> {
  let hasFolder = 1;
}

def MP_LeakyReluOp : MP_UnaryOp<"leaky_relu", "LeakyRelu",
                                "x >= 0 ? x : alpha * x"> {
  let arguments = (ins MP_Tensor:$X, DefaultValuedAttr<F32Attr, "0.01f">:$alpha);
}

def MP_GeluOp : MP_UnaryOp<"gelu", "Gelu",
    "x * Phi(x); approximate=\"tanh\" uses 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))"> {
  let arguments = (ins MP_Tensor:$X,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$approximate);
}

class MP_BinaryOp<string mnemonic, string onnx, string semantics,
                  list<Trait> traits = []>
    : MP_PureOp<mnemonic, traits> {
  let summary = "elementwise " # onnx # " with numpy broadcasting";
  let description = "Computes `" # semantics # "` elementwise after numpy "
      # "broadcasting of A and B. Both operands have the same element type; "
      # "floating-point ops compute in it.";
  let arguments = (ins MP_Tensor:$A, MP_Tensor:$B);
  let results = (outs MP_Tensor:$C);
  let hasFolder = 1;
}

def MP_AddOp : MP_BinaryOp<"add", "Add", "a + b">;
def MP_SubOp : MP_BinaryOp<"sub", "Sub", "a - b">;
def MP_MulOp : MP_BinaryOp<"mul", "Mul", "a * b">;
def MP_DivOp : MP_BinaryOp<"div", "Div", "a / b (integers truncate)">;
def MP_PowOp : MP_BinaryOp<"pow", "Pow", "a ^ b"> {
  let description = "Computes `a ^ b` elementwise with broadcasting. The "
      # "result has A's element type; B may have another numeric type.";
  let arguments = (ins MP_Tensor:$X, MP_Tensor:$Y);
  let results = (outs MP_Tensor:$Z);
  let hasFolder = 0;
}
def MP_AndOp : MP_BinaryOp<"and", "And", "a && b">;
def MP_OrOp : MP_BinaryOp<"or", "Or", "a || b">;

class MP_CompareOp<string mnemonic, string onnx, string semantics>
    : MP_BinaryOp<mnemonic, onnx, semantics> {
  let description = "Computes `" # semantics # "` elementwise with numpy "
      # "broadcasting; the result is a bool (i1) tensor.";
  let results = (outs MP_BoolTensor:$C);
}
def MP_EqualOp : MP_CompareOp<"equal", "Equal", "a == b">;
def MP_LessOp : MP_CompareOp<"less", "Less", "a < b">;
def MP_LessOrEqualOp : MP_CompareOp<"less_equal", "LessOrEqual", "a <= b">;
def MP_GreaterOp : MP_CompareOp<"greater", "Greater", "a > b">;
def MP_GreaterOrEqualOp : MP_CompareOp<"greater_equal", "GreaterOrEqual", "a >= b">;

class MP_VariadicOp<string mnemonic, string onnx, string semantics>
    : MP_PureOp<mnemonic> {
  let summary = "elementwise " # onnx # " of one or more tensors";
  let description = "Computes `" # semantics # "` over all inputs "
      # "elementwise, with numpy broadcasting across all of them.";
  let arguments = (ins Variadic<MP_Tensor>:$data_0);
  let results = (outs MP_Tensor:$result);
}
def MP_MinOp : MP_VariadicOp<"min", "Min", "min(x0, x1, ...)">;
def MP_MaxOp : MP_VariadicOp<"max", "Max", "max(x0, x1, ...)">;
def MP_SumOp : MP_VariadicOp<"sum", "Sum", "x0 + x1 + ...">;

def MP_WhereOp : MP_PureOp<"where"> {
  let summary = "elementwise select with broadcasting (ONNX Where)";
  let description = "`condition ? X : Y`, all three broadcast together.";
  let arguments = (ins MP_BoolTensor:$condition, MP_Tensor:$X, MP_Tensor:$Y);
  let results = (outs MP_Tensor:$output);
  let hasFolder = 1;
}

def MP_ClipOp : MP_PureOp<"clip"> {
  let summary = "clamp to [min, max] (ONNX Clip)";
  let description = [{
    `min(max(x, min), max)` elementwise. ONNX gives the bounds as optional
    scalar inputs; here they are attributes (absent = unbounded). The result
    has the operand's type.
  }];
  let arguments = (ins MP_Tensor:$input, OptionalAttr<F64Attr>:$min,
                       OptionalAttr<F64Attr>:$max);
  let results = (outs MP_Tensor:$output);
}

def MP_CastOp : MP_Op<"cast", [Pure]> {
  let summary = "element type conversion (ONNX Cast, and precision casts)";
  let description = [{
    Converts each element to the result's element type. Float to float rounds
    to nearest even; float to integer truncates toward zero; to bool is
    `x != 0`. The shape is unchanged. Autocast's inserted casts and imported
    ONNX Cast nodes are both `mp.cast`.

    ```mlir
    %h = mp.cast %x : tensor<4x8xf32> to f16
    ```
  }];
  let arguments = (ins MP_Tensor:$input, TypeAttr:$to);
  let results = (outs MP_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` $to";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def MP_MatMulOp : MP_PureOp<"matmul"> {
  let summary = "numpy matmul (ONNX MatMul), batched with broadcasting";
  let description = [{
    `A @ B` with numpy semantics: 1-D operands are promoted and the added dim
    removed; leading batch dims broadcast. Storage is the operands' element
    type; accumulation is `mp.accumulate` (default f32).
  }];
  let arguments = (ins MP_Tensor:$A, MP_Tensor:$B);
  let results = (outs MP_Tensor:$Y);
}

def MP_GemmOp : MP_PureOp<"gemm"> {
  let summary = "alpha * op(A) @ op(B) + beta * C (ONNX Gemm)";
  let description = [{
    2-D general matrix multiply; `op(X)` transposes when `transA`/`transB`
    is 1; C is optional and unidirectionally broadcast to the result.
    Accumulation is `mp.accumulate` (default f32).
  }];
  let arguments = (ins MP_Tensor:$A, MP_Tensor:$B, Optional<MP_Tensor>:$C,
                       DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                       DefaultValuedAttr<I64Attr, "0">:$transA,
                       DefaultValuedAttr<I64Attr, "0">:$transB);
  let results = (outs MP_Tensor:$Y);
}

def MP_ConvOp : MP_PureOp<"conv"> {
  let summary = "N-d convolution with groups, pads, strides, dilations (ONNX Conv)";
  let description = [{
    X: N x C x D1..Dn, W: M x C/group x k1..kn, optional B: M. Pads are
    [begin..., end...]; `auto_pad` is NOTSET, VALID, SAME_UPPER or SAME_LOWER.
    Accumulation is `mp.accumulate` (default f32).
  }];
  let arguments = (ins MP_Tensor:$X, MP_Tensor:$W, Optional<MP_Tensor>:$B,
                       DefaultValuedAttr<StrAttr, "\"NOTSET\"">:$auto_pad,
                       OptionalAttr<DenseI64ArrayAttr>:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group,
                       OptionalAttr<DenseI64ArrayAttr>:$kernel_shape,
                       OptionalAttr<DenseI64ArrayAttr>:$pads,
                       OptionalAttr<DenseI64ArrayAttr>:$strides);
  let results = (outs MP_Tensor:$Y);
}

//===----------------------------------------------------------------------===//
// Normalization, softmax, pooling
//===----------------------------------------------------------------------===//

class MP_SoftmaxBase<string mnemonic, string onnx, string semantics>
    : MP_PureOp<mnemonic> {
  let summary = onnx # " along one axis (opset 13 semantics)";
  let description = "Computes `" # semantics # "` along `axis`. The max and "
      # "the sum are accumulated in `mp.accumulate` (default f32).";
  let arguments = (ins MP_Tensor:$input, DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs MP_Tensor:$output);
}
def MP_SoftmaxOp : MP_SoftmaxBase<"softmax", "Softmax", "exp(x - max) / sum(exp(x - max))">;
def MP_LogSoftmaxOp : MP_SoftmaxBase<"log_softmax", "LogSoftmax", "x - max - log(sum(exp(x - max)))">;

def MP_LayerNormOp : MP_PureOp<"layer_norm"> {
  let summary = "layer normalization (ONNX LayerNormalization-17)";
  let description = [{
    Normalizes X over dims [axis, rank) and applies Scale and optional B
    (broadcast to those dims). Always yields Mean and InvStdDev (shape of X
    with the normalized dims set to 1, element type from `stash_type`, 1 =
    f32), which the backward pass reuses. Statistics accumulate in f32.
  }];
  let arguments = (ins MP_Tensor:$X, MP_Tensor:$Scale, Optional<MP_Tensor>:$B,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon,
                       DefaultValuedAttr<I64Attr, "1">:$stash_type);
  let results = (outs MP_Tensor:$Y, MP_Tensor:$Mean, MP_Tensor:$InvStdDev);
}

def MP_BatchNormOp : MP_PureOp<"batch_norm"> {
  let summary = "batch normalization, inference or training mode (ONNX BatchNormalization-15)";
  let description = [{
    X: N x C x D..., scale/B/input_mean/input_var: C. With
    `training_mode = 1` the batch statistics normalize X and
    `running = momentum * input + (1 - momentum) * batch` (variance unbiased
    as in ONNX-15: the population variance); otherwise input_mean/input_var
    normalize and the running outputs equal the inputs. Statistics accumulate
    in f32.
  }];
  let arguments = (ins MP_Tensor:$X, MP_Tensor:$scale, MP_Tensor:$B,
                       MP_Tensor:$input_mean, MP_Tensor:$input_var,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon,
                       DefaultValuedAttr<F32Attr, "0.9f">:$momentum,
                       DefaultValuedAttr<I64Attr, "0">:$training_mode);
  let results = (outs MP_Tensor:$Y, MP_Tensor:$running_mean,
                      MP_Tensor:$running_var);
}

class MP_PoolBase<string mnemonic, string onnx> : MP_PureOp<mnemonic> {
  let summary = onnx # " over the spatial dims (N x C x D1..Dn)";
  let results = (outs MP_Tensor:$Y);
}

def MP_MaxPoolOp : MP_PoolBase<"max_pool", "MaxPool"> {
  let description = [{
    Maximum over each window; pads count as -inf. `ceil_mode` rounds the
    output size up. The Indices output of ONNX MaxPool is not supported.
  }];
  let arguments = (ins MP_Tensor:$X,
                       DefaultValuedAttr<StrAttr, "\"NOTSET\"">:$auto_pad,
                       DefaultValuedAttr<I64Attr, "0">:$ceil_mode,
                       OptionalAttr<DenseI64ArrayAttr>:$dilations,
                       DenseI64ArrayAttr:$kernel_shape,
                       OptionalAttr<DenseI64ArrayAttr>:$pads,
                       DefaultValuedAttr<I64Attr, "0">:$storage_order,
                       OptionalAttr<DenseI64ArrayAttr>:$strides);
}

def MP_AveragePoolOp : MP_PoolBase<"average_pool", "AveragePool"> {
  let description = [{
    Mean over each window; pads are excluded from the count unless
    `count_include_pad = 1`. Sums accumulate in f32.
  }];
  let arguments = (ins MP_Tensor:$X,
                       DefaultValuedAttr<StrAttr, "\"NOTSET\"">:$auto_pad,
                       DefaultValuedAttr<I64Attr, "0">:$ceil_mode,
                       DefaultValuedAttr<I64Attr, "0">:$count_include_pad,
                       OptionalAttr<DenseI64ArrayAttr>:$dilations,
                       DenseI64ArrayAttr:$kernel_shape,
                       OptionalAttr<DenseI64ArrayAttr>:$pads,
                       OptionalAttr<DenseI64ArrayAttr>:$strides);
}

def MP_GlobalAveragePoolOp : MP_PoolBase<"global_average_pool", "GlobalAveragePool"> {
  let description = "Mean over all spatial dims; they become 1. Sums accumulate in f32.";
  let arguments = (ins MP_Tensor:$X);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class MP_ReduceOp<string mnemonic, string onnx, string semantics>
    : MP_PureOp<mnemonic> {
  let summary = onnx # " over `axes` (ONNX " # onnx # ")";
  let description = "Computes `" # semantics # "` over `axes` (absent: all "
      # "dims, unless `noop_with_empty_axes` = 1, which makes it the "
      # "identity). `keepdims` keeps reduced dims as 1. Floating-point sums "
      # "accumulate in `mp.accumulate` (default f32).";
  let arguments = (ins MP_Tensor:$data, OptionalAttr<DenseI64ArrayAttr>:$axes,
                       DefaultValuedAttr<I64Attr, "1">:$keepdims,
                       DefaultValuedAttr<I64Attr, "0">:$noop_with_empty_axes);
  let results = (outs MP_Tensor:$reduced);
}
def MP_ReduceSumOp : MP_ReduceOp<"reduce_sum", "ReduceSum", "sum">;
def MP_ReduceMeanOp : MP_ReduceOp<"reduce_mean", "ReduceMean", "mean">;
def MP_ReduceMaxOp : MP_ReduceOp<"reduce_max", "ReduceMax", "max">;

//===----------------------------------------------------------------------===//
// Data movement and shapes
//===----------------------------------------------------------------------===//

def MP_ReshapeOp : MP_PureOp<"reshape"> {
  let summary = "reshape to the shape held in a 1-D i64 tensor (ONNX Reshape)";
  let description = [{
    A 0 in `shape` copies the input dim (unless `allowzero = 1`), one -1 is
    inferred. When `shape` is not a constant the result dims are dynamic.
  }];
  let arguments = (ins MP_Tensor:$data, RankedTensorOf<[I64]>:$shape,
                       DefaultValuedAttr<I64Attr, "0">:$allowzero);
  let results = (outs MP_Tensor:$reshaped);
  let hasFolder = 1;
}

def MP_FlattenOp : MP_PureOp<"flatten"> {
  let summary = "flatten to 2-D at `axis` (ONNX Flatten)";
  let description = "Dims [0, axis) and [axis, rank) are each multiplied into one.";
  let arguments = (ins MP_Tensor:$input, DefaultValuedAttr<I64Attr, "1">:$axis);
  let results = (outs MP_Tensor:$output);
  let hasFolder = 1;
}

def MP_TransposeOp : MP_PureOp<"transpose"> {
  let summary = "permute dims (ONNX Transpose); absent perm reverses them";
  let arguments = (ins MP_Tensor:$data, OptionalAttr<DenseI64ArrayAttr>:$perm);
  let results = (outs MP_Tensor:$transposed);
  let hasFolder = 1;
}

def MP_SqueezeOp : MP_PureOp<"squeeze"> {
  let summary = "remove size-1 dims (ONNX Squeeze); absent axes removes all";
  let arguments = (ins MP_Tensor:$data, OptionalAttr<DenseI64ArrayAttr>:$axes);
  let results = (outs MP_Tensor:$squeezed);
  let hasFolder = 1;
}

def MP_UnsqueezeOp : MP_PureOp<"unsqueeze"> {
  let summary = "insert size-1 dims at `axes` of the output (ONNX Unsqueeze)";
  let arguments = (ins MP_Tensor:$data, DenseI64ArrayAttr:$axes);
  let results = (outs MP_Tensor:$expanded);
  let hasFolder = 1;
}

def MP_ConcatOp : MP_PureOp<"concat"> {
  let summary = "concatenate along `axis` (ONNX Concat)";
  let arguments = (ins Variadic<MP_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs MP_Tensor:$concat_result);
  let hasFolder = 1;
}

def MP_SplitOp : MP_PureOp<"split"> {
  let summary = "split along `axis` into pieces of the given sizes (ONNX Split)";
  let description = [{
    One result per entry of `split`; the sizes add up to the dim. The
    importer turns ONNX's equal split and `num_outputs` into explicit sizes.
  }];
  let arguments = (ins MP_Tensor:$input, DefaultValuedAttr<I64Attr, "0">:$axis,
                       DenseI64ArrayAttr:$split);
  let results = (outs Variadic<MP_Tensor>:$outputs);
}

def MP_SliceOp : MP_PureOp<"slice"> {
  let summary = "strided slice (ONNX Slice) with constant bounds";
  let description = [{
    ONNX Slice with `starts`, `ends`, `axes` (default 0..n-1) and `steps`
    (default 1) as attributes; negative values count from the end and are
    clamped as ONNX specifies.
  }];
  let arguments = (ins MP_Tensor:$data, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$ends,
                       OptionalAttr<DenseI64ArrayAttr>:$axes,
                       OptionalAttr<DenseI64ArrayAttr>:$steps);
  let results = (outs MP_Tensor:$output);
  let hasFolder = 1;
}

def MP_GatherOp : MP_PureOp<"gather"> {
  let summary = "take slices along `axis` at integer indices (ONNX Gather)";
  let description = "Output shape: data[:axis] + indices + data[axis+1:]. "
      # "Negative indices count from the end. This is the embedding lookup.";
  let arguments = (ins MP_Tensor:$data, RankedTensorOf<[I32, I64]>:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs MP_Tensor:$output);
  let hasFolder = 1;
}

def MP_GatherElementsOp : MP_PureOp<"gather_elements"> {
  let summary = "elementwise gather along `axis` (ONNX GatherElements)";
  let arguments = (ins MP_Tensor:$data, RankedTensorOf<[I32, I64]>:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs MP_Tensor:$output);
}

def MP_ScatterElementsOp : MP_PureOp<"scatter_elements"> {
  let summary = "elementwise scatter along `axis` (ONNX ScatterElements)";
  let description = "`reduction` is none, add, mul, max or min; add "
      # "accumulates in f32 for low-precision data.";
  let arguments = (ins MP_Tensor:$data, RankedTensorOf<[I32, I64]>:$indices,
                       MP_Tensor:$updates,
                       DefaultValuedAttr<I64Attr, "0">:$axis,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$reduction);
  let results = (outs MP_Tensor:$output);
}

def MP_ScatterNDOp : MP_PureOp<"scatter_nd"> {
  let summary = "scatter slices at N-d indices (ONNX ScatterND)";
  let arguments = (ins MP_Tensor:$data, RankedTensorOf<[I64]>:$indices,
                       MP_Tensor:$updates,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$reduction);
  let results = (outs MP_Tensor:$output);
}

def MP_ExpandOp : MP_PureOp<"expand"> {
  let summary = "broadcast to a shape held in a 1-D i64 tensor (ONNX Expand)";
  let arguments = (ins MP_Tensor:$input, RankedTensorOf<[I64]>:$shape);
  let results = (outs MP_Tensor:$output);
  let hasFolder = 1;
}

def MP_TriluOp : MP_PureOp<"trilu"> {
  let summary = "keep the upper or lower triangle of the last two dims (ONNX Trilu)";
  let description = "`upper = 1` keeps j - i >= k, otherwise j - i <= k; "
      # "the rest becomes 0. ONNX's `k` input is the attribute `k` here.";
  let arguments = (ins MP_Tensor:$input, DefaultValuedAttr<I64Attr, "1">:$upper,
                       DefaultValuedAttr<I64Attr, "0">:$k);
  let results = (outs MP_Tensor:$output);
}

def MP_PadOp : MP_PureOp<"pad"> {
  let summary = "pad with a constant (ONNX Pad, constant mode)";
  let description = [{
    `pads` holds [begin_0, ..., begin_n-1, end_0, ..., end_n-1] for every
    dim (negative values crop); new elements are `value`. ONNX's pads,
    constant_value and axes inputs become these attributes at import; the
    reflect, edge and wrap modes are not supported.
  }];
  let arguments = (ins MP_Tensor:$data, DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<F64Attr, "0.0">:$value);
  let results = (outs MP_Tensor:$output);
  let hasFolder = 1;
}

def MP_ShapeOp : MP_PureOp<"shape"> {
  let summary = "the shape of a tensor as 1-D i64 (ONNX Shape-15)";
  let arguments = (ins MP_Tensor:$data, DefaultValuedAttr<I64Attr, "0">:$start,
                       OptionalAttr<I64Attr>:$end);
  let results = (outs RankedTensorOf<[I64]>:$shape);
  let hasFolder = 1;
}

def MP_SizeOp : MP_PureOp<"size"> {
  let summary = "the number of elements as a 0-D i64 (ONNX Size)";
  let arguments = (ins MP_Tensor:$data);
  let results = (outs RankedTensorOf<[I64]>:$size);
  let hasFolder = 1;
}

def MP_RangeOp : MP_PureOp<"range"> {
  let summary = "start, start+delta, ... below limit (ONNX Range)";
  let arguments = (ins MP_Tensor:$start, MP_Tensor:$limit, MP_Tensor:$delta);
  let results = (outs MP_Tensor:$output);
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def MP_ConstantOp : MP_Op<"constant", [ConstantLike, Pure]> {
  let summary = "a constant tensor (ONNX Constant, non-parameter initializers)";
  let description = [{
    Holds a dense or resource elements attribute. Large constants imported
    from ONNX are `dense_resource` blobs so they never print element by
    element.

    ```mlir
    %c = mp.constant dense<[2, 3]> : tensor<2xi64>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs MP_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def MP_ConstantOfShapeOp : MP_PureOp<"constant_of_shape"> {
  let summary = "a tensor of the given shape filled with one value (ONNX ConstantOfShape)";
  let arguments = (ins RankedTensorOf<[I64]>:$input,
                       OptionalAttr<ElementsAttr>:$value);
  let results = (outs MP_Tensor:$output);
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Training-mode ops and losses
//===----------------------------------------------------------------------===//

def MP_DropoutOp : MP_Op<"dropout"> {
  let summary = "dropout with its mask (ONNX Dropout-13)";
  let description = [{
    With `training_mode`, zeroes each element with probability `ratio` and
    scales the rest by 1/(1-ratio); `mask` (i1) says which were kept.
    Without it, output = data and mask is all true. Not `Pure`: two dropouts
    of one value draw different masks.
  }];
  let arguments = (ins MP_Tensor:$data,
                       DefaultValuedAttr<F32Attr, "0.5f">:$ratio,
                       DefaultValuedAttr<I64Attr, "0">:$training_mode,
                       OptionalAttr<I64Attr>:$seed);
  let results = (outs MP_Tensor:$output, MP_BoolTensor:$mask);
}

def MP_SoftmaxCrossEntropyLossOp : MP_PureOp<"softmax_cross_entropy_loss"> {
  let summary = "softmax cross-entropy loss (ONNX SoftmaxCrossEntropyLoss-13)";
  let description = [{
    scores: N x C x D..., labels: N x D... (integers), optional weights: C.
    `reduction` is mean (weighted mean over non-ignored), sum or none.
    Also yields log_prob (log-softmax of scores over C). Computed and
    accumulated in f32 for low-precision scores.
  }];
  let arguments = (ins MP_Tensor:$scores, RankedTensorOf<[I32, I64]>:$labels,
                       Optional<MP_Tensor>:$weights,
                       OptionalAttr<I64Attr>:$ignore_index,
                       DefaultValuedAttr<StrAttr, "\"mean\"">:$reduction);
  let results = (outs MP_Tensor:$output, MP_Tensor:$log_prob);
}

def MP_NegativeLogLikelihoodLossOp : MP_PureOp<"nll_loss"> {
  let summary = "negative log-likelihood loss (ONNX NegativeLogLikelihoodLoss-13)";
  let description = [{
    input: N x C x D... (log-probabilities), target: N x D..., optional
    weight: C; `reduction` is mean, sum or none.
  }];
  let arguments = (ins MP_Tensor:$input, RankedTensorOf<[I32, I64]>:$target,
                       Optional<MP_Tensor>:$weight,
                       OptionalAttr<I64Attr>:$ignore_index,
                       DefaultValuedAttr<StrAttr, "\"mean\"">:$reduction);
  let results = (outs MP_Tensor:$loss);
}

include "mp/Dialect/MP/IR/MPTrainingOps.td"

#endif // MP_OPS_TD
