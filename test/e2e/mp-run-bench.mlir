// Programs without state data (mp-compile --no-state-data), parameter
// initialization (mp-run --init-params) and the benchmark mode (--bench),
// on the CPU runtime; the cuda backend's absence is a clean error.
// REQUIRES: onnx
// RUN: rm -rf %t && mkdir -p %t
// RUN: mp-compile %S/Inputs/mlp.onnxtxt --optimizer adamw -o %t/full.mpb
// RUN: mp-compile %S/Inputs/mlp.onnxtxt --optimizer adamw --no-state-data -o %t/bare.mpb
// RUN: %python -c "import os; print(os.path.getsize('%t/full.mpb') > os.path.getsize('%t/bare.mpb'))" | FileCheck %s --check-prefix=SIZE
// SIZE: True

// Without data the parameters are zeros: the loss of a zero MLP is log(2).
// RUN: mp-run %t/bare.mpb --synthetic --int-high 2 --steps 1 | FileCheck %s --check-prefix=ZERO
// ZERO: step      1  loss 0.693147

// --init-params draws N(0, std^2) per parameter: the loss moves off log(2),
// and the same seed gives the same loss.
// RUN: mp-run %t/bare.mpb --synthetic --int-high 2 --init-params 0.5 --seed 3 --steps 1 | grep " loss " > %t/a.txt
// RUN: mp-run %t/bare.mpb --synthetic --int-high 2 --init-params 0.5 --seed 3 --steps 1 | grep " loss " > %t/b.txt
// RUN: diff %t/a.txt %t/b.txt
// RUN: FileCheck %s --check-prefix=INIT --input-file=%t/a.txt
// INIT: step      1  loss
// INIT-NOT: loss 0.693147

// --bench prints one JSON line with the median step time.
// RUN: mp-run %t/full.mpb --synthetic --int-high 2 --bench 2 --steps 5 | FileCheck %s --check-prefix=BENCH
// BENCH: {"device": "cpu", "function": "train_step", "steps": 5, "warmup": 2, "ms": {{[0-9.]+}},
// BENCH-SAME: "batch": 4,
// BENCH-SAME: "device_mib": 0.0, "loss": {{[0-9.]+}}, "enqueue_ms": {{[0-9.]+}}, "pipelined_ms": {{[0-9.]+}}}

// RUN: not mp-run %t/full.mpb --bench 1 --steps 0 --synthetic 2>&1 | FileCheck %s --check-prefix=NOSTEPS
// NOSTEPS: mp-run: error: --bench needs --steps >= 1
// RUN: not mp-run %t/full.mpb --init-params -1 2>&1 | FileCheck %s --check-prefix=BADSTD
// BADSTD: mp-run: error: --init-params needs a non-negative standard deviation

// Without a GPU (CI) or without the CUDA backend, --device cuda says why.
// RUN: not mp-run %t/full.mpb --device cuda --synthetic 2>&1 | FileCheck %s --check-prefix=CUDA
// CUDA: mp-run: error: device 'cuda': {{.*(no CUDA device|not built)}}
