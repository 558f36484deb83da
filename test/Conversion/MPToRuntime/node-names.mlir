// RUN: mp-translate --mp-to-runtime-text --mp-fuse-elementwise=false %s | FileCheck %s
// RUN: mp-translate --mp-to-runtime-text %s | FileCheck %s --check-prefix=FUSED
// Each instruction records the ONNX node its op came from (the first NameLoc
// of its location) as the string attribute `name`, for runtime errors and
// mp-run --check-numerics. Ops without a NameLoc get none; a fused chain
// takes the name of its last op that has one.

// CHECK-LABEL: func forward
// CHECK: = gemm({{.*}}) {{.*}}name="fc/Gemm"
// CHECK: = relu({{.*}}) name="act/Relu"
// CHECK: = neg({{.*}}) name="head/Neg"
// CHECK-NOT: name=
// CHECK: = exp(
// FUSED-LABEL: func forward
// FUSED: = gemm({{.*}}) {{.*}}name="head/Neg"
func.func @forward(%x: tensor<2x4xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<3x4xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<3x4xf32>})
    -> (tensor<2x3xf32> {mp.name = "y"}) {
  %g = mp.gemm %x, %w {transB = 1 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32> loc("fc/Gemm")
  // A generated op: a FusedLoc whose first NameLoc is the forward node.
  %r = mp.relu %g : (tensor<2x3xf32>) -> tensor<2x3xf32> loc(fused["act/Relu", "grad"])
  %n = mp.neg %r : (tensor<2x3xf32>) -> tensor<2x3xf32> loc("head/Neg")
  %e = mp.exp %n : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %e : tensor<2x3xf32>
}
