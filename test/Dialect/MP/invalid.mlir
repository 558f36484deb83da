// RUN: mp-opt %s --split-input-file --verify-diagnostics

func.func @broadcast_mismatch(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{operands are not broadcast-compatible: [2,3] [4]}}
  %0 = mp.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @element_type_mismatch(%a: tensor<2xf32>, %b: tensor<2xf16>) {
  // expected-error @+1 {{operands must have one element type, got f32 and f16}}
  %0 = mp.mul %a, %b : (tensor<2xf32>, tensor<2xf16>) -> tensor<2xf32>
  return
}

// -----

func.func @wrong_result_type(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'mp.relu' op result type(s) 'tensor<3x2xf32>' do not match the inferred type(s) 'tensor<2x3xf32>'}}
  %0 = mp.relu %a : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @exp_of_int(%a: tensor<2xi64>) {
  // expected-error @+1 {{'mp.exp' needs a floating-point operand, got tensor<2xi64>}}
  %0 = mp.exp %a : (tensor<2xi64>) -> tensor<2xi64>
  return
}

// -----

func.func @matmul_k(%a: tensor<4x8xf32>, %b: tensor<7x2xf32>) {
  // expected-error @+1 {{contraction dims differ: A [4,8] has K=8, B [7,2] has K=7}}
  %0 = mp.matmul %a, %b : (tensor<4x8xf32>, tensor<7x2xf32>) -> tensor<4x2xf32>
  return
}

// -----

func.func @gemm_rank(%a: tensor<2x4x8xf32>, %b: tensor<8x2xf32>) {
  // expected-error @+1 {{gemm operands must be 2-D, got A [2,4,8] and B [8,2]}}
  %0 = mp.gemm %a, %b : (tensor<2x4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  return
}

// -----

func.func @gemm_c(%a: tensor<4x8xf32>, %b: tensor<8x2xf32>, %c: tensor<3xf32>) {
  // expected-error @+1 {{C [3] does not broadcast to the result [4,2]}}
  %0 = mp.gemm %a, %b, %c : (tensor<4x8xf32>, tensor<8x2xf32>, tensor<3xf32>) -> tensor<4x2xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{X has 3 channels but W expects 2 x group 1}}
  %0 = mp.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_pads(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{pads has 2 entries, expected 4}}
  %0 = mp.conv %x, %w {pads = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @pool_window(%x: tensor<1x3x2x2xf32>) {
  // expected-error @+1 {{window 3 (dilation 1) does not fit spatial dim 0 of size 2 with its padding}}
  %0 = mp.max_pool %x {kernel_shape = array<i64: 3, 3>} : (tensor<1x3x2x2xf32>) -> tensor<1x3x1x1xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = mp.softmax %x {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x5x16xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{Scale/B [8] must broadcast to the normalized dims [16]}}
  %0:3 = mp.layer_norm %x, %s : (tensor<2x5x16xf32>, tensor<8xf32>) -> (tensor<2x5x16xf32>, tensor<2x5x1xf32>, tensor<2x5x1xf32>)
  return
}

// -----

func.func @batch_norm_stats(%x: tensor<2x4x8x8xf32>, %c: tensor<4xf32>, %d: tensor<5xf32>) {
  // expected-error @+1 {{input_var must be 1-D of size C = 4, got [5]}}
  %0:3 = mp.batch_norm %x, %c, %c, %c, %d : (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<5xf32>) -> (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<5xf32>)
  return
}

// -----

func.func @reduce_repeated_axis(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis -1 is repeated}}
  %0 = mp.reduce_sum %x {axes = array<i64: 1, -1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  %s = mp.constant dense<[4, 2]> : tensor<2xi64>
  // expected-error @+1 {{cannot reshape [2,3] (6 elements) to [4,2]}}
  %0 = mp.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  return
}

// -----

func.func @reshape_two_minus_one(%x: tensor<2x3xf32>) {
  %s = mp.constant dense<[-1, -1]> : tensor<2xi64>
  // expected-error @+1 {{shape [-1,-1] has more than one -1}}
  %0 = mp.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{perm [0,0] is not a permutation}}
  %0 = mp.transpose %x {perm = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @squeeze_non_one(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot squeeze dim 1 of size 3}}
  %0 = mp.squeeze %x {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) {
  // expected-error @+1 {{concat operands differ in dim 0 outside the concat axis: [2,3] vs [4,3]}}
  %0 = mp.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @split_sizes(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{split sizes [2,3] add up to 5, but dim 1 is 6}}
  %0:2 = mp.split %x {axis = 1 : i64, split = array<i64: 2, 3>} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x3xf32>)
  return
}

// -----

func.func @slice_step(%x: tensor<4xf32>) {
  // expected-error @+1 {{slice steps must be non-zero}}
  %0 = mp.slice %x {starts = array<i64: 0>, ends = array<i64: 4>, steps = array<i64: 0>} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @gather_axis(%x: tensor<4x3xf32>, %i: tensor<2xi64>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = mp.gather %x, %i {axis = 2 : i64} : (tensor<4x3xf32>, tensor<2xi64>) -> tensor<4x3xf32>
  return
}

// -----

func.func @gather_float_indices(%x: tensor<4x3xf32>, %i: tensor<2xf32>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = mp.gather %x, %i : (tensor<4x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @scatter_nd_updates(%x: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) {
  // expected-error @+1 {{updates [2,4] must have shape [2,3]}}
  %0 = mp.scatter_nd %x, %i, %u : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @expand_incompatible(%x: tensor<3xf32>) {
  %s = mp.constant dense<[2, 4]> : tensor<2xi64>
  // expected-error @+1 {{operands are not broadcast-compatible: [3] [2,4]}}
  %0 = mp.expand %x, %s : (tensor<3xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @dropout_ratio(%x: tensor<4xf32>) {
  // expected-error @+1 {{ratio must be in [0, 1), got 1.000000}}
  %0:2 = mp.dropout %x {ratio = 1.0 : f32} : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi1>)
  return
}

// -----

func.func @sce_labels(%s: tensor<8x10xf32>, %y: tensor<4xi64>) {
  // expected-error @+1 {{labels [4] must have shape N x D... = [8]}}
  %0:2 = mp.softmax_cross_entropy_loss %s, %y : (tensor<8x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<8x10xf32>)
  return
}

// -----

func.func @sce_reduction(%s: tensor<8x10xf32>, %y: tensor<8xi64>) {
  // expected-error @+1 {{reduction must be none, mean or sum, got "avg"}}
  %0:2 = mp.softmax_cross_entropy_loss %s, %y {reduction = "avg"} : (tensor<8x10xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>)
  return
}

// -----

func.func @gelu_mode(%x: tensor<4xf32>) {
  // expected-error @+1 {{'approximate' must be "none" or "tanh", got "fast"}}
  %0 = mp.gelu %x {approximate = "fast"} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @clip_bounds(%x: tensor<4xf32>) {
  // expected-error @+1 {{'min' is greater than 'max'}}
  %0 = mp.clip %x {min = 2.0 : f64, max = 1.0 : f64} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @precision_attr(%x: tensor<4xf32>) {
  // expected-error @+1 {{'mp.precision' must be a #mp.precision attribute, got "f16"}}
  %0 = mp.relu %x {mp.precision = "f16"} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @unknown_mp_attr(%x: tensor<4xf32>) {
  // expected-error @+1 {{unknown mp dialect attribute 'mp.precison'}}
  %0 = mp.relu %x {mp.precison = #mp.precision<f16>} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @cast_to_tensor(%x: tensor<4xf32>) {
  // expected-error @+1 {{'to' must be a float or integer element type, got tensor<4xf16>}}
  %0 = mp.cast %x : tensor<4xf32> to tensor<4xf16>
  return
}

// -----

func.func @logical_needs_bool(%a: tensor<4xi64>, %b: tensor<4xi64>) {
  // expected-error @+1 {{logical ops need bool (i1) operands}}
  %0 = mp.and %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  return
}

// -----

func.func @pad_crop(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{pads [0,-2,0,-2] crop dim 1 of size 3 below zero}}
  %0 = mp.pad %x {pads = array<i64: 0, -2, 0, -2>} : (tensor<2x3xf32>) -> tensor<2x0xf32>
  return
}
