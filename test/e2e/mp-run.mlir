// mp-compile + mp-run end to end on the CPU runtime, against a numpy
// reference, and mp-run's handling of bad input.
// REQUIRES: onnx
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/mlp_data.py %t
// RUN: mp-compile %S/Inputs/mlp.onnxtxt -o %t/mlp.mpb
// RUN: FileCheck %s --input-file=%t/ref.txt --check-prefix=REF
// The dataset (8 rows) is two batches of 4: steps 1 and 2 see each once.
// RUN: mp-run %t/mlp.mpb --input x=%t/x.npy --input y=%t/y.npy --steps 2 --every 1 | FileCheck %s
// RUN: mp-run %t/mlp.mpb --input x=%t/x64.npy --input y=%t/y.npy --steps 1 | FileCheck %s --check-prefix=STEP1
// RUN: mp-run %t/mlp.mpb --inputs %t/batch.npz --print --save-outputs %t/out.npz | FileCheck %s --check-prefix=PRINT
// RUN: %python -c "import numpy as np; d = np.load('%t/out.npz'); print(sorted(d.files), d['forward.logits'].shape)" | FileCheck %s --check-prefix=SAVED
// RUN: mp-run %t/mlp.mpb --synthetic --int-high 2 --steps 3 | FileCheck %s --check-prefix=SYN
// RUN: mp-run %t/mlp.mpb --list | FileCheck %s --check-prefix=LIST

// REF: batch 0 loss 0.91098
// REF: batch 1 loss 0.70993
// The f32 runtime agrees with the float64 reference to 5 decimals.
// CHECK: step      1  loss 0.9109
// CHECK: step      2  loss 0.7099
// CHECK: 2 steps of 'forward' on cpu
// STEP1: step      1  loss 0.9109
// PRINT: forward.logits f32[4,2] =
// PRINT: forward.loss f32[] = 0.9109
// SAVED: ['forward.logits', 'forward.loss'] (4, 2)
// SYN: 3 steps of 'forward' on cpu
// LIST: input      x                                        f32[4,3]
// LIST: param      w                                        f32[2,3]
// LIST: output     forward.loss                             f32[]
// LIST: function   forward

// RUN: not mp-run %t/mlp.mpb --input x=%t/bad_shape.npy --input y=%t/y.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: mp-run: error: input 'x' wants f32[4,3], the file has f32[4,5]
// RUN: not mp-run %t/mlp.mpb --input x=%t/x.npy 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: mp-run: error: input 'y' (i64[4]) is not bound; use --input y=FILE.npy, --inputs FILE.npz or --synthetic
// RUN: not mp-run %t/mlp.mpb --synthetic --input z=%t/x.npy 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: mp-run: error: no input named 'z' in the program (inputs: x, y)
// RUN: not mp-run %t/mlp.mpb --input x=%t/y.npy --input y=%t/y.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: mp-run: error: input 'x' wants f32[4,3], the file has i64[8]
// RUN: head -c 100 %t/mlp.mpb > %t/short.mpb
// RUN: not mp-run %t/short.mpb --synthetic 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: mp-run: error: cannot load '{{.*}}short.mpb':
// RUN: not mp-run %t/x.npy --synthetic 2>&1 | FileCheck %s --check-prefix=MAGIC
// MAGIC: mp-run: error: cannot load '{{.*}}x.npy':
// RUN: not mp-run %t/mlp.mpb --device tpu 2>&1 | FileCheck %s --check-prefix=DEVICE
// DEVICE: mp-run: error: device 'tpu':
// RUN: not mp-run %t/mlp.mpb --steps -1 2>&1 | FileCheck %s --check-prefix=STEPS
// STEPS: mp-run: error: --steps needs a non-negative integer
