// An MLP with other sizes (64 -> 96 -> 48 -> 10) exported with a dynamic
// batch axis, pinned back to 16, and stamped opset 20 (IR 9).
//
// REQUIRES: torch, onnxruntime
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py mlp --opset 20 --dynamic-batch --batch 16 --hidden 96 48 -o %t/model.onnx --reference %t/ref.npz
// RUN: mp-opt %t/model.onnx | FileCheck %s
// RUN: mp-opt %t/model.onnx | FileCheck %s --check-prefix=STATIC
// RUN: %python %mp_src/python/check_roundtrip.py %t/model.onnx %t/ref.npz %mp_bin | FileCheck %s --check-prefix=RT

// CHECK: module attributes {mp.opset = 20 : i64
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<16x64xf32> {mp.name = "x", mp.role = "input"}
// CHECK-SAME: %[[Y:arg[0-9]+]]: tensor<16xi64> {mp.name = "y", mp.role = "input"}
// CHECK-SAME: %[[W1:arg[0-9]+]]: tensor<96x64xf32> {mp.init = {{[^}]*}}, mp.name = "fc1.weight", mp.role = "param"}
// CHECK-SAME: %[[B1:arg[0-9]+]]: tensor<96xf32> {mp.init = {{[^}]*}}, mp.name = "fc1.bias", mp.role = "param"}
// CHECK-SAME: %[[W2:arg[0-9]+]]: tensor<48x96xf32> {mp.init = {{[^}]*}}, mp.name = "fc2.weight", mp.role = "param"}
// CHECK-SAME: %[[B2:arg[0-9]+]]: tensor<48xf32> {mp.init = {{[^}]*}}, mp.name = "fc2.bias", mp.role = "param"}
// CHECK-SAME: %[[W3:arg[0-9]+]]: tensor<10x48xf32> {mp.init = {{[^}]*}}, mp.name = "fc3.weight", mp.role = "param"}
// CHECK-SAME: %[[B3:arg[0-9]+]]: tensor<10xf32> {mp.init = {{[^}]*}}, mp.name = "fc3.bias", mp.role = "param"})
// CHECK-SAME: -> (tensor<f32> {mp.name = "loss"}, tensor<16x10xf32> {mp.name = "logits"})
// CHECK: %[[H1:.*]] = mp.gemm %[[X]], %[[W1]], %[[B1]] {transB = 1 : i64} : {{.*}} -> tensor<16x96xf32>
// CHECK: %[[A1:.*]] = mp.relu %[[H1]]
// CHECK: %[[H2:.*]] = mp.gemm %[[A1]], %[[W2]], %[[B2]] {transB = 1 : i64} : {{.*}} -> tensor<16x48xf32>
// CHECK: %[[A2:.*]] = mp.relu %[[H2]]
// CHECK: %[[LOGITS:.*]] = mp.gemm %[[A2]], %[[W3]], %[[B3]] {transB = 1 : i64} : {{.*}} -> tensor<16x10xf32>
// CHECK: %[[LOSS:.*]], %{{.*}} = mp.softmax_cross_entropy_loss %[[LOGITS]], %[[Y]]
// CHECK: return %[[LOSS]], %[[LOGITS]]

// STATIC-NOT: ?x
// STATIC-NOT: tensor<*
// STATIC-NOT: mp.shape

// RT: roundtrip ok: {{.*}}model.onnx
