//===- policy_fuzzer.cpp - libFuzzer target for autocast policy files -----===//
//
// Feeds arbitrary bytes to PrecisionPolicy::applyText (the JSON/YAML policy
// file of --policy / mp-autocast's policy= option). A bad file must give a
// failure with a non-empty message, never a crash or an assertion. The first
// byte picks the target precision so both defaults are exercised.
//
//===----------------------------------------------------------------------===//

#include "mp/Dialect/MP/Analysis/PrecisionPolicy.h"

#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mp::Precision target =
      size && (data[0] & 1) ? mp::Precision::bf16 : mp::Precision::f16;
  mp::PrecisionPolicy policy = mp::PrecisionPolicy::defaults(target);
  std::string error;
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  if (failed(policy.applyText(text, "fuzz.yaml", error)) && error.empty()) {
    std::fprintf(stderr, "policy rejected without a message\n");
    std::abort();
  }
  // Whatever was accepted must be usable.
  for (llvm::StringRef op : mp::PrecisionPolicy::knownOpTypes()) {
    (void)policy.classOf(op);
    (void)policy.reasonOf(op);
    (void)policy.isPinned(op, 0);
  }
  (void)policy.nodeRule("some/node_1");
  return 0;
}
