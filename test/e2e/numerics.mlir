// Hostile numerics: mp-run refuses NaN/inf in inputs and parameters (naming
// the tensor and the step), stops on a NaN/inf loss, and --check-numerics
// names the first instruction producing inf/NaN and its ONNX node (the
// instruction's `name` attribute, which mp-compile records). Opt out with
// --allow-nonfinite.
// REQUIRES: onnx
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/numerics_data.py %S/Inputs/mlp.onnxtxt %t
// RUN: mp-compile %S/Inputs/mlp.onnxtxt --optimizer sgd --lr 0.1 -o %t/mlp.mpb
// RUN: mp-compile %t/nan_w.onnx --optimizer sgd -o %t/nan_w.mpb

// A NaN in batch 1 of a two-batch dataset: step 2 would see it.
// RUN: not mp-run %t/mlp.mpb --input x=%t/x_nan.npy --input y=%t/y.npy --steps 2 2>&1 | FileCheck %s --check-prefix=INPUT
// INPUT: mp-run: error: input 'x' has 1 non-finite value (first: element 4 = nan) in batch 1 (first used at step 2); pass --allow-nonfinite to run anyway

// RUN: not mp-run %t/mlp.mpb --input x=%t/x_inf.npy --input y=%t/y.npy 2>&1 | FileCheck %s --check-prefix=INF
// INF: mp-run: error: input 'x' has 1 non-finite value (first: element 2 = inf) (used from step 1)

// A NaN weight.
// RUN: not mp-run %t/nan_w.mpb --synthetic --int-high 2 2>&1 | FileCheck %s --check-prefix=WEIGHT
// WEIGHT: mp-run: error: parameter 'w' has 1 non-finite value (first: element 1 = nan) before step 1; pass --allow-nonfinite to run anyway

// Finite data whose logits overflow: the loss is inf at step 1.
// RUN: not mp-run %t/mlp.mpb --input x=%t/x_big.npy --input y=%t/y.npy 2>&1 | FileCheck %s --check-prefix=LOSS
// LOSS: mp-run: error: step 1 of 'train_step': the loss is {{NaN|infinite}}; after it, parameter 'w' has {{[0-9]+}} non-finite values

// --check-numerics finds the instruction and its node.
// RUN: not mp-run %t/mlp.mpb --input x=%t/x_big.npy --input y=%t/y.npy --check-numerics 2>&1 | FileCheck %s --check-prefix=CHECK-NUM
// CHECK-NUM: mp-run: error: step 1 of 'train_step': function 'train_step' instruction 0: kernel 'gemm' node 'Gemm_0' produced 0 NaN and 4 inf values in result 0 ('train_step.t{{[0-9]+}}', f32[4,2]); first at element 1: inf (non-finite value)
// RUN: not mp-run %t/mlp.mpb --input x=%t/x_big.npy --input y=%t/y.npy --check-numerics=nan 2>&1 | FileCheck %s --check-prefix=CHECK-NAN
// CHECK-NAN: mp-run: error: step 1 of 'train_step': function 'train_step' instruction {{[1-9][0-9]*}}: kernel '{{[a-z_]+}}' node '{{[A-Za-z_0-9/]+}}' produced {{[1-9][0-9]*}} NaN

// The opt-out runs (and warns about the loss).
// RUN: mp-run %t/mlp.mpb --input x=%t/x_nan.npy --input y=%t/y.npy --steps 2 --every 1 --allow-nonfinite 2>%t/allow.err | FileCheck %s --check-prefix=ALLOW
// RUN: FileCheck %s --input-file=%t/allow.err --check-prefix=ALLOW-ERR
// ALLOW: step      1  loss {{[0-9.]+}}
// ALLOW: step      2  loss {{-?nan}}
// ALLOW-ERR: mp-run: warning: the loss is NaN at step 2
