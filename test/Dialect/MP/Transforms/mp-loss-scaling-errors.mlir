// RUN: mp-opt %s --split-input-file --mp-loss-scaling --verify-diagnostics -o /dev/null
// RUN: not mp-opt %s --split-input-file --mp-loss-scaling="mode=auto" 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not mp-opt %s --split-input-file --mp-loss-scaling="backoff=2" 2>&1 | FileCheck %s --check-prefix=FACTORS

// MODE: error: mp-loss-scaling: unknown mode 'auto' (expected dynamic, static or none)
// FACTORS: error: mp-loss-scaling: need growth > 1, 0 < backoff < 1, interval >= 1, 0 < min <= max and scale > 0

func.func @train_step(%p: tensor<4xf32> {mp.name = "w", mp.role = "param"}, %lr: tensor<f32> {mp.name = "lr", mp.role = "hyper"},
                      %x: tensor<4xf32> {mp.name = "x", mp.role = "input"}) -> (tensor<4xf32> {mp.name = "w", mp.updates = 0 : i64}, tensor<f32> {mp.name = "loss"}) {
  %0 = mp.mul %p, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = mp.reduce_sum %0 {keepdims = 0 : i64} : (tensor<4xf32>) -> tensor<f32>
  %seed = mp.constant dense<1.0> : tensor<f32> loc("loss_seed"(fused<"grad">["sum"]))
  %2 = mp.mul %x, %seed : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32> loc(fused<"grad">["sum"])
  %3 = mp.sgd_update %p, %2 lr(%lr) : (tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %3, %1 : tensor<4xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{mp-loss-scaling: no function @train_step; run mp-build-training first}}
module {
  func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

// expected-error @+1 {{mp-loss-scaling: no loss seed (an mp.constant named "loss_seed") in @train_step; run it right after mp-build-training, before canonicalize/CSE}}
func.func @train_step(%p: tensor<4xf32> {mp.name = "w", mp.role = "param"}, %lr: tensor<f32> {mp.name = "lr", mp.role = "hyper"},
                      %g: tensor<4xf32> {mp.name = "g", mp.role = "input"}) -> (tensor<4xf32> {mp.name = "w", mp.updates = 0 : i64}) {
  %0 = mp.sgd_update %p, %g lr(%lr) : (tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// After CSE the seed may also feed forward ops: scaling it would change them.
func.func @train_step(%p: tensor<4xf32> {mp.name = "w", mp.role = "param"}, %lr: tensor<f32> {mp.name = "lr", mp.role = "hyper"},
                      %x: tensor<4xf32> {mp.name = "x", mp.role = "input"}) -> (tensor<4xf32> {mp.name = "w", mp.updates = 0 : i64}, tensor<f32> {mp.name = "loss"}) {
  %seed = mp.constant dense<1.0> : tensor<f32> loc("loss_seed"("sum"))
  %0 = mp.mul %p, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = mp.reduce_sum %0 {keepdims = 0 : i64} : (tensor<4xf32>) -> tensor<f32>
  // expected-error @+1 {{uses the loss seed, which must feed only the loss's backward op (merged by CSE?); run mp-loss-scaling before canonicalize/CSE}}
  %l = mp.add %1, %seed : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %2 = mp.mul %x, %seed : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32> loc(fused<"grad">["sum"])
  %3 = mp.sgd_update %p, %2 lr(%lr) : (tensor<4xf32>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %3, %l : tensor<4xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{mp-loss-scaling: @train_step has no fused updates and no gradient results}}
func.func @train_step(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"}) -> (tensor<f32> {mp.name = "loss"}) {
  %1 = mp.reduce_sum %x {keepdims = 0 : i64} : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
