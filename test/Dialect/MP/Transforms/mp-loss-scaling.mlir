// RUN: mp-opt %s --mp-build-training="optimizer=momentum" --mp-loss-scaling | FileCheck %s
// RUN: mp-opt %s --mp-build-training="optimizer=momentum" --mp-loss-scaling | mp-opt --mp-loss-scaling | FileCheck %s
// RUN: mp-opt %s --mp-build-training="optimizer=adam" --mp-loss-scaling="mode=static scale=1024" | FileCheck %s --check-prefix=STATIC
// RUN: mp-opt %s --mp-build-training="optimizer=adam" --mp-loss-scaling="scale=1024 growth=4 backoff=0.25 interval=10 min=2 max=65536" | FileCheck %s --check-prefix=OPTS
// RUN: mp-opt %s --mp-build-training --mp-loss-scaling="mode=none clip-norm=1.5" | FileCheck %s --check-prefix=CLIP
// RUN: mp-opt %s --mp-build-training --mp-loss-scaling="clip-norm=1.5" | FileCheck %s --check-prefix=SCALECLIP
// RUN: mp-opt %s --mp-build-training="optimizer=none" --mp-loss-scaling | FileCheck %s --check-prefix=GRADS
// RUN: mp-opt %s --mp-build-training --mp-loss-scaling="mode=none" | FileCheck %s --check-prefix=NONE

// Dynamic loss scaling on a conv + BatchNorm model with momentum SGD.

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:[^:]*]]: tensor<2x1x3x3xf32> {{{[^}]*}}mp.name = "w", mp.role = "param"}
// CHECK-SAME: %[[RM:[^:]*]]: tensor<2xf32> {{{[^}]*}}mp.name = "bn.running_mean", mp.role = "buffer"}
// CHECK-SAME: %[[STEP:[^:]*]]: tensor<i64> {mp.init = dense<0> : tensor<i64>, mp.name = "step", mp.role = "hyper"}
// CHECK-SAME: %[[SCALE:[^:]*]]: tensor<f32> {mp.init = dense<6.553600e+04> : tensor<f32>, mp.name = "loss_scale", mp.role = "scaler"}
// CHECK-SAME: %[[TRACKER:[^:]*]]: tensor<i64> {mp.init = dense<0> : tensor<i64>, mp.name = "growth_tracker", mp.role = "scaler"}
// CHECK-SAME: %{{[^:]*}}: tensor<2x1x4x4xf32> {mp.name = "x", mp.role = "input"}
// CHECK-SAME: tensor<2xf32> {mp.name = "bn.running_mean", mp.updates = [[RMIDX:[0-9]+]] : i64}
// CHECK-SAME: tensor<i64> {mp.name = "step", mp.updates = [[STEPIDX:[0-9]+]] : i64}
// CHECK-SAME: tensor<f32> {mp.name = "loss_scale", mp.updates = [[SCALEIDX:[0-9]+]] : i64}, tensor<i64> {mp.name = "growth_tracker", mp.updates = [[TRIDX:[0-9]+]] : i64}, tensor<i1> {mp.name = "skipped"}, tensor<f32> {mp.name = "loss"})
// CHECK-NOT: mp.constant dense<1.000000e+00> : tensor<f32>
// The scale is the seed of the backward pass.
// CHECK: mp.mul %[[SCALE]], %{{.*}} : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK: %[[GW:.*]] = mp.conv_grad_filter
// CHECK: %[[FINITE:.*]] = mp.all_finite %[[GW]], %{{.*}}, %{{.*}}
// CHECK: %[[INF:.*]] = mp.not %[[FINITE]] : (tensor<i1>) -> tensor<i1>
// CHECK: %[[INV:.*]] = mp.reciprocal %[[SCALE]] : (tensor<f32>) -> tensor<f32>
// CHECK: mp.sgd_update %[[W]], %[[GW]] momentum_buffer(%{{.*}}) step(%{{.*}}) lr(%{{.*}}) inv_scale(%[[INV]]) found_inf(%[[INF]])
// CHECK: mp.sgd_update {{.*}} inv_scale(%[[INV]]) found_inf(%[[INF]])
// CHECK: mp.sgd_update {{.*}} inv_scale(%[[INV]]) found_inf(%[[INF]])
// A skipped step changes no other state either.
// CHECK: %[[NRM:.*]] = mp.where %[[INF]], %[[RM]], %{{.*}} : (tensor<i1>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
// CHECK: %[[NSTEP:.*]] = mp.where %[[INF]], %[[STEP]], %{{.*}} : (tensor<i1>, tensor<i64>, tensor<i64>) -> tensor<i64>
// CHECK: %[[NS:.*]], %[[NT:.*]] = mp.loss_scale_update %[[SCALE]], %[[TRACKER]], %[[INF]] : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
// CHECK: return {{.*}}%[[NRM]], %{{.*}}, %[[NSTEP]], %[[NS]], %[[NT]], %[[INF]], %{{.*}} :

// STATIC-LABEL: func.func @train_step
// STATIC-SAME: %[[SCALE:[^:]*]]: tensor<f32> {mp.init = dense<1.024000e+03> : tensor<f32>, mp.name = "loss_scale", mp.role = "scaler"}
// STATIC-NOT: growth_tracker
// STATIC-SAME: tensor<i1> {mp.name = "skipped"}, tensor<f32> {mp.name = "loss"})
// STATIC: mp.adam_update {{.*}} inv_scale(%{{.*}}) found_inf(%{{.*}})
// STATIC-NOT: mp.loss_scale_update
// STATIC: return

// OPTS: mp.loss_scale_update {{.*}} {backoff_factor = 2.500000e-01 : f64, growth_factor = 4.000000e+00 : f64, growth_interval = 10 : i64, max_scale = 6.553600e+04 : f64, min_scale = 2.000000e+00 : f64}

// PyTorch's clip_grad_norm_: coef = min(max_norm / (norm + 1e-6), 1),
// folded into the updates' inv_scale.
// CLIP-LABEL: func.func @train_step
// CLIP-NOT: scaler
// CLIP: %[[N:.*]] = mp.global_norm %{{.*}}, %{{.*}}, %{{.*}} : (
// CLIP: %[[EPS:.*]] = mp.constant dense<9.99999997E-7> : tensor<f32>
// CLIP: %[[D:.*]] = mp.add %[[N]], %[[EPS]]
// CLIP: %[[MAX:.*]] = mp.constant dense<1.500000e+00> : tensor<f32>
// CLIP: %[[Q:.*]] = mp.div %[[MAX]], %[[D]]
// CLIP: %[[ONE:.*]] = mp.constant dense<1.000000e+00> : tensor<f32>
// CLIP: %[[C:.*]] = mp.min %[[Q]], %[[ONE]]
// CLIP: mp.sgd_update %{{.*}}, %{{.*}} lr(%{{.*}}) inv_scale(%[[C]]) :
// CLIP-NOT: found_inf(

// The norm of the scaled gradients is unscaled before clipping.
// SCALECLIP: %[[INV:.*]] = mp.reciprocal
// SCALECLIP: %[[N:.*]] = mp.global_norm
// SCALECLIP: %[[UN:.*]] = mp.mul %[[N]], %[[INV]]
// SCALECLIP: %[[C:.*]] = mp.min
// SCALECLIP: %[[EFF:.*]] = mp.mul %[[INV]], %[[C]]
// SCALECLIP: mp.sgd_update {{.*}} inv_scale(%[[EFF]]) found_inf(

// GRADS-LABEL: func.func @train_step
// GRADS-SAME: -> (tensor<2x1x3x3xf32> {mp.name = "w.grad"}, {{.*}}, tensor<i1> {mp.name = "skipped"}, tensor<f32> {mp.name = "loss"})
// GRADS: %[[INV:.*]] = mp.reciprocal
// GRADS: %[[G0:.*]] = mp.mul %{{.*}}, %[[INV]] : (tensor<2x1x3x3xf32>, tensor<f32>) -> tensor<2x1x3x3xf32>
// GRADS: return %[[G0]],

// NONE-LABEL: func.func @train_step
// NONE-NOT: scaler
// NONE-NOT: all_finite
// NONE: mp.constant dense<1.000000e+00> : tensor<f32>
// NONE-NOT: inv_scale
func.func @forward(%x: tensor<2x1x4x4xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<2x1x3x3xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.1> : tensor<2x1x3x3xf32>},
                   %s: tensor<2xf32> {mp.name = "bn.weight", mp.role = "param", mp.init = dense<1.0> : tensor<2xf32>},
                   %b: tensor<2xf32> {mp.name = "bn.bias", mp.role = "param", mp.init = dense<0.0> : tensor<2xf32>},
                   %m: tensor<2xf32> {mp.name = "bn.running_mean", mp.role = "buffer", mp.init = dense<0.0> : tensor<2xf32>},
                   %v: tensor<2xf32> {mp.name = "bn.running_var", mp.role = "buffer", mp.init = dense<1.0> : tensor<2xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  %c = mp.conv %x, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<2x1x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<2x2x4x4xf32>
  %y, %rm, %rv = mp.batch_norm %c, %s, %b, %m, %v {training_mode = 1 : i64} : (tensor<2x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>)
  %r = mp.relu %y : (tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %l = mp.reduce_mean %r {keepdims = 0 : i64} : (tensor<2x2x4x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
