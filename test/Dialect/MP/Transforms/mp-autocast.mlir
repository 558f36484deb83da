// RUN: mp-opt %s --split-input-file --mp-autocast | FileCheck %s
// Running autocast twice changes nothing.
// RUN: mp-opt %s --split-input-file --mp-autocast | mp-opt --split-input-file --mp-autocast | FileCheck %s

// Allow: contractions are low precision and accumulate in f32.
// CHECK-LABEL: func.func @allow
// CHECK: mp.matmul {{.*}} {mp.accumulate = #mp.precision<f32>, mp.precision = #mp.precision<f16>}
// CHECK: mp.gemm {{.*}} {mp.accumulate = #mp.precision<f32>, mp.precision = #mp.precision<f16>}
// CHECK: mp.conv {{.*}} {mp.accumulate = #mp.precision<f32>, mp.precision = #mp.precision<f16>}
func.func @allow(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %x: tensor<1x2x6x6xf32>, %w: tensor<3x2x3x3xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<1x3x4x4xf32>) {
  %0 = mp.matmul %a, %b : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %1 = mp.gemm %a, %b : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %2 = mp.conv %x, %w : (tensor<1x2x6x6xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x4x4xf32>
  return %0, %1, %2 : tensor<4x4xf32>, tensor<4x4xf32>, tensor<1x3x4x4xf32>
}

// -----

// Deny spreads downstream through infer and clear ops, up to the next
// allow op, which stays low.
// CHECK-LABEL: func.func @deny_spreads
// CHECK: mp.exp {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.add {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.relu {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.matmul {{.*}}mp.precision = #mp.precision<f16>
func.func @deny_spreads(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = mp.exp %x : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = mp.add %0, %x : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %2 = mp.relu %1 : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %3 = mp.matmul %2, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %3 : tensor<4x4xf32>
}

// -----

// Infer and clear ops between two allow ops become low precision; so do
// ops fed only by parameters whose every user is low (the weight transpose).
// CHECK-LABEL: func.func @between_allow
// CHECK: mp.matmul {{.*}}#mp.precision<f16>
// CHECK: mp.add {{.*}}mp.precision = #mp.precision<f16>
// CHECK: mp.tanh {{.*}}mp.precision = #mp.precision<f16>
// CHECK: mp.reshape {{.*}}mp.precision = #mp.precision<f16>
// CHECK: mp.transpose {{.*}}mp.precision = #mp.precision<f16>
// CHECK: mp.matmul {{.*}}#mp.precision<f16>
func.func @between_allow(%x: tensor<4x8xf32>, %w1: tensor<8x8xf32> {mp.role = "param"}, %b: tensor<8xf32> {mp.role = "param"}, %w2: tensor<2x8xf32> {mp.role = "param"}) -> tensor<4x2xf32> {
  %0 = mp.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %1 = mp.add %0, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = mp.tanh %1 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %s = mp.constant dense<[4, 8]> : tensor<2xi64>
  %3 = mp.reshape %2, %s : (tensor<4x8xf32>, tensor<2xi64>) -> tensor<4x8xf32>
  %t = mp.transpose %w2 : (tensor<2x8xf32>) -> tensor<8x2xf32>
  %4 = mp.matmul %3, %t : (tensor<4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  return %4 : tensor<4x2xf32>
}

// -----

// Clear and infer ops after the last allow op follow their inputs; an op
// fed only by parameters with an f32 user stays f32.
// CHECK-LABEL: func.func @follow
// CHECK: mp.matmul {{.*}}#mp.precision<f16>
// CHECK: mp.relu {{.*}}mp.precision = #mp.precision<f16>
// CHECK: mp.transpose {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.log {{.*}}mp.precision = #mp.precision<f32>
func.func @follow(%x: tensor<4x4xf32>, %w: tensor<4x4xf32> {mp.role = "param"}) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %0 = mp.matmul %x, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = mp.relu %0 : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %t = mp.transpose %w : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %2 = mp.log %t : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %1, %2 : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// The loss subgraph (after the last contraction, and downstream of the
// loss) stays f32, whatever the op types; found from the scalar result.
// CHECK-LABEL: func.func @loss_subgraph
// CHECK: mp.matmul {{.*}}#mp.precision<f16>
// CHECK: mp.add {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.mul {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.reduce_mean {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.mul {{.*}}mp.precision = #mp.precision<f32>
func.func @loss_subgraph(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>, %y: tensor<4x4xf32>) -> (tensor<f32>, tensor<f32>) {
  %0 = mp.matmul %x, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = mp.add %0, %y : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %2 = mp.mul %1, %1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %3 = mp.reduce_mean %2 {keepdims = 0 : i64} : (tensor<4x4xf32>) -> tensor<f32>
  %c = mp.constant dense<1024.0> : tensor<f32>
  %4 = mp.mul %3, %c : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %3, %4 : tensor<f32>, tensor<f32>
}

// -----

// Reductions over more than large-reduction elements stay f32.
// CHECK-LABEL: func.func @large_reduction
// CHECK: mp.reduce_sum {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.reduce_sum {{.*}}mp.precision = #mp.precision<f16>
func.func @large_reduction(%x: tensor<2x20000xf32>, %w: tensor<20000x8xf32>, %v: tensor<8x8xf32>) -> (tensor<2x1xf32>, tensor<1x8xf32>) {
  %m = mp.matmul %x, %w : (tensor<2x20000xf32>, tensor<20000x8xf32>) -> tensor<2x8xf32>
  %0 = mp.reduce_sum %x {axes = array<i64: 1>} : (tensor<2x20000xf32>) -> tensor<2x1xf32>
  %1 = mp.reduce_sum %m {axes = array<i64: 0>} : (tensor<2x8xf32>) -> tensor<1x8xf32>
  %2 = mp.matmul %1, %v : (tensor<1x8xf32>, tensor<8x8xf32>) -> tensor<1x8xf32>
  return %0, %2 : tensor<2x1xf32>, tensor<1x8xf32>
}

// -----

// A constant outside the f16 range keeps its consumer in f32.
// CHECK-LABEL: func.func @constant_range
// CHECK: mp.add {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.mul {{.*}}mp.precision = #mp.precision<f16>
func.func @constant_range(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = mp.matmul %x, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %big = mp.constant dense<-1.0e9> : tensor<f32>
  %1 = mp.add %0, %big : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %half = mp.constant dense<0.5> : tensor<f32>
  %2 = mp.mul %0, %half : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %3 = mp.matmul %1, %2 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %3 : tensor<4x4xf32>
}

// -----

// Ops that already carry mp.precision keep it; integer shape math is not
// painted.
// CHECK-LABEL: func.func @kept
// CHECK: mp.matmul {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.shape
// CHECK-NOT: mp.precision
// CHECK: return
func.func @kept(%x: tensor<4x4xf32>) -> tensor<2xi64> {
  %0 = mp.matmul %x, %x {mp.precision = #mp.precision<f32>} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = mp.shape %0 : (tensor<4x4xf32>) -> tensor<2xi64>
  return %1 : tensor<2xi64>
}

// -----

// Backward ops (FusedLoc<"grad"> naming their forward op) follow the
// forward op's decision: the Exp backward stays f32, the MatMul backward
// low, even where data flow alone would decide otherwise.
// CHECK-LABEL: func.func @backward_follows_forward
// CHECK: mp.matmul {{.*}}mp.precision = #mp.precision<f16>
// CHECK: mp.exp {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.mul {{.*}}mp.precision = #mp.precision<f32>
// CHECK: mp.matmul {{.*}}mp.precision = #mp.precision<f16>
#fwd_mm = loc("fc")
#fwd_exp = loc("act")
func.func @backward_follows_forward(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>, %g: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %0 = mp.matmul %x, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32> loc(#fwd_mm)
  %1 = mp.exp %0 : (tensor<4x4xf32>) -> tensor<4x4xf32> loc(#fwd_exp)
  %2 = mp.mul %g, %0 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32> loc(fused<"grad">[#fwd_exp])
  %3 = mp.matmul %2, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32> loc(fused<"grad">[#fwd_mm])
  return %1, %3 : tensor<4x4xf32>, tensor<4x4xf32>
}
