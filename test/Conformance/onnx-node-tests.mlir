// Conformance of the ONNX importer and exporter over Debian's
// libonnx-testdata node tests: every test that mp claims to support imports,
// and its exported model computes the test's outputs in onnxruntime. Tests
// outside mp (ops, opsets, element types it lacks) are counted as unsupported;
// those that only give a static input (axes, bounds) as a graph input are
// also run with that input as a constant.
//
// REQUIRES: onnx-testdata, onnxruntime
// RUN: %python %mp_src/python/onnx_conformance.py %mp_bin | FileCheck %s
//
// CHECK-NOT: FAILED
// CHECK: constant-input variants: tested={{[0-9]+}} matched={{(5[5-9]|[6-9][0-9]|[1-9][0-9][0-9])}} failed=0
// CHECK: conformance: supported={{[0-9]+}} imported={{[0-9]+}} roundtrip_matched={{(40[7-9]|4[1-9][0-9]|[5-9][0-9][0-9])}} import_failed=0 roundtrip_failed=0 unsupported={{[0-9]+}}
