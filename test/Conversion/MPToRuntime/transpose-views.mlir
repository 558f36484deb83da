// RUN: mp-translate --mp-to-runtime-text %s --split-input-file | FileCheck %s
// RUN: mp-translate --mp-to-runtime-text --mp-fuse-elementwise=false %s --split-input-file | FileCheck %s --check-prefix=NOFUSE

// A transpose of the last two dims that only matmuls read becomes no
// instruction: the matmul reads its input with transA / transB set.
// CHECK-LABEL: program:
// CHECK: tensor %[[X:[0-9]+]] "x" f32[4,8] input
// CHECK: tensor %[[W:[0-9]+]] "w" f32[16,8] input
// CHECK: tensor %[[Q:[0-9]+]] "q" f16[2,3,5,4] input
// CHECK: tensor %[[K:[0-9]+]] "k" f16[2,3,5,6] input
// CHECK: func f
// CHECK-NOT: transpose
// CHECK: = matmul(%[[X]], %[[W]]) transB=1
// CHECK-NOT: transpose
// CHECK: = matmul(%[[Q]], %[[K]]) transA=1
// CHECK-NOT: transpose
// NOFUSE-LABEL: program:
// NOFUSE: = transpose(
// NOFUSE: = matmul(
// NOFUSE-NOT: trans{{A|B}}=1
func.func @f(%x: tensor<4x8xf32> {mp.name = "x", mp.role = "input"},
             %w: tensor<16x8xf32> {mp.name = "w", mp.role = "input"},
             %q: tensor<2x3x5x4xf16> {mp.name = "q", mp.role = "input"},
             %k: tensor<2x3x5x6xf16> {mp.name = "k", mp.role = "input"})
    -> (tensor<4x16xf32>, tensor<2x3x4x6xf16>) {
  %wt = mp.transpose %w {perm = array<i64: 1, 0>} : (tensor<16x8xf32>) -> tensor<8x16xf32>
  %y = mp.matmul %x, %wt : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %qt = mp.transpose %q {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x3x5x4xf16>) -> tensor<2x3x4x5xf16>
  %s = mp.matmul %qt, %k : (tensor<2x3x4x5xf16>, tensor<2x3x5x6xf16>) -> tensor<2x3x4x6xf16>
  return %y, %s : tensor<4x16xf32>, tensor<2x3x4x6xf16>
}

// -----

// A transpose with another user, or of other dims, stays an instruction
// and the matmul reads its result as it is.
// CHECK-LABEL: program:
// CHECK: func g
// CHECK: %[[T:[0-9]+]]:f32[8,16]@{{[0-9]+}} = transpose(%{{[0-9]+}}) perm=[1,0]
// CHECK: = matmul(%{{[0-9]+}}, %[[T]])
// CHECK-NOT: trans{{A|B}}=1
// CHECK: = neg(%[[T]])
// CHECK: %[[U:[0-9]+]]:f32[3,2,4]@{{[0-9]+}} = transpose(%{{[0-9]+}}) perm=[1,0,2]
// CHECK: = matmul(%[[U]], %{{[0-9]+}})
// CHECK-NOT: trans{{A|B}}=1
func.func @g(%x: tensor<4x8xf32> {mp.name = "x", mp.role = "input"},
             %w: tensor<16x8xf32> {mp.name = "w", mp.role = "input"},
             %a: tensor<2x3x4xf32> {mp.name = "a", mp.role = "input"},
             %b: tensor<4x5xf32> {mp.name = "b", mp.role = "input"})
    -> (tensor<4x16xf32>, tensor<8x16xf32>, tensor<3x2x5xf32>) {
  %wt = mp.transpose %w {perm = array<i64: 1, 0>} : (tensor<16x8xf32>) -> tensor<8x16xf32>
  %y = mp.matmul %x, %wt : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %n = mp.neg %wt : (tensor<8x16xf32>) -> tensor<8x16xf32>
  %at = mp.transpose %a {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %z = mp.matmul %at, %b : (tensor<3x2x4xf32>, tensor<4x5xf32>) -> tensor<3x2x5xf32>
  return %y, %n, %z : tensor<4x16xf32>, tensor<8x16xf32>, tensor<3x2x5xf32>
}

// -----

// A reshape (or flatten, squeeze, unsqueeze, identity) of a transient into
// a transient shares its bytes: both sit at one arena offset, so the
// kernel copies nothing. A view of an input is a copy into the arena.
// CHECK-LABEL: program:
// CHECK: func v
// CHECK: %[[N:[0-9]+]]:f32[4,16]@[[OFF:[0-9]+]] = neg(
// CHECK: %[[R:[0-9]+]]:f32[64]@[[OFF]] = reshape(%[[N]],
// CHECK: %[[U:[0-9]+]]:f32[1,64]@[[OFF]] = unsqueeze(%[[R]])
// CHECK: = abs(%[[U]])
// CHECK: %[[XR:[0-9]+]]:f32[64]@{{[0-9]+}} = reshape(%0,
// CHECK: = exp(%[[XR]])
func.func @v(%x: tensor<4x16xf32> {mp.name = "x", mp.role = "input"})
    -> (tensor<1x64xf32>, tensor<64xf32>) {
  %n = mp.neg %x : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %s = mp.constant dense<[64]> : tensor<1xi64>
  %r = mp.reshape %n, %s : (tensor<4x16xf32>, tensor<1xi64>) -> tensor<64xf32>
  %u = mp.unsqueeze %r {axes = array<i64: 0>} : (tensor<64xf32>) -> tensor<1x64xf32>
  %a = mp.abs %u : (tensor<1x64xf32>) -> tensor<1x64xf32>
  %xr = mp.reshape %x, %s : (tensor<4x16xf32>, tensor<1xi64>) -> tensor<64xf32>
  %e = mp.exp %xr : (tensor<64xf32>) -> tensor<64xf32>
  return %a, %e : tensor<1x64xf32>, tensor<64xf32>
}
