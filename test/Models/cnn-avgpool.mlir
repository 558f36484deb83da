// The small CNN with an nn.AvgPool2d(4) global pool at opset 17. torch 1.13
// exports AvgPool2d as Pad (constant mode, all-zero pads as an input) +
// AveragePool; the importer folds the all-zero Pad away.
//
// REQUIRES: torch, onnxruntime
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py cnn --pool avg -o %t/model.onnx --reference %t/ref.npz
// RUN: mp-opt %t/model.onnx | FileCheck %s
// RUN: mp-opt %t/model.onnx | FileCheck %s --check-prefix=STATIC
// RUN: %python %mp_src/python/check_roundtrip.py %t/model.onnx %t/ref.npz %mp_bin | FileCheck %s --check-prefix=RT

// CHECK: module attributes {mp.opset = 17 : i64
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<4x1x8x8xf32> {mp.name = "x", mp.role = "input"}
// CHECK-SAME: %[[Y:arg[0-9]+]]: tensor<4xi64> {mp.name = "y", mp.role = "input"}
// CHECK-SAME: %[[CW1:arg[0-9]+]]: tensor<8x1x3x3xf32> {mp.init = {{[^}]*}}, mp.name = "conv1.weight", mp.role = "param"}
// CHECK-SAME: %[[CB1:arg[0-9]+]]: tensor<8xf32> {mp.init = {{[^}]*}}, mp.name = "conv1.bias", mp.role = "param"}
// CHECK-SAME: %[[G:arg[0-9]+]]: tensor<8xf32> {mp.init = dense<1.000000e+00> : tensor<8xf32>, mp.name = "bn1.weight", mp.role = "param"}
// CHECK-SAME: %[[BE:arg[0-9]+]]: tensor<8xf32> {mp.init = dense<0.000000e+00> : tensor<8xf32>, mp.name = "bn1.bias", mp.role = "param"}
// The running statistics are the untrained PyTorch state (0 and 1).
// CHECK-SAME: %[[RM:arg[0-9]+]]: tensor<8xf32> {mp.init = dense<0.000000e+00> : tensor<8xf32>, mp.name = "bn1.running_mean"{{[^}]*}}}
// CHECK-SAME: %[[RV:arg[0-9]+]]: tensor<8xf32> {mp.init = dense<1.000000e+00> : tensor<8xf32>, mp.name = "bn1.running_var"{{[^}]*}}}
// CHECK-SAME: %[[CW2:arg[0-9]+]]: tensor<16x8x3x3xf32> {mp.init = {{[^}]*}}, mp.name = "conv2.weight", mp.role = "param"}
// CHECK-SAME: %[[CB2:arg[0-9]+]]: tensor<16xf32> {mp.init = {{[^}]*}}, mp.name = "conv2.bias", mp.role = "param"}
// CHECK-SAME: %[[FW:arg[0-9]+]]: tensor<10x16xf32> {mp.init = {{[^}]*}}, mp.name = "fc.weight", mp.role = "param"}
// CHECK-SAME: %[[FB:arg[0-9]+]]: tensor<10xf32> {mp.init = {{[^}]*}}, mp.name = "fc.bias", mp.role = "param"})
// CHECK-SAME: -> (tensor<f32> {mp.name = "loss"}, tensor<4x10xf32> {mp.name = "logits"})
// CHECK: %[[C1:.*]] = mp.conv %[[X]], %[[CW1]], %[[CB1]] {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : {{.*}} -> tensor<4x8x8x8xf32>
// CHECK: %[[BN:.*]], %{{.*}}, %{{.*}} = mp.batch_norm %[[C1]], %[[G]], %[[BE]], %[[RM]], %[[RV]] {training_mode = 1 : i64} : {{.*}} -> (tensor<4x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>)
// CHECK: %[[A1:.*]] = mp.relu %[[BN]]
// CHECK: %[[P1:.*]] = mp.max_pool %[[A1]] {kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : {{.*}} -> tensor<4x8x4x4xf32>
// CHECK: %[[C2:.*]] = mp.conv %[[P1]], %[[CW2]], %[[CB2]] {{.*}} -> tensor<4x16x4x4xf32>
// CHECK: %[[A2:.*]] = mp.relu %[[C2]]
// CHECK: %[[P2:.*]] = mp.average_pool %{{.*}} {{.*}}kernel_shape = array<i64: 4, 4>{{.*}} -> tensor<4x16x1x1xf32>
// CHECK: %[[F:.*]] = mp.flatten %[[P2]] : (tensor<4x16x1x1xf32>) -> tensor<4x16xf32>
// CHECK: %[[LOGITS:.*]] = mp.gemm %[[F]], %[[FW]], %[[FB]] {transB = 1 : i64} : {{.*}} -> tensor<4x10xf32>
// CHECK: %[[LOSS:.*]], %{{.*}} = mp.softmax_cross_entropy_loss %[[LOGITS]], %[[Y]]
// CHECK: return %[[LOSS]], %[[LOGITS]]

// STATIC-NOT: ?x
// STATIC-NOT: tensor<*
// STATIC-NOT: mp.shape

// RT: roundtrip ok: {{.*}}model.onnx
