// Round trip and verifier errors of the gradient, optimizer and
// loss-scaling ops (MPTrainingOps.td).
// RUN: mp-opt %s --split-input-file | mp-opt --split-input-file | FileCheck %s
// RUN: mp-opt %s --split-input-file --mlir-print-op-generic | mp-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @grad_ops
func.func @grad_ops(%dl: tensor<f32>, %lp: tensor<8x10xf32>, %y: tensor<8xi64>, %w: tensor<10xf32>,
                    %x: tensor<2x8xf32>, %s: tensor<8xf32>, %m: tensor<2x1xf32>) {
  // CHECK: mp.softmax_cross_entropy_loss_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {ignore_index = -100 : i64} : (tensor<f32>, tensor<8x10xf32>, tensor<8xi64>, tensor<10xf32>) -> tensor<8x10xf32>
  %0 = mp.softmax_cross_entropy_loss_grad %dl, %lp, %y, %w {ignore_index = -100 : i64} : (tensor<f32>, tensor<8x10xf32>, tensor<8xi64>, tensor<10xf32>) -> tensor<8x10xf32>
  // CHECK: mp.nll_loss_grad %{{.*}} {reduction = "sum"} : (tensor<f32>, tensor<8x10xf32>, tensor<8xi64>) -> tensor<8x10xf32>
  %1 = mp.nll_loss_grad %dl, %lp, %y {reduction = "sum"} : (tensor<f32>, tensor<8x10xf32>, tensor<8xi64>) -> tensor<8x10xf32>
  // CHECK: mp.softmax_grad {{.*}} -> tensor<2x8xf32>
  %2 = mp.softmax_grad %x, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  // CHECK: mp.log_softmax_grad {{.*}}{axis = 0 : i64}
  %3 = mp.log_softmax_grad %x, %x {axis = 0 : i64} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  // CHECK: mp.gelu_grad {{.*}}{approximate = "tanh"}
  %4 = mp.gelu_grad %x, %x {approximate = "tanh"} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  // CHECK: mp.layer_norm_grad {{.*}} -> (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>)
  %5:3 = mp.layer_norm_grad %x, %x, %s, %m, %m : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<8xf32>, tensor<2x1xf32>, tensor<2x1xf32>) -> (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

// CHECK-LABEL: func.func @window_grads
func.func @window_grads(%dy: tensor<1x2x4x4xf32>, %w: tensor<2x1x3x3xf32>, %x: tensor<1x1x4x4xf32>,
                        %dp: tensor<1x1x2x2xf32>, %bx: tensor<4x8x2x2xf32>, %bs: tensor<8xf32>) {
  // CHECK: mp.conv_grad_input {{.*}} -> tensor<1x1x4x4xf32>
  %0 = mp.conv_grad_input %dy, %w {input_shape = array<i64: 1, 1, 4, 4>, kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x4x4xf32>
  // CHECK: mp.conv_grad_filter {{.*}} -> tensor<2x1x3x3xf32>
  %1 = mp.conv_grad_filter %x, %dy {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x1x3x3xf32>
  // CHECK: mp.max_pool_grad {{.*}} -> tensor<1x1x4x4xf32>
  %2 = mp.max_pool_grad %dp, %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  // CHECK: mp.average_pool_grad {{.*}}count_include_pad = 1 : i64{{.*}} -> tensor<1x1x4x4xf32>
  %3 = mp.average_pool_grad %dp {input_shape = array<i64: 1, 1, 4, 4>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, count_include_pad = 1 : i64} : (tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
  // CHECK: mp.batch_norm_grad {{.*}} -> (tensor<4x8x2x2xf32>, tensor<8xf32>, tensor<8xf32>)
  %4:3 = mp.batch_norm_grad %bx, %bx, %bs : (tensor<4x8x2x2xf32>, tensor<4x8x2x2xf32>, tensor<8xf32>) -> (tensor<4x8x2x2xf32>, tensor<8xf32>, tensor<8xf32>)
  // CHECK: mp.slice_grad {{.*}} -> tensor<8xf32>
  %5 = mp.slice_grad %bs {input_shape = array<i64: 8>, starts = array<i64: 0>, ends = array<i64: 8>} : (tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

// CHECK-LABEL: func.func @optimizers
func.func @optimizers(%p: tensor<4xf32>, %g: tensor<4xf16>, %b: tensor<4xf32>, %lr: tensor<f32>,
                      %t: tensor<i64>, %s: tensor<f32>, %inf: tensor<i1>) {
  // CHECK: mp.sgd_update %{{.*}}, %{{.*}} momentum_buffer(%{{.*}}) step(%{{.*}}) lr(%{{.*}}) inv_scale(%{{.*}}) found_inf(%{{.*}}) {momentum = 9.000000e-01 : f64, nesterov = true}
  %0:2 = mp.sgd_update %p, %g momentum_buffer(%b) step(%t) lr(%lr) inv_scale(%s) found_inf(%inf) {momentum = 0.9 : f64, nesterov = true} : (tensor<4xf32>, tensor<4xf16>, tensor<4xf32>, tensor<i64>, tensor<f32>, tensor<f32>, tensor<i1>) -> (tensor<4xf32>, tensor<4xf32>)
  // CHECK: mp.sgd_update %{{.*}}, %{{.*}} lr(%{{.*}}) : (tensor<4xf32>, tensor<4xf16>, tensor<f32>) -> tensor<4xf32>
  %1 = mp.sgd_update %p, %g lr(%lr) : (tensor<4xf32>, tensor<4xf16>, tensor<f32>) -> tensor<4xf32>
  // CHECK: mp.sgd_update %{{.*}}, %{{.*}} lr(%{{.*}}) found_inf(%{{.*}}) {weight_decay = 1.000000e-02 : f64}
  %2 = mp.sgd_update %p, %g lr(%lr) found_inf(%inf) {weight_decay = 0.01 : f64} : (tensor<4xf32>, tensor<4xf16>, tensor<f32>, tensor<i1>) -> tensor<4xf32>
  // CHECK: mp.adam_update %{{.*}}, %{{.*}} exp_avg(%{{.*}}) exp_avg_sq(%{{.*}}) step(%{{.*}}) lr(%{{.*}}) inv_scale(%{{.*}}) found_inf(%{{.*}}) {decoupled_weight_decay = true, weight_decay = 1.000000e-02 : f64}
  %3:3 = mp.adam_update %p, %g exp_avg(%b) exp_avg_sq(%b) step(%t) lr(%lr) inv_scale(%s) found_inf(%inf) {decoupled_weight_decay = true, weight_decay = 0.01 : f64} : (tensor<4xf32>, tensor<4xf16>, tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>, tensor<f32>, tensor<i1>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  // CHECK: mp.adam_update %{{.*}}, %{{.*}} exp_avg(%{{.*}}) exp_avg_sq(%{{.*}}) step(%{{.*}}) lr(%{{.*}}) : (
  %4:3 = mp.adam_update %p, %g exp_avg(%b) exp_avg_sq(%b) step(%s) lr(%lr) : (tensor<4xf32>, tensor<4xf16>, tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// CHECK-LABEL: func.func @scaler
func.func @scaler(%a: tensor<4xf16>, %b: tensor<2x2xf32>, %s: tensor<f32>, %t: tensor<i64>, %inf: tensor<i1>) {
  // CHECK: mp.all_finite %{{.*}}, %{{.*}} : (tensor<4xf16>, tensor<2x2xf32>) -> tensor<i1>
  %0 = mp.all_finite %a, %b : (tensor<4xf16>, tensor<2x2xf32>) -> tensor<i1>
  // CHECK: mp.global_norm %{{.*}}, %{{.*}} : (tensor<4xf16>, tensor<2x2xf32>) -> tensor<f32>
  %1 = mp.global_norm %a, %b : (tensor<4xf16>, tensor<2x2xf32>) -> tensor<f32>
  // CHECK: mp.loss_scale_update %{{.*}} {growth_interval = 100 : i64, max_scale = 6.553600e+04 : f64}
  %2:2 = mp.loss_scale_update %s, %t, %inf {growth_interval = 100 : i64, max_scale = 65536.0 : f64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
  return
}
