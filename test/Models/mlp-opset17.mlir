// The digits MLP (64 -> 128 -> 128 -> 10, ReLU, cross-entropy) exported from
// PyTorch in training mode at opset 17: three Gemm (transB) with their
// weights as parameters, and SoftmaxCrossEntropyLoss on the logits.
//
// REQUIRES: torch, onnxruntime
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py mlp -o %t/model.onnx --reference %t/ref.npz
// RUN: mp-opt %t/model.onnx | FileCheck %s
// RUN: mp-opt %t/model.onnx | FileCheck %s --check-prefix=STATIC
// RUN: %python %mp_src/python/check_roundtrip.py %t/model.onnx %t/ref.npz %mp_bin | FileCheck %s --check-prefix=RT

// CHECK: module attributes {mp.opset = 17 : i64
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<8x64xf32> {mp.name = "x", mp.role = "input"}
// CHECK-SAME: %[[Y:arg[0-9]+]]: tensor<8xi64> {mp.name = "y", mp.role = "input"}
// CHECK-SAME: %[[W1:arg[0-9]+]]: tensor<128x64xf32> {mp.init = {{[^}]*}}, mp.name = "fc1.weight", mp.role = "param"}
// CHECK-SAME: %[[B1:arg[0-9]+]]: tensor<128xf32> {mp.init = {{[^}]*}}, mp.name = "fc1.bias", mp.role = "param"}
// CHECK-SAME: %[[W2:arg[0-9]+]]: tensor<128x128xf32> {mp.init = {{[^}]*}}, mp.name = "fc2.weight", mp.role = "param"}
// CHECK-SAME: %[[B2:arg[0-9]+]]: tensor<128xf32> {mp.init = {{[^}]*}}, mp.name = "fc2.bias", mp.role = "param"}
// CHECK-SAME: %[[W3:arg[0-9]+]]: tensor<10x128xf32> {mp.init = {{[^}]*}}, mp.name = "fc3.weight", mp.role = "param"}
// CHECK-SAME: %[[B3:arg[0-9]+]]: tensor<10xf32> {mp.init = {{[^}]*}}, mp.name = "fc3.bias", mp.role = "param"})
// CHECK-SAME: -> (tensor<f32> {mp.name = "loss"}, tensor<8x10xf32> {mp.name = "logits"})
// CHECK: %[[H1:.*]] = mp.gemm %[[X]], %[[W1]], %[[B1]] {transB = 1 : i64} : {{.*}} -> tensor<8x128xf32>
// CHECK: %[[A1:.*]] = mp.relu %[[H1]]
// CHECK: %[[H2:.*]] = mp.gemm %[[A1]], %[[W2]], %[[B2]] {transB = 1 : i64} : {{.*}} -> tensor<8x128xf32>
// CHECK: %[[A2:.*]] = mp.relu %[[H2]]
// CHECK: %[[LOGITS:.*]] = mp.gemm %[[A2]], %[[W3]], %[[B3]] {transB = 1 : i64} : {{.*}} -> tensor<8x10xf32>
// CHECK: %[[LOSS:.*]], %{{.*}} = mp.softmax_cross_entropy_loss %[[LOGITS]], %[[Y]] {ignore_index = -100 : i64}
// CHECK: return %[[LOSS]], %[[LOGITS]] : tensor<f32>, tensor<8x10xf32>

// STATIC-NOT: ?x
// STATIC-NOT: tensor<*
// STATIC-NOT: mp.shape

// RT: roundtrip ok: {{.*}}model.onnx
