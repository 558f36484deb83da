//===- Contraction.cpp - matmul, gemm, conv -------------------------------===//
//
// All three reduce to one row-major kernel C[m, n] = sum_k A[m, k] B[k, n]
// that sums k in ascending order from 0 in the accumulation type (`acc`:
// f32 by default, or f16/bf16 with a rounding after every addition; f64
// for f64 data) and is split by rows over threads. Conv uses im2col per
// image and group. Results are rounded once into the result dtype.
//
//===----------------------------------------------------------------------===//
#include "Window.h"

#include <algorithm>

namespace mp::rt::cpu {
namespace {

/// C[M, N] = A[M, K] @ B[K, N] for rows [m0, m1); all row-major.
template <typename T>
void gemmRows(const T *A, const T *B, T *C, int64_t N, int64_t K, Acc acc,
              int64_t m0, int64_t m1) {
  for (int64_t m = m0; m < m1; ++m) {
    T *c = C + m * N;
    std::fill(c, c + N, T(0));
    const T *a = A + m * K;
    if (acc == Acc::Native) {
      for (int64_t k = 0; k < K; ++k) {
        T av = a[k];
        const T *b = B + k * N;
        for (int64_t n = 0; n < N; ++n)
          c[n] += av * b[n];
      }
    } else {
      for (int64_t k = 0; k < K; ++k) {
        T av = a[k];
        const T *b = B + k * N;
        for (int64_t n = 0; n < N; ++n)
          c[n] = accRound(c[n] + av * b[n], acc);
      }
    }
  }
}

} // namespace

template <typename T>
void gemm(const T *A, const T *B, T *C, int64_t M, int64_t N, int64_t K,
          Acc acc) {
  parallelFor(M, double(N) * double(K) + 1, [&](int64_t b, int64_t e) {
    gemmRows(A, B, C, N, K, acc, b, e);
  });
}
template void gemm<float>(const float *, const float *, float *, int64_t,
                          int64_t, int64_t, Acc);
template void gemm<double>(const double *, const double *, double *, int64_t,
                           int64_t, int64_t, Acc);

namespace {

Status floatOnly(KernelContext &c, DType t) {
  if (!isFloat(t))
    return c.unsupported(std::string("dtype ") + dtypeName(t) +
                         " is not supported (floating point only)");
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Epilogues
//===----------------------------------------------------------------------===//

/// matmul and gemm may carry an epilogue (the lowering's fusion of the
/// elementwise chain that consumes their product): attributes
/// `epilogue_ops/args/alphas/types` over the operands from `epilogue_first`
/// on, with -1 in step 0 reading the product. The product is rounded to the
/// operands' dtype first, as the unfused program stores it.
struct Epilogue {
  bool on = false;
  ElementwiseChain chain;
  std::vector<uint8_t> storage;
  TensorView product; // what the kernel computes into

  /// `numOwn`: the kernel's own operand count when no epilogue is present
  /// (gemm: 2 or 3); `dtype`/`shape`: the product's.
  Status parse(KernelContext &c, size_t &numOwn, DType dtype,
               const Shape &shape) {
    on = ElementwiseChain::present(c, "epilogue_");
    if (!on)
      return Status::success();
    int64_t first = c.i64("epilogue_first", int64_t(numOwn));
    if (first < 2 || first > int64_t(numOwn) ||
        size_t(first) > c.numOperands())
      return c.error("epilogue_first must index the first epilogue operand");
    numOwn = size_t(first);
    if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
      return c.unsupported("epilogues need f32/f16/bf16 operands");
    MP_RT_TRY(chain.parse(c, "epilogue_", numOwn, /*fed=*/true,
                          c.out(0).shape));
    if (c.out(0).dtype != chain.resultType())
      return c.error("the result dtype differs from the epilogue's last "
                     "step's");
    if (shape != c.out(0).shape)
      return c.error("an epilogue needs the product's shape " +
                     shapeStr(shape) + " to be the result's");
    product.dtype = dtype;
    product.shape = shape;
    return Status::success();
  }
  /// Where the kernel writes its product.
  TensorView &target(KernelContext &c) {
    if (!on)
      return c.out(0);
    storage.assign(product.bytes(), 0);
    product.data = storage.data();
    return product;
  }
  /// Runs the chain from the product into the result.
  void finish(KernelContext &c) {
    if (!on)
      return;
    Input<float> fed(product);
    chain.run(c, fed.p, c.out(0));
  }
};

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

Status matmulKernel(KernelContext &c) {
  bool epi = ElementwiseChain::present(c, "epilogue_");
  MP_RT_TRY(c.arity(2, epi ? c.numOperands() : 2, 1, 1));
  TensorView &a = c.in(0), &b = c.in(1);
  TensorView *yp = &c.out(0);
  Acc acc = c.acc(a.dtype);
  if (a.dtype != b.dtype || (!epi && a.dtype != yp->dtype))
    return c.error("operands and result must have one dtype");
  MP_RT_TRY(floatOnly(c, a.dtype));
  if (a.rank() == 0 || b.rank() == 0)
    return c.error("operands must have rank >= 1");
  // transA / transB: the operand holds its matrices transposed (the
  // lowering folds a transpose of the last two dims into the product).
  bool tA = c.i64("transA", 0) != 0, tB = c.i64("transB", 0) != 0;
  if ((tA && a.rank() < 2) || (tB && b.rank() < 2))
    return c.error("transA/transB need an operand of rank >= 2");
  Shape sa = a.shape, sb = b.shape;
  if (tA)
    std::swap(sa[sa.size() - 1], sa[sa.size() - 2]);
  if (tB)
    std::swap(sb[sb.size() - 1], sb[sb.size() - 2]);
  bool aVec = sa.size() == 1, bVec = sb.size() == 1;
  if (aVec)
    sa.insert(sa.begin(), 1);
  if (bVec)
    sb.push_back(1);
  int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  if (sb[sb.size() - 2] != K)
    return c.error("contraction dims differ: " + shapeStr(a.shape) + " @ " +
                   shapeStr(b.shape));
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2), batch;
  if (!broadcastShapes({&ba, &bb}, batch))
    return c.error("batch dims of " + shapeStr(a.shape) + " and " +
                   shapeStr(b.shape) + " do not broadcast");
  Shape want = batch;
  if (!aVec)
    want.push_back(M);
  if (!bVec)
    want.push_back(N);
  Epilogue ep;
  size_t numOwn = 2;
  MP_RT_TRY(ep.parse(c, numOwn, a.dtype, want));
  if (want != yp->shape)
    return c.error("result shape " + shapeStr(yp->shape) + " should be " +
                   shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  TensorView &y = ep.target(c);
  dispatchCompute(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ia(a), ib(b);
      Output<T> oy(y);
      std::vector<int64_t> sta = broadcastStrides(ba, batch),
                           stb = broadcastStrides(bb, batch);
      int64_t nb = numElements(batch);
      std::vector<int64_t> idx(batch.size(), 0);
      // A transposed operand's matrix is copied into row-major order first.
      std::vector<T> ta(tA ? size_t(M * K) : 0), tb(tB ? size_t(K * N) : 0);
      auto untranspose = [](const T *src, T *dst, int64_t rows, int64_t cols) {
        // src is [cols, rows]; dst becomes [rows, cols].
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t q = 0; q < cols; ++q)
            dst[r * cols + q] = src[q * rows + r];
        return dst;
      };
      for (int64_t bi = 0; bi < nb; ++bi) {
        int64_t oa = 0, ob = 0;
        for (size_t d = 0; d < batch.size(); ++d) {
          oa += idx[d] * sta[d];
          ob += idx[d] * stb[d];
        }
        const T *pa = ia.p + oa * M * K, *pb = ib.p + ob * K * N;
        if (tA)
          pa = untranspose(pa, ta.data(), M, K);
        if (tB)
          pb = untranspose(pb, tb.data(), K, N);
        gemm<T>(pa, pb, oy.p + bi * M * N, M, N, K, acc);
        for (int64_t d = int64_t(batch.size()) - 1; d >= 0; --d) {
          if (++idx[d] < batch[d])
            break;
          idx[d] = 0;
        }
      }
      oy.commit();
    }
    return 0;
  });
  ep.finish(c);
  return Status::success();
}

//===----------------------------------------------------------------------===//
// gemm
//===----------------------------------------------------------------------===//

Status gemmKernel(KernelContext &c) {
  bool epi = ElementwiseChain::present(c, "epilogue_");
  MP_RT_TRY(c.arity(2, epi ? c.numOperands() : 3, 1, 1));
  double alpha = float(c.f64("alpha", 1.0)), beta = float(c.f64("beta", 1.0));
  bool tA = c.i64("transA", 0) != 0, tB = c.i64("transB", 0) != 0;
  TensorView &a = c.in(0), &b = c.in(1);
  TensorView *yp = &c.out(0);
  size_t numOwn = std::min<size_t>(c.numOperands(), 3);
  if (epi)
    numOwn = size_t(std::max<int64_t>(0, c.i64("epilogue_first", 3)));
  TensorView *cc = numOwn > 2 ? c.opt(2) : nullptr;
  Acc acc = c.acc(a.dtype);
  if (a.dtype != b.dtype || (!epi && a.dtype != yp->dtype) ||
      (cc && cc->dtype != a.dtype))
    return c.error("operands and result must have one dtype");
  MP_RT_TRY(floatOnly(c, a.dtype));
  if (a.rank() != 2 || b.rank() != 2)
    return c.error("A and B must be 2-D");
  int64_t M = tA ? a.shape[1] : a.shape[0], K = tA ? a.shape[0] : a.shape[1];
  int64_t K2 = tB ? b.shape[1] : b.shape[0], N = tB ? b.shape[0] : b.shape[1];
  if (K != K2)
    return c.error("contraction dims differ");
  Epilogue ep;
  MP_RT_TRY(ep.parse(c, numOwn, a.dtype, Shape{M, N}));
  if (yp->shape != Shape{M, N})
    return c.error("result shape " + shapeStr(yp->shape) + " should be " +
                   shapeStr({M, N}));
  if (cc) {
    Shape out;
    if (cc->rank() > 2 || !broadcastShapes({&cc->shape, &yp->shape}, out) ||
        out != yp->shape)
      return c.error("C of shape " + shapeStr(cc->shape) +
                     " does not broadcast to " + shapeStr(yp->shape));
  }
  if (c.validateOnly)
    return Status::success();
  TensorView &y = ep.target(c);
  dispatchCompute(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ia(a), ib(b);
      std::vector<T> at, bt;
      const T *pa = ia.p, *pb = ib.p;
      if (tA) {
        at.resize(size_t(M * K));
        for (int64_t k = 0; k < K; ++k)
          for (int64_t m = 0; m < M; ++m)
            at[m * K + k] = pa[k * M + m];
        pa = at.data();
      }
      if (tB) {
        bt.resize(size_t(K * N));
        for (int64_t n = 0; n < N; ++n)
          for (int64_t k = 0; k < K; ++k)
            bt[k * N + n] = pb[n * K + k];
        pb = bt.data();
      }
      std::vector<T> prod(static_cast<size_t>(M * N));
      gemm<T>(pa, pb, prod.data(), M, N, K, acc);
      Output<T> oy(y);
      T al = T(alpha), be = T(beta);
      if (cc) {
        Input<T> ic(*cc);
        std::vector<int64_t> st = broadcastStrides(cc->shape, y.shape);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n)
            oy[m * N + n] =
                al * prod[m * N + n] + be * ic[m * st[0] + n * st[1]];
      } else {
        for (int64_t i = 0; i < M * N; ++i)
          oy[i] = al * prod[i];
      }
      oy.commit();
    }
    return 0;
  });
  ep.finish(c);
  return Status::success();
}

//===----------------------------------------------------------------------===//
// conv
//===----------------------------------------------------------------------===//

Status convKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 3, 1, 1));
  TensorView &x = c.in(0), &w = c.in(1), &y = c.out(0);
  TensorView *bias = c.opt(2);
  Acc acc = c.acc(x.dtype);
  int64_t group = c.i64("group", 1);
  bool hasKS = c.has("kernel_shape");
  Shape ks = c.ints("kernel_shape");
  if (x.dtype != w.dtype || x.dtype != y.dtype ||
      (bias && bias->dtype != x.dtype))
    return c.error("operands and result must have one dtype");
  MP_RT_TRY(floatOnly(c, x.dtype));
  if (x.rank() < 3 || w.rank() != x.rank())
    return c.error("X must be N x C x D1.. and W M x C/group x k1..");
  int64_t N = x.shape[0], C = x.shape[1], M = w.shape[0];
  if (group < 1 || C % group != 0 || M % group != 0 || w.shape[1] != C / group)
    return c.error("channels " + std::to_string(C) + " / filters " +
                   std::to_string(M) + " do not fit group " +
                   std::to_string(group) + " and W " + shapeStr(w.shape));
  Shape kernel(w.shape.begin() + 2, w.shape.end());
  if (hasKS && ks != kernel)
    return c.error("kernel_shape does not match W");
  if (bias && bias->shape != Shape{M})
    return c.error("B must have shape [M]");
  Window win;
  MP_RT_TRY(makeWindow(c, Shape(x.shape.begin() + 2, x.shape.end()), kernel,
                       false, win));
  Shape want = {N, M};
  want.insert(want.end(), win.out.begin(), win.out.end());
  if (want != y.shape)
    return c.error("result shape " + shapeStr(y.shape) + " should be " +
                   shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  dispatchCompute(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      Input<T> ix(x), iw(w);
      Output<T> oy(y);
      int64_t Cg = C / group, Mg = M / group;
      int64_t kprod = numElements(kernel), P = numElements(win.out);
      int64_t inSp = numElements(win.in);
      int64_t R = Cg * kprod;
      std::vector<int64_t> offs = windowOffsets(win);
      std::vector<T> col(static_cast<size_t>(R * P)),
          out(static_cast<size_t>(Mg * P));
      for (int64_t n = 0; n < N; ++n)
        for (int64_t g = 0; g < group; ++g) {
          for (int64_t cg = 0; cg < Cg; ++cg) {
            const T *src = ix.p + (n * C + g * Cg + cg) * inSp;
            for (int64_t ki = 0; ki < kprod; ++ki) {
              T *dst = col.data() + (cg * kprod + ki) * P;
              const int64_t *of = offs.data() + ki * P;
              for (int64_t p = 0; p < P; ++p)
                dst[p] = of[p] < 0 ? T(0) : src[of[p]];
            }
          }
          gemm<T>(iw.p + g * Mg * R, col.data(), out.data(), Mg, P, R, acc);
          for (int64_t m = 0; m < Mg; ++m) {
            int64_t oc = g * Mg + m;
            T bv = bias ? T(scalarF64(*bias, oc)) : T(0);
            T *dst = oy.p + (n * M + oc) * P;
            for (int64_t p = 0; p < P; ++p)
              dst[p] =
                  bias ? out[size_t(m * P + p)] + bv : out[size_t(m * P + p)];
          }
        }
      oy.commit();
    }
    return 0;
  });
  return Status::success();
}

} // namespace

void registerContractionKernels(Registry &r) {
  r["matmul"] = {matmulKernel, false};
  r["gemm"] = {gemmKernel, false};
  r["conv"] = {convKernel, false};
}

} // namespace mp::rt::cpu
