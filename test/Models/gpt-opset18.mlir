// The GPT exported with a dynamic batch axis (so every view/reshape is fed
// by Shape -> Gather -> Unsqueeze -> Concat chains and arange by Range),
// the batch pinned back to 2, rewritten to opset 18: the q/k/v Split uses
// the new `num_outputs` attribute.
//
// REQUIRES: torch, onnxruntime
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %mp_src/python/gen_models.py gpt --opset 18 --dynamic-batch -o %t/model.onnx --reference %t/ref.npz
// RUN: mp-opt %t/model.onnx | FileCheck %s
// RUN: mp-opt %t/model.onnx | FileCheck %s --check-prefix=STATIC
// RUN: %python %mp_src/python/check_roundtrip.py %t/model.onnx %t/ref.npz %mp_bin | FileCheck %s --check-prefix=RT

// CHECK: module attributes {mp.opset = 18 : i64
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[IDX:arg[0-9]+]]: tensor<2x16xi64> {mp.name = "idx", mp.role = "input"}
// CHECK-SAME: %[[TGT:arg[0-9]+]]: tensor<2x16xi64> {mp.name = "targets", mp.role = "input"}
// CHECK-SAME: %[[WTE:arg[0-9]+]]: tensor<64x32xf32> {mp.init = {{[^}]*}}, mp.name = "wte.weight", mp.role = "param"}
// CHECK-SAME: %[[WPE:arg[0-9]+]]: tensor<16x32xf32> {mp.init = {{[^}]*}}, mp.name = "wpe.weight", mp.role = "param"}
// CHECK-SAME: %[[LN1W:arg[0-9]+]]: tensor<32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.ln_1.weight", mp.role = "param"}
// CHECK-SAME: %[[LN1B:arg[0-9]+]]: tensor<32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.ln_1.bias", mp.role = "param"}
// CHECK-SAME: %[[AW:arg[0-9]+]]: tensor<96x32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.attn.c_attn.weight", mp.role = "param"}
// CHECK-SAME: %[[AB:arg[0-9]+]]: tensor<96xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.attn.c_attn.bias", mp.role = "param"}
// CHECK-SAME: %[[PW:arg[0-9]+]]: tensor<32x32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.attn.c_proj.weight", mp.role = "param"}
// CHECK-SAME: %[[PB:arg[0-9]+]]: tensor<32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.attn.c_proj.bias", mp.role = "param"}
// CHECK-SAME: %[[LN2W:arg[0-9]+]]: tensor<32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.ln_2.weight", mp.role = "param"}
// CHECK-SAME: %[[LN2B:arg[0-9]+]]: tensor<32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.ln_2.bias", mp.role = "param"}
// CHECK-SAME: %[[FCW:arg[0-9]+]]: tensor<128x32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.mlp.c_fc.weight", mp.role = "param"}
// CHECK-SAME: %[[FCB:arg[0-9]+]]: tensor<128xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.mlp.c_fc.bias", mp.role = "param"}
// CHECK-SAME: %[[MPW:arg[0-9]+]]: tensor<32x128xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.mlp.c_proj.weight", mp.role = "param"}
// CHECK-SAME: %[[MPB:arg[0-9]+]]: tensor<32xf32> {mp.init = {{[^}]*}}, mp.name = "h.0.mlp.c_proj.bias", mp.role = "param"}
// CHECK-SAME: mp.name = "h.1.attn.c_attn.weight", mp.role = "param"
// CHECK-SAME: %[[LNFW:arg[0-9]+]]: tensor<32xf32> {mp.init = {{[^}]*}}, mp.name = "ln_f.weight", mp.role = "param"}
// CHECK-SAME: %[[LNFB:arg[0-9]+]]: tensor<32xf32> {mp.init = {{[^}]*}}, mp.name = "ln_f.bias", mp.role = "param"}
// CHECK-SAME: %[[LMW:arg[0-9]+]]: tensor<64x32xf32> {mp.init = {{[^}]*}}, mp.name = "lm_head.weight", mp.role = "param"})
// CHECK-SAME: -> (tensor<f32> {mp.name = "loss"}, tensor<2x16x64xf32> {mp.name = "logits"})
// The registered tril buffer (bool) is a constant, not a parameter.
// CHECK: %[[MASK0:.*]] = mp.constant dense<"0x0100030007000F001F003F007F00FF00FF01FF03FF07FF0FFF1FFF3FFF7FFFFF"> : tensor<1x1x16x16xi1>
// torch.arange(0, T) became a constant.
// CHECK: %[[POS:.*]] = mp.constant dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]> : tensor<16xi64>
// CHECK: %[[TOK:.*]] = mp.gather %[[WTE]], %[[IDX]] : (tensor<64x32xf32>, tensor<2x16xi64>) -> tensor<2x16x32xf32>
// CHECK: %[[PE:.*]] = mp.gather %[[WPE]], %[[POS]] : (tensor<16x32xf32>, tensor<16xi64>) -> tensor<16x32xf32>
// CHECK: %[[X0:.*]] = mp.add %[[TOK]], %[[PE]]
// Block 0, attention.
// CHECK: %[[LN1:.*]], %{{.*}}, %{{.*}} = mp.layer_norm %[[X0]], %[[LN1W]], %[[LN1B]] : {{.*}} -> (tensor<2x16x32xf32>, tensor<2x16x1xf32>, tensor<2x16x1xf32>)
// CHECK: %[[WQKV:.*]] = mp.transpose %[[AW]] {perm = array<i64: 1, 0>} : (tensor<96x32xf32>) -> tensor<32x96xf32>
// CHECK: %[[QKV0:.*]] = mp.matmul %[[LN1]], %[[WQKV]] : {{.*}} -> tensor<2x16x96xf32>
// CHECK: %[[QKV:.*]] = mp.add %[[AB]], %[[QKV0]]
// CHECK: %[[S:.*]]:3 = mp.split %[[QKV]] {axis = 2 : i64, split = array<i64: 32, 32, 32>}
// CHECK: %[[Q:.*]] = mp.reshape %[[S]]#0, %{{.*}} -> tensor<2x16x2x16xf32>
// CHECK: %[[QT:.*]] = mp.transpose %[[Q]] {perm = array<i64: 0, 2, 1, 3>}
// CHECK: %[[K:.*]] = mp.reshape %[[S]]#1, %{{.*}} -> tensor<2x16x2x16xf32>
// CHECK: %[[V:.*]] = mp.reshape %[[S]]#2, %{{.*}} -> tensor<2x16x2x16xf32>
// CHECK: %[[VT:.*]] = mp.transpose %[[V]] {perm = array<i64: 0, 2, 1, 3>}
// CHECK: %[[KT:.*]] = mp.transpose %[[K]] {perm = array<i64: 0, 2, 3, 1>}
// CHECK: %[[QK:.*]] = mp.matmul %[[QT]], %[[KT]] : {{.*}} -> tensor<2x2x16x16xf32>
// CHECK: %[[SCALE:.*]] = mp.constant dense<2.500000e-01> : tensor<f32>
// CHECK: %[[SCORES:.*]] = mp.mul %[[QK]], %[[SCALE]]
// CHECK: %[[M1:.*]] = mp.slice %[[MASK0]] {axes = array<i64: 2>, ends = array<i64: 16>, starts = array<i64: 0>, steps = array<i64: 1>}
// CHECK: %[[M2:.*]] = mp.slice %[[M1]] {axes = array<i64: 3>, ends = array<i64: 16>, starts = array<i64: 0>, steps = array<i64: 1>}
// CHECK: %[[M3:.*]] = mp.cast %[[M2]] : tensor<1x1x16x16xi1> to i64
// CHECK: %[[ZERO:.*]] = mp.constant dense<0> : tensor<i64>
// CHECK: %[[FUTURE:.*]] = mp.equal %[[M3]], %[[ZERO]]
// CHECK: %[[NINF:.*]] = mp.constant dense<0xFF800000> : tensor<f32>
// CHECK: %[[MASKED:.*]] = mp.where %[[FUTURE]], %[[NINF]], %[[SCORES]] : (tensor<1x1x16x16xi1>, tensor<f32>, tensor<2x2x16x16xf32>) -> tensor<2x2x16x16xf32>
// CHECK: %[[P:.*]] = mp.softmax %[[MASKED]] : (tensor<2x2x16x16xf32>) -> tensor<2x2x16x16xf32>
// CHECK: %[[PV:.*]] = mp.matmul %[[P]], %[[VT]]
// CHECK: %[[Y0:.*]] = mp.transpose %[[PV]] {perm = array<i64: 0, 2, 1, 3>}
// CHECK: %[[Y1:.*]] = mp.reshape %[[Y0]], %{{.*}} -> tensor<2x16x32xf32>
// CHECK: %[[WO:.*]] = mp.transpose %[[PW]]
// CHECK: %[[O0:.*]] = mp.matmul %[[Y1]], %[[WO]]
// CHECK: %[[O:.*]] = mp.add %[[PB]], %[[O0]]
// CHECK: %[[X1:.*]] = mp.add %[[X0]], %[[O]]
// Block 0, MLP.
// CHECK: %[[LN2:.*]], %{{.*}}, %{{.*}} = mp.layer_norm %[[X1]], %[[LN2W]], %[[LN2B]]
// CHECK: %[[WFC:.*]] = mp.transpose %[[FCW]]
// CHECK: %[[H0:.*]] = mp.matmul %[[LN2]], %[[WFC]]
// CHECK: %[[H:.*]] = mp.add %[[FCB]], %[[H0]] : {{.*}} -> tensor<2x16x128xf32>
// torch exports GELU as x * (erf(x / sqrt 2) + 1) * 0.5 below opset 20.
// CHECK: %[[SQRT2:.*]] = mp.constant dense<1.41421354> : tensor<f32>
// CHECK: %[[D:.*]] = mp.div %[[H]], %[[SQRT2]]
// CHECK: %[[E:.*]] = mp.erf %[[D]]
// CHECK: %[[ONE:.*]] = mp.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[E1:.*]] = mp.add %[[E]], %[[ONE]]
// CHECK: %[[XE:.*]] = mp.mul %[[H]], %[[E1]]
// CHECK: %[[HALF:.*]] = mp.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[G:.*]] = mp.mul %[[XE]], %[[HALF]]
// CHECK: %[[WP2:.*]] = mp.transpose %[[MPW]]
// CHECK: %[[M0:.*]] = mp.matmul %[[G]], %[[WP2]]
// CHECK: %[[M:.*]] = mp.add %[[MPB]], %[[M0]]
// CHECK: %[[X2:.*]] = mp.add %[[X1]], %[[M]]
// Block 1 starts from block 0's output.
// CHECK: mp.layer_norm %[[X2]],
// CHECK: mp.where
// CHECK: mp.softmax
// Final LayerNorm, LM head, cross-entropy over the flattened logits.
// CHECK: %[[LNF:.*]], %{{.*}}, %{{.*}} = mp.layer_norm %{{.*}}, %[[LNFW]], %[[LNFB]]
// CHECK: %[[WLM:.*]] = mp.transpose %[[LMW]] {perm = array<i64: 1, 0>} : (tensor<64x32xf32>) -> tensor<32x64xf32>
// CHECK: %[[LOGITS:.*]] = mp.matmul %[[LNF]], %[[WLM]] : {{.*}} -> tensor<2x16x64xf32>
// CHECK: %[[FLAT:.*]] = mp.reshape %[[LOGITS]], %{{.*}} -> tensor<32x64xf32>
// CHECK: %[[TFLAT:.*]] = mp.reshape %[[TGT]], %{{.*}} -> tensor<32xi64>
// CHECK: %[[LOSS:.*]], %{{.*}} = mp.softmax_cross_entropy_loss %[[FLAT]], %[[TFLAT]] {ignore_index = -100 : i64}
// CHECK: return %[[LOSS]], %[[LOGITS]] : tensor<f32>, tensor<2x16x64xf32>

// Static shapes only; the Shape/Gather/Unsqueeze/Concat/Range arithmetic
// feeding Reshape and Slice is folded away (gathers remain only as the
// embedding lookups on parameters); the mask buffers are not parameters.
// STATIC-NOT: ?x
// STATIC-NOT: tensor<*
// STATIC-NOT: mp.shape
// STATIC-NOT: mp.size
// STATIC-NOT: mp.range
// STATIC-NOT: mp.concat
// STATIC-NOT: mp.unsqueeze
// STATIC-NOT: mp.squeeze
// STATIC-NOT: mp.constant_of_shape
// STATIC-NOT: mp.gather %{{[0-9]+}},
// STATIC-NOT: mp.name = "h.{{[01]}}.attn.mask"

// RT: roundtrip ok: {{.*}}model.onnx
