//===- Contraction.cu - matmul and gemm through cuBLASLt ------------------===//
//
// Row-major C[M, N] = A[M, K] B[K, N] is the column-major product
// C^T = B^T A^T, so cuBLASLt gets (B, A) with m = N, n = M. Batched matmul
// with numpy batch broadcasting maps onto one strided-batched call when
// each operand's batch is either full or a single matrix (stride 0);
// other broadcasts loop over the batch. f16/bf16 multiply on tensor cores
// with f32 accumulation (CUBLAS_COMPUTE_32F), f32 without TF32 (the
// reference precision), f64 in f64. gemm's `beta * C` is a broadcast copy
// of C into the target followed by cuBLASLt's own beta, so alpha * AB +
// beta * C is formed in f32 and rounded once, as on the CPU (a bias row C
// with beta 1 through cuBLASLt's bias epilogue, C otherwise). An epilogue
// (the lowering's fused bias/activation/cast chain) reads the product,
// rounded to the operands' dtype as the unfused program stores it, from
// scratch memory and writes the result in one elementwise pass. The
// algorithm is chosen once per problem shape and cached: on the first
// eager run of a function the backend times cuBLASLt's top heuristic
// candidates on the real operands (pickFastest; up to 10 % faster than
// its first choice on GPT-2's shapes); products recorded into a graph
// without that take the heuristic's first choice.
// matmul's transA/transB (a transpose of the last two dims the lowering
// folded in) become cuBLASLt's transpose flags on the stored layout. A
// compute-bound single-matrix f16/bf16 product with an unaligned leading
// dimension (the logits of a 50257-word vocabulary) runs on zero-padded
// copies whose dimensions are multiples of 16 bytes (runLt, padPlan):
// cuBLASLt's fast kernels need both.
//
//===----------------------------------------------------------------------===//
#include "Device.cuh"

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace mp::rt::cuda {

namespace {

cudaDataType_t cudaTypeOf(DType t) {
  switch (t) {
  case DType::F16:
    return CUDA_R_16F;
  case DType::BF16:
    return CUDA_R_16BF;
  case DType::F64:
    return CUDA_R_64F;
  default:
    return CUDA_R_32F;
  }
}

/// One cuBLASLt problem in column-major terms.
struct LtProblem {
  DType dtype;
  bool transA, transB; // of the column-major A (= our B) and B (= our A)
  int64_t m, n, k;
  const void *A;
  int64_t lda, strideA;
  const void *B;
  int64_t ldb, strideB;
  void *D;
  int64_t ldd, strideD;
  int64_t batch;
  double alpha, beta; // beta != 0: D already holds C
  /// A bias vector of m elements (one per row of the column-major D, so
  /// per column of our row-major result) added by cuBLASLt's epilogue in
  /// the f32 compute type before D is rounded; null for none.
  const void *bias = nullptr;
};

struct Desc {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  ~Desc() {
    if (a)
      cublasLtMatrixLayoutDestroy(a);
    if (b)
      cublasLtMatrixLayoutDestroy(b);
    if (d)
      cublasLtMatrixLayoutDestroy(d);
    if (op)
      cublasLtMatmulDescDestroy(op);
  }
};

Status layout(KernelContext &c, cublasLtMatrixLayout_t &l, cudaDataType_t t,
              int64_t rows, int64_t cols, int64_t ld, int64_t batch,
              int64_t stride) {
  MP_RT_TRY(checkCublas(c, cublasLtMatrixLayoutCreate(&l, t, uint64_t(rows),
                                                      uint64_t(cols), ld),
                        "matrix layout"));
  if (batch > 1) {
    int32_t count = int32_t(batch);
    MP_RT_TRY(checkCublas(
        c,
        cublasLtMatrixLayoutSetAttribute(
            l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
        "batch count"));
    MP_RT_TRY(checkCublas(
        c,
        cublasLtMatrixLayoutSetAttribute(
            l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
            sizeof(stride)),
        "batch stride"));
  }
  return Status::success();
}

/// Heuristic candidates timed per new problem shape (Env::tuneMatmuls).
constexpr int kTuneCandidates = 8;

/// Times each candidate algorithm (one warm-up, then the best of two runs
/// between events) and sets `pick` to the fastest; a candidate that fails
/// to launch is passed over. Synchronises the stream: call it only outside
/// graph capture.
template <typename Launch>
Status pickFastest(KernelContext &c, Env &env,
                   const cublasLtMatmulHeuristicResult_t *res, int found,
                   Launch &launch, int &pick) {
  cudaEvent_t ev[2];
  MP_RT_TRY(checkCuda(c, cudaEventCreate(&ev[0]), "event"));
  MP_RT_TRY(checkCuda(c, cudaEventCreate(&ev[1]), "event"));
  float best = -1;
  Status st = Status::success();
  for (int i = 0; i < found && st.ok(); ++i) {
    if (launch(&res[i].algo) != CUBLAS_STATUS_SUCCESS)
      continue;
    float t = -1;
    for (int rep = 0; rep < 2 && st.ok(); ++rep) {
      st = checkCuda(c, cudaEventRecord(ev[0], env.stream), "event record");
      if (st.ok() && launch(&res[i].algo) != CUBLAS_STATUS_SUCCESS)
        break;
      if (st.ok())
        st = checkCuda(c, cudaEventRecord(ev[1], env.stream), "event record");
      if (st.ok())
        st = checkCuda(c, cudaEventSynchronize(ev[1]), "timing a matmul");
      float ms = 0;
      if (st.ok())
        st = checkCuda(c, cudaEventElapsedTime(&ms, ev[0], ev[1]),
                       "timing a matmul");
      if (st.ok() && (t < 0 || ms < t))
        t = ms;
    }
    if (t >= 0 && (best < 0 || t < best)) {
      best = t;
      pick = i;
    }
  }
  cudaEventDestroy(ev[0]);
  cudaEventDestroy(ev[1]);
  return st;
}

Status runLtDirect(KernelContext &c, Env &env, const LtProblem &p) {
  cudaDataType_t t = cudaTypeOf(p.dtype);
  bool f64 = p.dtype == DType::F64;
  cublasComputeType_t compute = f64 ? CUBLAS_COMPUTE_64F : CUBLAS_COMPUTE_32F;
  cudaDataType_t scaleType = f64 ? CUDA_R_64F : CUDA_R_32F;
  Desc d;
  MP_RT_TRY(checkCublas(c, cublasLtMatmulDescCreate(&d.op, compute, scaleType),
                        "matmul descriptor"));
  cublasOperation_t ta = p.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t tb = p.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  MP_RT_TRY(checkCublas(c,
                        cublasLtMatmulDescSetAttribute(
                            d.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)),
                        "transa"));
  MP_RT_TRY(checkCublas(c,
                        cublasLtMatmulDescSetAttribute(
                            d.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)),
                        "transb"));
  if (p.bias) {
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    MP_RT_TRY(checkCublas(c,
                          cublasLtMatmulDescSetAttribute(
                              d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi,
                              sizeof(epi)),
                          "epilogue"));
    MP_RT_TRY(checkCublas(c,
                          cublasLtMatmulDescSetAttribute(
                              d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p.bias,
                              sizeof(p.bias)),
                          "bias pointer"));
  }
  MP_RT_TRY(layout(c, d.a, t, p.transA ? p.k : p.m, p.transA ? p.m : p.k,
                   p.lda, p.batch, p.strideA));
  MP_RT_TRY(layout(c, d.b, t, p.transB ? p.n : p.k, p.transB ? p.k : p.n,
                   p.ldb, p.batch, p.strideB));
  MP_RT_TRY(layout(c, d.d, t, p.m, p.n, p.ldd, p.batch, p.strideD));

  char key[256];
  std::snprintf(key, sizeof(key),
                "%d:%d%d:%lld:%lld:%lld:%lld:%lld:%lld:%lld:%lld:%d:%d",
                int(p.dtype), p.transA, p.transB, (long long)p.m,
                (long long)p.n, (long long)p.k, (long long)p.lda,
                (long long)p.ldb, (long long)p.ldd, (long long)p.batch,
                (long long)p.strideA, p.beta != 0, p.bias != nullptr);
  auto &algos = env.matmulCache.algos;
  auto it = algos.find(key);
  float af = float(p.alpha), bf = float(p.beta);
  const void *alpha = f64 ? static_cast<const void *>(&p.alpha) : &af;
  const void *beta = f64 ? static_cast<const void *>(&p.beta) : &bf;
  auto launch = [&](const cublasLtMatmulAlgo_t *algo) {
    return cublasLtMatmul(env.lt, d.op, alpha, p.A, d.a, p.B, d.b, beta, p.D,
                          d.d, p.D, d.d, algo, env.workspace,
                          env.workspaceBytes, env.stream);
  };
  if (it == algos.end()) {
    cublasLtMatmulPreference_t pref;
    MP_RT_TRY(checkCublas(c, cublasLtMatmulPreferenceCreate(&pref),
                          "matmul preference"));
    size_t ws = env.workspaceBytes;
    cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
    cublasLtMatmulHeuristicResult_t res[kTuneCandidates];
    int found = 0;
    cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(
        env.lt, d.op, d.a, d.b, d.d, d.d, pref, env.tuneMatmuls ? kTuneCandidates : 1,
        res, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS || found == 0)
      return c.unsupported("cuBLASLt has no algorithm for this " +
                           std::string(dtypeName(p.dtype)) + " product (m=" +
                           std::to_string(p.m) + " n=" + std::to_string(p.n) +
                           " k=" + std::to_string(p.k) + ")");
    int pick = 0;
    // Timing the candidates runs the product several times: only when the
    // stream executes now (not while a graph is being recorded) and D does
    // not accumulate onto itself (beta 0).
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    cudaStreamIsCapturing(env.stream, &capturing);
    if (found > 1 && p.beta == 0 &&
        capturing == cudaStreamCaptureStatusNone) {
      MP_RT_TRY(pickFastest(c, env, res, found, launch, pick));
    }
    it = algos.emplace(key, res[pick].algo).first;
  }
  return checkCublas(c, launch(&it->second), "cublasLtMatmul");
}

//===----------------------------------------------------------------------===//
// Padding odd dimensions
//===----------------------------------------------------------------------===//
//
// cuBLASLt's fast Hopper kernels need 16-byte aligned leading dimensions;
// with an odd one (the logits of a 50257-word vocabulary) it falls back to
// kernels 4-5x slower, and aligning only the leading dimension does not
// bring them back while the dimension itself stays odd
// (bench/gemm_probe.cu, H100: 5.1 ms as stored, 5.4 ms with a padded
// leading dimension, 1.0 ms with the vocabulary padded to 50264). So a
// single-matrix f16/bf16 problem with an unaligned leading dimension is
// computed on zero-padded copies: m, n and k are rounded up to 16 bytes'
// worth of elements, each operand that changes is copied into scratch with
// zeros in the new rows and columns (zero terms add nothing to the
// products that are kept), D is computed there and its original part
// copied back. Only
// where the product is compute-bound (at least kPadMinIntensity flops per
// byte of padded matrices), so the copies cost little next to the GEMM,
// and D does not already hold C and no bias epilogue reads m elements.
// Not f32: its kernels (no tensor cores, no TF32) do not gain, and GPT-2's
// fp32 step was faster without (187.2 against 192.0 ms, H100), saving the
// 1.8 GB of padded f32 logits besides.

constexpr int64_t kPadQuantumBytes = 16;
constexpr double kPadMinIntensity = 64;

int64_t roundTo(int64_t v, int64_t q) { return (v + q - 1) / q * q; }

/// Rows (the leading dim), columns and leading dimension of a stored
/// column-major matrix.
struct Stored {
  int64_t rows, cols, ld;
};

/// The stored A, B and D of a problem.
void storedOf(const LtProblem &p, Stored (&st)[3]) {
  st[0] = {p.transA ? p.k : p.m, p.transA ? p.m : p.k, p.lda};
  st[1] = {p.transB ? p.n : p.k, p.transB ? p.k : p.n, p.ldb};
  st[2] = {p.m, p.n, p.ldd};
}

/// The padded problem's sizes and which of A, B, D are copies.
struct PadPlan {
  int64_t m = 0, n = 0, k = 0;
  bool copy[3] = {false, false, false};
  Stored padded[3];
  size_t bytes = 0; ///< scratch for the copies
};

size_t paddedBytes(const Stored &s, size_t es) {
  return (size_t(s.ld * s.cols) * es + 255) / 256 * 256;
}

/// False when the problem runs as it is.
bool padPlan(const LtProblem &p, PadPlan &pp) {
  if (p.batch != 1 || p.beta != 0 || p.bias || p.m == 0 || p.n == 0 ||
      p.k == 0 || (p.dtype != DType::F16 && p.dtype != DType::BF16))
    return false;
  const size_t es = dtypeSize(p.dtype);
  const int64_t q = kPadQuantumBytes / int64_t(es);
  Stored st[3];
  storedOf(p, st);
  if (st[0].ld % q == 0 && st[1].ld % q == 0 && st[2].ld % q == 0)
    return false;
  LtProblem r = p;
  r.m = roundTo(p.m, q);
  r.n = roundTo(p.n, q);
  r.k = roundTo(p.k, q);
  storedOf(r, pp.padded);
  double total = 0;
  for (int i = 0; i < 3; ++i) {
    Stored &d = pp.padded[i];
    d.ld = roundTo(d.rows, q);
    pp.copy[i] = d.rows != st[i].rows || d.cols != st[i].cols ||
                 st[i].ld % q != 0;
    if (pp.copy[i])
      pp.bytes += paddedBytes(d, es);
    total += double(d.ld) * double(d.cols) * double(es);
  }
  pp.m = r.m;
  pp.n = r.n;
  pp.k = r.k;
  return 2.0 * double(r.m) * double(r.n) * double(r.k) / total >=
         kPadMinIntensity;
}

/// Copies a stored matrix into its padded form (ToPadded: zeros in the new
/// rows and columns) or the original part back. Each thread moves one
/// 16-byte vector on the padded side and single elements on the other, so
/// both sides stay coalesced.
template <typename E, bool ToPadded>
__global__ void padCopyKernel(const E *src, E *dst, Stored orig,
                              Stored padded) {
  constexpr int W = 16 / sizeof(E);
  const int64_t per = padded.ld / W;
  const int64_t n = per * (ToPadded ? padded.cols : orig.cols);
  MP_GRID_STRIDE(i, n) {
    int64_t col = i / per, r0 = (i - col * per) * W;
    union {
      uint4 v;
      E e[W];
    } u;
    if constexpr (ToPadded) {
#pragma unroll
      for (int j = 0; j < W; ++j)
        u.e[j] = col < orig.cols && r0 + j < orig.rows
                     ? src[col * orig.ld + r0 + j]
                     : E(0);
      reinterpret_cast<uint4 *>(dst + col * padded.ld)[r0 / W] = u.v;
    } else {
      u.v = reinterpret_cast<const uint4 *>(src + col * padded.ld)[r0 / W];
#pragma unroll
      for (int j = 0; j < W; ++j)
        if (r0 + j < orig.rows)
          dst[col * orig.ld + r0 + j] = u.e[j];
    }
  }
}

/// A padding copy (toPadded) or its inverse of an f16/bf16 matrix, the
/// only dtypes padPlan pads.
Status padCopy(KernelContext &c, Env &env, const void *src, void *dst,
               const Stored &orig, const Stored &padded, bool toPadded) {
  int64_t n = padded.ld / 8 * (toPadded ? padded.cols : orig.cols);
  unsigned grid = gridFor(n);
  auto s = static_cast<const uint16_t *>(src);
  auto d = static_cast<uint16_t *>(dst);
  if (toPadded)
    padCopyKernel<uint16_t, true>
        <<<grid, kThreads, 0, env.stream>>>(s, d, orig, padded);
  else
    padCopyKernel<uint16_t, false>
        <<<grid, kThreads, 0, env.stream>>>(s, d, orig, padded);
  return checkLaunch(c, toPadded ? "padding a matmul operand"
                                 : "unpadding a matmul result");
}

/// Runs p, on padded copies in scratch from `scratchAt` on when padPlan
/// says so and contractionScratch reserved the room (MP_CUDA_PAD=0: never).
Status runLt(KernelContext &c, Env &env, const LtProblem &p,
             size_t scratchAt = 0) {
  static const bool enabled = [] {
    const char *e = std::getenv("MP_CUDA_PAD");
    return !(e && std::string(e) == "0");
  }();
  PadPlan pp;
  if (!enabled || !padPlan(p, pp) || scratchAt + pp.bytes > env.scratchBytes)
    return runLtDirect(c, env, p);
  const size_t es = dtypeSize(p.dtype);
  Stored st[3];
  storedOf(p, st);
  LtProblem q = p;
  q.m = pp.m;
  q.n = pp.n;
  q.k = pp.k;
  const void **in[2] = {&q.A, &q.B};
  int64_t *ld[3] = {&q.lda, &q.ldb, &q.ldd};
  uint8_t *at = static_cast<uint8_t *>(env.scratch) + scratchAt;
  for (int i = 0; i < 3; ++i) {
    if (!pp.copy[i])
      continue;
    if (i < 2) {
      MP_RT_TRY(padCopy(c, env, *in[i], at, st[i], pp.padded[i], true));
      *in[i] = at;
    } else {
      q.D = at;
    }
    *ld[i] = pp.padded[i].ld;
    at += paddedBytes(pp.padded[i], es);
  }
  MP_RT_TRY(runLtDirect(c, env, q));
  if (!pp.copy[2])
    return Status::success();
  return padCopy(c, env, q.D, p.D, st[2], pp.padded[2], false);
}

size_t elemSize(DType t) { return dtypeSize(t); }

/// The product's view: the result, or scratch when an epilogue follows.
TensorView productView(KernelContext &c, Env &env, bool epi, DType dtype) {
  TensorView v = c.out(0);
  if (epi) {
    v.dtype = dtype;
    v.data = static_cast<uint8_t *>(env.scratch);
  }
  return v;
}

Status finishEpilogue(KernelContext &c, Env &env, size_t numOwn,
                      const TensorView &product) {
  cpu::ElementwiseChain chain;
  MP_RT_TRY(chain.parse(c, "epilogue_", numOwn, /*fed=*/true,
                        c.out(0).shape));
  return launchChain(c, env, chain, &product, c.out(0));
}

/// A matmul's problem: dims after transA/transB and vector promotion, the
/// broadcast batch, and how it maps onto cuBLASLt.
struct MatmulGeometry {
  bool tA = false, tB = false;
  int64_t M = 0, K = 0, N = 0, nb = 0, na = 0, nbb = 0;
  Shape ba, bb, batch;
  bool regular = false; ///< one strided-batched call
  bool foldM = false;   ///< a batch of A against one B: one GEMM, batch in M
};

MatmulGeometry matmulGeometry(KernelContext &c) {
  MatmulGeometry g;
  TensorView &a = c.in(0), &b = c.in(1);
  g.tA = c.i64("transA", 0) != 0;
  g.tB = c.i64("transB", 0) != 0;
  Shape sa = a.shape, sb = b.shape;
  if (g.tA && sa.size() >= 2) // rank >= 2 checked at load (cpu validation)
    std::swap(sa[sa.size() - 1], sa[sa.size() - 2]);
  if (g.tB && sb.size() >= 2)
    std::swap(sb[sb.size() - 1], sb[sb.size() - 2]);
  if (sa.size() == 1)
    sa.insert(sa.begin(), 1);
  if (sb.size() == 1)
    sb.push_back(1);
  g.M = sa[sa.size() - 2];
  g.K = sa.back();
  g.N = sb.back();
  g.ba.assign(sa.begin(), sa.end() - 2);
  g.bb.assign(sb.begin(), sb.end() - 2);
  cpu::broadcastShapes({&g.ba, &g.bb}, g.batch);
  g.nb = cpu::numElements(g.batch);
  g.na = cpu::numElements(g.ba);
  g.nbb = cpu::numElements(g.bb);
  // One strided-batched call when each operand's batch is the whole
  // broadcast batch (same dims, leading 1s aside) or a single matrix.
  auto strip = [](Shape s) {
    while (!s.empty() && s.front() == 1)
      s.erase(s.begin());
    return s;
  };
  Shape full = strip(g.batch);
  g.regular = (g.na == 1 || strip(g.ba) == full) &&
              (g.nbb == 1 || strip(g.bb) == full);
  // A batch of A against one B is one GEMM with the batch folded into M
  // (rows of A and of the result are contiguous across the batch unless A
  // is stored transposed).
  g.foldM = g.regular && g.nbb == 1 && g.na == g.nb && !g.tA;
  return g;
}

/// The cuBLASLt problem of a matmul (a regular one whole; otherwise one
/// matrix of the batch, pointers set by the caller).
LtProblem matmulProblem(const MatmulGeometry &g, DType dtype, const void *a,
                        const void *b, void *d) {
  const int64_t M = g.M, K = g.K, N = g.N;
  // A transposed operand (transA/transB) is the column-major matrix as
  // stored, so cuBLASLt transposes it: B^T of [N, K] rows has ld K, A^T of
  // [K, M] rows ld M.
  LtProblem p{dtype, g.tB, g.tA, N, M, K, b, g.tB ? K : N, K * N,
              a, g.tA ? M : K, M * K, d, N, M * N, g.nb, 1.0, 0.0};
  if (!g.regular) {
    p.batch = 1;
  } else if (g.foldM) {
    p.n = g.nb * M;
    p.batch = 1;
    p.strideA = p.strideB = p.strideD = 0;
  } else {
    p.strideB = g.na == 1 ? 0 : M * K;
    p.strideA = g.nbb == 1 ? 0 : K * N;
  }
  return p;
}

/// Where a contraction's padded copies start in its scratch: after the
/// epilogue's product.
size_t padOffset(KernelContext &c, bool epi) {
  return epi ? (size_t(c.out(0).numel()) * dtypeSize(c.in(0).dtype) + 255) /
                   256 * 256
             : 0;
}

Status matmulKernel(KernelContext &c, Env &env) {
  bool epi = cpu::ElementwiseChain::present(c, "epilogue_");
  c.acc(c.in(0).dtype);
  if (c.str("acc", "f32") != "f32" && c.in(0).dtype != DType::F64)
    return c.unsupported("cuda accumulates in f32");
  TensorView &a = c.in(0), &b = c.in(1);
  MatmulGeometry g = matmulGeometry(c);
  const int64_t M = g.M, K = g.K, N = g.N, nb = g.nb;
  size_t numOwn = 2;
  if (epi)
    numOwn = size_t(c.i64("epilogue_first", 2));
  TensorView prod = productView(c, env, epi, a.dtype);
  if (nb == 0 || M == 0 || N == 0)
    return Status::success();
  if (K == 0) {
    MP_RT_TRY(checkCuda(c, cudaMemsetAsync(prod.data, 0, prod.bytes(), env.stream),
                        "memset"));
  } else {
    LtProblem p = matmulProblem(g, a.dtype, a.data, b.data, prod.data);
    if (g.regular) {
      MP_RT_TRY(runLt(c, env, p, padOffset(c, epi)));
    } else {
      std::vector<int64_t> sta = cpu::broadcastStrides(g.ba, g.batch),
                           stb = cpu::broadcastStrides(g.bb, g.batch);
      std::vector<int64_t> idx(g.batch.size(), 0);
      size_t es = elemSize(a.dtype);
      for (int64_t bi = 0; bi < nb; ++bi) {
        int64_t oa = 0, ob = 0;
        for (size_t d = 0; d < g.batch.size(); ++d) {
          oa += idx[d] * sta[d];
          ob += idx[d] * stb[d];
        }
        LtProblem q = p;
        q.B = a.data + size_t(oa * M * K) * es;
        q.A = b.data + size_t(ob * K * N) * es;
        q.D = prod.data + size_t(bi * M * N) * es;
        MP_RT_TRY(runLt(c, env, q, padOffset(c, epi)));
        for (int64_t d = int64_t(g.batch.size()) - 1; d >= 0; --d) {
          if (++idx[size_t(d)] < g.batch[size_t(d)])
            break;
          idx[size_t(d)] = 0;
        }
      }
    }
  }
  if (epi)
    return finishEpilogue(c, env, numOwn, prod);
  return Status::success();
}

/// gemm's cuBLASLt problem with D not holding C (alpha 1, beta 0, no
/// bias: gemmKernel sets those).
LtProblem gemmProblem(KernelContext &c, const void *a, const void *b,
                      void *d) {
  bool tA = c.i64("transA", 0) != 0, tB = c.i64("transB", 0) != 0;
  const Shape &sa = c.in(0).shape, &sb = c.in(1).shape;
  int64_t M = tA ? sa[1] : sa[0], K = tA ? sa[0] : sa[1];
  int64_t N = tB ? sb[0] : sb[1];
  return LtProblem{c.in(0).dtype, tB, tA, N, M, K, b, tB ? K : N, 0,
                   a, tA ? M : K, 0, d, N, 0, 1, 1.0, 0.0};
}

Status gemmKernel(KernelContext &c, Env &env) {
  bool epi = cpu::ElementwiseChain::present(c, "epilogue_");
  double alpha = float(c.f64("alpha", 1.0)), beta = float(c.f64("beta", 1.0));
  c.acc(c.in(0).dtype);
  if (c.str("acc", "f32") != "f32" && c.in(0).dtype != DType::F64)
    return c.unsupported("cuda accumulates in f32");
  TensorView &a = c.in(0), &b = c.in(1);
  size_t numOwn = std::min<size_t>(c.numOperands(), 3);
  if (epi)
    numOwn = size_t(std::max<int64_t>(0, c.i64("epilogue_first", 3)));
  TensorView *cc = numOwn > 2 ? c.opt(2) : nullptr;
  TensorView prod = productView(c, env, epi, a.dtype);
  LtProblem p = gemmProblem(c, a.data, b.data, prod.data);
  const int64_t M = p.n, N = p.m, K = p.k;
  if (M == 0 || N == 0)
    return Status::success();
  double be = 0;
  // A bias row (C of N elements, beta 1) goes to cuBLASLt's bias epilogue:
  // alpha * AB + C still formed in f32 and rounded once, without first
  // copying C across the whole result.
  const void *bias = nullptr;
  if (cc && beta == 1 && K > 0 && cc->numel() == N && N > 1 &&
      cc->shape.back() == N && cc->dtype == a.dtype &&
      a.dtype != DType::F64 && uintptr_t(cc->data) % 16 == 0)
    bias = cc->data;
  else if (cc && beta != 0) {
    MP_RT_TRY(broadcastCopy(c, env, *cc, prod));
    be = beta;
  }
  if (K == 0) {
    // alpha * 0 + beta * C
    if (!cc || beta == 0)
      MP_RT_TRY(checkCuda(
          c, cudaMemsetAsync(prod.data, 0, prod.bytes(), env.stream), "memset"));
    else if (beta != 1)
      MP_RT_TRY(scaleInPlace(c, env, prod, beta));
  } else {
    p.alpha = alpha;
    p.beta = be;
    p.bias = bias;
    Status st = runLt(c, env, p, padOffset(c, epi));
    if (!st.ok() && bias) {
      // No bias-epilogue algorithm for this problem: C the general way.
      MP_RT_TRY(broadcastCopy(c, env, *cc, prod));
      p.bias = nullptr;
      p.beta = beta;
      st = runLt(c, env, p, padOffset(c, epi));
    }
    MP_RT_TRY(st);
  }
  if (epi)
    return finishEpilogue(c, env, numOwn, prod);
  return Status::success();
}

/// An epilogue's product, then the padded copies runLt may make.
size_t contractionScratch(KernelContext &c) {
  bool epi = cpu::ElementwiseChain::present(c, "epilogue_");
  LtProblem p{};
  if (c.ins.kernel == "matmul") {
    p = matmulProblem(matmulGeometry(c), c.in(0).dtype, nullptr, nullptr,
                      nullptr);
  } else { // gemm as gemmKernel builds it when D does not hold C
    if (c.in(0).shape.size() != 2 || c.in(1).shape.size() != 2)
      return padOffset(c, epi);
    p = gemmProblem(c, nullptr, nullptr, nullptr);
  }
  PadPlan pp;
  return padOffset(c, epi) + (padPlan(p, pp) ? pp.bytes : 0);
}

} // namespace

void registerContractionKernels(Registry &r) {
  r["matmul"] = {matmulKernel, false, contractionScratch};
  r["gemm"] = {gemmKernel, false, contractionScratch};
}

} // namespace mp::rt::cuda
