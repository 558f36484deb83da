// RUN: mp-opt %s --split-input-file --mp-verify-precision | FileCheck %s
// RUN: mp-opt %s --split-input-file --mp-verify-precision="pins=Mul:1" --verify-diagnostics

// Consistent IR passes unchanged: pinned LayerNorm operands are f32, the
// statistics results have their own type, mp.cast is not checked.
// CHECK-LABEL: func.func @consistent
func.func @consistent(%x: tensor<2x16xf16>, %s: tensor<16xf32>, %f: tensor<2x16xf32>) -> tensor<2x16xf16> {
  %y:3 = mp.layer_norm %x, %s, %s {mp.precision = #mp.precision<f16>} : (tensor<2x16xf16>, tensor<16xf32>, tensor<16xf32>) -> (tensor<2x16xf16>, tensor<2x1xf32>, tensor<2x1xf32>)
  %c = mp.cast %f {mp.precision = #mp.precision<f16>} : tensor<2x16xf32> to f16
  %z = mp.add %y#0, %c {mp.precision = #mp.precision<f16>} : (tensor<2x16xf16>, tensor<2x16xf16>) -> tensor<2x16xf16>
  return %z : tensor<2x16xf16>
}

// -----

// CHECK-LABEL: func.func @pinned_by_option
func.func @pinned_by_option(%x: tensor<4xf16>, %s: tensor<4xf32>) -> tensor<4xf16> {
  %c = mp.cast %s : tensor<4xf32> to f16
  // expected-error @+1 {{'mp.mul' op has mp.precision = f16 but operand #1 is 'f16' (expected 'f32', pinned)}}
  %0 = mp.mul %x, %c {mp.precision = #mp.precision<f16>} : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}
