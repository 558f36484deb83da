// RUN: mp-opt %s --split-input-file --mp-verify-precision --verify-diagnostics

func.func @operand(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'mp.relu' op has mp.precision = f16 but operand #0 is 'f32' (expected 'f16')}}
  %0 = mp.relu %x {mp.precision = #mp.precision<f16>} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @pinned(%x: tensor<2x16xf16>, %s: tensor<16xf16>) -> tensor<2x16xf16> {
  // expected-error @+1 {{'mp.layer_norm' op has mp.precision = f16 but operand #1 is 'f16' (expected 'f32', pinned)}}
  %y:3 = mp.layer_norm %x, %s {mp.precision = #mp.precision<f16>} : (tensor<2x16xf16>, tensor<16xf16>) -> (tensor<2x16xf16>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y#0 : tensor<2x16xf16>
}

// -----

func.func @result(%x: tensor<4xbf16>) -> tensor<4xf32> {
  %c = mp.constant dense<1.0> : tensor<4xf32>
  // expected-error @+1 {{'mp.pow' op has mp.precision = f32 but operand #0 is 'bf16' (expected 'f32')}}
  %0 = mp.pow %x, %c {mp.precision = #mp.precision<f32>} : (tensor<4xbf16>, tensor<4xf32>) -> tensor<4xbf16>
  %1 = mp.cast %0 : tensor<4xbf16> to f32
  return %1 : tensor<4xf32>
}
