// RUN: mp-opt %s --split-input-file --mp-build-training | FileCheck %s
// RUN: mp-opt %s --split-input-file --mp-build-training="optimizer=momentum lr=0.1" | FileCheck %s --check-prefix=MOM
// RUN: mp-opt %s --split-input-file --mp-build-training="optimizer=adamw" | FileCheck %s --check-prefix=ADAMW
// RUN: mp-opt %s --split-input-file --mp-build-training="optimizer=adam lr=0.01 wd=0.1 beta1=0.8 beta2=0.99 eps=1e-6" | FileCheck %s --check-prefix=ADAM
// RUN: mp-opt %s --split-input-file --mp-build-training="optimizer=sgd momentum=0.9 nesterov=true wd=0.001" | FileCheck %s --check-prefix=NEST
// RUN: mp-opt %s --split-input-file --mp-build-training="optimizer=none" | FileCheck %s --check-prefix=NONE
// RUN: mp-opt %s --split-input-file --mp-build-training="frozen=^w$" | FileCheck %s --check-prefix=FROZEN
// RUN: mp-opt %s --split-input-file --mp-build-training="eval-forward=false" | FileCheck %s --check-prefix=TRAINFWD
// RUN: mp-opt %s --split-input-file --mp-build-training --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC
// RUN: mp-opt %s --split-input-file --mp-build-training | mp-opt --split-input-file --mp-build-training | FileCheck %s

// A linear layer with a mean-square loss: the signature, the roles, the
// backward ops and one fused update per parameter.

// CHECK-LABEL: func.func @forward
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[W:.*]]: tensor<3x2xf32> {mp.init = dense<5.000000e-01> : tensor<3x2xf32>, mp.name = "w", mp.role = "param"},
// CHECK-SAME: %[[B:.*]]: tensor<2xf32> {mp.init = dense<0.000000e+00> : tensor<2xf32>, mp.name = "b", mp.role = "param"},
// CHECK-SAME: %[[LR:.*]]: tensor<f32> {mp.init = dense<0.00999999977> : tensor<f32>, mp.name = "lr", mp.role = "hyper"},
// CHECK-SAME: %[[X:.*]]: tensor<4x3xf32> {mp.name = "x", mp.role = "input"})
// CHECK-SAME: -> (tensor<3x2xf32> {mp.name = "w", mp.updates = 0 : i64}, tensor<2xf32> {mp.name = "b", mp.updates = 1 : i64}, tensor<f32> {mp.name = "loss"})
// CHECK: %[[Y:.*]] = mp.add
// CHECK: %[[LOSS:.*]] = mp.reduce_mean
// CHECK: %[[SEED:.*]] = mp.constant dense<1.000000e+00> : tensor<f32>
// CHECK: mp.mul %[[SEED]]
// The square uses %y twice: the two contributions add up.
// CHECK: %[[G1:.*]] = mp.mul %{{.*}}, %[[Y]]
// CHECK: %[[G2:.*]] = mp.mul %{{.*}}, %[[Y]]
// CHECK: %[[GY:.*]] = mp.add %[[G1]], %[[G2]]
// The broadcast bias gets the sum over the batch.
// CHECK: %[[GB:.*]] = mp.reduce_sum %[[GY]] {axes = array<i64: 0>, keepdims = 0 : i64} : (tensor<4x2xf32>) -> tensor<2xf32>
// CHECK: %[[XT:.*]] = mp.transpose %[[X]]
// CHECK: %[[GW:.*]] = mp.matmul %[[XT]], %[[GY]]
// CHECK: %[[NW:.*]] = mp.sgd_update %[[W]], %[[GW]] lr(%[[LR]]) : (tensor<3x2xf32>, tensor<3x2xf32>, tensor<f32>) -> tensor<3x2xf32>
// CHECK: %[[NB:.*]] = mp.sgd_update %[[B]], %[[GB]] lr(%[[LR]])
// CHECK: return %[[NW]], %[[NB]], %[[LOSS]]

// MOM-LABEL: func.func @train_step
// MOM-SAME: %{{.*}}: tensor<3x2xf32> {mp.init = dense<0.000000e+00> : tensor<3x2xf32>, mp.name = "w.momentum_buffer", mp.role = "opt_state"}
// MOM-SAME: %{{.*}}: tensor<2xf32> {mp.init = dense<0.000000e+00> : tensor<2xf32>, mp.name = "b.momentum_buffer", mp.role = "opt_state"}
// MOM-SAME: %[[STEP:.*]]: tensor<i64> {mp.init = dense<0> : tensor<i64>, mp.name = "step", mp.role = "hyper"}
// MOM-SAME: %{{.*}}: tensor<f32> {mp.init = dense<1.000000e-01> : tensor<f32>, mp.name = "lr", mp.role = "hyper"}
// MOM-SAME: tensor<3x2xf32> {mp.name = "w.momentum_buffer", mp.updates = 2 : i64}
// MOM-SAME: tensor<i64> {mp.name = "step", mp.updates = 4 : i64}
// MOM: %[[ONE:.*]] = mp.constant dense<1> : tensor<i64>
// MOM: %[[T:.*]] = mp.add %[[STEP]], %[[ONE]]
// MOM: mp.sgd_update %{{.*}}, %{{.*}} momentum_buffer(%{{.*}}) step(%[[T]]) lr(%{{.*}}) {momentum = 9.000000e-01 : f64}

// ADAMW-LABEL: func.func @train_step
// ADAMW-SAME: mp.name = "w.exp_avg", mp.role = "opt_state"
// ADAMW-SAME: mp.name = "w.exp_avg_sq", mp.role = "opt_state"
// ADAMW-SAME: {mp.init = dense<1.000000e-03> : tensor<f32>, mp.name = "lr", mp.role = "hyper"}
// ADAMW: mp.adam_update %{{.*}}, %{{.*}} exp_avg(%{{.*}}) exp_avg_sq(%{{.*}}) step(%{{.*}}) lr(%{{.*}}) {decoupled_weight_decay = true, weight_decay = 1.000000e-02 : f64}

// ADAM-LABEL: func.func @train_step
// ADAM: mp.adam_update {{.*}} {beta1 = 8.000000e-01 : f64, beta2 = 0.98999999999999999 : f64, eps = 9.9999999999999995E-7 : f64, weight_decay = 1.000000e-01 : f64}

// NEST-LABEL: func.func @train_step
// NEST: mp.sgd_update {{.*}} {momentum = 9.000000e-01 : f64, nesterov = true, weight_decay = 1.000000e-03 : f64}

// NONE-LABEL: func.func @train_step
// NONE-SAME: (%{{.*}}: tensor<3x2xf32> {{.*}}, %{{.*}}: tensor<2xf32> {{.*}}, %{{.*}}: tensor<4x3xf32> {mp.name = "x", mp.role = "input"})
// NONE-SAME: -> (tensor<3x2xf32> {mp.name = "w.grad"}, tensor<2xf32> {mp.name = "b.grad"}, tensor<f32> {mp.name = "loss"})
// NONE-NOT: mp.sgd_update

// FROZEN-LABEL: func.func @train_step
// FROZEN-SAME: mp.name = "w", mp.role = "param"
// FROZEN-SAME: -> (tensor<2xf32> {mp.name = "b", mp.updates = 1 : i64}, tensor<f32> {mp.name = "loss"})
// FROZEN-NOT: mp.matmul %{{.*}}, %{{.*}} : (tensor<3x4xf32>
// FROZEN: mp.sgd_update
// FROZEN-NOT: mp.sgd_update
// FROZEN: return

// LOC-LABEL: func.func @train_step
// LOC: mp.constant dense<1.000000e+00> : tensor<f32> loc(#[[SEEDLOC:loc[0-9]+]])
// LOC: mp.matmul {{.*}} loc(#[[MMGRAD:loc[0-9]+]])
// LOC: mp.sgd_update {{.*}} loc(#[[UPD:loc[0-9]+]])
// LOC-DAG: #[[MM:loc[0-9]+]] = loc("mm")
// LOC-DAG: #[[MMGRAD]] = loc(fused<"grad">[#[[MM]]])
// LOC-DAG: #[[SEEDLOC]] = loc("loss_seed"(#{{loc[0-9]+}}))
// LOC-DAG: #[[UPD]] = loc("optimizer/w")
func.func @forward(%x: tensor<4x3xf32> {mp.name = "x", mp.role = "input"},
                   %w: tensor<3x2xf32> {mp.name = "w", mp.role = "param", mp.init = dense<0.5> : tensor<3x2xf32>},
                   %b: tensor<2xf32> {mp.name = "b", mp.role = "param", mp.init = dense<0.0> : tensor<2xf32>})
    -> (tensor<f32> {mp.name = "loss"}, tensor<4x2xf32> {mp.name = "y"}) {
  %0 = mp.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32> loc("mm")
  %1 = mp.add %0, %b : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32> loc("bias")
  %2 = mp.mul %1, %1 : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32> loc("sq")
  %3 = mp.reduce_mean %2 {keepdims = 0 : i64} : (tensor<4x2xf32>) -> tensor<f32> loc("mean")
  return %3, %1 : tensor<f32>, tensor<4x2xf32>
}

// -----

// BatchNorm in training mode: its running statistics are buffers updated
// from batch_norm's running outputs, not trained; dropout's backward reuses
// the forward mask. @forward switches both to inference mode.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: mp.name = "bn.running_mean", mp.role = "buffer"
// CHECK: mp.batch_norm %{{.*}} : (
// CHECK: mp.dropout %{{.*}} {ratio = 2.500000e-01 : f32} :
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[S:[^:]*]]: tensor<3xf32> {{{[^}]*}}mp.name = "bn.weight", mp.role = "param"}
// CHECK-SAME: %[[M:[^:]*]]: tensor<3xf32> {{{[^}]*}}mp.name = "bn.running_mean", mp.role = "buffer"}
// CHECK-SAME: %[[V:[^:]*]]: tensor<3xf32> {{{[^}]*}}mp.name = "bn.running_var", mp.role = "buffer"}
// CHECK-SAME: tensor<3xf32> {mp.name = "bn.running_mean", mp.updates = 2 : i64}, tensor<3xf32> {mp.name = "bn.running_var", mp.updates = 3 : i64}
// CHECK: %[[Y:.*]], %[[RM:.*]], %[[RV:.*]] = mp.batch_norm %{{.*}}, %[[S]], %{{.*}}, %[[M]], %[[V]] {training_mode = 1 : i64}
// CHECK: %{{.*}}, %[[MASK:.*]] = mp.dropout %[[Y]] {ratio = 2.500000e-01 : f32, training_mode = 1 : i64}
// CHECK: %[[SC:.*]] = mp.constant dense<1.33333337> : tensor<f32>
// CHECK: %[[G:.*]] = mp.mul %{{.*}}, %[[SC]]
// CHECK: %[[GM:.*]] = mp.where %[[MASK]], %[[G]], %{{.*}}
// CHECK: %{{.*}}, %[[DS:.*]], %[[DB:.*]] = mp.batch_norm_grad %[[GM]], %{{.*}}, %[[S]] :
// CHECK: %[[NS:.*]] = mp.sgd_update %[[S]], %[[DS]]
// CHECK: return %[[NS]], %{{.*}}, %[[RM]], %[[RV]], %{{.*}} :

// TRAINFWD-LABEL: func.func @forward
// TRAINFWD: mp.batch_norm {{.*}}training_mode = 1 : i64
// TRAINFWD: mp.dropout {{.*}}training_mode = 1 : i64
func.func @forward(%x: tensor<2x3x4xf32> {mp.name = "x", mp.role = "input"},
                   %s: tensor<3xf32> {mp.name = "bn.weight", mp.role = "param", mp.init = dense<1.0> : tensor<3xf32>},
                   %b: tensor<3xf32> {mp.name = "bn.bias", mp.role = "param", mp.init = dense<0.0> : tensor<3xf32>},
                   %m: tensor<3xf32> {mp.name = "bn.running_mean", mp.role = "param", mp.init = dense<0.0> : tensor<3xf32>},
                   %v: tensor<3xf32> {mp.name = "bn.running_var", mp.role = "param", mp.init = dense<1.0> : tensor<3xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  %y, %rm, %rv = mp.batch_norm %x, %s, %b, %m, %v {training_mode = 1 : i64} : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  %d, %mask = mp.dropout %y {ratio = 0.25 : f32, training_mode = 1 : i64} : (tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi1>)
  %l = mp.reduce_sum %d {keepdims = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A tied embedding (the table is also the LM head): the integer indices get
// no gradient, the lookup's backward is a scatter-add into zeros of the
// table, and the two uses of the table add up. Labels get the "label" role.

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[WTE:[^:]*]]: tensor<5x4xf32> {{{[^}]*}}mp.name = "wte", mp.role = "param"}
// CHECK-SAME: %[[IDX:[^:]*]]: tensor<2x3xi64> {mp.name = "idx", mp.role = "input"}
// CHECK-SAME: tensor<6xi64> {mp.name = "targets", mp.role = "label"}
// CHECK: mp.softmax_cross_entropy_loss_grad
// CHECK: %[[HG:.*]] = mp.matmul %{{.*}}, %{{.*}} : (tensor<4x6xf32>, tensor<6x5xf32>) -> tensor<4x5xf32>
// CHECK: %[[HEAD:.*]] = mp.transpose %[[HG]] {perm = array<i64: 1, 0>} : (tensor<4x5xf32>) -> tensor<5x4xf32>
// CHECK: %[[I:.*]] = mp.unsqueeze %{{.*}} {axes = array<i64: 2>} : (tensor<2x3xi64>) -> tensor<2x3x1xi64>
// CHECK: %[[Z:.*]] = mp.constant dense<0.000000e+00> : tensor<5x4xf32>
// CHECK: %[[EMB:.*]] = mp.scatter_nd %[[Z]], %[[I]], %{{.*}} {reduction = "add"}
// CHECK: %[[G:.*]] = mp.add %[[HEAD]], %[[EMB]]
// CHECK: mp.sgd_update %[[WTE]], %[[G]]
func.func @forward(%idx: tensor<2x3xi64> {mp.name = "idx", mp.role = "input"},
                   %y: tensor<6xi64> {mp.name = "targets", mp.role = "input"},
                   %wte: tensor<5x4xf32> {mp.name = "wte", mp.role = "param", mp.init = dense<0.1> : tensor<5x4xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  %e = mp.gather %wte, %idx : (tensor<5x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32> loc("/wte/Gather")
  %t = mp.transpose %wte : (tensor<5x4xf32>) -> tensor<4x5xf32> loc("/lm_head/Transpose")
  %l = mp.matmul %e, %t : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32> loc("/lm_head/MatMul")
  %s = mp.constant dense<[6, 5]> : tensor<2xi64>
  %r = mp.reshape %l, %s : (tensor<2x3x5xf32>, tensor<2xi64>) -> tensor<6x5xf32>
  %loss, %lp = mp.softmax_cross_entropy_loss %r, %y : (tensor<6x5xf32>, tensor<6xi64>) -> (tensor<f32>, tensor<6x5xf32>) loc("/SoftmaxCrossEntropyLoss")
  return %loss : tensor<f32>
}

// -----

// ReLU's gradient masks with the ReLU's result (y > 0 exactly where x > 0),
// so the pre-activation is not kept alive for the backward pass.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[H:.*]] = mp.add %{{.*}}, %{{.*}} :
// CHECK: %[[R:.*]] = mp.relu %[[H]] :
// CHECK: %[[Z:.*]] = mp.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[POS:.*]] = mp.greater %[[R]], %[[Z]] :
// CHECK: mp.where %[[POS]], %{{.*}}, %{{.*}} :
// CHECK-NOT: mp.greater %[[H]]
func.func @forward(%x: tensor<4xf32> {mp.name = "x", mp.role = "input"},
                   %b: tensor<4xf32> {mp.name = "b", mp.role = "param", mp.init = dense<0.5> : tensor<4xf32>})
    -> (tensor<f32> {mp.name = "loss"}) {
  %h = mp.add %x, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %r = mp.relu %h : (tensor<4xf32>) -> tensor<4xf32>
  %l = mp.reduce_sum %r {keepdims = 0 : i64} : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
