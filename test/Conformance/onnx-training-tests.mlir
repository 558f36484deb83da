// ONNX's standard training ops in libonnx-testdata: the Adam, Adagrad and
// Momentum node tests, and simple/test_gradient_of_add*, imported, round
// tripped through onnxruntime and run on mp's CPU runtime. test_adam_multiple
// is not compared: its data was made with an epsilon its node lacks.
// REQUIRES: onnx-testdata, onnx, onnxruntime
// RUN: %python %mp_src/python/onnx_conformance.py %mp_bin -k gradient --data-dir /usr/share/libonnx-testdata/data/simple | FileCheck %s --check-prefix=GRAD
// RUN: %python %mp_src/python/runtime_conformance.py %mp_bin -k gradient --data-dir /usr/share/libonnx-testdata/data/simple | FileCheck %s --check-prefix=GRADRT
// RUN: %python %mp_src/python/onnx_conformance.py %mp_bin -k momentum | FileCheck %s --check-prefix=MOM
// RUN: %python %mp_src/python/runtime_conformance.py %mp_bin -k ada | FileCheck %s --check-prefix=ADA
// GRAD: conformance: supported=2 imported=2 roundtrip_matched=2 import_failed=0 roundtrip_failed=0
// GRADRT: runtime conformance: supported=2 passed=2 failed=0
// MOM: conformance: supported=3 imported=3 roundtrip_matched=3 import_failed=0 roundtrip_failed=0
// ADA: runtime conformance: supported=3 passed=3 failed=0 skipped=1
