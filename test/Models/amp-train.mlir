// The one-command mixed-precision training step on the PyTorch-exported
// 2-layer GPT: autocast, autodiff with backward ops following the forward
// decisions, f32 master weights with one f16 working copy each, f16
// gradients fused into AdamW, dynamic loss scaling on the device; bf16 gets
// the finite check with a static scale of 1. Then python/check_amp_training.py
// trains the MLP, CNN and GPT for 5 steps in fp32, f16 and bf16 (mp_interp.py
// rounds every op to the IR's precision) and compares the losses.
//
// REQUIRES: torch
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py gpt -o %t/gpt.onnx
// RUN: mp-opt %t/gpt.onnx --mp-amp-pipeline="target=f16 loss=loss optimizer=adamw lr=0.001" -o %t/f16.mlir
// RUN: FileCheck %s --input-file=%t/f16.mlir
// RUN: mp-opt %t/gpt.onnx --mp-amp-pipeline="target=bf16 loss=loss optimizer=adamw moments=bf16" | FileCheck %s --check-prefix=BF16
// RUN: mp-opt %t/f16.mlir --mp-verify-precision
// RUN: %python %mp_src/python/check_amp_training.py --mp-opt %mp_bin/mp-opt mlp cnn gpt --steps 5 | FileCheck %s --check-prefix=TRAIN

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[WTE:[^:]*]]: tensor<64x32xf32> {mp.init = dense_resource<wte.weight> : tensor<64x32xf32>, mp.name = "wte.weight", mp.role = "param"}
// CHECK-SAME: tensor<64x32xf32> {mp.init = dense<0.000000e+00> : tensor<64x32xf32>, mp.name = "wte.weight.exp_avg", mp.role = "opt_state"}
// CHECK-SAME: tensor<i64> {mp.init = dense<0> : tensor<i64>, mp.name = "step", mp.role = "hyper"}
// CHECK-SAME: tensor<f32> {mp.init = dense<1.000000e-03> : tensor<f32>, mp.name = "lr", mp.role = "hyper"}
// CHECK-SAME: %[[SCALE:[^:]*]]: tensor<f32> {mp.init = dense<6.553600e+04> : tensor<f32>, mp.name = "loss_scale", mp.role = "scaler"}
// CHECK-SAME: tensor<i64> {mp.init = dense<0> : tensor<i64>, mp.name = "growth_tracker", mp.role = "scaler"}
// CHECK-SAME: tensor<2x16xi64> {mp.name = "idx", mp.role = "input"}, %{{[^:]*}}: tensor<2x16xi64> {mp.name = "targets", mp.role = "label"}
// CHECK-SAME: tensor<i1> {mp.name = "skipped"}, tensor<f32> {mp.name = "loss"})
// CHECK: %[[WTEH:.*]] = mp.cast %[[WTE]] : tensor<64x32xf32> to f16
// CHECK-NOT: mp.cast %[[WTE]]
// CHECK: mp.gather %[[WTEH]]
// CHECK: mp.layer_norm_grad {{.*}}mp.precision = #mp.precision<f32>
// The embedding backward: a scatter-add of f16 rows.
// CHECK: %[[GWTE:.*]] = mp.scatter_nd {{.*}}reduction = "add"{{.*}} -> tensor<64x32xf16>
// CHECK: %[[FINITE:.*]] = mp.all_finite %[[GWTE]],
// CHECK: mp.adam_update %[[WTE]], %[[GWTE]] {{.*}} inv_scale(%{{.*}}) found_inf(%{{.*}}) {decoupled_weight_decay = true, weight_decay = 1.000000e-02 : f64} : (tensor<64x32xf32>, tensor<64x32xf16>, tensor<64x32xf32>, tensor<64x32xf32>,
// CHECK: mp.loss_scale_update %[[SCALE]]

// BF16-LABEL: func.func @train_step
// BF16-SAME: tensor<64x32xbf16> {mp.init = dense<0.000000e+00> : tensor<64x32xbf16>, mp.name = "wte.weight.exp_avg", mp.role = "opt_state"}
// BF16-SAME: tensor<f32> {mp.init = dense<1.000000e+00> : tensor<f32>, mp.name = "loss_scale", mp.role = "scaler"}
// BF16-NOT: growth_tracker
// BF16: mp.all_finite
// BF16-NOT: mp.loss_scale_update
// BF16: return

// TRAIN: mlp f16: final loss within {{.*}} of fp32
// TRAIN: cnn bf16: final loss within {{.*}} of fp32
// TRAIN: gpt f16: final loss within {{.*}} of fp32
// TRAIN: gpt bf16: final loss within {{.*}} of fp32
// TRAIN-NOT: FAIL
