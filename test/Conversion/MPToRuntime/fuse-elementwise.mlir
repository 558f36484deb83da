// RUN: mp-translate --mp-to-runtime-text %s --split-input-file | FileCheck %s

// A chain of float elementwise ops, each op's only user the next, becomes
// one fused_elementwise instruction at the chain's last op: its operands
// are the chain's outside values (each once), args names two per step
// (operand index, -1 the previous step, -2 none), types each step's dtype.
// CHECK-LABEL: func chain
// CHECK:   %[[G:[0-9]+]]:f16[2,3]@{{[0-9]+}} = gemm(
// CHECK:   %[[F:[0-9]+]]:f16[2,3]@{{[0-9]+}} = fused_elementwise(%[[G]], %[[C:[0-9]+]]) ops="cast,add,leaky_relu,cast" args=[0,-2,-1,1,-1,-2,-1,-2] alphas=[0.000000e+00,0.000000e+00,2.000000e-01,0.000000e+00] types="f32,f32,f32,f16"
// CHECK-NEXT: identity(%[[F]])
func.func @chain(%x: tensor<2x4xf16> {mp.name = "x", mp.role = "input"},
                 %w: tensor<3x4xf16> {mp.name = "w", mp.role = "input"})
    -> (tensor<2x3xf16> {mp.name = "y"}) {
  %g = mp.gemm %x, %w {transB = 1 : i64} : (tensor<2x4xf16>, tensor<3x4xf16>) -> tensor<2x3xf16>
  %gf = mp.cast %g : tensor<2x3xf16> to f32
  %c = mp.constant dense<2.0> : tensor<f32>
  %a = mp.add %gf, %c : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %m = mp.leaky_relu %a {alpha = 2.000000e-01 : f32} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %h = mp.cast %m : tensor<2x3xf32> to f16
  return %h : tensor<2x3xf16>
}

// -----

// The previous step may be either operand; an outside value used twice is
// one operand; gelu's tanh approximation is alpha 1.
// CHECK-LABEL: func operands
// CHECK:   %[[F:[0-9]+]]:f32[4]@{{[0-9]+}} = fused_elementwise(%[[X:[0-9]+]], %[[Y:[0-9]+]]) ops="mul,sub,gelu,div" args=[0,0,1,-1,-1,-2,-1,0] alphas=[0.000000e+00,0.000000e+00,1.000000e+00,0.000000e+00] types="f32,f32,f32,f32"
// CHECK-NOT: = {{[a-z_]+}}(
// CHECK: identity(%[[F]])
func.func @operands(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"},
                    %y: tensor<4xf32> {mp.name = "y", mp.role = "input"})
    -> (tensor<4xf32> {mp.name = "z"}) {
  %sq = mp.mul %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %d = mp.sub %y, %sq : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %g = mp.gelu %d {approximate = "tanh"} : (tensor<4xf32>) -> tensor<4xf32>
  %q = mp.div %g, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %q : tensor<4xf32>
}

// -----

// A value with a second user (here the return) ends its chain, so it stays
// a tensor; integer ops and lone elementwise ops are not fused.
// CHECK-LABEL: func breaks
// CHECK:   %[[E:[0-9]+]]:f32[4]@{{[0-9]+}} = fused_elementwise(%{{[0-9]+}}) ops="neg,exp" args=[0,-2,-1,-2]
// CHECK:   = tanh(%[[E]])
// CHECK:   = add(%{{[0-9]+}}, %{{[0-9]+}})
// CHECK:   = neg(
// CHECK-NOT: fused_elementwise
func.func @breaks(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"},
                  %i: tensor<4xi64> {mp.name = "i", mp.role = "input"})
    -> (tensor<4xf32> {mp.name = "e"}, tensor<4xf32> {mp.name = "t"},
        tensor<4xi64> {mp.name = "j"}) {
  %n = mp.neg %x : (tensor<4xf32>) -> tensor<4xf32>
  %e = mp.exp %n : (tensor<4xf32>) -> tensor<4xf32>
  %t = mp.tanh %e : (tensor<4xf32>) -> tensor<4xf32>
  %s = mp.add %i, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %j = mp.neg %s : (tensor<4xi64>) -> tensor<4xi64>
  return %e, %t, %j : tensor<4xf32>, tensor<4xf32>, tensor<4xi64>
}
