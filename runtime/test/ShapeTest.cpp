//===- ShapeTest.cpp - data movement and shape kernels --------------------===//
#include "Conformance.h"

namespace mp::rt::test {
namespace {

std::vector<double> iota(int n, double start = 0) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i)
    v.push_back(start + i);
  return v;
}

TEST_P(Conformance, ReshapeFlattenSqueezeUnsqueeze) {
  auto x = HostTensor::f32({2, 3, 4}, iota(24));
  auto r = run("reshape", {x, HostTensor::i64({2}, {0, -1})},
               {{DType::F32, {2, 12}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), iota(24));
  // A constant shape operand is checked at load time.
  r = run("reshape",
          {x, HostTensor::i64({2}, {4, -1}).withRole(Role::Constant)},
          {{DType::F32, {2, 12}}});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM) << r.error;
  // A bound one at run time.
  r = run("reshape", {x, HostTensor::i64({2}, {4, -1})},
          {{DType::F32, {2, 12}}});
  EXPECT_EQ(r.status, MP_ERROR_EXECUTION) << r.error;
  r = run("reshape",
          {HostTensor::f32({0, 3}, {}), HostTensor::i64({2}, {3, 0})},
          {{DType::F32, {3, 0}}}, {aI("allowzero", 1)});
  ASSERT_RUN_OK(r);
  r = run("flatten", {x}, {{DType::F32, {6, 4}}}, {aI("axis", 2)});
  ASSERT_RUN_OK(r);
  r = run("flatten", {x}, {{DType::F32, {1, 24}}}, {aI("axis", 0)});
  ASSERT_RUN_OK(r);
  r = run("flatten", {x}, {{DType::F32, {2, 12}}});
  ASSERT_RUN_OK(r);
  auto y = HostTensor::f32({1, 3, 1}, {1, 2, 3});
  r = run("squeeze", {y}, {{DType::F32, {3}}});
  ASSERT_RUN_OK(r);
  r = run("squeeze", {y}, {{DType::F32, {3, 1}}}, {aInts("axes", {0})});
  ASSERT_RUN_OK(r);
  r = run("squeeze", {y}, {{DType::F32, {1, 1}}}, {aInts("axes", {1})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
  r = run("unsqueeze", {HostTensor::f32({3}, {1, 2, 3})},
          {{DType::F32, {1, 3, 1}}}, {aInts("axes", {0, -1})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 2, 3});
}

TEST_P(Conformance, Transpose) {
  auto x = HostTensor::f32({2, 3, 4}, iota(24));
  auto r = run("transpose", {x}, {{DType::F32, {4, 2, 3}}},
               {aInts("perm", {2, 0, 1})});
  ASSERT_RUN_OK(r);
  std::vector<double> want;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        want.push_back(i * 12 + j * 4 + k);
  expectEq(r.results[0].values(), want);
  r = run("transpose", {HostTensor::f32({2, 3}, iota(6))},
          {{DType::F32, {3, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 3, 1, 4, 2, 5});
  r = run("transpose", {x}, {{DType::F32, {4, 2, 3}}},
          {aInts("perm", {2, 0, 0})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

TEST_P(Conformance, ConcatAndSplit) {
  auto a = HostTensor::f32({2, 2}, {1, 2, 3, 4});
  auto b = HostTensor::f32({2, 1}, {5, 6});
  auto r = run("concat", {a, b}, {{DType::F32, {2, 3}}}, {aI("axis", 1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 2, 5, 3, 4, 6});
  r = run("concat", {a, a}, {{DType::F32, {4, 2}}}, {aI("axis", -2)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 2, 3, 4, 1, 2, 3, 4});
  r = run("split", {HostTensor::f32({2, 3}, iota(6))},
          {{DType::F32, {2, 1}}, {DType::F32, {2, 2}}},
          {aI("axis", 1), aInts("split", {1, 2})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 3});
  expectEq(r.results[1].values(), {1, 2, 4, 5});
  r = run("split", {HostTensor::f32({2, 3}, iota(6))},
          {{DType::F32, {2, 1}}, {DType::F32, {2, 1}}},
          {aI("axis", 1), aInts("split", {1, 1})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

TEST_P(Conformance, Slice) {
  auto x = HostTensor::f32({3, 4}, iota(12));
  auto r = run(
      "slice", {x}, {{DType::F32, {2, 2}}},
      {aInts("starts", {1, 0}), aInts("ends", {3, 4}), aInts("steps", {1, 2})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {4, 6, 8, 10});
  // Negative steps, clamping of huge and negative bounds, explicit axes.
  r = run("slice", {x}, {{DType::F32, {3, 4}}},
          {aInts("starts", {-1, 1000}), aInts("ends", {-1000, -5}),
           aInts("axes", {0, 1}), aInts("steps", {-1, -1})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  r = run("slice", {x}, {{DType::F32, {3, 2}}},
          {aInts("starts", {-2}), aInts("ends", {100}), aInts("axes", {-1})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2, 3, 6, 7, 10, 11});
  r = run("slice", {x}, {{DType::F32, {0, 4}}},
          {aInts("starts", {2}), aInts("ends", {1})});
  ASSERT_RUN_OK(r);
  r = run("slice", {x}, {{DType::F32, {3, 4}}},
          {aInts("starts", {0}), aInts("ends", {1}), aInts("steps", {0})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

TEST_P(Conformance, GatherAndGatherElements) {
  auto table = HostTensor::f32({4, 2}, iota(8));
  auto idx = HostTensor::i64({2, 2}, {0, 3, -1, 1});
  auto r = run("gather", {table, idx}, {{DType::F32, {2, 2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 1, 6, 7, 6, 7, 2, 3});
  r = run("gather", {table, HostTensor::of(DType::I32, {3}, {1, 0, 1})},
          {{DType::F32, {4, 3}}}, {aI("axis", 1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 0, 1, 3, 2, 3, 5, 4, 5, 7, 6, 7});
  r = run("gather", {table, HostTensor::i64({1}, {4})}, {{DType::F32, {1, 2}}});
  EXPECT_EQ(r.status, MP_ERROR_EXECUTION) << r.error;
  auto d = HostTensor::f32({2, 3}, iota(6));
  r = run("gather_elements", {d, HostTensor::i64({2, 2}, {2, 0, -1, 1})},
          {{DType::F32, {2, 2}}}, {aI("axis", 1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2, 0, 5, 4});
  r = run("gather_elements", {d, HostTensor::i64({1, 3}, {1, 0, 1})},
          {{DType::F32, {1, 3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {3, 1, 5});
}

TEST_P(Conformance, ScatterElements) {
  auto data = HostTensor::f32({2, 3}, {1, 1, 1, 2, 2, 2});
  auto idx = HostTensor::i64({2, 2}, {0, 0, 2, -1});
  auto upd = HostTensor::f32({2, 2}, {3, 4, 5, 6});
  struct {
    const char *red;
    std::vector<double> want;
  } cases[] = {{"add", {8, 1, 1, 2, 2, 13}},
               {"mul", {12, 1, 1, 2, 2, 60}},
               {"max", {4, 1, 1, 2, 2, 6}},
               {"min", {1, 1, 1, 2, 2, 2}}};
  for (auto &c : cases) {
    auto r = run("scatter_elements", {data, idx, upd}, {{DType::F32, {2, 3}}},
                 {aI("axis", 1), aS("reduction", c.red)});
    ASSERT_RUN_OK(r);
    expectEq(r.results[0].values(), c.want, c.red);
  }
  auto r = run(
      "scatter_elements",
      {data, HostTensor::i64({1, 2}, {1, 0}), HostTensor::f32({1, 2}, {9, 8})},
      {{DType::F32, {2, 3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 8, 1, 9, 2, 2});
  r = run("scatter_elements",
          {data, HostTensor::i64({1, 1}, {5}), HostTensor::f32({1, 1}, {9})},
          {{DType::F32, {2, 3}}}, {aI("axis", 1)});
  EXPECT_EQ(r.status, MP_ERROR_EXECUTION);
}

TEST_P(Conformance, ScatterND) {
  auto data = HostTensor::f32({4, 2}, iota(8));
  auto idx = HostTensor::i64({3, 1}, {1, 3, 1});
  auto upd = HostTensor::f32({3, 2}, {10, 20, 30, 40, 100, 200});
  auto r = run("scatter_nd", {data, idx, upd}, {{DType::F32, {4, 2}}},
               {aS("reduction", "add")});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 1, 112, 223, 4, 5, 36, 47});
  r = run("scatter_nd",
          {data, HostTensor::i64({2, 2}, {0, 1, 3, 0}),
           HostTensor::f32({2}, {-1, -2})},
          {{DType::F32, {4, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, -1, 2, 3, 4, 5, -2, 7});
}

TEST_P(Conformance, ExpandAndTrilu) {
  auto r =
      run("expand",
          {HostTensor::f32({3, 1}, {1, 2, 3}), HostTensor::i64({3}, {2, 1, 2})},
          {{DType::F32, {2, 3, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  auto m = HostTensor::f32({3, 3}, iota(9, 1));
  r = run("trilu", {m}, {{DType::F32, {3, 3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 2, 3, 0, 5, 6, 0, 0, 9});
  r = run("trilu", {m}, {{DType::F32, {3, 3}}}, {aI("upper", 0), aI("k", -1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 0, 0, 4, 0, 0, 7, 8, 0});
  r = run("trilu", {m}, {{DType::F32, {3, 3}}}, {aI("upper", 1), aI("k", 1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 2, 3, 0, 0, 6, 0, 0, 0});
}

TEST_P(Conformance, Pad) {
  auto x = HostTensor::f32({2, 2}, {1, 2, 3, 4});
  // One row on top, one column right, filled with -1.
  auto r = run("pad", {x}, {{DType::F32, {3, 3}}},
               {aInts("pads", {1, 0, 0, 1}), aF("value", -1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-1, -1, -1, 1, 2, -1, 3, 4, -1});
  // Negative pads crop.
  r = run("pad", {x}, {{DType::F32, {2, 1}}}, {aInts("pads", {0, -1, 0, 0})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2, 4});
  r = run("pad", {x}, {{DType::F32, {2, 2}}}, {aInts("pads", {0, 0})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
  r = run("pad", {x}, {{DType::F32, {3, 3}}}, {aInts("pads", {0, 0, 0, 0})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

TEST_P(Conformance, ShapeSizeRangeConstantOfShape) {
  auto x = HostTensor::f32({2, 3, 4}, {});
  auto r = run("shape", {x}, {{DType::I64, {3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2, 3, 4});
  r = run("shape", {x}, {{DType::I64, {2}}}, {aI("start", -2)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {3, 4});
  r = run("shape", {x}, {{DType::I64, {1}}}, {aI("start", 1), aI("end", -1)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {3});
  r = run("size", {x}, {{DType::I64, {}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {24});
  r = run("range",
          {HostTensor::f32({}, {1}), HostTensor::f32({}, {2}),
           HostTensor::f32({}, {0.25})},
          {{DType::F32, {4}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1, 1.25, 1.5, 1.75});
  r = run("range",
          {HostTensor::i64({}, {10}), HostTensor::i64({}, {4}),
           HostTensor::i64({}, {-3})},
          {{DType::I64, {2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {10, 7});
  r = run("range",
          {HostTensor::i64({}, {0}), HostTensor::i64({}, {5}),
           HostTensor::i64({}, {1})},
          {{DType::I64, {4}}});
  EXPECT_EQ(r.status, MP_ERROR_EXECUTION);
  r = run("constant_of_shape", {HostTensor::i64({2}, {2, 2})},
          {{DType::F16, {2, 2}}}, {aF("value", 1.5)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1.5, 1.5, 1.5, 1.5});
  r = run("constant_of_shape", {HostTensor::i64({1}, {3})}, {{DType::I64, {3}}},
          {aI("value", -7)});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-7, -7, -7});
  r = run("constant_of_shape", {HostTensor::i64({1}, {2})},
          {{DType::F32, {2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {0, 0});
}

} // namespace
} // namespace mp::rt::test
