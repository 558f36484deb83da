//===- Report.h - read the AMP report back ----------------------*- C++ -*-===//
//
// mp-autocast writes the precision report (docs/Precision.md); later passes
// of the same pipeline read it back: mp-insert-casts adds its totals, the
// training pipeline's second autocast run keeps the first run's reasons.
//
//===----------------------------------------------------------------------===//
#ifndef MP_LIB_DIALECT_MP_TRANSFORMS_REPORT_H
#define MP_LIB_DIALECT_MP_TRANSFORMS_REPORT_H

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

namespace mp {

/// The report in `file` as a JSON object; empty when the file is missing or
/// is not a JSON object.
inline llvm::json::Object readReport(llvm::StringRef file) {
  llvm::json::Object report;
  auto buf = llvm::MemoryBuffer::getFile(file);
  if (!buf)
    return report;
  llvm::Expected<llvm::json::Value> parsed =
      llvm::json::parse((*buf)->getBuffer());
  if (!parsed)
    llvm::consumeError(parsed.takeError());
  else if (llvm::json::Object *o = parsed->getAsObject())
    report = std::move(*o);
  return report;
}

} // namespace mp

#endif // MP_LIB_DIALECT_MP_TRANSFORMS_REPORT_H
