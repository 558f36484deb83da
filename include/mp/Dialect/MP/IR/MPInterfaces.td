//===- MPInterfaces.td - mp op interfaces ---------------------*- tablegen -*-===//
//
// GradientOpInterface: how an op differentiates. Reverse-mode autodiff
// (mp-build-training) asks each op on the path from the parameters to the
// loss for the gradients of its operands given the gradients of its results;
// a new op plugs in by implementing this interface, without touching the pass.
//
//===----------------------------------------------------------------------===//

#ifndef MP_INTERFACES_TD
#define MP_INTERFACES_TD

include "mlir/IR/OpBase.td"

def MP_GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let cppNamespace = "::mp";
  let description = [{
    The vector-Jacobian product of an op. `buildGradients` receives the
    gradients of the op's results (one entry per result; a null Value means a
    zero gradient) and appends to `operandGrads` one entry per operand: the
    gradient of the loss with respect to that operand, with exactly the
    operand's type, or a null Value when the operand has no gradient (integer,
    bool and index operands; shape operands; statistics that are not
    trainable). Gradients w.r.t. broadcast operands are already reduced to the
    operand's shape.

    The new ops are created at the builder's insertion point; implementations
    use `mp::getGradientLoc(op)` (a FusedLoc naming the forward op, metadata
    "grad") for each of them so reports, autocast and errors can trace a
    backward op to its forward op. A failure has emitted an error on the op.

    The dialect attaches the implementations as external models
    (`mp::registerGradientModels`, lib/Dialect/MP/IR/MPGradients.cpp).
  }];
  let methods = [
    InterfaceMethod<
      /*desc=*/[{Builds the gradients of the operands from the gradients of
                 the results (null = zero); null entries in `operandGrads`
                 mean "no gradient".}],
      /*retTy=*/"::llvm::LogicalResult",
      /*methodName=*/"buildGradients",
      /*args=*/(ins "::mlir::OpBuilder &":$builder,
                    "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
                    "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // MP_INTERFACES_TD
