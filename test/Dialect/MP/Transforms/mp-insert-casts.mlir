// RUN: mp-opt %s --split-input-file --mp-insert-casts --mp-verify-precision | FileCheck %s
// RUN: mp-opt %s --split-input-file --mp-insert-casts="keep-io-types=false" | FileCheck %s --check-prefix=NOKEEP
// Running it again inserts nothing.
// RUN: mp-opt %s --split-input-file --mp-insert-casts | mp-opt --split-input-file --mp-insert-casts | FileCheck %s

#f16 = #mp.precision<f16>
#f32 = #mp.precision<f32>

// One cast per (value, type), right after the definition, shared by users;
// the result goes back to f32 for the signature.
// CHECK-LABEL: func.func @shared
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<8x8xf32>) -> tensor<4x8xf32>
// CHECK-DAG: %[[WH:.*]] = mp.cast %[[W]] : tensor<8x8xf32> to f16
// CHECK-DAG: %[[XH:.*]] = mp.cast %[[X]] : tensor<4x8xf32> to f16
// CHECK: %[[A:.*]] = mp.matmul %[[XH]], %[[WH]] {{.*}} : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
// CHECK: %[[B:.*]] = mp.matmul %[[A]], %[[WH]] {{.*}} : (tensor<4x8xf16>, tensor<8x8xf16>) -> tensor<4x8xf16>
// CHECK: %[[R:.*]] = mp.cast %[[B]] : tensor<4x8xf16> to f32
// CHECK: return %[[R]]
// NOKEEP-LABEL: func.func @shared
// NOKEEP-SAME: -> tensor<4x8xf16>
func.func @shared(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %0 = mp.matmul %x, %w {mp.precision = #f16} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %1 = mp.matmul %0, %w {mp.precision = #f16} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

#f16 = #mp.precision<f16>
#f32 = #mp.precision<f32>

// A low value crossing into f32 ops is cast once; an f16 -> f32 cast that
// already exists is undone instead of cast back.
// CHECK-LABEL: func.func @boundaries
// CHECK-SAME: (%[[H:.*]]: tensor<4xf16>, %[[F:.*]]: tensor<4xf32>)
// CHECK: %[[FH:.*]] = mp.cast %[[F]] : tensor<4xf32> to f16
// CHECK: %[[R:.*]] = mp.relu %[[FH]] {{.*}} -> tensor<4xf16>
// CHECK: %[[RF:.*]] = mp.cast %[[R]] : tensor<4xf16> to f32
// CHECK: mp.exp %[[RF]] {{.*}} -> tensor<4xf32>
// CHECK: mp.log %[[RF]] {{.*}} -> tensor<4xf32>
// CHECK: %[[UP:.*]] = mp.cast %[[H]] : tensor<4xf16> to f32
// CHECK: mp.tanh %[[H]] {{.*}} : (tensor<4xf16>) -> tensor<4xf16>
// CHECK-NOT: mp.cast %[[UP]]
func.func @boundaries(%h: tensor<4xf16>, %f: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0 = mp.relu %f {mp.precision = #f16} : (tensor<4xf32>) -> tensor<4xf32>
  %1 = mp.exp %0 {mp.precision = #f32} : (tensor<4xf32>) -> tensor<4xf32>
  %2 = mp.log %0 {mp.precision = #f32} : (tensor<4xf32>) -> tensor<4xf32>
  %up = mp.cast %h : tensor<4xf16> to f32
  %3 = mp.tanh %up {mp.precision = #f16} : (tensor<4xf32>) -> tensor<4xf32>
  %4 = mp.sqrt %up {mp.precision = #f32} : (tensor<4xf32>) -> tensor<4xf32>
  return %1, %2, %3, %4 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

#f16 = #mp.precision<f16>

// Constants are converted at compile time; pinned operands (LayerNorm
// Scale and B) stay f32; integer shape math is untouched.
// CHECK-LABEL: func.func @constants_and_pins
// CHECK-DAG: %[[C:.*]] = mp.constant dense<5.000000e-01> : tensor<16xf16>
// CHECK-DAG: %[[XH:.*]] = mp.cast %{{.*}} : tensor<2x16xf32> to f16
// CHECK: %[[M:.*]] = mp.mul %[[XH]], %[[C]] {{.*}} : (tensor<2x16xf16>, tensor<16xf16>) -> tensor<2x16xf16>
// CHECK: mp.layer_norm %[[M]], %[[S:[^ ,]*]], %[[B:[^ ,]*]] {{.*}} : (tensor<2x16xf16>, tensor<16xf32>, tensor<16xf32>) -> (tensor<2x16xf16>, tensor<2x1xf32>, tensor<2x1xf32>)
// CHECK: mp.shape %{{.*}} : (tensor<2x16xf16>) -> tensor<2xi64>
func.func @constants_and_pins(%x: tensor<2x16xf32>, %s: tensor<16xf32>, %b: tensor<16xf32>) -> (tensor<2x16xf32>, tensor<2xi64>) {
  %c = mp.constant dense<0.5> : tensor<16xf32>
  %0 = mp.mul %x, %c {mp.precision = #f16} : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  %y:3 = mp.layer_norm %0, %s, %b {mp.precision = #f16} : (tensor<2x16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<2x16xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  %shape = mp.shape %y#0 : (tensor<2x16xf32>) -> tensor<2xi64>
  return %y#0, %shape : tensor<2x16xf32>, tensor<2xi64>
}

// -----

#bf16 = #mp.precision<bf16>

// Ops of other dialects keep their operand types.
// CHECK-LABEL: func.func @boundary_call
// CHECK: %[[R:.*]] = mp.relu {{.*}} -> tensor<4xbf16>
// CHECK: %[[RF:.*]] = mp.cast %[[R]] : tensor<4xbf16> to f32
// CHECK: call @callee(%[[RF]]) : (tensor<4xf32>) -> tensor<4xf32>
func.func private @callee(tensor<4xf32>) -> tensor<4xf32>
func.func @boundary_call(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = mp.relu %x {mp.precision = #bf16} : (tensor<4xf32>) -> tensor<4xf32>
  %1 = func.call @callee(%0) : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}
