// Binary models: external data, and files that must fail cleanly.
// REQUIRES: onnx
// RUN: rm -rf %t && %python %S/Inputs/make_models.py %t
// RUN: mp-translate --import-onnx %t/external.onnx | FileCheck %s
// RUN: mp-opt %t/external.onnx | FileCheck %s
// RUN: not mp-translate --import-onnx %t/missing.onnx 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not mp-translate --import-onnx %t/outside.onnx 2>&1 | FileCheck %s --check-prefix=OUTSIDE
// RUN: not mp-translate --import-onnx %t/short.onnx 2>&1 | FileCheck %s --check-prefix=SHORT
// RUN: not mp-translate --import-onnx %t/truncated.onnx 2>&1 | FileCheck %s --check-prefix=TRUNC
// RUN: not mp-opt %t/truncated.onnx 2>&1 | FileCheck %s --check-prefix=TRUNC
// RUN: not mp-translate --import-onnx %t/badraw.onnx 2>&1 | FileCheck %s --check-prefix=BADRAW

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %{{.*}}: tensor<4x3xf32> {mp.init = dense<{{\[\[}}0.000000e+00, 1.000000e+00, 2.000000e+00], {{.*}}]> : tensor<4x3xf32>, mp.name = "w", mp.role = "param"}
// CHECK: mp.matmul

// MISSING: missing.onnx:0:0: error: initializer 'w': cannot read external data file '{{.*}}nowhere.bin'
// OUTSIDE: error: initializer 'w': external data location '../../etc/passwd' must be a relative path below the model's directory
// SHORT: error: initializer 'w': external data holds 20 bytes, the dims need 48
// TRUNC: truncated.onnx:0:0: error: cannot parse the ONNX protobuf (truncated or not an ONNX model)
// BADRAW: error: initializer 'w': tensor holds 7 bytes of data, its dims need 48
// MISSING-NOT: func.func
