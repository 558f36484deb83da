// The PyTorch-MNIST-example head (log_softmax output, nll_loss) on a
// 64 -> 128 -> 10 MLP, rewritten to opset 18. torch fuses log_softmax +
// nll_loss into SoftmaxCrossEntropyLoss on the logits and keeps a LogSoftmax
// for the log-probability output.
//
// REQUIRES: torch, onnxruntime
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py mlp --opset 18 --loss nll --hidden 128 -o %t/model.onnx --reference %t/ref.npz
// RUN: mp-opt %t/model.onnx | FileCheck %s
// RUN: mp-opt %t/model.onnx | FileCheck %s --check-prefix=STATIC
// RUN: %python %mp_src/python/check_roundtrip.py %t/model.onnx %t/ref.npz %mp_bin | FileCheck %s --check-prefix=RT

// CHECK: module attributes {mp.opset = 18 : i64
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<8x64xf32> {mp.name = "x", mp.role = "input"}
// CHECK-SAME: %[[Y:arg[0-9]+]]: tensor<8xi64> {mp.name = "y", mp.role = "input"}
// CHECK-SAME: %[[W1:arg[0-9]+]]: tensor<128x64xf32> {mp.init = {{[^}]*}}, mp.name = "fc1.weight", mp.role = "param"}
// CHECK-SAME: %[[B1:arg[0-9]+]]: tensor<128xf32> {mp.init = {{[^}]*}}, mp.name = "fc1.bias", mp.role = "param"}
// CHECK-SAME: %[[W2:arg[0-9]+]]: tensor<10x128xf32> {mp.init = {{[^}]*}}, mp.name = "fc2.weight", mp.role = "param"}
// CHECK-SAME: %[[B2:arg[0-9]+]]: tensor<10xf32> {mp.init = {{[^}]*}}, mp.name = "fc2.bias", mp.role = "param"})
// CHECK-SAME: -> (tensor<f32> {mp.name = "loss"}, tensor<8x10xf32> {mp.name = "log_probs"})
// CHECK: %[[H1:.*]] = mp.gemm %[[X]], %[[W1]], %[[B1]] {transB = 1 : i64}
// CHECK: %[[A1:.*]] = mp.relu %[[H1]]
// CHECK: %[[LOGITS:.*]] = mp.gemm %[[A1]], %[[W2]], %[[B2]] {transB = 1 : i64}
// CHECK: %[[LOGP:.*]] = mp.log_softmax %[[LOGITS]] {axis = 1 : i64} : (tensor<8x10xf32>) -> tensor<8x10xf32>
// CHECK: %[[LOSS:.*]], %{{.*}} = mp.softmax_cross_entropy_loss %[[LOGITS]], %[[Y]]
// CHECK: return %[[LOSS]], %[[LOGP]]

// STATIC-NOT: ?x
// STATIC-NOT: tensor<*
// STATIC-NOT: mp.shape

// RT: roundtrip ok: {{.*}}model.onnx
