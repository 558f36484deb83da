// Dynamic loss scaling at run time: python/check_loss_scaling.py compiles a
// small model with mp-build-training + mp-loss-scaling (and the f16
// mp-amp-pipeline) and runs its @train_step with python/mp_interp.py: clean
// steps equal the unscaled step and grow the scale every `interval` steps up
// to `max`; an overflowing step is skipped (no parameter, buffer or step
// changes), halves the scale and resets the tracker; the scale never drops
// below `min`; in f16 the first steps overflow until the scale fits.
//
// RUN: %python %mp_src/python/check_loss_scaling.py --mp-opt %mp_bin/mp-opt | FileCheck %s

// CHECK: scale after each clean step: [8.0, 8.0, 16.0, 16.0, 16.0, 32.0, 32.0, 32.0, 32.0]
// CHECK: an overflowing step is skipped: ok
// CHECK: a skipped step changes no parameter, buffer or step: ok
// CHECK: scale after repeated overflows: [8.0, 4.0, 2.0, 2.0, 2.0]
// CHECK: f16: {{[0-9]+}} steps skipped while the scale backed off
// CHECK: f16: the loss decreases once steps apply: ok
// CHECK-NOT: FAIL
