// Every op's gradient rule (GradientOpInterface) against central finite
// differences in float64: python/grad_check.py builds one small @forward per
// case (the op on random parameters, its results projected onto random
// tensors), differentiates it with mp-build-training, runs @train_step with
// python/mp_interp.py and compares. It also fails when an op of MPOps.td or
// MPTrainingOps.td has no case.
//
// RUN: %python %mp_src/python/grad_check.py --mp-opt %mp_bin/mp-opt --td-dir %mp_src/include/mp/Dialect/MP/IR | FileCheck %s

// CHECK: gradient check: {{[0-9]+}} cases, {{[0-9]+}} ops, max relative error
// CHECK-NOT: FAIL
