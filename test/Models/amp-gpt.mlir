// The AMP pipeline on the PyTorch-exported 2-layer GPT: every MatMul runs in
// f16 (bf16) with f32 accumulation, the cross-entropy loss stays f32, each
// parameter is cast once, and no value is cast back and forth.
//
// REQUIRES: torch
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py gpt -o %t/gpt.onnx
// RUN: mp-opt %t/gpt.onnx --mp-amp-pipeline="target=f16 report=%t/f16.json" -o %t/f16.mlir
// RUN: FileCheck %s --input-file=%t/f16.mlir
// RUN: %python %mp_src/python/check_amp.py %t/f16.mlir --target f16 --report %t/f16.json | FileCheck %s --check-prefix=AMP
// RUN: FileCheck %s --input-file=%t/f16.json --check-prefix=REPORT
// RUN: mp-opt %t/gpt.onnx --mp-amp-pipeline="target=bf16" -o %t/bf16.mlir
// RUN: %python %mp_src/python/check_amp.py %t/bf16.mlir --target bf16 | FileCheck %s --check-prefix=AMP
// RUN: mp-opt %t/f16.mlir --mp-amp-pipeline="target=f16" | %python %mp_src/python/check_amp.py /dev/stdin --target f16 | FileCheck %s --check-prefix=AMP

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[WTE:arg[0-9]+]]: tensor<64x32xf32> {{{.*}}mp.name = "wte.weight", mp.role = "param"}
// CHECK: %[[WTEH:.*]] = mp.cast %[[WTE]] : tensor<64x32xf32> to f16
// CHECK: mp.gather %[[WTEH]], %{{.*}} {mp.precision = #mp.precision<f16>} : (tensor<64x32xf16>, tensor<2x16xi64>) -> tensor<2x16x32xf16>
// CHECK: mp.layer_norm {{.*}} : (tensor<2x16x32xf16>, tensor<32xf32>, tensor<32xf32>) -> (tensor<2x16x32xf16>, tensor<2x16x1xf32>, tensor<2x16x1xf32>)
// CHECK: mp.matmul {{.*}}{mp.accumulate = #mp.precision<f32>, mp.precision = #mp.precision<f16>} : (tensor<2x16x32xf16>, tensor<32x96xf16>) -> tensor<2x16x96xf16>
// CHECK: mp.softmax {{.*}}mp.precision = #mp.precision<f16>
// CHECK: %[[LOGITS:.*]] = mp.matmul {{.*}} -> tensor<2x16x64xf16>
// CHECK: %[[UP:.*]] = mp.cast %[[LOGITS]] : tensor<2x16x64xf16> to f32
// CHECK: mp.softmax_cross_entropy_loss {{.*}}mp.precision = #mp.precision<f32>

// AMP: amp check: 13 contractions, 1 losses, {{[0-9]+}} low ops, 2 f32 ops, {{[0-9]+}} casts: ok

// REPORT: "node": "/SoftmaxCrossEntropyLoss",
// REPORT-NEXT: "op": "SoftmaxCrossEntropyLoss",
// REPORT-NEXT: "precision": "f32",
// REPORT-NEXT: "reason": "deny: losses and their reductions stay f32",
// REPORT: "casts": 20,
// REPORT: "low_precision_flop_fraction": 0.99
