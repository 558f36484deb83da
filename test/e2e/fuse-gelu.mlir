// mp-compile runs mp-fuse-gelu before the pipeline: an exported exact GELU
// (here written out by mp-translate --export-onnx) reaches the lowering as
// one gelu, and with --optimizer the step holds one gelu_grad;
// --fuse-gelu=false keeps the five ops.
// RUN: mp-translate --export-onnx %s -o %t.onnx
// RUN: mp-compile %t.onnx --emit-mlir -o - | FileCheck %s
// RUN: mp-compile %t.onnx --optimizer sgd --loss y --emit-mlir -o - | FileCheck %s --check-prefix=TRAIN
// RUN: mp-compile %t.onnx --fuse-gelu=false --emit-mlir -o - | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: func.func @forward
// CHECK: mp.gelu
// CHECK-NOT: mp.erf
// TRAIN-LABEL: func.func @train_step
// TRAIN: mp.gelu
// TRAIN: mp.gelu_grad
// TRAIN-NOT: mp.erf
// OFF-LABEL: func.func @forward
// OFF-NOT: mp.gelu
// OFF: mp.erf
func.func @forward(%x: tensor<2x8xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<8x8xf32> {mp.name = "w", mp.role = "param",
                                        mp.init = dense<0.125> : tensor<8x8xf32>})
    -> (tensor<f32> {mp.name = "y"}) {
  %h = mp.matmul %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
  %sqrt2 = mp.constant dense<1.41421354> : tensor<f32>
  %one = mp.constant dense<1.0> : tensor<f32>
  %half = mp.constant dense<0.5> : tensor<f32>
  %d = mp.div %h, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %e = mp.erf %d : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %a = mp.add %e, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = mp.mul %h, %a : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %g = mp.mul %m, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %y = mp.reduce_sum %g {keepdims = 0 : i64} : (tensor<2x8xf32>) -> tensor<f32>
  return %y : tensor<f32>
}
