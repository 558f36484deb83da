// ONNX's standard training form: a TrainingInfoProto whose algorithm takes
// a Gradient and a Momentum step, with update bindings W <- W_new, V <- V_new
// and T <- T_new. It imports as @forward plus @train_step with mp.updates,
// compiles, and trains on the runtime exactly as a numpy reference.
// REQUIRES: onnx
// RUN: rm -rf %t && mkdir -p %t
// RUN: /usr/bin/python3 %S/Inputs/make_training_info.py %t
// RUN: mp-translate --import-onnx %t/model.onnx | FileCheck %s --check-prefix=IR
// RUN: mp-compile %t/model.onnx -o %t/p.mpb
// RUN: mp-run %t/p.mpb --inputs %t/data.npz --steps 20 --every 1 --save-params %t/w.npz | FileCheck %s
// RUN: %python -c "import numpy as np; w = np.load('%t/w.npz')['W'].ravel(); print('W after 20 steps %%.4f %%.4f' %% tuple(w))" | FileCheck %s --check-prefix=W
// RUN: FileCheck %s --input-file=%t/ref.txt --check-prefix=W

// IR-LABEL: func.func @forward
// IR-LABEL: func.func @train_step
// IR-SAME: mp.name = "W", mp.role = "param"
// IR-SAME: mp.name = "T", mp.role = "opt_state"
// IR-SAME: -> (tensor<2x1xf32> {mp.name = "W_new", mp.updates = 2 : i64}, tensor<2x1xf32> {mp.name = "V_new", mp.updates = 4 : i64}, tensor<i64> {mp.name = "T_new", mp.updates = 3 : i64}, tensor<f32> {mp.name = "L"}, tensor<8x1xf32> {mp.name = "Y"})

// CHECK: step      1  loss 3.84411
// CHECK: step     20  loss
// W: W after 20 steps 2.2107 -1.5063
