// RUN: mp-opt %s --mp-autocast="policy=%S/Inputs/policy.yaml report=%t.json" | FileCheck %s --check-prefix=YAML
// RUN: FileCheck %s --input-file=%t.json --check-prefix=REPORT
// RUN: mp-opt %s --mp-autocast="target=bf16 policy=%S/Inputs/policy.yaml" | FileCheck %s --check-prefix=BF16
// RUN: mp-opt %s --mp-autocast="policy=%S/Inputs/policy.json" | FileCheck %s --check-prefix=JSON
// RUN: mp-opt %s --mp-autocast="edits=infer-=Tanh,clear+=Tanh,clear=Softmax nodes=^attn/=low" | FileCheck %s --check-prefix=EDITS
// RUN: mp-opt %s --mp-autocast="loss=score" | FileCheck %s --check-prefix=LOSS
// RUN: mp-opt %s --mp-autocast="remarks=true" -o /dev/null --mlir-print-op-on-diagnostic=false 2>&1 | FileCheck %s --check-prefix=REMARKS
// RUN: mp-opt %s --mp-autocast="dot=%t.dot" -o /dev/null && FileCheck %s --input-file=%t.dot --check-prefix=DOT

func.func @net(%x: tensor<4x64xf32>, %w: tensor<64x64xf32> {mp.name = "w", mp.role = "param"}, %v: tensor<64x64xf32>) -> (tensor<f32> {mp.name = "loss"}, tensor<4x64xf32> {mp.name = "score"}) {
  %0 = mp.matmul %x, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32> loc("attn/q")
  %1 = mp.softmax %0 : (tensor<4x64xf32>) -> tensor<4x64xf32> loc("attn/softmax")
  %2 = mp.exp %1 : (tensor<4x64xf32>) -> tensor<4x64xf32> loc("attn/exp")
  %3 = mp.tanh %2 : (tensor<4x64xf32>) -> tensor<4x64xf32> loc("attn/tanh")
  %4 = mp.relu %3 : (tensor<4x64xf32>) -> tensor<4x64xf32> loc("relu_keep")
  %5 = mp.matmul %4, %v : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32> loc("head/proj")
  %6 = mp.reduce_sum %5 {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<4x64xf32>) -> tensor<4xf32> loc("sum")
  %7 = mp.mul %6, %6 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> loc("sq")
  %8 = mp.reduce_mean %7 {keepdims = 0 : i64} : (tensor<4xf32>) -> tensor<f32> loc("mean")
  return %8, %5 : tensor<f32>, tensor<4x64xf32>
}

// The YAML policy: Softmax denied for f16 (and deny spreads to exp, tanh,
// relu); node rule keeps head/proj f32; large-reduction=32 sends the 64-wide
// sum to f32.
// YAML: mp.matmul {{.*}}mp.precision = #mp.precision<f16>
// YAML: mp.softmax {{.*}}mp.precision = #mp.precision<f32>
// YAML: mp.exp {{.*}}mp.precision = #mp.precision<f32>
// YAML: mp.tanh {{.*}}mp.precision = #mp.precision<f32>
// YAML: mp.relu {{.*}}mp.precision = #mp.precision<f32>
// YAML: mp.matmul {{.*}}mp.precision = #mp.precision<f32>
// YAML: mp.reduce_sum {{.*}}mp.precision = #mp.precision<f32>

// REPORT: "functions": [
// REPORT: "class": "deny",
// REPORT-NEXT: "node": "attn/softmax",
// REPORT-NEXT: "op": "Softmax",
// REPORT-NEXT: "precision": "f32",
// REPORT-NEXT: "reason": "deny: added to deny by the policy",
// REPORT-NEXT: "rule": "deny list"
// REPORT: "node": "attn/exp",
// REPORT-NEXT: "op": "Exp",
// REPORT-NEXT: "precision": "f32",
// REPORT-NEXT: "reason": "deny: overflows f16 above 11.09",
// REPORT: "node": "attn/tanh",
// REPORT-NEXT: "op": "Tanh",
// REPORT-NEXT: "precision": "f32",
// REPORT-NEXT: "reason": "deny: downstream of Exp 'attn/exp' via Tanh",
// REPORT-NEXT: "rule": "deny propagation"
// REPORT: "node": "relu_keep",
// REPORT-NEXT: "op": "Relu",
// REPORT-NEXT: "precision": "f32",
// REPORT-NEXT: "reason": "deny: downstream of Exp 'attn/exp' via Tanh, Relu",
// REPORT: "node": "head/proj",
// REPORT-NEXT: "op": "MatMul",
// REPORT-NEXT: "precision": "f32",
// REPORT-NEXT: "reason": "node name matches '^head/'",
// REPORT-NEXT: "rule": "node rule"
// REPORT: "reason": "deny: reduces 64 elements per output (> 32)",
// REPORT: "target": "f16"
// REPORT: "totals":
// REPORT: "low_precision_flop_fraction":
// REPORT: "ops": {
// REPORT-NEXT: "f16": 1,
// REPORT-NEXT: "f32": 8

// bf16: Exp moved to infer; Softmax stays infer (the f16 section does not
// apply), so the attention block is bf16 up to the node rule.
// BF16: mp.softmax {{.*}}mp.precision = #mp.precision<bf16>
// BF16: mp.exp {{.*}}mp.precision = #mp.precision<bf16>
// BF16: mp.matmul {{.*}}mp.precision = #mp.precision<f32>

// The JSON policy moves Tanh to clear and denies relu_keep by class.
// JSON: mp.exp {{.*}}mp.precision = #mp.precision<f32>
// JSON: mp.relu {{.*}}mp.precision = #mp.precision<f32>

// EDITS: mp.softmax {{.*}}mp.precision = #mp.precision<f16>
// EDITS: mp.exp {{.*}}mp.precision = #mp.precision<f16>
// EDITS: mp.tanh {{.*}}mp.precision = #mp.precision<f16>

// The loss option names another result: the op computing it and everything
// downstream is f32 (here the head matmul and the reductions after it).
// LOSS: mp.matmul {{.*}}mp.precision = #mp.precision<f16>
// LOSS: mp.softmax {{.*}}mp.precision = #mp.precision<f16>
// LOSS: mp.matmul {{.*}}mp.precision = #mp.precision<f32>
// LOSS: mp.reduce_sum {{.*}}mp.precision = #mp.precision<f32>

// REMARKS: remark: loc("attn/q"): mp.precision = f16 (allow list; allow: contraction
// REMARKS: remark: loc("attn/tanh"): mp.precision = f32 (deny propagation; deny: downstream of Exp 'attn/exp' via Tanh)

// DOT: digraph "net"
// DOT: label="MatMul\nattn/q", fillcolor="#9be39b"
// DOT: label="Exp\nattn/exp", fillcolor="#f6c28b"
// DOT: [color=red, style=dashed, label="cast"]
