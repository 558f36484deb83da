// Bad policies fail the pass with one error that names the problem.
// RUN: not mp-opt %s --mp-autocast="target=f64" 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not mp-opt %s --mp-autocast="edits=allow+=Softmx" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not mp-opt %s --mp-autocast="edits=allow+=Exp" 2>&1 | FileCheck %s --check-prefix=CONFLICT
// RUN: not mp-opt %s --mp-autocast="edits=deny-=MatMul" 2>&1 | FileCheck %s --check-prefix=NOTIN
// RUN: not mp-opt %s --mp-autocast="edits=fast+=MatMul" 2>&1 | FileCheck %s --check-prefix=BADEDIT
// RUN: not mp-opt %s --mp-autocast="nodes=(=f32" 2>&1 | FileCheck %s --check-prefix=REGEX
// RUN: not mp-opt %s --mp-autocast="nodes=x=fast" 2>&1 | FileCheck %s --check-prefix=RULE
// RUN: not mp-opt %s --mp-autocast="pins=Foo:1" 2>&1 | FileCheck %s --check-prefix=PIN
// RUN: not mp-opt %s --mp-autocast="policy=%S/Inputs/missing.yaml" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not mp-opt %s --mp-autocast="policy=%S/Inputs/bad-policy.yaml" 2>&1 | FileCheck %s --check-prefix=FILEOP
// RUN: not mp-opt %s --mp-autocast="policy=%S/Inputs/conflict-policy.yaml" 2>&1 | FileCheck %s --check-prefix=FILECONFLICT
// RUN: not mp-opt %s --mp-autocast="policy=%S/Inputs/badkey-policy.yaml" 2>&1 | FileCheck %s --check-prefix=FILEKEY

// TARGET: error: mp-autocast: target must be f16 or bf16, got 'f64'
// UNKNOWN: error: mp-autocast: unknown op type 'Softmx' (did you mean 'Softmax'?)
// CONFLICT: error: mp-autocast: op 'Exp' is already in the deny list; remove it first (deny-=Exp) or move it (allow=Exp)
// NOTIN: error: mp-autocast: op 'MatMul' is not in the deny list
// BADEDIT: error: mp-autocast: bad list edit 'fast+=MatMul'
// REGEX: error: mp-autocast: bad node regex '('
// RULE: error: mp-autocast: bad node rule 'x=fast' (expected REGEX=f32|low|allow|infer|clear|deny)
// PIN: error: mp-autocast: unknown op type 'Foo'
// MISSING: error: mp-autocast: cannot read policy file '{{.*}}missing.yaml'
// FILEOP: error: mp-autocast: {{.*}}bad-policy.yaml:2:{{[0-9]+}}: unknown op type 'Softmx' (did you mean 'Softmax'?)
// FILECONFLICT: error: mp-autocast: {{.*}}conflict-policy.yaml:2:{{[0-9]+}}: op 'Exp' is already in the deny list
// FILEKEY: error: mp-autocast: {{.*}}badkey-policy.yaml:2:3: unknown list 'allowed'

func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = mp.relu %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
