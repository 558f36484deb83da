// RUN: mp-opt %s --canonicalize --split-input-file | FileCheck %s

// The Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain of exported
// models folds to a static reshape.
// CHECK-LABEL: func.func @shape_chain
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>)
func.func @shape_chain(%x: tensor<2x8x16xf32>) -> tensor<?x?x?x?xf32> {
  %s = mp.shape %x : (tensor<2x8x16xf32>) -> tensor<3xi64>
  %i0 = mp.constant dense<0> : tensor<i64>
  %i1 = mp.constant dense<1> : tensor<i64>
  %b = mp.gather %s, %i0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %t = mp.gather %s, %i1 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = mp.unsqueeze %b {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %t1 = mp.unsqueeze %t {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %h = mp.constant dense<[2, 8]> : tensor<2xi64>
  %shape = mp.concat %b1, %t1, %h {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  // CHECK: %[[S:.*]] = mp.constant dense<[2, 8, 2, 8]> : tensor<4xi64>
  // CHECK: %[[R:.*]] = mp.reshape %[[X]], %[[S]] : (tensor<2x8x16xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  // CHECK: return %[[R]]
  %r = mp.reshape %x, %shape : (tensor<2x8x16xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  return %r : tensor<?x?x?x?xf32>
}

// -----

// CHECK-LABEL: func.func @int_arith
func.func @int_arith() -> (tensor<2xi64>, tensor<2xi1>, tensor<2xi64>) {
  %a = mp.constant dense<[6, -7]> : tensor<2xi64>
  %b = mp.constant dense<2> : tensor<i64>
  %0 = mp.div %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %1 = mp.mul %0, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %2 = mp.sub %1, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %3 = mp.add %2, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %4 = mp.less %3, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi1>
  %5 = mp.not %4 : (tensor<2xi1>) -> tensor<2xi1>
  %6 = mp.where %5, %3, %b : (tensor<2xi1>, tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  // Integer division truncates toward zero, as in ONNX.
  // CHECK-DAG: mp.constant dense<[6, -6]> : tensor<2xi64>
  // CHECK-DAG: mp.constant dense<[true, false]> : tensor<2xi1>
  // CHECK-DAG: mp.constant dense<[6, 2]> : tensor<2xi64>
  // CHECK-NOT: mp.div
  return %3, %5, %6 : tensor<2xi64>, tensor<2xi1>, tensor<2xi64>
}

// -----

// Division by a constant zero is left for run time, not folded.
// CHECK-LABEL: func.func @div_by_zero
func.func @div_by_zero() -> tensor<i64> {
  %a = mp.constant dense<1> : tensor<i64>
  %z = mp.constant dense<0> : tensor<i64>
  // CHECK: mp.div
  %0 = mp.div %a, %z : (tensor<i64>, tensor<i64>) -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

// Floating-point math is never folded at compile time.
// CHECK-LABEL: func.func @no_float_folding
func.func @no_float_folding() -> tensor<2xf32> {
  %a = mp.constant dense<[1.0, 2.0]> : tensor<2xf32>
  // CHECK: mp.add
  %0 = mp.add %a, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
func.func @identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = mp.identity %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = mp.transpose %0 {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = mp.cast %1 : tensor<2x3xf32> to f32
  %3 = mp.concat %2 {axis = 0 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %s = mp.constant dense<[2, 3]> : tensor<2xi64>
  %4 = mp.reshape %3, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  %5 = mp.slice %x {starts = array<i64: 0>, ends = array<i64: 9223372036854775807>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: return %[[X]], %[[X]], %[[X]], %[[X]], %{{.*}}
  return %1, %2, %3, %4, %5 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// A lossless f16 -> f32 -> f16 round trip disappears; f32 -> f16 -> f32
// rounds, so it stays.
// CHECK-LABEL: func.func @cast_pairs
// CHECK-SAME: (%[[H:.*]]: tensor<4xf16>, %[[F:.*]]: tensor<4xf32>)
func.func @cast_pairs(%h: tensor<4xf16>, %f: tensor<4xf32>) -> (tensor<4xf16>, tensor<4xf32>, tensor<4xbf16>) {
  %0 = mp.cast %h : tensor<4xf16> to f32
  %1 = mp.cast %0 : tensor<4xf32> to f16
  // CHECK: %[[D:.*]] = mp.cast %[[F]] : tensor<4xf32> to f16
  // CHECK: %[[U:.*]] = mp.cast %[[D]] : tensor<4xf16> to f32
  %2 = mp.cast %f : tensor<4xf32> to f16
  %3 = mp.cast %2 : tensor<4xf16> to f32
  // f16 -> f32 -> bf16 becomes one f16 -> bf16 cast.
  // CHECK: %[[B:.*]] = mp.cast %[[H]] : tensor<4xf16> to bf16
  %4 = mp.cast %h : tensor<4xf16> to f32
  %5 = mp.cast %4 : tensor<4xf32> to bf16
  // CHECK: return %[[H]], %[[U]], %[[B]]
  return %1, %3, %5 : tensor<4xf16>, tensor<4xf32>, tensor<4xbf16>
}

// -----

// CHECK-LABEL: func.func @constant_casts
func.func @constant_casts() -> (tensor<3xf32>, tensor<2xi64>, tensor<2x2xf16>) {
  %i = mp.constant dense<[1, 2, 3]> : tensor<3xi64>
  // CHECK-DAG: mp.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
  %0 = mp.cast %i : tensor<3xi64> to f32
  %f = mp.constant dense<[2.7, -2.7]> : tensor<2xf32>
  // Float to integer truncates toward zero.
  // CHECK-DAG: mp.constant dense<[2, -2]> : tensor<2xi64>
  %1 = mp.cast %f : tensor<2xf32> to i64
  %s = mp.constant dense<0.1> : tensor<2x2xf32>
  // CHECK-DAG: mp.constant dense<9.997550e-02> : tensor<2x2xf16>
  %2 = mp.cast %s : tensor<2x2xf32> to f16
  return %0, %1, %2 : tensor<3xf32>, tensor<2xi64>, tensor<2x2xf16>
}

// -----

// CHECK-LABEL: func.func @shape_ops
func.func @shape_ops(%x: tensor<4x5xf32>) -> (tensor<1xi64>, tensor<i64>, tensor<4xi64>, tensor<2x3xf32>, tensor<2xi64>) {
  // CHECK-DAG: mp.constant dense<5> : tensor<1xi64>
  %0 = mp.shape %x {start = -1 : i64} : (tensor<4x5xf32>) -> tensor<1xi64>
  // CHECK-DAG: mp.constant dense<20> : tensor<i64>
  %1 = mp.size %x : (tensor<4x5xf32>) -> tensor<i64>
  %s = mp.constant dense<0> : tensor<i64>
  %l = mp.constant dense<8> : tensor<i64>
  %d = mp.constant dense<2> : tensor<i64>
  // CHECK-DAG: mp.constant dense<[0, 2, 4, 6]> : tensor<4xi64>
  %2 = mp.range %s, %l, %d : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<4xi64>
  %shape = mp.constant dense<[2, 3]> : tensor<2xi64>
  // CHECK-DAG: mp.constant dense<0.000000e+00> : tensor<2x3xf32>
  %3 = mp.constant_of_shape %shape : (tensor<2xi64>) -> tensor<2x3xf32>
  %v = mp.constant dense<[10, 20, 30, 40]> : tensor<4xi64>
  // CHECK-DAG: mp.constant dense<[40, 20]> : tensor<2xi64>
  %4 = mp.slice %v {starts = array<i64: -1>, ends = array<i64: 0>, steps = array<i64: -2>} : (tensor<4xi64>) -> tensor<2xi64>
  return %0, %1, %2, %3, %4 : tensor<1xi64>, tensor<i64>, tensor<4xi64>, tensor<2x3xf32>, tensor<2xi64>
}

// -----

// The static dims of a partly dynamic shape fold even when the shape does
// not.
// CHECK-LABEL: func.func @partial_shape
func.func @partial_shape(%x: tensor<?x16xf32>) -> (tensor<1xi64>, tensor<i64>) {
  %s = mp.shape %x : (tensor<?x16xf32>) -> tensor<2xi64>
  %i = mp.constant dense<1> : tensor<1xi64>
  %n = mp.constant dense<0> : tensor<i64>
  // CHECK-DAG: %[[T:.*]] = mp.constant dense<16> : tensor<1xi64>
  // CHECK-DAG: %[[N:.*]] = mp.gather
  %t = mp.gather %s, %i : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %b = mp.gather %s, %n : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  // CHECK: return %[[T]], %[[N]]
  return %t, %b : tensor<1xi64>, tensor<i64>
}

// -----

// transpose(transpose(x)) composes: x itself when the perms cancel (a
// weight's gradient transposed back), else one transpose of x; an absent
// perm reverses the dims.
// CHECK-LABEL: func.func @transpose_pairs
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[T:.*]] = mp.transpose %[[X]] {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
// CHECK-NEXT: %[[R:.*]] = mp.transpose %[[X]] {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT: return %[[X]], %[[T]], %[[R]]
func.func @transpose_pairs(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<3x4x2xf32>, tensor<4x2x3xf32>) {
  %a = mp.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %b = mp.transpose %a {perm = array<i64: 1, 0, 2>} : (tensor<3x2x4xf32>) -> tensor<2x3x4xf32>
  %c = mp.transpose %a {perm = array<i64: 0, 2, 1>} : (tensor<3x2x4xf32>) -> tensor<3x4x2xf32>
  %d = mp.transpose %x : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %e = mp.transpose %d {perm = array<i64: 0, 2, 1>} : (tensor<4x3x2xf32>) -> tensor<4x2x3xf32>
  return %b, %c, %e : tensor<2x3x4xf32>, tensor<3x4x2xf32>, tensor<4x2x3xf32>
}
