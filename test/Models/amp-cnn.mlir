// The AMP pipeline on the PyTorch-exported CNN: Conv and Gemm in low
// precision, BatchNorm's scale, bias and running statistics stay f32 (pinned),
// the running-statistics results stay f32.
//
// REQUIRES: torch
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py cnn -o %t/cnn.onnx
// RUN: mp-opt %t/cnn.onnx --mp-amp-pipeline="target=bf16" -o %t/bf16.mlir
// RUN: FileCheck %s --input-file=%t/bf16.mlir
// RUN: %python %mp_src/python/check_amp.py %t/bf16.mlir --target bf16 | FileCheck %s --check-prefix=AMP

// CHECK-LABEL: func.func @forward
// CHECK-SAME: mp.name = "bn1.running_mean", mp.role = "buffer"
// CHECK-SAME: mp.name = "bn1.running_var", mp.role = "buffer"
// CHECK: %[[C:.*]] = mp.conv {{.*}}mp.precision = #mp.precision<bf16>{{.*}} -> tensor<{{.*}}xbf16>
// CHECK: mp.batch_norm %[[C]], {{.*}}training_mode = 1 : i64} : (tensor<{{.*}}xbf16>, tensor<{{[0-9]+}}xf32>, tensor<{{[0-9]+}}xf32>, tensor<{{[0-9]+}}xf32>, tensor<{{[0-9]+}}xf32>) -> (tensor<{{.*}}xbf16>, tensor<{{[0-9]+}}xf32>, tensor<{{[0-9]+}}xf32>)
// CHECK: mp.max_pool {{.*}}mp.precision = #mp.precision<bf16>
// CHECK: mp.gemm {{.*}}mp.precision = #mp.precision<bf16>
// CHECK: mp.softmax_cross_entropy_loss {{.*}}mp.precision = #mp.precision<f32>

// AMP: amp check: 3 contractions, 1 losses, {{[0-9]+}} low ops, 1 f32 ops, {{[0-9]+}} casts: ok
