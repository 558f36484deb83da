// Export of mp IR to ONNX: parameters become initializers, static mp
// attributes become the inputs ONNX-20 expects, mp.cast and f16/bf16 tensors
// survive, and onnxruntime runs the result.
// RUN: mp-translate --export-onnx %s -o %t.onnx
// RUN: mp-translate --import-onnx %t.onnx | FileCheck %s
// RUN: mp-opt %s --split-input-file --mlir-print-op-generic >/dev/null
// REQUIRES: onnxruntime
// RUN: mp-translate --export-onnx %S/Inputs/export-f32.mlir -o %t.f32.onnx
// RUN: %python %mp_src/python/ort_compare.py %t.f32.onnx %t.onnx --rtol 2e-2 --atol 2e-2 | FileCheck %s --check-prefix=ORT
// ORT: outputs match: 2 outputs

func.func @forward(%x: tensor<4x8xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<8x6xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.25> : tensor<8x6xf32>},
                   %g: tensor<6xf32> {mp.name = "ln.weight", mp.role = "param", mp.init = dense<1.0> : tensor<6xf32>})
    -> (tensor<4x6xf32> {mp.name = "y"}, tensor<4x1xf32> {mp.name = "r"}) {
  %xh = mp.cast %x : tensor<4x8xf32> to f16 loc("cast_x")
  %wh = mp.cast %w : tensor<8x6xf32> to f16 loc("cast_w")
  %mm = mp.matmul %xh, %wh {mp.precision = #mp.precision<f16>, mp.accumulate = #mp.precision<f32>} : (tensor<4x8xf16>, tensor<8x6xf16>) -> tensor<4x6xf16> loc("fc")
  %b = mp.cast %mm : tensor<4x6xf16> to bf16 loc("to_bf16")
  %bf = mp.cast %b : tensor<4x6xbf16> to f32 loc("to_f32")
  %f = mp.relu %bf : (tensor<4x6xf32>) -> tensor<4x6xf32> loc("relu")
  %ln:3 = mp.layer_norm %f, %g : (tensor<4x6xf32>, tensor<6xf32>) -> (tensor<4x6xf32>, tensor<4x1xf32>, tensor<4x1xf32>) loc("ln")
  %c = mp.clip %ln#0 {min = -1.0 : f64, max = 1.0 : f64} : (tensor<4x6xf32>) -> tensor<4x6xf32> loc("clip")
  %parts:2 = mp.split %c {axis = 1 : i64, split = array<i64: 2, 4>} : (tensor<4x6xf32>) -> (tensor<4x2xf32>, tensor<4x4xf32>) loc("split")
  %s = mp.slice %parts#1 {starts = array<i64: 0>, ends = array<i64: 1>, axes = array<i64: 1>} : (tensor<4x4xf32>) -> tensor<4x1xf32> loc("slice")
  %m = mp.reduce_mean %parts#0 {axes = array<i64: 1>} : (tensor<4x2xf32>) -> tensor<4x1xf32> loc("mean")
  %sum = mp.add %s, %m : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32> loc("sum")
  %d:2 = mp.dropout %sum {ratio = 0.3 : f32} : (tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xi1>) loc("drop")
  %t = mp.trilu %c {upper = 0 : i64, k = 1 : i64} : (tensor<4x6xf32>) -> tensor<4x6xf32> loc("tril")
  return %t, %d#0 : tensor<4x6xf32>, tensor<4x1xf32>
}

// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32> {mp.name = "x", mp.role = "input"}, %[[W:.*]]: tensor<8x6xf32> {mp.init = dense<2.500000e-01> : tensor<8x6xf32>, mp.name = "w", mp.role = "param"}, %[[G:.*]]: tensor<6xf32> {{.*}}mp.name = "ln.weight"
// CHECK-SAME: -> (tensor<4x6xf32> {mp.name = "y"}, tensor<4x1xf32> {mp.name = "r"})
// CHECK: %[[XH:.*]] = mp.cast %[[X]] : tensor<4x8xf32> to f16
// CHECK: %[[WH:.*]] = mp.cast %[[W]] : tensor<8x6xf32> to f16
// CHECK: %[[MM:.*]] = mp.matmul %[[XH]], %[[WH]] : (tensor<4x8xf16>, tensor<8x6xf16>) -> tensor<4x6xf16>
// CHECK: %[[B:.*]] = mp.cast %[[MM]] : tensor<4x6xf16> to bf16
// CHECK: %[[BF:.*]] = mp.cast %[[B]] : tensor<4x6xbf16> to f32
// CHECK: mp.relu %[[BF]] : (tensor<4x6xf32>) -> tensor<4x6xf32>
// CHECK: mp.layer_norm
// CHECK: mp.clip %{{.*}} {max = 1.000000e+00 : f64, min = -1.000000e+00 : f64}
// CHECK: mp.split %{{.*}} {axis = 1 : i64, split = array<i64: 2, 4>}
// CHECK: mp.slice %{{.*}} {axes = array<i64: 1>, ends = array<i64: 1>, starts = array<i64: 0>}
// CHECK: mp.reduce_mean %{{.*}} {axes = array<i64: 1>}
// CHECK: mp.dropout %{{.*}} {ratio = 3.000000e-01 : f32}
// CHECK: mp.trilu %{{.*}} {k = 1 : i64, upper = 0 : i64}
