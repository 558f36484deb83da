//===- MPBase.td - mp dialect definition ---------------------*- tablegen -*-===//
//
// The mp dialect: ONNX-semantics tensor ops for mixed-precision training, plus
// the precision and accumulation attributes that autocast writes.
//
//===----------------------------------------------------------------------===//

#ifndef MP_BASE_TD
#define MP_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def MP_Dialect : Dialect {
  let name = "mp";
  let cppNamespace = "::mp";
  let summary = "ONNX-semantics tensor ops for mixed-precision training";
  let description = [{
    The `mp` dialect holds a curated set of tensor operations with ONNX
    semantics (numpy broadcasting, ONNX attribute names and defaults) that
    cover what PyTorch exports for MLP, CNN and transformer training.

    Two discardable attributes belong to the dialect and may sit on any op,
    including other dialects' ops:
    - `mp.precision = #mp.precision<f32|f16|bf16>`: the precision the op
      computes and stores its floating-point results in;
    - `mp.accumulate = #mp.precision<...>`: the type contractions and
      reductions accumulate in. Storage in f16 never implies accumulation
      in f16.

    Values whose shape an ONNX op takes from an input tensor (Reshape's
    `shape`, Expand's `shape`) stay operands; parameters that are constant in
    practice (reduction axes, slice bounds, split sizes, clip bounds) are
    attributes. The importer folds constant inputs into those attributes.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Names of the dialect's discardable attributes.
    static constexpr ::llvm::StringLiteral kPrecisionAttrName = "mp.precision";
    static constexpr ::llvm::StringLiteral kAccumulateAttrName = "mp.accumulate";
  }];
}

def MP_Precision : I32EnumAttr<"Precision", "floating-point precision", [
    I32EnumAttrCase<"f32", 0>,
    I32EnumAttrCase<"f16", 1>,
    I32EnumAttrCase<"bf16", 2>
  ]> {
  let cppNamespace = "::mp";
  let genSpecializedAttr = 0;
}

def MP_PrecisionAttr : EnumAttr<MP_Dialect, MP_Precision, "precision"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "A floating-point precision: f32, f16 or bf16";
}

#endif // MP_BASE_TD
