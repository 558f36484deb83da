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

/// x transposed by perm, computed on the host.
std::vector<double> transposed(const std::vector<double> &x, const Shape &xs,
                               const Shape &perm) {
  size_t r = xs.size();
  Shape ys(r), st(r, 1);
  for (size_t d = r; d-- > 1;)
    st[d - 1] = st[d] * xs[d];
  for (size_t d = 0; d < r; ++d)
    ys[d] = xs[size_t(perm[d])];
  std::vector<double> y;
  Shape idx(r, 0);
  for (int64_t i = 0; i < numel(ys); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d)
      off += idx[d] * st[size_t(perm[d])];
    y.push_back(x[size_t(off)]);
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < ys[d])
        break;
      idx[d] = 0;
    }
  }
  return y;
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

// Shapes that take the CUDA backend's tiled (innermost dim moves, with edge
// tiles and 1-, 2- and 4-byte elements) and vectorized strided paths.
TEST_P(Conformance, TransposeLargerShapes) {
  struct Case {
    DType dt;
    Shape xs, perm;
  } cases[] = {{DType::F32, {3, 40, 36}, {0, 2, 1}},
               {DType::F32, {70, 45}, {1, 0}},
               {DType::F16, {2, 5, 66, 70}, {0, 3, 1, 2}},
               {DType::F16, {33, 35}, {1, 0}},
               {DType::BF16, {4, 64, 2, 32}, {0, 2, 3, 1}},
               {DType::I8, {40, 36}, {1, 0}},
               {DType::F64, {9, 17, 10}, {2, 1, 0}},
               {DType::F32, {2, 3, 4, 8}, {0, 2, 1, 3}},
               {DType::F16, {3, 12, 64}, {1, 0, 2}}};
  for (const Case &k : cases) {
    std::vector<double> x;
    for (int64_t i = 0; i < numel(k.xs); ++i)
      x.push_back(double(i % 100));
    Shape ys;
    for (int64_t p : k.perm)
      ys.push_back(k.xs[size_t(p)]);
    auto r = run("transpose", {HostTensor::of(k.dt, k.xs, x)}, {{k.dt, ys}},
                 {aInts("perm", k.perm)});
    ASSERT_RUN_OK(r);
    expectEq(r.results[0].values(), transposed(x, k.xs, k.perm));
  }
}

TEST_P(Conformance, GatherAndScatterNDRows) {
  // Embedding-style lookup of f16 rows (48 bytes each).
  std::vector<double> t;
  for (int i = 0; i < 10 * 24; ++i)
    t.push_back(i % 50);
  auto table = HostTensor::of(DType::F16, {10, 24}, t);
  auto r = run("gather", {table, HostTensor::i64({2, 2}, {9, 0, -3, 4})},
               {{DType::F16, {2, 2, 24}}});
  ASSERT_RUN_OK(r);
  std::vector<double> want;
  for (int k : {9, 0, 7, 4})
    for (int j = 0; j < 24; ++j)
      want.push_back(t[size_t(k * 24 + j)]);
  expectEq(r.results[0].values(), want);
  // Embedding-gradient-style accumulation of rows, with repeats.
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    std::vector<double> upd;
    for (int i = 0; i < 4 * 8; ++i)
      upd.push_back(i % 5);
    std::vector<double> zero(5 * 8, 0.0), want(5 * 8, 0.0);
    int rows[] = {1, 3, 1, -1};
    for (int j = 0; j < 4; ++j)
      for (int s = 0; s < 8; ++s)
        want[size_t(((rows[j] + 5) % 5) * 8 + s)] += upd[size_t(j * 8 + s)];
    r = run("scatter_nd",
            {HostTensor::of(dt, {5, 8}, zero),
             HostTensor::i64({4, 1}, {1, 3, 1, -1}),
             HostTensor::of(dt, {4, 8}, upd)},
            {{dt, {5, 8}}}, {aS("reduction", "add")});
    ASSERT_RUN_OK(r);
    expectEq(r.results[0].values(), want, dtypeName(dt));
  }
  r = run("scatter_nd",
          {HostTensor::f32({2, 4}, {}), HostTensor::i64({1, 1}, {2}),
           HostTensor::f32({1, 4}, {1, 2, 3, 4})},
          {{DType::F32, {2, 4}}}, {aS("reduction", "add")});
  EXPECT_EQ(r.status, MP_ERROR_EXECUTION);
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
