// RUN: mp-opt %s --split-input-file --mp-build-training --verify-diagnostics -o /dev/null
// RUN: not mp-opt %s --split-input-file --mp-build-training="loss=nope" 2>&1 | FileCheck %s --check-prefix=NOTFOUND
// RUN: not mp-opt %s --split-input-file --mp-build-training="loss=y" 2>&1 | FileCheck %s --check-prefix=NONSCALAR
// RUN: not mp-opt %s --split-input-file --mp-build-training="optimizer=rmsprop" 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not mp-opt %s --split-input-file --mp-build-training="frozen=(" 2>&1 | FileCheck %s --check-prefix=REGEX
// RUN: not mp-opt %s --split-input-file --mp-build-training="momentum=0 nesterov=true" 2>&1 | FileCheck %s --check-prefix=NESTEROV
// RUN: not mp-opt %s --split-input-file --mp-build-training="optimizer=momentum momentum=0" 2>&1 | FileCheck %s --check-prefix=MOMENTUM

// NOTFOUND: error: loss 'nope' not found: no result mp.name or node of @forward has that name (results: loss, y)
// NONSCALAR: error: loss 'y' must be a float scalar, got 'tensor<4x2xf32>'
// OPT: error: unknown optimizer 'rmsprop' (expected sgd, momentum, adam, adamw or none)
// REGEX: error: bad frozen regex '(': parentheses not balanced
// NESTEROV: error: nesterov needs momentum > 0 and dampening = 0
// MOMENTUM: error: optimizer=momentum needs momentum > 0

func.func @forward(%x: tensor<4x3xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<3x2xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<3x2xf32>})
    -> (tensor<f32> {mp.name = "loss"}, tensor<4x2xf32> {mp.name = "y"}) {
  %0 = mp.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %1 = mp.reduce_sum %0 {keepdims = 0 : i64} : (tensor<4x2xf32>) -> tensor<f32>
  return %1, %0 : tensor<f32>, tensor<4x2xf32>
}

// -----

// expected-error @+1 {{no scalar float result to use as the loss; name one with loss=<name> (results: y)}}
func.func @forward(%x: tensor<4x3xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<3x2xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<3x2xf32>})
    -> (tensor<4x2xf32> {mp.name = "y"}) {
  %0 = mp.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// expected-error @+1 {{mp-build-training: no function @forward with a body to differentiate}}
module {
  func.func @model(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

func.func @forward(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<4xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<4xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  // expected-error @+1 {{'arith.addf' op has no gradient rule (GradientOpInterface) but lies between the parameters and the loss}}
  %0 = arith.addf %x, %w : tensor<4xf32>
  %1 = mp.reduce_sum %0 {keepdims = 0 : i64} : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

func.func @forward(%d: tensor<3xf32> {mp.name = "d", mp.role = "param", mp.init = dense<1.0> : tensor<3xf32>},
                   %i: tensor<2xi64> {mp.name = "i", mp.role = "input"},
                   %u: tensor<2xf32> {mp.name = "u", mp.role = "input"})
    -> (tensor<f32> {mp.name = "loss"}) {
  // expected-error @+1 {{'mp.scatter_elements' op gradient: reduction "mul" has no gradient rule}}
  %0 = mp.scatter_elements %d, %i, %u {reduction = "mul"} : (tensor<3xf32>, tensor<2xi64>, tensor<2xf32>) -> tensor<3xf32>
  %1 = mp.reduce_sum %0 {keepdims = 0 : i64} : (tensor<3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

func.func @forward(%x: tensor<1x1x?x4xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<1x1x3x3xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<1x1x3x3xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  // expected-error @+1 {{'mp.conv' op gradient: needs static spatial dims, got tensor<1x1x?x4xf32>}}
  %0 = mp.conv %x, %w : (tensor<1x1x?x4xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x?x2xf32>
  %1 = mp.reduce_sum %0 {keepdims = 0 : i64} : (tensor<1x1x?x2xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// A parameter the loss does not depend on gets no update (as in PyTorch,
// where its .grad stays None).
// expected-warning @+1 {{parameter 'unused' does not affect the loss; it gets no update}}
func.func @forward(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<4xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<4xf32>},
                   %v: tensor<4xf32> {mp.name = "unused", mp.role = "param", mp.init = dense<0.5> : tensor<4xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  %0 = mp.mul %x, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = mp.reduce_sum %0 {keepdims = 0 : i64} : (tensor<4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Traces of an inference-optimizing export: a transposed weight folded into
// a constant (not trained) and one parameter shared by two LayerNorms.
// expected-warning @+2 {{1 float constant(s) of rank >= 2 are not trained (/Constant tensor<3x4xf32>); an inference-optimizing export (do_constant_folding=True) folds transposed weights into such constants: re-export with do_constant_folding=False (docs/Training.md)}}
// expected-warning @+1 {{parameter 'ln.weight' is operand #1 of 2 'mp.layer_norm' ops: an export that merges identical initializers (do_constant_folding=True) makes layers share a parameter that PyTorch trains separately; ignore this if the sharing is intended}}
func.func @forward(%x: tensor<2x3xf32> {mp.name = "x", mp.role = "input"},
                   %s: tensor<3xf32> {mp.name = "ln.weight", mp.role = "param", mp.init = dense<1.0> : tensor<3xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  %w = mp.constant dense<0.5> : tensor<3x4xf32> loc("/Constant")
  %y1, %m1, %i1 = mp.layer_norm %x, %s : (tensor<2x3xf32>, tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  %y2, %m2, %i2 = mp.layer_norm %y1, %s : (tensor<2x3xf32>, tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  %0 = mp.matmul %y2, %w : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %1 = mp.reduce_sum %0 {keepdims = 0 : i64} : (tensor<2x4xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}
