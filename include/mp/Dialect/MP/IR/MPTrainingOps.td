//===- MPTrainingOps.td - gradient and optimizer ops ---------*- tablegen -*-===//
//
// Ops that only training graphs contain: backward ops for the forward ops
// whose gradient as a composition of forward ops would be slow or unstable
// (losses, softmax, normalizations, convolution, pooling, GELU, slicing),
// fused optimizer updates with PyTorch semantics, and the mixed-precision
// helpers (finite check, global norm, loss-scale update). Included at the end
// of MPOps.td; type inference lives in lib/Dialect/MP/IR/MPTrainingOps.cpp.
//
// Gradient ops compute in f32 when their operands are f16/bf16 (statistics,
// sums and the softmax are accumulated in f32) and store in the element type
// of their primal operand. Window and convolution attributes are explicit
// (auto_pad already resolved into `pads`).
//
//===----------------------------------------------------------------------===//

#ifndef MP_TRAINING_OPS_TD
#define MP_TRAINING_OPS_TD

//===----------------------------------------------------------------------===//
// Gradient ops
//===----------------------------------------------------------------------===//

def MP_SoftmaxCrossEntropyLossGradOp
    : MP_PureOp<"softmax_cross_entropy_loss_grad"> {
  let summary = "gradient of softmax_cross_entropy_loss w.r.t. the scores";
  let description = [{
    `dscores = (exp(log_prob) - onehot(labels)) * w[label] * s` where
    log_prob is the forward op's second result (N x C x D...), `w` the
    optional class weights (1 when absent) and `s` the scale of the
    reduction: `dloss` itself for `none` (shape N x D...), the scalar `dloss`
    for `sum`, `dloss / sum(w[label] over non-ignored elements)` for `mean`.
    Elements whose label equals `ignore_index` get 0. Computed in f32 for
    low-precision log_prob; the result has log_prob's type.

    ```mlir
    %d = mp.softmax_cross_entropy_loss_grad %dl, %logp, %y {ignore_index = -100 : i64}
        : (tensor<f32>, tensor<8x10xf32>, tensor<8xi64>) -> tensor<8x10xf32>
    ```
  }];
  let arguments = (ins MP_Tensor:$dloss, MP_Tensor:$log_prob,
                       RankedTensorOf<[I32, I64]>:$labels,
                       Optional<MP_Tensor>:$weights,
                       OptionalAttr<I64Attr>:$ignore_index,
                       DefaultValuedAttr<StrAttr, "\"mean\"">:$reduction);
  let results = (outs MP_Tensor:$dscores);
}

def MP_NegativeLogLikelihoodLossGradOp : MP_PureOp<"nll_loss_grad"> {
  let summary = "gradient of nll_loss w.r.t. its input";
  let description = [{
    `dinput[n, c, d...] = -[c == target] * w[c] * s`, with `s` the reduction
    scale as in `mp.softmax_cross_entropy_loss_grad`; ignored targets give 0.
    `input` is read only for its shape and type.

    ```mlir
    %d = mp.nll_loss_grad %dl, %logp, %y : (tensor<f32>, tensor<8x10xf32>, tensor<8xi64>) -> tensor<8x10xf32>
    ```
  }];
  let arguments = (ins MP_Tensor:$dloss, MP_Tensor:$input,
                       RankedTensorOf<[I32, I64]>:$target,
                       Optional<MP_Tensor>:$weight,
                       OptionalAttr<I64Attr>:$ignore_index,
                       DefaultValuedAttr<StrAttr, "\"mean\"">:$reduction);
  let results = (outs MP_Tensor:$dinput);
}

class MP_SoftmaxGradBase<string mnemonic, string fwd, string semantics>
    : MP_PureOp<mnemonic> {
  let summary = "gradient of " # fwd # " from its output";
  let description = "`dX = " # semantics # "` along `axis`, where Y is the "
      # "forward op's output. The sum is accumulated in f32. Example:\n\n"
      # "```mlir\n%dx = mp." # mnemonic # " %dy, %y {axis = -1 : i64} : "
      # "(tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>\n```";
  let arguments = (ins MP_Tensor:$dY, MP_Tensor:$Y,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs MP_Tensor:$dX);
}
def MP_SoftmaxGradOp : MP_SoftmaxGradBase<"softmax_grad", "mp.softmax",
                                          "Y * (dY - sum(dY * Y))">;
def MP_LogSoftmaxGradOp : MP_SoftmaxGradBase<"log_softmax_grad",
                                             "mp.log_softmax",
                                             "dY - exp(Y) * sum(dY)">;

def MP_GeluGradOp : MP_PureOp<"gelu_grad"> {
  let summary = "gradient of mp.gelu";
  let description = [{
    `dX = dY * gelu'(X)`: for `approximate = "none"`,
    `gelu'(x) = Phi(x) + x * phi(x)`; for `"tanh"`, the derivative of
    `0.5x(1 + tanh(u))`, `u = sqrt(2/pi)(x + 0.044715x^3)`.

    ```mlir
    %dx = mp.gelu_grad %dy, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins MP_Tensor:$dY, MP_Tensor:$X,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$approximate);
  let results = (outs MP_Tensor:$dX);
}

def MP_LayerNormGradOp : MP_PureOp<"layer_norm_grad"> {
  let summary = "gradient of mp.layer_norm w.r.t. X, Scale and B";
  let description = [{
    With `xhat = (X - Mean) * InvStdDev` (Mean and InvStdDev are the forward
    op's saved statistics) and `n` the number of normalized elements:
    `dX = InvStdDev * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))`
    with `dxhat = dY * Scale`; `dScale = sum(dY * xhat)` and `dB = sum(dY)`
    over the dims before `axis`. dScale and dB have the shape of the
    normalized dims X.shape[axis:] and Scale's element type (a Scale that was
    broadcast is reduced further by the caller). Accumulates in f32.

    ```mlir
    %dx, %ds, %db = mp.layer_norm_grad %dy, %x, %s, %mean, %inv {axis = -1 : i64}
        : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<8xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
        -> (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>)
    ```
  }];
  let arguments = (ins MP_Tensor:$dY, MP_Tensor:$X, MP_Tensor:$Scale,
                       MP_Tensor:$Mean, MP_Tensor:$InvStdDev,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs MP_Tensor:$dX, MP_Tensor:$dScale, MP_Tensor:$dB);
}

def MP_BatchNormGradOp : MP_PureOp<"batch_norm_grad"> {
  let summary = "gradient of a training-mode mp.batch_norm w.r.t. X, scale and B";
  let description = [{
    Training-mode BatchNormalization normalizes with the batch statistics
    (mean and population variance over N and the spatial dims, per channel),
    which this op recomputes from X in f32. With `xhat` the normalized X and
    `m` the elements per channel:
    `dX = scale * invstd * (dY - mean(dY) - xhat * mean(dY * xhat))`,
    `dscale = sum(dY * xhat)`, `dB = sum(dY)` (per channel). dscale and dB
    have scale's type.

    ```mlir
    %dx, %ds, %db = mp.batch_norm_grad %dy, %x, %s {epsilon = 1.0e-05 : f32}
        : (tensor<4x8x2x2xf32>, tensor<4x8x2x2xf32>, tensor<8xf32>)
        -> (tensor<4x8x2x2xf32>, tensor<8xf32>, tensor<8xf32>)
    ```
  }];
  let arguments = (ins MP_Tensor:$dY, MP_Tensor:$X, MP_Tensor:$scale,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs MP_Tensor:$dX, MP_Tensor:$dscale, MP_Tensor:$dB);
}

def MP_ConvGradInputOp : MP_PureOp<"conv_grad_input"> {
  let summary = "gradient of mp.conv w.r.t. X (transposed convolution)";
  let description = [{
    `dX[n, c, i...] = sum over m, k of dY[n, m, o...] * W[m, c', k...]` where
    `i = o * stride + k * dilation - pad_begin` and `c'` the channel within
    the group: the transposed convolution of dY with W, of shape
    `input_shape` (N x C x D..., needed because strided windows do not
    determine the input size). Attributes are the forward conv's with
    auto_pad resolved. Accumulates in f32.

    ```mlir
    %dx = mp.conv_grad_input %dy, %w {input_shape = array<i64: 1, 1, 4, 4>, kernel_shape = array<i64: 3, 3>,
        strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
        : (tensor<1x2x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x4x4xf32>
    ```
  }];
  let arguments = (ins MP_Tensor:$dY, MP_Tensor:$W,
                       DenseI64ArrayAttr:$input_shape,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs MP_Tensor:$dX);
}

def MP_ConvGradFilterOp : MP_PureOp<"conv_grad_filter"> {
  let summary = "gradient of mp.conv w.r.t. W";
  let description = [{
    `dW[m, c', k...] = sum over n, o of dY[n, m, o...] * X[n, c, i...]` with
    `i = o * stride + k * dilation - pad_begin` (out-of-range i read 0). The
    result is M x C/group x kernel_shape. Accumulates in f32.

    ```mlir
    %dw = mp.conv_grad_filter %x, %dy {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>,
        pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
        : (tensor<1x1x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x1x3x3xf32>
    ```
  }];
  let arguments = (ins MP_Tensor:$X, MP_Tensor:$dY,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs MP_Tensor:$dW);
}

def MP_MaxPoolGradOp : MP_PureOp<"max_pool_grad"> {
  let summary = "gradient of mp.max_pool: dY routed to each window's maximum";
  let description = [{
    For each output position the gradient goes to the first (row-major)
    position of X that holds the window's maximum (as PyTorch), and
    overlapping windows add up. Pads never receive gradient. dY has the
    forward op's output shape; the result has X's type.

    ```mlir
    %dx = mp.max_pool_grad %dy, %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
        pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
        : (tensor<1x1x2x2xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
    ```
  }];
  let arguments = (ins MP_Tensor:$dY, MP_Tensor:$X,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "0">:$ceil_mode);
  let results = (outs MP_Tensor:$dX);
}

def MP_AveragePoolGradOp : MP_PureOp<"average_pool_grad"> {
  let summary = "gradient of mp.average_pool";
  let description = [{
    Each output gradient is spread evenly over its window's elements of X:
    `dX[i] += dY[o] / count(o)` where count is the forward divisor (window
    elements inside X, or inside X plus pads when `count_include_pad = 1`).
    The result has shape `input_shape`. Accumulates in f32.

    ```mlir
    %dx = mp.average_pool_grad %dy {input_shape = array<i64: 1, 1, 4, 4>, kernel_shape = array<i64: 2, 2>,
        strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
        : (tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
    ```
  }];
  let arguments = (ins MP_Tensor:$dY, DenseI64ArrayAttr:$input_shape,
                       DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "0">:$ceil_mode,
                       DefaultValuedAttr<I64Attr, "0">:$count_include_pad);
  let results = (outs MP_Tensor:$dX);
}

def MP_SliceGradOp : MP_PureOp<"slice_grad"> {
  let summary = "gradient of mp.slice: dY placed into zeros of the input shape";
  let description = [{
    A tensor of shape `input_shape` and dY's element type that is 0 except
    at the positions the forward slice (same `starts`, `ends`, `axes`,
    `steps`) read, which hold dY.

    ```mlir
    %dx = mp.slice_grad %dy {input_shape = array<i64: 8>, starts = array<i64: 2>, ends = array<i64: 6>}
        : (tensor<4xf32>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins MP_Tensor:$dY, DenseI64ArrayAttr:$input_shape,
                       DenseI64ArrayAttr:$starts, DenseI64ArrayAttr:$ends,
                       OptionalAttr<DenseI64ArrayAttr>:$axes,
                       OptionalAttr<DenseI64ArrayAttr>:$steps);
  let results = (outs MP_Tensor:$dX);
}

//===----------------------------------------------------------------------===//
// Optimizers (PyTorch semantics and defaults)
//===----------------------------------------------------------------------===//

def MP_SGDUpdateOp : MP_PureOp<"sgd_update", [AttrSizedOperandSegments]> {
  let summary = "fused SGD step with momentum, dampening, Nesterov and weight decay (torch.optim.SGD)";
  let description = [{
    One torch.optim.SGD step for one parameter, computed in f32:
    ```
    g = grad * inv_scale                        (inv_scale absent: grad)
    if weight_decay != 0: g = g + weight_decay * param
    if momentum != 0:
      buf = step == 1 ? g : momentum * buf + (1 - dampening) * g
      g = nesterov ? g + momentum * buf : buf
    new_param = param - lr * g
    ```
    `momentum_buffer` is present exactly when `momentum != 0`. PyTorch sets
    the buffer to `g` on the first step instead of applying the formula; the
    optional `step` operand (i64 or f32 scalar, the number of this update,
    1 on the first) reproduces that: with `step = 1`, `buf = g`. Without
    `step` a zero-initialized buffer gives the same result unless
    `dampening != 0`. When `found_inf` (i1 scalar) is true the step changes
    nothing: both results equal their inputs. `lr` is an f32 scalar tensor so
    schedules need no recompilation; `grad` may have a lower precision than
    `param` (the cast is fused). Results: the new parameter (param's type)
    and the new momentum buffer (when present).

    ```mlir
    %p1, %b1 = mp.sgd_update %p, %g momentum_buffer(%b) lr(%lr) {momentum = 9.000000e-01 : f64}
        : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins MP_Tensor:$param, MP_Tensor:$grad,
                       Optional<MP_Tensor>:$momentum_buffer,
                       Optional<MP_Tensor>:$step, MP_Tensor:$lr,
                       Optional<MP_Tensor>:$inv_scale,
                       Optional<MP_BoolTensor>:$found_inf,
                       DefaultValuedAttr<F64Attr, "0.0">:$momentum,
                       DefaultValuedAttr<F64Attr, "0.0">:$dampening,
                       DefaultValuedAttr<BoolAttr, "false">:$nesterov,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay);
  let results = (outs MP_Tensor:$new_param,
                      Optional<MP_Tensor>:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad (`momentum_buffer` `(` $momentum_buffer^ `)`)?
    (`step` `(` $step^ `)`)? `lr` `(` $lr `)`
    (`inv_scale` `(` $inv_scale^ `)`)? (`found_inf` `(` $found_inf^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

def MP_AdamUpdateOp : MP_PureOp<"adam_update", [AttrSizedOperandSegments]> {
  let summary = "fused Adam / AdamW step with bias correction (torch.optim.Adam, AdamW)";
  let description = [{
    One torch.optim.Adam (or AdamW when `decoupled_weight_decay`) step for one
    parameter, computed in f32; `step` is the number of this update (1 on the
    first step: PyTorch's state["step"] after its increment), an i64 or f32
    scalar, and the bias corrections are computed from it in f64:
    ```
    g = grad * inv_scale                        (inv_scale absent: grad)
    if decoupled_weight_decay: param = param * (1 - lr * weight_decay)
    elif weight_decay != 0:    g = g + weight_decay * param
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    bc1 = 1 - beta1^step;  bc2 = 1 - beta2^step
    new_param = param - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
    ```
    When `found_inf` (i1 scalar) is true the step changes nothing: every
    result equals its input. Results: new param, new exp_avg, new exp_avg_sq
    (each with its input's type; the moments may be bf16 or f32).

    ```mlir
    %p1, %m1, %v1 = mp.adam_update %p, %g exp_avg(%m) exp_avg_sq(%v) step(%t) lr(%lr)
        {decoupled_weight_decay = true, weight_decay = 1.000000e-02 : f64}
        : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>)
        -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins MP_Tensor:$param, MP_Tensor:$grad, MP_Tensor:$exp_avg,
                       MP_Tensor:$exp_avg_sq, MP_Tensor:$step, MP_Tensor:$lr,
                       Optional<MP_Tensor>:$inv_scale,
                       Optional<MP_BoolTensor>:$found_inf,
                       DefaultValuedAttr<F64Attr, "0.9">:$beta1,
                       DefaultValuedAttr<F64Attr, "0.999">:$beta2,
                       DefaultValuedAttr<F64Attr, "1e-8">:$eps,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay,
                       DefaultValuedAttr<BoolAttr, "false">:$decoupled_weight_decay);
  let results = (outs MP_Tensor:$new_param, MP_Tensor:$new_exp_avg,
                      MP_Tensor:$new_exp_avg_sq);
  let assemblyFormat = [{
    $param `,` $grad `exp_avg` `(` $exp_avg `)` `exp_avg_sq` `(` $exp_avg_sq `)`
    `step` `(` $step `)` `lr` `(` $lr `)` (`inv_scale` `(` $inv_scale^ `)`)?
    (`found_inf` `(` $found_inf^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Mixed-precision helpers
//===----------------------------------------------------------------------===//

def MP_AllFiniteOp : MP_PureOp<"all_finite"> {
  let summary = "whether every element of every operand is finite";
  let description = [{
    An i1 scalar: true when no operand holds an inf or NaN. One check over
    all gradients decides whether a loss-scaled step is skipped (bf16 gets it
    too).

    ```mlir
    %ok = mp.all_finite %g0, %g1 : (tensor<4xf16>, tensor<2x2xf32>) -> tensor<i1>
    ```
  }];
  let arguments = (ins Variadic<MP_Tensor>:$inputs);
  let results = (outs MP_BoolTensor:$finite);
}

def MP_GlobalNormOp : MP_PureOp<"global_norm"> {
  let summary = "the L2 norm of all operands together, in f32";
  let description = [{
    `sqrt(sum over operands and elements of x^2)`, accumulated in f32 and
    returned as an f32 scalar (inf or NaN when an operand holds one). Used
    for gradient clipping.

    ```mlir
    %n = mp.global_norm %g0, %g1 : (tensor<4xf32>, tensor<2x2xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<MP_Tensor>:$inputs);
  let results = (outs RankedTensorOf<[F32]>:$norm);
}

def MP_LossScaleUpdateOp : MP_PureOp<"loss_scale_update"> {
  let summary = "dynamic loss-scale update (torch.cuda.amp.GradScaler.update)";
  let description = [{
    With `found_inf` true: `scale = max(scale * backoff_factor, min_scale)`
    and the growth tracker resets to 0. Otherwise the tracker counts the
    clean step; when it reaches `growth_interval`,
    `scale = min(scale * growth_factor, max_scale)` (kept when not finite)
    and the tracker resets. scale is an f32 scalar, growth_tracker an i64
    scalar, found_inf an i1 scalar; the results are the new scale and
    tracker. Runs on the device: no host sync between steps.

    ```mlir
    %s1, %t1 = mp.loss_scale_update %s, %t, %inf : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
    ```
  }];
  let arguments = (ins MP_Tensor:$scale, MP_Tensor:$growth_tracker,
                       MP_BoolTensor:$found_inf,
                       DefaultValuedAttr<F64Attr, "2.0">:$growth_factor,
                       DefaultValuedAttr<F64Attr, "0.5">:$backoff_factor,
                       DefaultValuedAttr<I64Attr, "2000">:$growth_interval,
                       DefaultValuedAttr<F64Attr, "1.0">:$min_scale,
                       DefaultValuedAttr<F64Attr, "16777216.0">:$max_scale);
  let results = (outs MP_Tensor:$new_scale, MP_Tensor:$new_growth_tracker);
}

#endif // MP_TRAINING_OPS_TD
