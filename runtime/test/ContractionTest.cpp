//===- ContractionTest.cpp - matmul, gemm, conv ---------------------------===//
#include "Conformance.h"

#include <random>

namespace mp::rt::test {
namespace {

std::vector<double> randomValues(size_t n, unsigned seed, double lo = -1,
                                 double hi = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(n);
  for (double &x : v)
    x = float(d(g)); // exactly representable in f32
  return v;
}

/// Naive double matmul of [M, K] x [K, N].
std::vector<double> refMatmul(const std::vector<double> &a,
                              const std::vector<double> &b, int64_t M,
                              int64_t N, int64_t K) {
  std::vector<double> c(size_t(M * N), 0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        c[size_t(m * N + n)] += a[size_t(m * K + k)] * b[size_t(k * N + n)];
  return c;
}

TEST_P(Conformance, Matmul2D) {
  int64_t M = 5, K = 7, N = 3;
  auto a = randomValues(M * K, 1), b = randomValues(K * N, 2);
  auto r =
      run("matmul", {HostTensor::f32({M, K}, a), HostTensor::f32({K, N}, b)},
          {{DType::F32, {M, N}}});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), refMatmul(a, b, M, N, K), 1e-5);
}

TEST_P(Conformance, MatmulLargeUsesThreadsCorrectly) {
  int64_t M = 96, K = 80, N = 72;
  auto a = randomValues(M * K, 3), b = randomValues(K * N, 4);
  auto r =
      run("matmul", {HostTensor::f32({M, K}, a), HostTensor::f32({K, N}, b)},
          {{DType::F32, {M, N}}});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), refMatmul(a, b, M, N, K), 1e-4);
}

TEST_P(Conformance, MatmulBatchedBroadcast) {
  // [2,1,3,4] @ [3,4,2] -> [2,3,3,2]
  auto a = randomValues(2 * 3 * 4, 5), b = randomValues(3 * 4 * 2, 6);
  auto r =
      run("matmul",
          {HostTensor::f32({2, 1, 3, 4}, a), HostTensor::f32({3, 4, 2}, b)},
          {{DType::F32, {2, 3, 3, 2}}});
  ASSERT_RUN_OK(r);
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      std::vector<double> ai(a.begin() + i * 12, a.begin() + i * 12 + 12);
      std::vector<double> bj(b.begin() + j * 8, b.begin() + j * 8 + 8);
      auto c = refMatmul(ai, bj, 3, 2, 4);
      want.insert(want.end(), c.begin(), c.end());
    }
  expectNear(r.results[0].values(), want, 1e-5);
}

/// The last two dims of each matrix of x ([..., R, C] -> [..., C, R]).
std::vector<double> swapLast2(const std::vector<double> &x, int64_t batch,
                              int64_t R, int64_t C) {
  std::vector<double> y(x.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c)
        y[size_t(b * R * C + c * R + r)] = x[size_t(b * R * C + r * C + c)];
  return y;
}

TEST_P(Conformance, MatmulTransposedOperands) {
  // transA / transB: the operand holds its matrices transposed. Batched
  // [2,3] x A^T [K,M] against one B, a batched B^T, both, and f16 with a
  // batch of A against one transposed B (the folded-into-M path must not
  // take a transposed A).
  const int64_t M = 5, K = 6, N = 4, nb = 6;
  auto a = randomValues(nb * M * K, 11), b = randomValues(nb * K * N, 12);
  auto at = swapLast2(a, nb, M, K), bt = swapLast2(b, nb, K, N);
  std::vector<double> want;
  for (int64_t i = 0; i < nb; ++i) {
    std::vector<double> ai(a.begin() + i * M * K, a.begin() + (i + 1) * M * K);
    std::vector<double> bi(b.begin() + i * K * N, b.begin() + (i + 1) * K * N);
    auto c = refMatmul(ai, bi, M, N, K);
    want.insert(want.end(), c.begin(), c.end());
  }
  for (int mode = 1; mode <= 3; ++mode) {
    bool tA = mode & 1, tB = mode & 2;
    HostTensor x = HostTensor::f32(tA ? Shape{2, 3, K, M} : Shape{2, 3, M, K},
                                   tA ? at : a);
    HostTensor y = HostTensor::f32(tB ? Shape{2, 3, N, K} : Shape{2, 3, K, N},
                                   tB ? bt : b);
    std::vector<Attribute> attrs;
    if (tA)
      attrs.push_back(aI("transA", 1));
    if (tB)
      attrs.push_back(aI("transB", 1));
    auto r = run("matmul", {x, y}, {{DType::F32, {2, 3, M, N}}}, attrs);
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), want, 1e-5, 0,
               mode == 1 ? "transA" : mode == 2 ? "transB" : "both");
  }
  // [2,3,M,K] f16 against one B^T [N,K]; and A^T [2,3,K,M] against one B.
  std::vector<double> b0(b.begin(), b.begin() + K * N);
  auto b0t = swapLast2(b0, 1, K, N);
  std::vector<double> want0;
  for (int64_t i = 0; i < nb; ++i) {
    std::vector<double> ai(a.begin() + i * M * K, a.begin() + (i + 1) * M * K);
    auto c = refMatmul(ai, b0, M, N, K);
    want0.insert(want0.end(), c.begin(), c.end());
  }
  auto r = run("matmul",
               {HostTensor::of(DType::F16, {2, 3, M, K}, a),
                HostTensor::of(DType::F16, {N, K}, b0t)},
               {{DType::F16, {2, 3, M, N}}}, {aI("transB", 1)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), want0, 2e-2, 1e-2, "f16 transB");
  r = run("matmul",
          {HostTensor::f32({2, 3, K, M}, at), HostTensor::f32({K, N}, b0)},
          {{DType::F32, {2, 3, M, N}}}, {aI("transA", 1)});
  ASSERT_RUN_OK(r);
  expectNear(r.results[0].values(), want0, 1e-5, 0, "transA, one B");
  // A transposed vector is an error.
  r = run("matmul", {HostTensor::f32({K}, a), HostTensor::f32({K, N}, b0)},
          {{DType::F32, {N}}}, {aI("transA", 1)});
  EXPECT_NE(r.status, MP_OK);
}

TEST_P(Conformance, MatmulOddSizesMatchReference) {
  // A language-model head in miniature: an odd vocabulary (203) in the
  // forward product (batch folded into M, transB), the input gradient
  // (odd K) and the weight gradient (transA, odd M), in f16 and bf16, and
  // one with an epilogue. Sizes large enough that the cuda backend computes
  // them on zero-padded copies (Contraction.cu's padPlan); each must match
  // the double reference of its rounded operands.
  const int64_t B = 2, T = 128, D = 256, V = 203;
  for (DType dt : {DType::F16, DType::BF16}) {
    std::string n = dtypeName(dt);
    auto h = HostTensor::of(dt, {B, T, D}, randomValues(B * T * D, 21));
    auto w = HostTensor::of(dt, {V, D}, randomValues(V * D, 22));
    auto dl = HostTensor::of(dt, {B * T, V}, randomValues(B * T * V, 23));
    std::vector<double> hv = h.values(), wv = w.values(), dlv = dl.values();
    // logits = h w^T
    auto r = run("matmul", {h, w}, {{dt, {B, T, V}}}, {aI("transB", 1)});
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(),
               refMatmul(hv, swapLast2(wv, 1, V, D), B * T, V, D), 2e-2, 2e-2,
               (n + " logits").c_str());
    // dh = dl w
    r = run("matmul", {dl, w}, {{dt, {B * T, D}}});
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(), refMatmul(dlv, wv, B * T, D, V), 2e-2,
               2e-2, (n + " dh").c_str());
    // dw = dl^T h, dl read through transA
    auto h2 = HostTensor::of(dt, {B * T, D}, hv);
    r = run("matmul", {dl, h2}, {{dt, {V, D}}}, {aI("transA", 1)});
    ASSERT_RUN_OK(r);
    expectNear(r.results[0].values(),
               refMatmul(swapLast2(dlv, 1, B * T, V), hv, V, D, B * T), 2e-2,
               2e-2, (n + " dw").c_str());
    // logits with a scale/relu/cast epilogue: the product then the chain.
    auto sc = HostTensor::of(dt, {}, {0.5});
    auto prod = run("matmul", {h, w}, {{dt, {B, T, V}}}, {aI("transB", 1)});
    ASSERT_RUN_OK(prod);
    auto want = run("fused_elementwise", {prod.results[0], sc},
                    {{DType::F32, {B, T, V}}},
                    {aS("ops", "mul,relu,cast"),
                     aInts("args", {0, 1, -1, -2, -1, -2}),
                     aS("types", n + "," + n + ",f32")});
    ASSERT_RUN_OK(want);
    auto got = run("matmul", {h, w, sc}, {{DType::F32, {B, T, V}}},
                   {aI("transB", 1), aS("epilogue_ops", "mul,relu,cast"),
                    aInts("epilogue_args", {-1, 0, -1, -2, -1, -2}),
                    aS("epilogue_types", n + "," + n + ",f32")});
    ASSERT_RUN_OK(got);
    expectEq(got.results[0].values(), want.results[0].values(),
             (n + " epilogue").c_str());
  }
}

TEST_P(Conformance, MatmulVectorPromotion) {
  auto m = HostTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto v3 = HostTensor::f32({3}, {1, 0, -1});
  auto v2 = HostTensor::f32({2}, {1, 1});
  auto r = run("matmul", {m, v3}, {{DType::F32, {2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {-2, -2});
  r = run("matmul", {v2, m}, {{DType::F32, {3}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {5, 7, 9});
  r = run("matmul", {v3, v3}, {{DType::F32, {}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {2});
  r = run("matmul", {m, v2}, {{DType::F32, {2}}});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

TEST_P(Conformance, MatmulAccumulationType) {
  // 4096 ones: f32 accumulation gives 4096; f16 accumulation stalls at 2048
  // (2048 + 1 ties to even); bf16 accumulation stalls at 256.
  int64_t K = 4096;
  std::vector<double> ones(size_t(K), 1.0);
  for (DType dt : {DType::F16, DType::BF16}) {
    auto a = HostTensor::of(dt, {1, K}, ones),
         b = HostTensor::of(dt, {K, 1}, ones);
    auto r = run("matmul", {a, b}, {{dt, {1, 1}}});
    ASSERT_RUN_OK(r);
    EXPECT_EQ(r.results[0].get(0), 4096);
    r = run("matmul", {a, b}, {{dt, {1, 1}}}, {aS("acc", "f32")});
    ASSERT_RUN_OK(r);
    EXPECT_EQ(r.results[0].get(0), 4096);
    r = run("matmul", {a, b}, {{dt, {1, 1}}},
            {aS("acc", dt == DType::F16 ? "f16" : "bf16")});
    if (GetParam() == "cuda") {
      // Tensor cores accumulate in f32: low-precision accumulation (which
      // autocast never asks for) is refused at load, not approximated.
      EXPECT_EQ(r.status, MP_ERROR_UNSUPPORTED);
      continue;
    }
    ASSERT_RUN_OK(r);
    EXPECT_EQ(r.results[0].get(0), dt == DType::F16 ? 2048 : 256);
  }
  auto r = run("matmul",
               {HostTensor::f32({1, 1}, {1}), HostTensor::f32({1, 1}, {1})},
               {{DType::F32, {1, 1}}}, {aS("acc", "f8")});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

TEST_P(Conformance, Gemm) {
  // A^T: A stored [K=3, M=2]; B^T: B stored [N=2, K=3].
  auto a = HostTensor::f32({3, 2}, {1, 4, 2, 5, 3, 6}); // A = [[1,2,3],[4,5,6]]
  auto b =
      HostTensor::f32({2, 3}, {1, 0, 1, 0, 1, 0}); // B = [[1,0],[0,1],[1,0]]
  auto c = HostTensor::f32({2}, {100, 200});
  auto r =
      run("gemm", {a, b, c}, {{DType::F32, {2, 2}}},
          {aI("transA", 1), aI("transB", 1), aF("alpha", 2), aF("beta", 0.5)});
  ASSERT_RUN_OK(r);
  // A @ B = [[4, 2], [10, 5]]
  expectEq(r.results[0].values(), {58, 104, 70, 110});
  auto at = HostTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto bt = HostTensor::f32({3, 2}, {1, 0, 0, 1, 1, 0});
  r = run("gemm", {at, bt}, {{DType::F32, {2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {4, 2, 10, 5});
  r = run("gemm", {at, bt, HostTensor::f32({2, 1}, {1, 2})},
          {{DType::F32, {2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {5, 3, 12, 7});
  r = run("gemm", {at, bt, HostTensor::f32({3}, {1, 2, 3})},
          {{DType::F32, {2, 2}}});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM);
}

/// Naive N-d convolution in double (NCHW..., explicit pads).
std::vector<double> refConv(const std::vector<double> &x, const Shape &xs,
                            const std::vector<double> &w, const Shape &ws,
                            const std::vector<double> *b, int64_t group,
                            const Shape &strides, const Shape &dil,
                            const Shape &padBegin, Shape &outShape) {
  size_t nd = xs.size() - 2;
  int64_t N = xs[0], C = xs[1], M = ws[0], Cg = C / group, Mg = M / group;
  Shape out(nd);
  for (size_t d = 0; d < nd; ++d)
    out[d] = outShape[d + 2];
  std::vector<double> y(size_t(N * M * numel(out)), 0);
  Shape k(ws.begin() + 2, ws.end()), in(xs.begin() + 2, xs.end());
  int64_t P = numel(out), K = numel(k), S = numel(in);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      int64_t g = m / Mg;
      for (int64_t p = 0; p < P; ++p) {
        Shape o(nd);
        int64_t rem = p;
        for (int64_t d = int64_t(nd) - 1; d >= 0; --d) {
          o[size_t(d)] = rem % out[size_t(d)];
          rem /= out[size_t(d)];
        }
        double acc = b ? (*b)[size_t(m)] : 0;
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t ki = 0; ki < K; ++ki) {
            Shape kk(nd);
            int64_t r2 = ki;
            for (int64_t d = int64_t(nd) - 1; d >= 0; --d) {
              kk[size_t(d)] = r2 % k[size_t(d)];
              r2 /= k[size_t(d)];
            }
            int64_t off = 0;
            bool inside = true;
            for (size_t d = 0; d < nd; ++d) {
              int64_t i = o[d] * strides[d] - padBegin[d] + kk[d] * dil[d];
              if (i < 0 || i >= in[d])
                inside = false;
              off = off * in[d] + i;
            }
            if (!inside)
              continue;
            acc += x[size_t((n * C + g * Cg + c) * S + off)] *
                   w[size_t((m * Cg + c) * K + ki)];
          }
        y[size_t((n * M + m) * P + p)] = acc;
      }
    }
  return y;
}

TEST_P(Conformance, ConvHandComputed) {
  auto x = HostTensor::f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto w = HostTensor::f32({1, 1, 2, 2}, {1, 1, 1, 1});
  auto r = run("conv", {x, w}, {{DType::F32, {1, 1, 2, 2}}});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {12, 16, 24, 28});
  // pads 1, strides 2, bias.
  r = run("conv", {x, w, HostTensor::f32({1}, {0.5})},
          {{DType::F32, {1, 1, 2, 2}}},
          {aInts("pads", {1, 1, 1, 1}), aInts("strides", {2, 2}),
           aInts("kernel_shape", {2, 2})});
  ASSERT_RUN_OK(r);
  expectEq(r.results[0].values(), {1.5, 5.5, 11.5, 28.5});
}

struct ConvCase {
  Shape xs, ws;
  int64_t group;
  Shape strides, dil, pads;
  std::string autoPad;
  Shape ys;
  bool bias;
};

TEST_P(Conformance, ConvMatchesNaiveReference) {
  std::vector<ConvCase> cases = {
      // 2-D, groups, strides, dilations, asymmetric pads.
      {{2, 4, 7, 6},
       {6, 2, 3, 2},
       2,
       {2, 1},
       {1, 2},
       {1, 0, 2, 1},
       "NOTSET",
       {2, 6, 4, 5},
       true},
      // 1-D.
      {{1, 3, 10}, {2, 3, 3}, 1, {3}, {1}, {0, 0}, "NOTSET", {1, 2, 3}, false},
      // 3-D depthwise.
      {{1, 2, 4, 3, 3},
       {2, 1, 2, 2, 2},
       2,
       {1, 1, 1},
       {1, 1, 1},
       {0, 0, 0, 0, 0, 0},
       "NOTSET",
       {1, 2, 3, 2, 2},
       true},
      // auto_pad SAME_UPPER / SAME_LOWER with stride 2 on odd input:
      // total pad 1 goes to the end (upper) or the beginning (lower).
      {{1, 1, 5, 5},
       {1, 1, 2, 2},
       1,
       {2, 2},
       {1, 1},
       {0, 0, 0, 0},
       "SAME_UPPER",
       {1, 1, 3, 3},
       false},
      {{1, 1, 5, 5},
       {1, 1, 2, 2},
       1,
       {2, 2},
       {1, 1},
       {1, 1, 0, 0},
       "SAME_LOWER",
       {1, 1, 3, 3},
       false},
      {{1, 2, 5, 4},
       {3, 2, 3, 3},
       1,
       {1, 1},
       {1, 1},
       {0, 0, 0, 0},
       "VALID",
       {1, 3, 3, 2},
       true},
  };
  unsigned seed = 10;
  for (const ConvCase &cc : cases) {
    auto xv = randomValues(size_t(numel(cc.xs)), seed++);
    auto wv = randomValues(size_t(numel(cc.ws)), seed++);
    auto bv = randomValues(size_t(cc.ws[0]), seed++);
    std::vector<HostTensor> ops = {HostTensor::f32(cc.xs, xv),
                                   HostTensor::f32(cc.ws, wv)};
    if (cc.bias)
      ops.push_back(HostTensor::f32({cc.ws[0]}, bv));
    std::vector<Attribute> attrs = {aI("group", cc.group),
                                    aInts("strides", cc.strides),
                                    aInts("dilations", cc.dil)};
    size_t nd = cc.xs.size() - 2;
    if (cc.autoPad == "NOTSET")
      attrs.push_back(aInts("pads", cc.pads));
    else
      attrs.push_back(aS("auto_pad", cc.autoPad));
    auto r = run("conv", ops, {{DType::F32, cc.ys}}, attrs);
    ASSERT_RUN_OK(r);
    Shape padBegin(cc.pads.begin(), cc.pads.begin() + long(nd));
    Shape ys = cc.ys;
    auto want = refConv(xv, cc.xs, wv, cc.ws, cc.bias ? &bv : nullptr, cc.group,
                        cc.strides, cc.dil, padBegin, ys);
    expectNear(r.results[0].values(), want, 1e-5, 0, cc.autoPad.c_str());
  }
}

TEST_P(Conformance, ConvRejectsBadGeometry) {
  auto x = HostTensor::f32({1, 3, 4, 4}, {});
  auto r = run("conv", {x, HostTensor::f32({2, 2, 3, 3}, {})},
               {{DType::F32, {1, 2, 2, 2}}}, {aI("group", 1)});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM); // C/group mismatch
  r = run("conv", {x, HostTensor::f32({2, 3, 3, 3}, {})},
          {{DType::F32, {1, 2, 3, 3}}});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM); // wrong result shape
  r = run("conv", {x, HostTensor::f32({2, 3, 3, 3}, {})},
          {{DType::F32, {1, 2, 2, 2}}},
          {aS("auto_pad", "SAME_UPPER"), aInts("pads", {1, 1, 1, 1})});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM); // pads with auto_pad
  r = run("conv", {x, HostTensor::f32({2, 3, 3, 3}, {})},
          {{DType::F32, {1, 2, 2, 2}}}, {aI("groups", 1)});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM); // unknown attribute
  EXPECT_NE(r.error.find("unknown attribute 'groups'"), std::string::npos)
      << r.error;
}

TEST_P(Conformance, EpilogueEqualsProductThenChain) {
  // f16 gemm with C and a bias/gelu/cast epilogue, and a batched bf16
  // matmul with a scale/relu epilogue: each must equal the contraction
  // stored in its dtype followed by the same chain as fused_elementwise.
  for (DType dt : {DType::F16, DType::BF16}) {
    auto x = HostTensor::of(dt, {5, 7}, randomValues(35, 1, -2, 2));
    auto w = HostTensor::of(dt, {6, 7}, randomValues(42, 2, -2, 2));
    auto cc = HostTensor::of(dt, {6}, randomValues(6, 3));
    auto bias = HostTensor::f32({5, 1}, randomValues(5, 4));
    std::vector<Attribute> gemmAttrs = {aI("transB", 1), aF("alpha", 0.5)};
    auto prod = run("gemm", {x, w, cc}, {{dt, {5, 6}}}, gemmAttrs);
    ASSERT_RUN_OK(prod);
    std::vector<Attribute> chain = {
        aS("ops", "cast,add,gelu,cast"), aInts("args", {0, -2, -1, 1, -1, -2, -1, -2}),
        Attribute::ofFloats("alphas", {0, 0, 1, 0}),
        aS("types", std::string("f32,f32,f32,") + dtypeName(dt))};
    auto want = run("fused_elementwise", {prod.results[0], bias}, {{dt, {5, 6}}},
                    chain);
    ASSERT_RUN_OK(want);
    std::vector<Attribute> attrs = gemmAttrs;
    attrs.push_back(aI("epilogue_first", 3));
    attrs.push_back(aS("epilogue_ops", "cast,add,gelu,cast"));
    attrs.push_back(aInts("epilogue_args", {-1, -2, -1, 0, -1, -2, -1, -2}));
    attrs.push_back(Attribute::ofFloats("epilogue_alphas", {0, 0, 1, 0}));
    attrs.push_back(aS("epilogue_types",
                       std::string("f32,f32,f32,") + dtypeName(dt)));
    auto got = run("gemm", {x, w, cc, bias}, {{dt, {5, 6}}}, attrs);
    ASSERT_RUN_OK(got);
    expectEq(got.results[0].values(), want.results[0].values(), "gemm");

    auto a = HostTensor::of(dt, {2, 3, 4}, randomValues(24, 5, -2, 2));
    auto b = HostTensor::of(dt, {4, 3}, randomValues(12, 6, -2, 2));
    auto s = HostTensor::of(dt, {}, {0.75});
    prod = run("matmul", {a, b}, {{dt, {2, 3, 3}}});
    ASSERT_RUN_OK(prod);
    want = run("fused_elementwise", {prod.results[0], s}, {{DType::F32, {2, 3, 3}}},
               {aS("ops", "mul,relu,cast"), aInts("args", {0, 1, -1, -2, -1, -2}),
                aS("types", std::string(dtypeName(dt)) + "," + dtypeName(dt) +
                                ",f32")});
    ASSERT_RUN_OK(want);
    got = run("matmul", {a, b, s}, {{DType::F32, {2, 3, 3}}},
              {aS("epilogue_ops", "mul,relu,cast"),
               aInts("epilogue_args", {-1, 0, -1, -2, -1, -2}),
               aS("epilogue_types", std::string(dtypeName(dt)) + "," +
                                        dtypeName(dt) + ",f32")});
    ASSERT_RUN_OK(got);
    expectEq(got.results[0].values(), want.results[0].values(), "matmul");
  }
  // An epilogue must keep the product's shape and name its first operand.
  auto x = HostTensor::f32({1, 2}, {1, 2});
  auto y = HostTensor::f32({2, 2}, {1, 2, 3, 4});
  auto r = run("matmul", {x, y, HostTensor::f32({3, 1}, {1, 2, 3})},
               {{DType::F32, {3, 2}}},
               {aS("epilogue_ops", "add"), aInts("epilogue_args", {-1, 0}),
                aS("epilogue_types", "f32")});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM) << r.error;
  r = run("gemm", {x, y, HostTensor::f32({2}, {1, 2})}, {{DType::F32, {1, 2}}},
          {aI("epilogue_first", 5), aS("epilogue_ops", "relu"),
           aInts("epilogue_args", {-1, -2}), aS("epilogue_types", "f32")});
  EXPECT_EQ(r.status, MP_ERROR_INVALID_PROGRAM) << r.error;
}

} // namespace
} // namespace mp::rt::test
