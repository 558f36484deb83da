// The AMP training pipeline decides @forward, builds @train_step, then
// paints what autodiff added. Its report shows, for the forward ops that
// reach the second autocast run already painted, the first run's class,
// rule and reason (inherit-report), and for backward ops the forward op
// they follow; the IR is the same with or without a report.
//
// RUN: mp-opt %mp_src/examples/digits_mlp.onnx --mp-amp-pipeline="target=f16 optimizer=sgd report=%t.json" -o %t.mlir
// RUN: FileCheck %s --input-file=%t.json
// RUN: mp-opt %mp_src/examples/digits_mlp.onnx --mp-amp-pipeline="target=f16 optimizer=sgd" | diff - %t.mlir

// CHECK-LABEL: "function": "train_step"
// CHECK:      "class": "allow",
// CHECK-NEXT: "node": "/fc1/Gemm",
// CHECK-NEXT: "op": "Gemm",
// CHECK-NEXT: "precision": "f16",
// CHECK-NEXT: "reason": "allow: contraction: {{.*}}",
// CHECK-NEXT: "rule": "allow list"
// CHECK:      "class": "clear",
// CHECK-NEXT: "node": "/Relu",
// CHECK:      "rule": "between allow ops"
// CHECK:      "node": "/SoftmaxCrossEntropyLoss",
// CHECK-NEXT: "op": "SoftmaxCrossEntropyLoss",
// CHECK-NEXT: "precision": "f32",
// CHECK:      "rule": "deny list"
// CHECK:      "op": "mp.softmax_cross_entropy_loss_grad",
// CHECK-NEXT: "precision": "f32",
// CHECK-NEXT: "reason": "backward of SoftmaxCrossEntropyLoss '/SoftmaxCrossEntropyLoss' (deny list)",
// CHECK-NEXT: "rule": "follows its forward op"
// CHECK:      "node": "/Relu",
// CHECK-NEXT: "op": "Greater",
// CHECK-NEXT: "precision": "f16",
// CHECK-NEXT: "reason": "backward of Relu '/Relu' (between allow ops)",
// CHECK-NEXT: "rule": "follows its forward op"
// CHECK-NOT:  "rule": "already decided"
// CHECK:      "totals"
