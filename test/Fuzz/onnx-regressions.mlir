// Inputs that crashed the ONNX importer under mp-fuzz-onnx (fuzz/), each
// now one error naming the node, and exit status 1 (docs/Reliability.md
// lists them). The inputs are the fuzzer's, byte for byte.

// Adagrad (ai.onnx.preview.training) with G of another shape than X: the
// expansion built mp.add with operands that do not broadcast, and op
// creation aborted on the failed type inference.
// RUN: not mp-translate --import-onnx %S/Inputs/onnx-adagrad-mismatched-shapes.onnx 2>&1 | FileCheck %s --check-prefix=ADAGRAD
// ADAGRAD: error: node 'Adagrad_0' (Adagrad): input 5 does not have the type of its X (input 3)

// An Or node with one input: type inference read a second operand that did
// not exist (UBSan: member call on a null ValueImpl). Operand counts now
// come from the op's ODS traits and are checked first.
// RUN: not mp-translate --import-onnx %S/Inputs/onnx-or-one-input.onnx 2>&1 | FileCheck %s --check-prefix=OR
// OR: error: node 'o1' (Or): expects 2 inputs, got 1

// MaxPool without its required kernel_shape: type inference dereferenced
// the missing attribute (ASan: SEGV). The op adaptor's verifier (required
// attributes, constraints) now runs before type inference.
// RUN: not mp-translate --import-onnx %S/Inputs/onnx-maxpool-no-kernel-shape.onnx 2>&1 | FileCheck %s --check-prefix=MAXPOOL
// MAXPOOL: error: node 'MaxPool_0' (MaxPool): 'mp.max_pool' op requires attribute 'kernel_shape'

// Reshape to [3, 127, 2^57 - 1]: the product of the requested dims
// overflowed int64 in type inference (UBSan: signed integer overflow).
// test/Fuzz/shape-arithmetic.onnxtxt covers the same class by hand.
// RUN: not mp-translate --import-onnx %S/Inputs/onnx-reshape-overflow.onnx 2>&1 | FileCheck %s --check-prefix=RESHAPE
// RESHAPE: error: node 'Reshape_2' (Reshape): shape [3,127,144115188075855871] has too many elements

// Range with a hugely negative element count ((limit - start) / delta =
// -1e60): converting it to int64 was undefined behaviour (UBSan: outside
// the range of representable values). An empty range now has 0 elements
// whatever its count; here the declared output then disagrees.
// RUN: not mp-translate --import-onnx %S/Inputs/onnx-range-negative-count.onnx 2>&1 | FileCheck %s --check-prefix=RANGE
// RANGE: error: graph output 'y' is declared 'tensor<1xf32>' but computes 'tensor<0xf32>'
