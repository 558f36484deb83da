// Mixed precision against f32 on the CPU runtime: the loss of one forward
// pass of the PyTorch-exported MLP, CNN and GPT, compiled with
// `mp-compile --amp off|f16|bf16` and run on the same seeded batch. The
// runtime rounds every f16/bf16 value to nearest even, so the differences
// are the real cost of the precision decisions.
// REQUIRES: torch
// RUN: %python %mp_src/python/amp_numerics.py %mp_bin %t | FileCheck %s
// CHECK: mlp: f32 loss {{[0-9.]+}}, f16 {{[0-9.]+}} (rel. error {{[0-9.]+}}e-{{0[5-9]}}), bf16 {{[0-9.]+}} (rel. error {{.*}})
// CHECK: cnn: f32 loss
// CHECK: gpt: f32 loss
// CHECK: amp numerics: ok
