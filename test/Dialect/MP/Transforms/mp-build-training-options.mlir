// RUN: mp-opt %s --mp-build-training="loss=/Loss" | FileCheck %s --check-prefix=NODE

// The loss named by its ONNX node; backward ops of an op autocast already
// painted get its precision (f32 for the loss's backward), accumulating in
// f32.

// NODE-LABEL: func.func @train_step
// NODE-SAME: -> (tensor<3x2xf32> {mp.name = "w", mp.updates = 0 : i64}, tensor<f32> {mp.name = "/Loss"})
// NODE: mp.softmax_cross_entropy_loss_grad {{.*}}mp.accumulate = #mp.precision<f32>, mp.precision = #mp.precision<f32>
// NODE: mp.matmul {{.*}}{mp.accumulate = #mp.precision<f32>, mp.precision = #mp.precision<f16>}
// NODE: mp.sgd_update
// NODE-NOT: mp.precision
// NODE: return
func.func @forward(%x: tensor<4x3xf32> {mp.name = "x", mp.role = "input"},
                   %y: tensor<4xi64> {mp.name = "y", mp.role = "input"},
                   %w: tensor<3x2xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<3x2xf32>})
    -> (tensor<4x2xf32> {mp.name = "logits"}) {
  %0 = mp.matmul %x, %w {mp.accumulate = #mp.precision<f32>, mp.precision = #mp.precision<f16>} : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32> loc("/MatMul")
  %loss, %lp = mp.softmax_cross_entropy_loss %0, %y {mp.precision = #mp.precision<f32>} : (tensor<4x2xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x2xf32>) loc("/Loss")
  return %0 : tensor<4x2xf32>
}
