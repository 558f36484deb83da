// The ONNX node tests executed by mp's CPU runtime: every test mp imports is
// compiled with mp-compile, run with mp-run on the test's inputs and compared
// with its outputs (|a - b| <= 1e-7 + 1e-3 |b|). Tests with data-dependent
// output shapes (the runtime needs static shapes) or dtypes the runtime does
// not have (int16, uint16/32/64, bfloat16 data) are counted apart.
// REQUIRES: onnx-testdata, onnx
// RUN: %python %mp_src/python/runtime_conformance.py %mp_bin | FileCheck %s
// CHECK-NOT: FAILED:
// CHECK: runtime conformance: supported={{[0-9]+}} passed={{(39[7-9]|[4-9][0-9][0-9])}} failed=0
