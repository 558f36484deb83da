//===- ConformanceMain.cpp - instantiates the suite for every backend -----===//
#include "Conformance.h"

namespace mp::rt::test {

INSTANTIATE_TEST_SUITE_P(Backends, Conformance,
                         ::testing::Values(std::string("cpu"),
                                           std::string("cuda")),
                         [](const ::testing::TestParamInfo<std::string> &i) {
                           return i.param;
                         });

} // namespace mp::rt::test
