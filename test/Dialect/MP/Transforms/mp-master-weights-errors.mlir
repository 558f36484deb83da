// RUN: mp-opt %s --split-input-file --mp-master-weights --verify-diagnostics -o /dev/null
// RUN: not mp-opt %s --split-input-file --mp-master-weights="moments=f16" 2>&1 | FileCheck %s --check-prefix=MOMENTS

// MOMENTS: error: mp-master-weights: moments must be f32 or bf16, got 'f16'

// expected-error @+1 {{mp-master-weights: no function @train_step; run mp-build-training first}}
module {
  func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

// expected-error @+1 {{mp-master-weights: cannot convert the mp.init of argument #0 to f32}}
func.func @train_step(%p: tensor<4xf16> {mp.name = "w", mp.role = "param", mp.init = dense<1> : tensor<4xi32>}, %lr: tensor<f32>) -> tensor<4xf16> {
  %0 = mp.sgd_update %p, %p lr(%lr) : (tensor<4xf16>, tensor<4xf16>, tensor<f32>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}
