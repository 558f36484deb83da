// Policy files that crashed the policy parser under mp-fuzz-policy (fuzz/),
// each now one error naming the file, and exit status 1.

// NUL bytes inside a flow sequence: the YAML parser gave a node a location
// outside the buffer, and the error's line lookup read out of bounds (ASan:
// SEGV in SourceMgr::getLineNumber).
// RUN: not mp-compile %S/../e2e/Inputs/mlp.onnxtxt --amp f16 --policy %S/Inputs/policy-nul-bytes.yaml -o %t.mpb 2>&1 | FileCheck %s --check-prefix=NUL
// NUL: error: mp-autocast: {{.*}}policy-nul-bytes.yaml:{{.*}}
