// One precise verifier error per broken rule of the training ops.
// RUN: mp-opt %s --split-input-file --verify-diagnostics

func.func @sce_grad_labels(%dl: tensor<f32>, %lp: tensor<8x10xf32>, %y: tensor<7xi64>) {
  // expected-error @+1 {{labels [7] must have shape N x D... = [8]}}
  %0 = mp.softmax_cross_entropy_loss_grad %dl, %lp, %y : (tensor<f32>, tensor<8x10xf32>, tensor<7xi64>) -> tensor<8x10xf32>
  return
}

// -----

func.func @sce_grad_dloss(%dl: tensor<8xf32>, %lp: tensor<8x10xf32>, %y: tensor<8xi64>) {
  // expected-error @+1 {{dloss [8] must be a scalar for reduction "mean"}}
  %0 = mp.softmax_cross_entropy_loss_grad %dl, %lp, %y : (tensor<8xf32>, tensor<8x10xf32>, tensor<8xi64>) -> tensor<8x10xf32>
  return
}

// -----

func.func @nll_grad_reduction(%dl: tensor<f32>, %lp: tensor<8x10xf32>, %y: tensor<8xi64>) {
  // expected-error @+1 {{reduction must be none, mean or sum, got "avg"}}
  %0 = mp.nll_loss_grad %dl, %lp, %y {reduction = "avg"} : (tensor<f32>, tensor<8x10xf32>, tensor<8xi64>) -> tensor<8x10xf32>
  return
}

// -----

func.func @softmax_grad_shapes(%dy: tensor<2x8xf32>, %y: tensor<2x7xf32>) {
  // expected-error @+1 {{dY [2,8] and Y [2,7] must have one shape}}
  %0 = mp.softmax_grad %dy, %y : (tensor<2x8xf32>, tensor<2x7xf32>) -> tensor<2x7xf32>
  return
}

// -----

func.func @gelu_grad_approx(%x: tensor<4xf32>) {
  // expected-error @+1 {{'approximate' must be "none" or "tanh", got "erf"}}
  %0 = mp.gelu_grad %x, %x {approximate = "erf"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @layer_norm_grad_stats(%x: tensor<2x8xf32>, %s: tensor<8xf32>, %m: tensor<2xf32>) {
  // expected-error @+1 {{Mean and InvStdDev must be float tensors of shape [2,1], got tensor<2xf32>}}
  %0:3 = mp.layer_norm_grad %x, %x, %s, %m, %m : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<8xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @batch_norm_grad_scale(%x: tensor<4x8x2x2xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{scale must be 1-D of size C = 8, got tensor<4xf32>}}
  %0:3 = mp.batch_norm_grad %x, %x, %s : (tensor<4x8x2x2xf32>, tensor<4x8x2x2xf32>, tensor<4xf32>) -> (tensor<4x8x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @conv_grad_input_window(%dy: tensor<1x2x3x3xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{gradient [1,2,3,3] has spatial dim 0 = 3, but the window over the input [1,1,4,4] gives 4}}
  %0 = mp.conv_grad_input %dy, %w {input_shape = array<i64: 1, 1, 4, 4>, kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x2x3x3xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @conv_grad_input_channels(%dy: tensor<1x2x4x4xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{input_shape has 3 channels but W expects 1 x group 1}}
  %0 = mp.conv_grad_input %dy, %w {input_shape = array<i64: 1, 3, 4, 4>, kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x3x4x4xf32>
  return
}

// -----

func.func @conv_grad_filter_pads(%x: tensor<1x1x4x4xf32>, %dy: tensor<1x2x4x4xf32>) {
  // expected-error @+1 {{kernel_shape, strides and dilations need 2 entries and pads 4 for a rank-4 input}}
  %0 = mp.conv_grad_filter %x, %dy {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x1x3x3xf32>
  return
}

// -----

func.func @max_pool_grad_nc(%dy: tensor<1x2x2x2xf32>, %x: tensor<1x1x4x4xf32>) {
  // expected-error @+1 {{dY and X differ in N or C}}
  %0 = mp.max_pool_grad %dy, %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x2x2x2xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @slice_grad_shape(%dy: tensor<3xf32>) {
  // expected-error @+1 {{dY [3] is not the shape of the slice [4]}}
  %0 = mp.slice_grad %dy {input_shape = array<i64: 8>, starts = array<i64: 2>, ends = array<i64: 6>} : (tensor<3xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @sgd_needs_buffer(%p: tensor<4xf32>, %lr: tensor<f32>) {
  // expected-error @+1 {{momentum 0.9 needs a momentum_buffer operand}}
  %0 = mp.sgd_update %p, %p lr(%lr) {momentum = 0.9 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @sgd_buffer_without_momentum(%p: tensor<4xf32>, %lr: tensor<f32>) {
  // expected-error @+1 {{momentum_buffer given but momentum is 0}}
  %0:2 = mp.sgd_update %p, %p momentum_buffer(%p) lr(%lr) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @sgd_nesterov(%p: tensor<4xf32>, %lr: tensor<f32>) {
  // expected-error @+1 {{nesterov needs momentum > 0 and dampening = 0}}
  %0:2 = mp.sgd_update %p, %p momentum_buffer(%p) lr(%lr) {momentum = 0.9 : f64, dampening = 0.1 : f64, nesterov = true} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @sgd_grad_shape(%p: tensor<4xf32>, %g: tensor<5xf32>, %lr: tensor<f32>) {
  // expected-error @+1 {{grad [5] must have the shape of param [4]}}
  %0 = mp.sgd_update %p, %g lr(%lr) : (tensor<4xf32>, tensor<5xf32>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @sgd_lr_scalar(%p: tensor<4xf32>, %lr: tensor<1xf32>) {
  // expected-error @+1 {{lr must be an f32 scalar (tensor<f32>), got tensor<1xf32>}}
  %0 = mp.sgd_update %p, %p lr(%lr) : (tensor<4xf32>, tensor<4xf32>, tensor<1xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @sgd_weight_decay(%p: tensor<4xf32>, %lr: tensor<f32>) {
  // expected-error @+1 {{weight_decay must be >= 0, got -0.1}}
  %0 = mp.sgd_update %p, %p lr(%lr) {weight_decay = -0.1 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @adam_beta(%p: tensor<4xf32>, %t: tensor<i64>, %lr: tensor<f32>) {
  // expected-error @+1 {{beta2 must be in [0, 1), got 1}}
  %0:3 = mp.adam_update %p, %p exp_avg(%p) exp_avg_sq(%p) step(%t) lr(%lr) {beta2 = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @adam_state_shape(%p: tensor<4xf32>, %m: tensor<2x2xf32>, %t: tensor<i64>, %lr: tensor<f32>) {
  // expected-error @+1 {{exp_avg must be a float tensor of the shape of param [4], got tensor<2x2xf32>}}
  %0:3 = mp.adam_update %p, %p exp_avg(%m) exp_avg_sq(%p) step(%t) lr(%lr) : (tensor<4xf32>, tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>) -> (tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>)
  return
}

// -----

func.func @adam_step_type(%p: tensor<4xf32>, %t: tensor<i1>, %lr: tensor<f32>) {
  // expected-error @+1 {{step must be an i64 or f32 scalar, got tensor<i1>}}
  %0:3 = mp.adam_update %p, %p exp_avg(%p) exp_avg_sq(%p) step(%t) lr(%lr) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i1>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @adam_inv_scale(%p: tensor<4xf32>, %t: tensor<i64>, %lr: tensor<f32>, %s: tensor<f16>) {
  // expected-error @+1 {{inv_scale must be an f32 scalar (tensor<f32>), got tensor<f16>}}
  %0:3 = mp.adam_update %p, %p exp_avg(%p) exp_avg_sq(%p) step(%t) lr(%lr) inv_scale(%s) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>, tensor<f16>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @all_finite_int(%x: tensor<4xi64>) {
  // expected-error @+1 {{operand #0 must be floating-point, got tensor<4xi64>}}
  %0 = mp.all_finite %x : (tensor<4xi64>) -> tensor<i1>
  return
}

// -----

func.func @global_norm_result(%x: tensor<4xf16>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 32-bit float values, but got 'tensor<f16>'}}
  %0 = mp.global_norm %x : (tensor<4xf16>) -> tensor<f16>
  return
}

// -----

func.func @scale_update_factors(%s: tensor<f32>, %t: tensor<i64>, %inf: tensor<i1>) {
  // expected-error @+1 {{backoff_factor must be in (0, 1), got 2}}
  %0:2 = mp.loss_scale_update %s, %t, %inf {backoff_factor = 2.0 : f64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
  return
}

// -----

func.func @scale_update_bounds(%s: tensor<f32>, %t: tensor<i64>, %inf: tensor<i1>) {
  // expected-error @+1 {{need 0 < min_scale <= max_scale, got 4 and 2}}
  %0:2 = mp.loss_scale_update %s, %t, %inf {min_scale = 4.0 : f64, max_scale = 2.0 : f64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
  return
}

// -----

func.func @scale_update_tracker(%s: tensor<f32>, %t: tensor<i32>, %inf: tensor<i1>) {
  // expected-error @+1 {{growth_tracker must be an i64 scalar (tensor<i64>), got tensor<i32>}}
  %0:2 = mp.loss_scale_update %s, %t, %inf : (tensor<f32>, tensor<i32>, tensor<i1>) -> (tensor<f32>, tensor<i32>)
  return
}
