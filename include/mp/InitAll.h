//===- InitAll.h - register everything mp provides -------------*- C++ -*-===//
//
// One call for tools and embedders: the dialects mp's IR uses and every mp
// pass, plus the few upstream passes the test pipelines need.
//
//===----------------------------------------------------------------------===//
#ifndef MP_INITALL_H
#define MP_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mp {
/// Adds the mp dialect and the dialects mp IR is built from (func, arith).
void registerAllDialects(mlir::DialectRegistry &registry);
/// Registers mp's passes and pipelines, plus canonicalize, cse and inline.
void registerAllPasses();
} // namespace mp

#endif // MP_INITALL_H
