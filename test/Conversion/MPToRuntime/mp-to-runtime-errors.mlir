// RUN: mp-translate --mp-to-runtime-text %s --split-input-file --verify-diagnostics

// expected-error @+1 {{mp-to-runtime: value of type 'tensor<?x4xf32>' has no static shape; the runtime needs static shapes (mp-compile --batch N pins a dynamic batch axis)}}
func.func @dynamic(%x: tensor<?x4xf32> {mp.name = "x", mp.role = "input"}) -> tensor<?x4xf32> {
  %0 = mp.relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func private @helper(tensor<4xf32>) -> tensor<4xf32>
func.func @call(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"}) -> tensor<4xf32> {
  // expected-error @+1 {{mp-to-runtime: op 'func.call' has no runtime kernel (only mp ops lower)}}
  %0 = func.call @helper(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// expected-error @+1 {{mp-to-runtime: unknown mp.role 'weights' on argument 0}}
func.func @role(%x: tensor<4xf32> {mp.name = "x", mp.role = "weights"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
