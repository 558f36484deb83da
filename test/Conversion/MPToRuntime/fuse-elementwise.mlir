// RUN: mp-translate --mp-to-runtime-text %s --split-input-file | FileCheck %s

// A chain of float elementwise ops, each op's only user the next, becomes
// one fused_elementwise instruction at the chain's last op: its operands
// are the chain's outside values (each once), args names two per step
// (operand index, -1 the previous step, -2 none), types each step's dtype.
// CHECK-LABEL: func chain
// CHECK:   %[[F:[0-9]+]]:f16[2,3]@{{[0-9]+}} = fused_elementwise(%[[X:[0-9]+]], %[[C:[0-9]+]]) ops="cast,add,leaky_relu,cast" args=[0,-2,-1,1,-1,-2,-1,-2] alphas=[0.000000e+00,0.000000e+00,2.000000e-01,0.000000e+00] types="f32,f32,f32,f16"
// CHECK-NEXT: identity(%[[F]])
func.func @chain(%x: tensor<2x3xf16> {mp.name = "x", mp.role = "input"})
    -> (tensor<2x3xf16> {mp.name = "y"}) {
  %xf = mp.cast %x : tensor<2x3xf16> to f32
  %c = mp.constant dense<2.0> : tensor<f32>
  %a = mp.add %xf, %c : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %m = mp.leaky_relu %a {alpha = 2.000000e-01 : f32} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %h = mp.cast %m : tensor<2x3xf32> to f16
  return %h : tensor<2x3xf16>
}

// -----

// A chain that alone reads a gemm's or matmul's product of the chain's
// result shape becomes the contraction's epilogue: the contraction's own
// operands come first, the chain's from epilogue_first on, and -1 in step 0
// is the product. The product gets no tensor.
// CHECK-LABEL: func epilogue
// CHECK:   %[[G:[0-9]+]]:f16[2,3]@{{[0-9]+}} = gemm(%[[X:[0-9]+]], %[[W:[0-9]+]], %[[B:[0-9]+]]) alpha=1.000000e+00 beta=1.000000e+00 transA=0 transB=1 epilogue_first=3 epilogue_ops="relu" epilogue_args=[-1,-2] epilogue_alphas=[0.000000e+00] epilogue_types="f16"
// CHECK:   %[[M:[0-9]+]]:f32[2,2]@{{[0-9]+}} = matmul(%[[G]], %[[V:[0-9]+]], %[[C:[0-9]+]]) acc="f16" epilogue_first=2 epilogue_ops="add,cast,gelu" epilogue_args=[-1,0,-1,-2,-1,-2] epilogue_alphas=[0.000000e+00,0.000000e+00,0.000000e+00] epilogue_types="f16,f32,f32"
// CHECK-NEXT: identity(%[[M]])
func.func @epilogue(%x: tensor<2x4xf16> {mp.name = "x", mp.role = "input"},
                    %w: tensor<3x4xf16> {mp.name = "w", mp.role = "input"},
                    %b: tensor<3xf16> {mp.name = "b", mp.role = "input"},
                    %v: tensor<3x2xf16> {mp.name = "v", mp.role = "input"},
                    %c: tensor<2xf16> {mp.name = "c", mp.role = "input"})
    -> (tensor<2x2xf32> {mp.name = "y"}) {
  %g = mp.gemm %x, %w, %b {transB = 1 : i64} : (tensor<2x4xf16>, tensor<3x4xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  %r = mp.relu %g : (tensor<2x3xf16>) -> tensor<2x3xf16>
  %m = mp.matmul %r, %v {mp.accumulate = #mp.precision<f16>} : (tensor<2x3xf16>, tensor<3x2xf16>) -> tensor<2x2xf16>
  %a = mp.add %m, %c : (tensor<2x2xf16>, tensor<2xf16>) -> tensor<2x2xf16>
  %f = mp.cast %a : tensor<2x2xf16> to f32
  %e = mp.gelu %f : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %e : tensor<2x2xf32>
}

// -----

// No epilogue when the product has another user, or when the chain
// broadcasts it to a larger shape.
// CHECK-LABEL: func no_epilogue
// CHECK:   %[[M:[0-9]+]]:f32[2,2]@{{[0-9]+}} = matmul(
// CHECK-NOT: epilogue
// CHECK:   = relu(%[[M]])
// CHECK:   %[[N:[0-9]+]]:f32[1,2]@{{[0-9]+}} = matmul(
// CHECK-NOT: epilogue
// CHECK:   = add(%[[N]], %{{[0-9]+}})
func.func @no_epilogue(%x: tensor<2x2xf32> {mp.name = "x", mp.role = "input"},
                       %r: tensor<1x2xf32> {mp.name = "r", mp.role = "input"},
                       %b: tensor<3x2xf32> {mp.name = "b", mp.role = "input"})
    -> (tensor<2x2xf32> {mp.name = "m"}, tensor<2x2xf32> {mp.name = "y"},
        tensor<3x2xf32> {mp.name = "z"}) {
  %m = mp.matmul %x, %x : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = mp.relu %m : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %n = mp.matmul %r, %x : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %z = mp.add %n, %b : (tensor<1x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %m, %y, %z : tensor<2x2xf32>, tensor<2x2xf32>, tensor<3x2xf32>
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
