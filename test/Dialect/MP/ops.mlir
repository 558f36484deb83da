// RUN: mp-opt %s | mp-opt | FileCheck %s
// RUN: mp-opt %s --mlir-print-op-generic | mp-opt | FileCheck %s
// Round trip of every mp op in its custom form, with the result types that
// inference gives.

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x3xi1>) -> tensor<2x3xf32> {
  // CHECK: mp.neg %{{.*}} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = mp.neg %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = mp.abs %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = mp.sqrt %1 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = mp.reciprocal %2 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %4 = mp.exp %3 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = mp.log %4 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %6 = mp.erf %5 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %7 = mp.tanh %6 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %8 = mp.sigmoid %7 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %9 = mp.relu %8 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: mp.leaky_relu %{{.*}} {alpha = 2.000000e-01 : f32}
  %10 = mp.leaky_relu %9 {alpha = 0.2 : f32} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: mp.gelu %{{.*}} {approximate = "tanh"}
  %11 = mp.gelu %10 {approximate = "tanh"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: mp.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %12 = mp.add %11, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %13 = mp.sub %12, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %14 = mp.mul %13, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %15 = mp.div %14, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %16 = mp.pow %15, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: mp.less %{{.*}} -> tensor<2x3xi1>
  %17 = mp.less %16, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %18 = mp.greater %16, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %19 = mp.equal %16, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %20 = mp.less_equal %16, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %21 = mp.greater_equal %16, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %22 = mp.and %17, %18 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %23 = mp.or %22, %19 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %24 = mp.not %23 : (tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK: mp.where
  %25 = mp.where %24, %16, %b : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: mp.min %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %26 = mp.min %25, %b, %a : (tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %27 = mp.max %26, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %28 = mp.sum %27, %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: mp.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
  %29 = mp.clip %28 {min = 0.0 : f64, max = 6.0 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %30 = mp.identity %29 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %30 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @casts
func.func @casts(%a: tensor<2x3xf32>) -> (tensor<2x3xf16>, tensor<2x3xbf16>, tensor<2x3xi64>) {
  // CHECK: mp.cast %{{.*}} : tensor<2x3xf32> to f16
  %0 = mp.cast %a : tensor<2x3xf32> to f16
  %1 = mp.cast %a : tensor<2x3xf32> to bf16
  %2 = mp.cast %a : tensor<2x3xf32> to i64
  return %0, %1, %2 : tensor<2x3xf16>, tensor<2x3xbf16>, tensor<2x3xi64>
}

// CHECK-LABEL: func.func @contractions
func.func @contractions(%a: tensor<4x8x16xf16>, %b: tensor<16x32xf16>, %v: tensor<16xf16>,
                        %x: tensor<2x3x8x8xf32>, %w: tensor<6x1x3x3xf32>, %bias: tensor<6xf32>,
                        %m: tensor<5x16xf32>, %n: tensor<7x16xf32>, %c: tensor<7xf32>)
    -> (tensor<4x8x32xf16>, tensor<4x8xf16>, tensor<2x6x4x4xf32>, tensor<5x7xf32>) {
  // CHECK: mp.matmul %{{.*}}, %{{.*}} {mp.accumulate = #mp.precision<f32>, mp.precision = #mp.precision<f16>} : (tensor<4x8x16xf16>, tensor<16x32xf16>) -> tensor<4x8x32xf16>
  %0 = mp.matmul %a, %b {mp.precision = #mp.precision<f16>, mp.accumulate = #mp.precision<f32>} : (tensor<4x8x16xf16>, tensor<16x32xf16>) -> tensor<4x8x32xf16>
  // CHECK: mp.matmul {{.*}} -> tensor<4x8xf16>
  %1 = mp.matmul %a, %v : (tensor<4x8x16xf16>, tensor<16xf16>) -> tensor<4x8xf16>
  // CHECK: mp.conv {{.*}} {group = 3 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
  %2 = mp.conv %x, %w, %bias {group = 3 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x3x8x8xf32>, tensor<6x1x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
  // CHECK: mp.gemm {{.*}} {alpha = 5.000000e-01 : f32, transB = 1 : i64}
  %3 = mp.gemm %m, %n, %c {alpha = 0.5 : f32, transB = 1 : i64} : (tensor<5x16xf32>, tensor<7x16xf32>, tensor<7xf32>) -> tensor<5x7xf32>
  return %0, %1, %2, %3 : tensor<4x8x32xf16>, tensor<4x8xf16>, tensor<2x6x4x4xf32>, tensor<5x7xf32>
}

// CHECK-LABEL: func.func @norms_and_pools
func.func @norms_and_pools(%x: tensor<2x4x8x8xf32>, %c: tensor<4xf32>, %t: tensor<2x5x16xf16>, %s: tensor<16xf16>)
    -> (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<2x4x4x4xf32>, tensor<2x4x3x3xf32>, tensor<2x4x1x1xf32>, tensor<2x5x16xf16>, tensor<2x5x1xf32>, tensor<2x5x16xf16>, tensor<2x5x16xf16>) {
  // CHECK: mp.batch_norm {{.*}} {momentum = 1.000000e-01 : f32, training_mode = 1 : i64}
  %y, %rm, %rv = mp.batch_norm %x, %c, %c, %c, %c {training_mode = 1 : i64, momentum = 0.1 : f32} : (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>)
  %p = mp.max_pool %y {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x4x8x8xf32>) -> tensor<2x4x4x4xf32>
  // CHECK: mp.average_pool {{.*}} -> tensor<2x4x3x3xf32>
  %q = mp.average_pool %y {kernel_shape = array<i64: 3, 3>, strides = array<i64: 3, 3>, ceil_mode = 1 : i64} : (tensor<2x4x8x8xf32>) -> tensor<2x4x3x3xf32>
  %g = mp.global_average_pool %y : (tensor<2x4x8x8xf32>) -> tensor<2x4x1x1xf32>
  // CHECK: mp.layer_norm {{.*}} -> (tensor<2x5x16xf16>, tensor<2x5x1xf32>, tensor<2x5x1xf32>)
  %ln, %mean, %inv = mp.layer_norm %t, %s, %s {epsilon = 1.0e-6 : f32} : (tensor<2x5x16xf16>, tensor<16xf16>, tensor<16xf16>) -> (tensor<2x5x16xf16>, tensor<2x5x1xf32>, tensor<2x5x1xf32>)
  %sm = mp.softmax %ln : (tensor<2x5x16xf16>) -> tensor<2x5x16xf16>
  %lsm = mp.log_softmax %ln {axis = 1 : i64} : (tensor<2x5x16xf16>) -> tensor<2x5x16xf16>
  return %y, %rm, %p, %q, %g, %ln, %mean, %sm, %lsm : tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<2x4x4x4xf32>, tensor<2x4x3x3xf32>, tensor<2x4x1x1xf32>, tensor<2x5x16xf16>, tensor<2x5x1xf32>, tensor<2x5x16xf16>, tensor<2x5x16xf16>
}

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<2x3x4xf32>) -> (tensor<2x1x4xf32>, tensor<4xf32>, tensor<f32>, tensor<2x3x4xf32>) {
  // CHECK: mp.reduce_sum %{{.*}} {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %0 = mp.reduce_sum %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %1 = mp.reduce_mean %x {axes = array<i64: 0, -2>, keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<4xf32>
  %2 = mp.reduce_max %x {keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<f32>
  %3 = mp.reduce_sum %x {noop_with_empty_axes = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %0, %1, %2, %3 : tensor<2x1x4xf32>, tensor<4xf32>, tensor<f32>, tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @movement
func.func @movement(%x: tensor<2x3x4xf32>, %i: tensor<5xi64>, %i2: tensor<2x3x4xi64>, %s: tensor<3xi64>) -> (tensor<?x?x?xf32>, tensor<2x12xf32>, tensor<4x3x2xf32>, tensor<2x1x3x4xf32>, tensor<2x6x4xf32>, tensor<2x1x4xf32>, tensor<2x2x4xf32>, tensor<2x2x2xf32>, tensor<5x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  // CHECK: mp.reshape %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %0 = mp.reshape %x, %s : (tensor<2x3x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %1 = mp.flatten %x : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  %2 = mp.transpose %x : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %3 = mp.unsqueeze %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x3x4xf32>
  %4 = mp.concat %x, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x6x4xf32>
  // CHECK: mp.split {{.*}} -> (tensor<2x1x4xf32>, tensor<2x2x4xf32>)
  %5:2 = mp.split %x {axis = 1 : i64, split = array<i64: 1, 2>} : (tensor<2x3x4xf32>) -> (tensor<2x1x4xf32>, tensor<2x2x4xf32>)
  // CHECK: mp.slice {{.*}} -> tensor<2x2x2xf32>
  %6 = mp.slice %x {starts = array<i64: 1, -1>, ends = array<i64: 3, -9223372036854775807>, axes = array<i64: 1, 2>, steps = array<i64: 1, -2>} : (tensor<2x3x4xf32>) -> tensor<2x2x2xf32>
  %7 = mp.gather %x, %i : (tensor<2x3x4xf32>, tensor<5xi64>) -> tensor<5x3x4xf32>
  %8 = mp.gather_elements %x, %i2 {axis = 2 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xi64>) -> tensor<2x3x4xf32>
  %9 = mp.scatter_elements %x, %i2, %x {axis = 1 : i64, reduction = "add"} : (tensor<2x3x4xf32>, tensor<2x3x4xi64>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %0, %1, %2, %3, %4, %5#0, %5#1, %6, %7, %8, %9 : tensor<?x?x?xf32>, tensor<2x12xf32>, tensor<4x3x2xf32>, tensor<2x1x3x4xf32>, tensor<2x6x4xf32>, tensor<2x1x4xf32>, tensor<2x2x4xf32>, tensor<2x2x2xf32>, tensor<5x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @shapes_and_constants
func.func @shapes_and_constants(%x: tensor<4x1x3xf32>, %idx: tensor<2x1xi64>, %upd: tensor<2x1x3xf32>, %s: tensor<3xi64>) -> (tensor<4x3xf32>, tensor<3xi64>, tensor<i64>, tensor<?x?x?xf32>, tensor<4x1x3xf32>, tensor<4x1x3xf32>, tensor<?x?xf16>) {
  %0 = mp.squeeze %x {axes = array<i64: 1>} : (tensor<4x1x3xf32>) -> tensor<4x3xf32>
  %1 = mp.shape %x : (tensor<4x1x3xf32>) -> tensor<3xi64>
  %2 = mp.size %x : (tensor<4x1x3xf32>) -> tensor<i64>
  // CHECK: mp.expand {{.*}} -> tensor<?x?x?xf32>
  %3 = mp.expand %x, %s : (tensor<4x1x3xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %4 = mp.trilu %x {upper = 0 : i64, k = 1 : i64} : (tensor<4x1x3xf32>) -> tensor<4x1x3xf32>
  %5 = mp.scatter_nd %x, %idx, %upd : (tensor<4x1x3xf32>, tensor<2x1xi64>, tensor<2x1x3xf32>) -> tensor<4x1x3xf32>
  // CHECK: mp.constant dense<[2, 3]> : tensor<2xi64>
  %c = mp.constant dense<[2, 3]> : tensor<2xi64>
  %d = mp.identity %c : (tensor<2xi64>) -> tensor<2xi64>
  %6 = mp.constant_of_shape %d {value = dense<1.0> : tensor<1xf16>} : (tensor<2xi64>) -> tensor<?x?xf16>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<4x3xf32>, tensor<3xi64>, tensor<i64>, tensor<?x?x?xf32>, tensor<4x1x3xf32>, tensor<4x1x3xf32>, tensor<?x?xf16>
}

// CHECK-LABEL: func.func @training_ops
func.func @training_ops(%x: tensor<8x10xf32>, %y: tensor<8xi64>, %w: tensor<10xf32>) -> (tensor<8x10xf32>, tensor<8x10xi1>, tensor<f32>, tensor<8x10xf32>, tensor<8xf32>) {
  // CHECK: mp.dropout %{{.*}} {ratio = 1.000000e-01 : f32, training_mode = 1 : i64} : (tensor<8x10xf32>) -> (tensor<8x10xf32>, tensor<8x10xi1>)
  %o, %mask = mp.dropout %x {ratio = 0.1 : f32, training_mode = 1 : i64} : (tensor<8x10xf32>) -> (tensor<8x10xf32>, tensor<8x10xi1>)
  %l, %lp = mp.softmax_cross_entropy_loss %o, %y, %w {ignore_index = -100 : i64} : (tensor<8x10xf32>, tensor<8xi64>, tensor<10xf32>) -> (tensor<f32>, tensor<8x10xf32>)
  // CHECK: mp.nll_loss {{.*}} -> tensor<8xf32>
  %n = mp.nll_loss %lp, %y {reduction = "none"} : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<8xf32>
  return %o, %mask, %l, %lp, %n : tensor<8x10xf32>, tensor<8x10xi1>, tensor<f32>, tensor<8x10xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @dynamic_batch
func.func @dynamic_batch(%x: tensor<?x16xf32>, %w: tensor<16x4xf32>) -> tensor<?x4xf32> {
  // CHECK: mp.matmul {{.*}} -> tensor<?x4xf32>
  %0 = mp.matmul %x, %w : (tensor<?x16xf32>, tensor<16x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
