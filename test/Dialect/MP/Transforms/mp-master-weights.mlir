// RUN: mp-opt %s --mp-autocast --mp-build-training="optimizer=adam" --mp-autocast --mp-insert-casts --mp-master-weights | FileCheck %s
// RUN: mp-opt %s --mp-autocast --mp-build-training="optimizer=adam" --mp-autocast --mp-insert-casts --mp-master-weights | mp-opt --mp-master-weights | FileCheck %s
// RUN: mp-opt %s --mp-build-training="optimizer=adam" --mp-master-weights="moments=bf16" | FileCheck %s --check-prefix=BF16
// RUN: mp-opt %s --mp-autocast --mp-build-training="optimizer=adam" --mp-autocast --mp-insert-casts --mp-master-weights="report=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT

// An f32 weight used in f16, and an f16 parameter (e.g. from an f16 export)
// that becomes an f32 master.

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:[^:]*]]: tensor<3x5xf32> {mp.init = dense<5.000000e-01> : tensor<3x5xf32>, mp.name = "w", mp.role = "param"}
// CHECK-SAME: %[[H:[^:]*]]: tensor<5xf32> {mp.init = dense<2.500000e-01> : tensor<5xf32>, mp.name = "h", mp.role = "param"}
// CHECK-SAME: -> (tensor<3x5xf32> {mp.name = "w", mp.updates = 0 : i64}, tensor<5xf32> {mp.name = "h", mp.updates = 1 : i64}
// One working copy per parameter, at the top of the step.
// CHECK-DAG: %[[HW:.*]] = mp.cast %[[H]] : tensor<5xf32> to f16
// CHECK-DAG: %[[WW:.*]] = mp.cast %[[W]] : tensor<3x5xf32> to f16
// CHECK: mp.matmul %{{.*}}, %[[WW]]
// The f16 weight gradient reaches the update without a cast.
// CHECK: %[[GW:.*]] = mp.matmul {{.*}} -> tensor<3x5xf16>
// CHECK-NOT: mp.cast %[[GW]]
// CHECK: mp.adam_update %[[W]], %[[GW]] exp_avg(%{{.*}}) exp_avg_sq(%{{.*}}) step(%{{.*}}) lr(%{{.*}}) : (tensor<3x5xf32>, tensor<3x5xf16>, tensor<3x5xf32>, tensor<3x5xf32>, tensor<i64>, tensor<f32>) -> (tensor<3x5xf32>, tensor<3x5xf32>, tensor<3x5xf32>)
// The master is updated, not the working copy.
// CHECK: mp.adam_update %[[H]], %{{.*}} : (tensor<5xf32>, tensor<5xf32>,
// CHECK-NOT: mp.precision
// CHECK: return

// BF16-LABEL: func.func @train_step
// BF16-SAME: tensor<3x5xbf16> {mp.init = dense<0.000000e+00> : tensor<3x5xbf16>, mp.name = "w.exp_avg", mp.role = "opt_state"}
// BF16-SAME: tensor<3x5xbf16> {mp.init = dense<0.000000e+00> : tensor<3x5xbf16>, mp.name = "w.exp_avg_sq", mp.role = "opt_state"}
// BF16-SAME: tensor<3x5xbf16> {mp.name = "w.exp_avg", mp.updates = 2 : i64}
// BF16: mp.adam_update {{.*}} : (tensor<3x5xf32>, tensor<3x5xf32>, tensor<3x5xbf16>, tensor<3x5xbf16>, tensor<i64>, tensor<f32>) -> (tensor<3x5xf32>, tensor<3x5xbf16>, tensor<3x5xbf16>)

// Adam with f16 working weights: 4 (master) + 8 (moments) persistent bytes.
// REPORT: remark: master weights: 20 parameters in f32, persistent state 12.0 bytes per parameter (master + optimizer moments)
func.func @forward(%x: tensor<4x3xf32> {mp.name = "x", mp.role = "input"},
                   %y: tensor<4xi64> {mp.name = "y", mp.role = "input"},
                   %w: tensor<3x5xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<3x5xf32>},
                   %h: tensor<5xf16> {mp.name = "h", mp.role = "param", mp.init = dense<0.25> : tensor<5xf16>})
    -> (tensor<f32> {mp.name = "loss"}) {
  %0 = mp.matmul %x, %w : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  %1 = mp.cast %h : tensor<5xf16> to f32
  %2 = mp.add %0, %1 : (tensor<4x5xf32>, tensor<5xf32>) -> tensor<4x5xf32>
  %l, %p = mp.softmax_cross_entropy_loss %2, %y : (tensor<4x5xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x5xf32>)
  return %l : tensor<f32>
}
