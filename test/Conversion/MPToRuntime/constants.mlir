// RUN: mp-translate --mp-to-runtime-text --mp-fuse-elementwise=false %s --split-input-file | FileCheck %s

// A splat constant of 64 KiB or more is not stored in the program: it becomes
// a transient filled on the device by constant_of_shape, emitted right before
// its first user. A smaller splat keeps its data.
// CHECK-LABEL: program:
// CHECK: tensor %[[SHAPE:[0-9]+]] "f.const{{[0-9]+}}.shape" i64[2] constant data=16B
// CHECK-NEXT: tensor %[[SMALL:[0-9]+]] "f.const{{[0-9]+}}" f32[127,128] constant data=65024B
// CHECK-NOT: f32[128,128] constant
// CHECK: func f
// CHECK-NEXT: %[[BIG:[0-9]+]]:f32[128,128]@{{[0-9]+}} = constant_of_shape(%[[SHAPE]]) value=0.0
// CHECK-NEXT: = add(%{{[0-9]+}}, %[[BIG]])
// CHECK-NOT: constant_of_shape
// CHECK: = add(%{{[0-9]+}}, %[[SMALL]])
func.func @f(%x: tensor<128x128xf32> {mp.name = "x", mp.role = "input"},
             %y: tensor<127x128xf32> {mp.name = "y", mp.role = "input"})
    -> (tensor<128x128xf32>, tensor<127x128xf32>) {
  %big = mp.constant dense<0.0> : tensor<128x128xf32>
  %small = mp.constant dense<0.0> : tensor<127x128xf32>
  %a = mp.add %x, %big : (tensor<128x128xf32>, tensor<128x128xf32>) -> tensor<128x128xf32>
  %b = mp.add %y, %small : (tensor<127x128xf32>, tensor<127x128xf32>) -> tensor<127x128xf32>
  return %a, %b : tensor<128x128xf32>, tensor<127x128xf32>
}

// -----

// Equal constants (same type, shape and bytes) share one read-only tensor,
// across functions too; a constant that differs in value or shape does not.
// CHECK-LABEL: program:
// CHECK: tensor %[[C:[0-9]+]] "g.const{{[0-9]+}}" f32[4] constant data=16B
// CHECK-NEXT: tensor %[[D:[0-9]+]] "g.const{{[^"]+}}" f32[4] constant data=16B
// CHECK-NOT: constant data
// CHECK: func g
// CHECK: = mul(%{{[0-9]+}}, %[[C]])
// CHECK: = mul(%{{[0-9]+}}, %[[C]])
// CHECK: = mul(%{{[0-9]+}}, %[[D]])
// CHECK: func h
// CHECK: = mul(%{{[0-9]+}}, %[[C]])
func.func @g(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"}) -> tensor<4xf32> {
  %c0 = mp.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %c1 = mp.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %c2 = mp.constant dense<[1.0, 2.0, 3.0, 5.0]> : tensor<4xf32>
  %a = mp.mul %x, %c0 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %b = mp.mul %a, %c1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %c = mp.mul %b, %c2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}
func.func @h(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"}) -> tensor<4xf32> {
  %c0 = mp.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %a = mp.mul %x, %c0 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %a : tensor<4xf32>
}
