// The runtime loader's limits (mp_rt_set_limits; mp-run --max-tensor-bytes,
// --max-total-bytes) reject a program before anything is allocated, with
// one error and exit status 1.
// RUN: rm -rf %t && mkdir -p %t
// RUN: mp-compile %S/../e2e/Inputs/mlp.onnxtxt -o %t/mlp.mpb
// RUN: mp-run %t/mlp.mpb --synthetic --int-high 2 --max-tensor-bytes 1024 --max-total-bytes 1048576 | FileCheck %s --check-prefix=OK
// OK: 1 steps of 'forward'
// RUN: not mp-run %t/mlp.mpb --synthetic --max-tensor-bytes 16 2>&1 | FileCheck %s --check-prefix=TENSOR
// TENSOR: mp-run: error: cannot load '{{.*}}mlp.mpb': {{.*}}the limit of 16 bytes (invalid program)
// RUN: not mp-run %t/mlp.mpb --synthetic --max-total-bytes 100 2>&1 | FileCheck %s --check-prefix=TOTAL
// TOTAL: mp-run: error: cannot load '{{.*}}mlp.mpb': {{.*}}limit of 100 bytes
// RUN: not mp-run %t/mlp.mpb --max-tensor-bytes 0 2>&1 | FileCheck %s --check-prefix=FLAG
// FLAG: mp-run: error: --max-tensor-bytes needs a positive number of bytes
