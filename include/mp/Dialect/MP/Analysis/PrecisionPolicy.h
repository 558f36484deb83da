//===- PrecisionPolicy.h - what autocast may lower, and why ----*- C++ -*-===//
//
// A precision policy says, per target (f16 or bf16), which class each op
// type belongs to:
//   allow  always low precision (contractions: MatMul, Gemm, Conv);
//   infer  low precision when its inputs are (elementwise math, norms);
//   clear  follows its producer (data movement, selection);
//   deny   stays f32 (range- or precision-sensitive math, losses).
// Every default entry carries a one-line reason, which the report quotes.
//
// The policy is layered; later layers override earlier ones:
//   built-in defaults <- policy file (JSON or YAML) <- command-line edits
//   (`allow+=Op`, `deny-=Op`) <- node-name regex rules <- per-operand pins.
// Op types are ONNX names ("MatMul"); mp names ("mp.matmul") also work.
// An op in two lists, or an unknown op name, is an error.
//
//===----------------------------------------------------------------------===//
#ifndef MP_DIALECT_MP_ANALYSIS_PRECISIONPOLICY_H
#define MP_DIALECT_MP_ANALYSIS_PRECISIONPOLICY_H

#include "mp/Dialect/MP/IR/MPDialect.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Regex.h"

#include <memory>
#include <optional>
#include <string>

namespace mp {

enum class OpClass { Allow, Infer, Clear, Deny };
llvm::StringRef stringifyOpClass(OpClass c);
std::optional<OpClass> symbolizeOpClass(llvm::StringRef s);

/// A rule for nodes whose ONNX name matches a regex.
struct NodeRule {
  std::string pattern;
  std::shared_ptr<llvm::Regex> regex;
  /// Either a class or a fixed precision ("f32" forces f32, "low" forces the
  /// target precision).
  std::optional<OpClass> opClass;
  std::optional<bool> forceLow;
};

/// Operands of an op type that stay f32 whatever the op's precision
/// (LayerNorm scale/bias, BatchNorm statistics).
struct OperandPin {
  std::string opType; // ONNX name
  llvm::SmallVector<unsigned> operands;
};

class PrecisionPolicy {
public:
  /// The built-in defaults for `target` (f16 or bf16).
  static PrecisionPolicy defaults(Precision target);

  /// Applies a policy file (JSON or YAML). Errors name the file and entry.
  mlir::LogicalResult applyFile(llvm::StringRef path, std::string &error);
  /// Applies the contents of a policy file.
  mlir::LogicalResult applyText(llvm::StringRef text, llvm::StringRef name,
                                std::string &error);
  /// Applies one edit: "allow+=Softmax", "deny-=Exp", "clear=Relu" (move).
  mlir::LogicalResult applyEdit(llvm::StringRef edit, std::string &error);
  /// Adds a node rule: "REGEX=f32|low|allow|infer|clear|deny".
  mlir::LogicalResult addNodeRule(llvm::StringRef spec, std::string &error);
  /// Adds a pin: "OpType:1,2".
  mlir::LogicalResult addPin(llvm::StringRef spec, std::string &error);

  Precision target() const { return target_; }
  /// The class of an op type (ONNX name), or nullopt when it has none.
  std::optional<OpClass> classOf(llvm::StringRef onnxType) const;
  /// The reason recorded for an op type's class.
  llvm::StringRef reasonOf(llvm::StringRef onnxType) const;
  /// The first node rule matching `nodeName`, if any.
  const NodeRule *nodeRule(llvm::StringRef nodeName) const;
  /// Whether operand `idx` of `onnxType` is pinned to f32.
  bool isPinned(llvm::StringRef onnxType, unsigned idx) const;

  /// Reductions over more than this many elements stay f32 outright.
  int64_t largeReduction = 16384;

  /// The op types of each class, for reports and docs.
  llvm::SmallVector<std::string> opsOfClass(OpClass c) const;
  /// Every op type mp knows (ONNX names).
  static llvm::ArrayRef<llvm::StringRef> knownOpTypes();
  /// ONNX name of an mp op ("mp.matmul" -> "MatMul"); empty if none.
  static llvm::StringRef onnxName(llvm::StringRef mpOpName);

private:
  mlir::LogicalResult setClass(llvm::StringRef op, std::optional<OpClass> c,
                               llvm::StringRef reason, std::string &error);
  Precision target_ = Precision::f16;
  struct Entry {
    OpClass opClass;
    std::string reason;
  };
  llvm::StringMap<Entry> classes_;
  llvm::SmallVector<NodeRule> nodeRules_;
  llvm::SmallVector<OperandPin> pins_;
};

} // namespace mp

#endif // MP_DIALECT_MP_ANALYSIS_PRECISIONPOLICY_H
