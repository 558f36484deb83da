// A model exported with a dynamic batch axis (dim_param "batch" on its
// inputs, Shape/Gather/Concat chains inside) is compiled for a batch with
// `mp-compile --batch N`; the program's shapes are static, `mp-run --batch`
// checks it, and `--lr` sets the learning rate.
//
// REQUIRES: torch
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py gpt --dynamic-batch --keep-dynamic -o %t/gpt.onnx
// RUN: not mp-compile %t/gpt.onnx --optimizer sgd -o %t/dyn.mpb 2>&1 | FileCheck %s --check-prefix=DYN
// RUN: test ! -e %t/dyn.mpb
// RUN: mp-compile %t/gpt.onnx --batch 3 --amp f16 --optimizer adamw --lr 0.003 -o %t/b3.mpb
// RUN: mp-run %t/b3.mpb --list | FileCheck %s --check-prefix=LIST
// RUN: mp-run %t/b3.mpb --batch 3 --synthetic --int-high 64 --steps 2 | FileCheck %s --check-prefix=STEP
// RUN: not mp-run %t/b3.mpb --batch 4 --synthetic 2>&1 | FileCheck %s --check-prefix=MISMATCH
// RUN: mp-compile %t/gpt.onnx --batch 3 --optimizer sgd --lr 0.25 --emit-mlir -o - | FileCheck %s --check-prefix=LR
// RUN: %python %mp_src/python/gen_models.py mlp -o %t/mlp.onnx
// RUN: not mp-compile %t/mlp.onnx --batch 4 -o %t/static.mpb 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not mp-compile %t/mlp.onnx --optimizer sgd --lr -1 -o %t/neg.mpb 2>&1 | FileCheck %s --check-prefix=NEGLR

// DYN: error: mp-to-runtime: value of type 'tensor<?x16xi64>' has no static shape; the runtime needs static shapes (mp-compile --batch N pins a dynamic batch axis)
// DYN-NOT: func.func

// LIST: input idx i64[3,16]
// LIST: label targets i64[3,16]

// STEP: step 2 loss {{[0-9.]+}} loss-scale 65536
// STEP: 2 steps of 'train_step' on cpu in {{.*}} skipped steps 0

// MISMATCH: mp-run: error: --batch 4: the program was compiled for batch 3 (input 'idx' is i64[3,16]); recompile with mp-compile --batch 4

// LR: mp.init = dense<2.500000e-01> : tensor<f32>, mp.name = "lr"

// STATIC: error: batch 4 requested, but no graph input has a symbolic leading dim (export with a dynamic batch axis)

// NEGLR: mp-compile: error: --lr must be a non-negative number
