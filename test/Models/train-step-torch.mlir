// The whole training step against PyTorch for the MLP, CNN and GPT of
// python/gen_models.py: the loss and every gradient (optimizer=none), then
// two steps of SGD (weight decay), momentum SGD (dampening), Nesterov, Adam
// and AdamW, with the state fed back through mp.updates. mp's step runs in
// fp32 (python/mp_interp.py rounds every op to f32) against PyTorch's fp64
// reference; relative error <= 1e-5 per tensor. In fp64 the agreement is
// limited by the f32 constants of the ONNX graphs (BatchNorm momentum 0.9f).
//
// REQUIRES: torch
// RUN: %python %mp_src/python/check_training.py --mp-opt %mp_bin/mp-opt mlp cnn gpt --tol 1e-5 | FileCheck %s
// RUN: %python %mp_src/python/check_training.py --mp-opt %mp_bin/mp-opt mlp cnn gpt --precision fp64 --tol 1e-6 | FileCheck %s --check-prefix=F64
// RUN: %python %mp_src/python/check_training.py --mp-opt %mp_bin/mp-opt mlp cnn gpt --optimizers= --variants | FileCheck %s --check-prefix=VAR

// CHECK: mlp: loss and 6 gradients checked
// CHECK: mlp/adamw: 2 steps, 18 tensors checked
// CHECK: cnn: loss and 8 gradients checked
// CHECK: cnn/momentum: 2 steps
// CHECK: gpt: loss and 29 gradients checked
// CHECK: gpt/adam: 2 steps, 87 tensors checked
// CHECK: checked {{[0-9]+}} tensors, mp fp32 vs PyTorch fp64: max relative error
// CHECK-NOT: FAIL

// F64: checked {{[0-9]+}} tensors, mp fp64 vs PyTorch fp64: max relative error
// F64-NOT: FAIL

// Other exports: opset 20 (Gelu), a dynamic-batch export, the pooling and
// NLL heads.
// VAR: variant gpt --opset 20:
// VAR: variant gpt --dynamic-batch --batch 2:
// VAR: variant cnn --pool avg:
// VAR: variant cnn --pool mean --opset 18:
// VAR: variant cnn --pool max:
// VAR: variant mlp --loss nll:
// VAR: mp fp32 vs PyTorch fp64: max relative error
// VAR-NOT: FAIL
