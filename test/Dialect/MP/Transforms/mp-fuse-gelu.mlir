// RUN: mp-opt %s --mp-fuse-gelu --split-input-file --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s

// PyTorch's export of nn.GELU(): Div(x, sqrt 2), Erf, Add 1, Mul x, Mul 0.5.
// CHECK-LABEL: func.func @exported
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x8xf32>
// CHECK-NEXT: %[[G:.*]] = mp.gelu %[[X]] : (tensor<2x8xf32>) -> tensor<2x8xf32> loc("/mlp/act/Mul_1")
// CHECK-NEXT: return %[[G]]
func.func @exported(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %sqrt2 = mp.constant dense<1.41421354> : tensor<f32>
  %one = mp.constant dense<1.0> : tensor<f32>
  %half = mp.constant dense<0.5> : tensor<f32>
  %d = mp.div %x, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32> loc("/mlp/act/Div")
  %e = mp.erf %d : (tensor<2x8xf32>) -> tensor<2x8xf32> loc("/mlp/act/Erf")
  %a = mp.add %e, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32> loc("/mlp/act/Add")
  %m = mp.mul %x, %a : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32> loc("/mlp/act/Mul")
  %y = mp.mul %m, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32> loc("/mlp/act/Mul_1")
  return %y : tensor<2x8xf32>
}

// -----

// Operands in the other order, Mul by 1/sqrt 2 (rounded to f16), and 0.5
// applied to x first.
// CHECK-LABEL: func.func @commuted
// CHECK-SAME: (%[[X:[^:]*]]: tensor<4xf16>
// CHECK-NEXT: %[[G:.*]] = mp.gelu %[[X]]
// CHECK-NEXT: return %[[G]]
func.func @commuted(%x: tensor<4xf16>) -> tensor<4xf16> {
  %rsqrt2 = mp.constant dense<0.707106769> : tensor<1xf16>
  %one = mp.constant dense<1.0> : tensor<f16>
  %half = mp.constant dense<0.5> : tensor<f16>
  %d = mp.mul %rsqrt2, %x : (tensor<1xf16>, tensor<4xf16>) -> tensor<4xf16>
  %e = mp.erf %d : (tensor<4xf16>) -> tensor<4xf16>
  %a = mp.add %one, %e : (tensor<f16>, tensor<4xf16>) -> tensor<4xf16>
  %h = mp.mul %half, %x : (tensor<f16>, tensor<4xf16>) -> tensor<4xf16>
  %y = mp.mul %a, %h : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  return %y : tensor<4xf16>
}

// -----

// Not GELU: a wrong constant, an intermediate with another user, and the
// erf argument taken from another value. Nothing changes.
// CHECK-LABEL: func.func @not_gelu
// CHECK-NOT: mp.gelu
// CHECK-COUNT-3: mp.erf
// CHECK-NOT: mp.gelu
func.func @not_gelu(%x: tensor<4xf32>, %z: tensor<4xf32>)
    -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %sqrt2 = mp.constant dense<1.41421354> : tensor<f32>
  %three = mp.constant dense<3.0> : tensor<f32>
  %one = mp.constant dense<1.0> : tensor<f32>
  %half = mp.constant dense<0.5> : tensor<f32>
  // Div by 3, not sqrt 2.
  %d0 = mp.div %x, %three : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %e0 = mp.erf %d0 : (tensor<4xf32>) -> tensor<4xf32>
  %a0 = mp.add %e0, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m0 = mp.mul %x, %a0 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y0 = mp.mul %m0, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  // erf's result is also returned.
  %d1 = mp.div %x, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %e1 = mp.erf %d1 : (tensor<4xf32>) -> tensor<4xf32>
  %a1 = mp.add %e1, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m1 = mp.mul %x, %a1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y1 = mp.mul %m1, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  // erf(z / sqrt 2) times x.
  %d2 = mp.div %z, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %e2 = mp.erf %d2 : (tensor<4xf32>) -> tensor<4xf32>
  %a2 = mp.add %e2, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m2 = mp.mul %x, %a2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y2 = mp.mul %m2, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %y0, %y1, %e1, %y2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// The tanh approximation (nn.GELU(approximate="tanh"), gelu_new), with the
// cube as Pow(x, 3) and as (x * x) * x.
// CHECK-LABEL: func.func @tanh_form
// CHECK-SAME: (%[[X:[^:]*]]: tensor<4xf32>
// CHECK-NEXT: %[[G:.*]] = mp.gelu %[[X]] {approximate = "tanh"}
// CHECK-NEXT: %[[H:.*]] = mp.gelu %[[X]] {approximate = "tanh"}
// CHECK-NEXT: return %[[G]], %[[H]]
func.func @tanh_form(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %three = mp.constant dense<3.0> : tensor<f32>
  %k = mp.constant dense<0.044715> : tensor<f32>
  %s = mp.constant dense<0.797884583> : tensor<f32>
  %one = mp.constant dense<1.0> : tensor<f32>
  %half = mp.constant dense<0.5> : tensor<f32>
  %p = mp.pow %x, %three : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %kp = mp.mul %k, %p : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %v = mp.add %x, %kp : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %u = mp.mul %v, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %t = mp.tanh %u : (tensor<4xf32>) -> tensor<4xf32>
  %a = mp.add %t, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %h = mp.mul %half, %x : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %y = mp.mul %h, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %sq = mp.mul %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %c = mp.mul %sq, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %kc = mp.mul %c, %k : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %v2 = mp.add %kc, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %u2 = mp.mul %s, %v2 : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %t2 = mp.tanh %u2 : (tensor<4xf32>) -> tensor<4xf32>
  %a2 = mp.add %one, %t2 : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %m2 = mp.mul %x, %a2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y2 = mp.mul %m2, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %y, %y2 : tensor<4xf32>, tensor<4xf32>
}

// -----

// Not the tanh form: 0.05 instead of 0.044715, and x^2 instead of x^3.
// CHECK-LABEL: func.func @tanh_near_misses
// CHECK-NOT: mp.gelu
// CHECK-COUNT-2: mp.tanh
// CHECK-NOT: mp.gelu
func.func @tanh_near_misses(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %three = mp.constant dense<3.0> : tensor<f32>
  %k = mp.constant dense<0.044715> : tensor<f32>
  %k2 = mp.constant dense<0.05> : tensor<f32>
  %s = mp.constant dense<0.797884583> : tensor<f32>
  %one = mp.constant dense<1.0> : tensor<f32>
  %half = mp.constant dense<0.5> : tensor<f32>
  %p = mp.pow %x, %three : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %kp = mp.mul %k2, %p : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %v = mp.add %x, %kp : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %u = mp.mul %v, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %t = mp.tanh %u : (tensor<4xf32>) -> tensor<4xf32>
  %a = mp.add %t, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m = mp.mul %x, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y = mp.mul %m, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %sq = mp.mul %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %kc = mp.mul %sq, %k : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %v2 = mp.add %kc, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %u2 = mp.mul %s, %v2 : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %t2 = mp.tanh %u2 : (tensor<4xf32>) -> tensor<4xf32>
  %a2 = mp.add %one, %t2 : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %m2 = mp.mul %x, %a2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y2 = mp.mul %m2, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %y, %y2 : tensor<4xf32>, tensor<4xf32>
}
