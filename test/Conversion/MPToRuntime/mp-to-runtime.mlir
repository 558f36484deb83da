// RUN: mp-translate --mp-to-runtime-text --mp-fuse-elementwise=false %s --split-input-file | FileCheck %s
// Elementwise fusion is off here so each op shows as its own instruction;
// fuse-elementwise.mlir tests the fused form.

// Arguments become named persistent tensors with their roles and initial
// data; each op one instruction named after its mnemonic with its
// attributes; returned values are copied to output tensors; transients get
// arena offsets.
// CHECK-LABEL: program: {{[0-9]+}} tensors, 1 functions, arena {{[0-9]+}} bytes
// CHECK: tensor %[[X:[0-9]+]] "x" f32[2,4] input
// CHECK: tensor %[[W:[0-9]+]] "fc.weight" f32[3,4] param data=48B
// CHECK: tensor %[[C:[0-9]+]] "forward.const{{[0-9]+}}" f32[] constant data=4B
// CHECK: tensor %[[OUT:[0-9]+]] "forward.y" f16[2,3] output
// CHECK: func forward inputs(%[[X]]) outputs(%[[OUT]])
// CHECK:   %[[XH:[0-9]+]]:f16[2,4]@{{[0-9]+}} = cast(%[[X]]) to="f16"
// CHECK:   %[[WH:[0-9]+]]:f16[3,4]@{{[0-9]+}} = cast(%[[W]]) to="f16"
// CHECK:   %[[G:[0-9]+]]:f16[2,3]@{{[0-9]+}} = gemm(%[[XH]], %[[WH]]) alpha=1.000000e+00 beta=1.000000e+00 transA=0 transB=1
// CHECK:   %[[M:[0-9]+]]:f32[2,3]@{{[0-9]+}} = leaky_relu(%{{[0-9]+}}) alpha=
// CHECK:   %[[OUT]]:f16[2,3] = identity(%{{[0-9]+}})
func.func @forward(%x: tensor<2x4xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<3x4xf32> {mp.name = "fc.weight", mp.role = "param", mp.init = dense<0.5> : tensor<3x4xf32>})
    -> (tensor<2x3xf16> {mp.name = "y"}) {
  %xh = mp.cast %x : tensor<2x4xf32> to f16
  %wh = mp.cast %w : tensor<3x4xf32> to f16
  %g = mp.gemm %xh, %wh {transB = 1 : i64, mp.precision = #mp.precision<f16>, mp.accumulate = #mp.precision<f32>} : (tensor<2x4xf16>, tensor<3x4xf16>) -> tensor<2x3xf16>
  %gf = mp.cast %g : tensor<2x3xf16> to f32
  %c = mp.constant dense<2.0> : tensor<f32>
  %a = mp.add %gf, %c {mp.precision = #mp.precision<f32>, mp.accumulate = #mp.precision<f32>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %m = mp.leaky_relu %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %h = mp.cast %m : tensor<2x3xf32> to f16
  return %h : tensor<2x3xf16>
}

// -----

// A result with mp.updates writes its argument's tensor in place (same
// role, no copy); state without mp.init starts at zero; functions that name
// the same argument share its tensor.
// CHECK-LABEL: program:
// CHECK: tensor %[[P:[0-9]+]] "w" f32[4] param data=16B
// CHECK: tensor %[[S:[0-9]+]] "w.momentum" f32[4] opt_state data=16B
// CHECK: tensor %{{[0-9]+}} "w.new" f32[4] param updates=%[[P]]
// CHECK: tensor %{{[0-9]+}} "w.momentum.new" f32[4] opt_state updates=%[[S]]
// CHECK: func step inputs(%{{[0-9]+}}) outputs(%{{[0-9]+}})
// CHECK: func eval inputs(%{{[0-9]+}}) outputs(%{{[0-9]+}})
// CHECK-NEXT: mul(%[[P]],
func.func @step(%w: tensor<4xf32> {mp.name = "w", mp.role = "param", mp.init = dense<1.0> : tensor<4xf32>},
                %m: tensor<4xf32> {mp.name = "w.momentum", mp.role = "opt_state"},
                %g: tensor<4xf32> {mp.name = "g", mp.role = "input"})
    -> (tensor<4xf32> {mp.updates = 0 : i64}, tensor<4xf32> {mp.updates = 1 : i64}, tensor<f32> {mp.name = "norm"}) {
  %0 = mp.sub %w, %g : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = mp.add %m, %g : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = mp.reduce_sum %g {keepdims = 0 : i64} : (tensor<4xf32>) -> tensor<f32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<f32>
}
func.func @eval(%w: tensor<4xf32> {mp.name = "w", mp.role = "param", mp.init = dense<1.0> : tensor<4xf32>},
                %x: tensor<4xf32> {mp.name = "x", mp.role = "input"}) -> (tensor<4xf32> {mp.name = "out"}) {
  %0 = mp.mul %w, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
