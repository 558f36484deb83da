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
// candidates on the real operands (pickFastest; its first choice is
// slow for some shapes, e.g. a 50257-word vocabulary); products recorded
// into a graph without that take the heuristic's first choice.
// matmul's transA/transB (a transpose of the last two dims the lowering
// folded in) become cuBLASLt's transpose flags on the stored layout.
//
//===----------------------------------------------------------------------===//
#include "Device.cuh"

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

Status runLt(KernelContext &c, Env &env, const LtProblem &p) {
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

Status matmulKernel(KernelContext &c, Env &env) {
  bool epi = cpu::ElementwiseChain::present(c, "epilogue_");
  c.acc(c.in(0).dtype);
  if (c.str("acc", "f32") != "f32" && c.in(0).dtype != DType::F64)
    return c.unsupported("cuda accumulates in f32");
  TensorView &a = c.in(0), &b = c.in(1);
  bool tA = c.i64("transA", 0) != 0, tB = c.i64("transB", 0) != 0;
  Shape sa = a.shape, sb = b.shape;
  if (tA && sa.size() >= 2) // rank >= 2 checked at load (cpu validation)
    std::swap(sa[sa.size() - 1], sa[sa.size() - 2]);
  if (tB && sb.size() >= 2)
    std::swap(sb[sb.size() - 1], sb[sb.size() - 2]);
  if (sa.size() == 1)
    sa.insert(sa.begin(), 1);
  if (sb.size() == 1)
    sb.push_back(1);
  int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2), batch;
  cpu::broadcastShapes({&ba, &bb}, batch);
  size_t numOwn = 2;
  if (epi)
    numOwn = size_t(c.i64("epilogue_first", 2));
  TensorView prod = productView(c, env, epi, a.dtype);
  int64_t nb = cpu::numElements(batch);
  if (nb == 0 || M == 0 || N == 0)
    return Status::success();
  if (K == 0) {
    MP_RT_TRY(checkCuda(c, cudaMemsetAsync(prod.data, 0, prod.bytes(), env.stream),
                        "memset"));
  } else {
    int64_t na = cpu::numElements(ba), nbb = cpu::numElements(bb);
    // A transposed operand (transA/transB) is the column-major matrix
    // as stored, so cuBLASLt transposes it: B^T of [N, K] rows has ld K,
    // A^T of [K, M] rows ld M.
    LtProblem p{a.dtype, tB, tA, N, M, K, b.data, tB ? K : N, K * N,
                a.data, tA ? M : K, M * K, prod.data, N, M * N, nb, 1.0, 0.0};
    // One strided-batched call when each operand's batch is the whole
    // broadcast batch (same dims, leading 1s aside) or a single matrix.
    auto strip = [](Shape s) {
      while (!s.empty() && s.front() == 1)
        s.erase(s.begin());
      return s;
    };
    Shape full = strip(batch);
    bool regular = (na == 1 || strip(ba) == full) &&
                   (nbb == 1 || strip(bb) == full);
    if (regular && nbb == 1 && na == nb && !tA) {
      // A batch of A against one B is one GEMM with the batch folded into
      // M (rows of A and of the result are contiguous across the batch).
      p.n = nb * M;
      p.batch = 1;
      p.strideA = p.strideB = p.strideD = 0;
      MP_RT_TRY(runLt(c, env, p));
    } else if (regular) {
      p.strideB = na == 1 ? 0 : M * K;
      p.strideA = nbb == 1 ? 0 : K * N;
      MP_RT_TRY(runLt(c, env, p));
    } else {
      std::vector<int64_t> sta = cpu::broadcastStrides(ba, batch),
                           stb = cpu::broadcastStrides(bb, batch);
      std::vector<int64_t> idx(batch.size(), 0);
      size_t es = elemSize(a.dtype);
      for (int64_t bi = 0; bi < nb; ++bi) {
        int64_t oa = 0, ob = 0;
        for (size_t d = 0; d < batch.size(); ++d) {
          oa += idx[d] * sta[d];
          ob += idx[d] * stb[d];
        }
        LtProblem q = p;
        q.batch = 1;
        q.B = a.data + size_t(oa * M * K) * es;
        q.A = b.data + size_t(ob * K * N) * es;
        q.D = prod.data + size_t(bi * M * N) * es;
        MP_RT_TRY(runLt(c, env, q));
        for (int64_t d = int64_t(batch.size()) - 1; d >= 0; --d) {
          if (++idx[size_t(d)] < batch[size_t(d)])
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

Status gemmKernel(KernelContext &c, Env &env) {
  bool epi = cpu::ElementwiseChain::present(c, "epilogue_");
  double alpha = float(c.f64("alpha", 1.0)), beta = float(c.f64("beta", 1.0));
  bool tA = c.i64("transA", 0) != 0, tB = c.i64("transB", 0) != 0;
  c.acc(c.in(0).dtype);
  if (c.str("acc", "f32") != "f32" && c.in(0).dtype != DType::F64)
    return c.unsupported("cuda accumulates in f32");
  TensorView &a = c.in(0), &b = c.in(1);
  size_t numOwn = std::min<size_t>(c.numOperands(), 3);
  if (epi)
    numOwn = size_t(std::max<int64_t>(0, c.i64("epilogue_first", 3)));
  TensorView *cc = numOwn > 2 ? c.opt(2) : nullptr;
  int64_t M = tA ? a.shape[1] : a.shape[0], K = tA ? a.shape[0] : a.shape[1];
  int64_t N = tB ? b.shape[0] : b.shape[1];
  TensorView prod = productView(c, env, epi, a.dtype);
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
    LtProblem p{a.dtype, tB, tA, N, M, K, b.data, tB ? K : N, 0,
                a.data, tA ? M : K, 0, prod.data, N, 0, 1, alpha, be, bias};
    Status st = runLt(c, env, p);
    if (!st.ok() && bias) {
      // No bias-epilogue algorithm for this problem: C the general way.
      MP_RT_TRY(broadcastCopy(c, env, *cc, prod));
      p.bias = nullptr;
      p.beta = beta;
      st = runLt(c, env, p);
    }
    MP_RT_TRY(st);
  }
  if (epi)
    return finishEpilogue(c, env, numOwn, prod);
  return Status::success();
}

size_t contractionScratch(KernelContext &c) {
  if (!cpu::ElementwiseChain::present(c, "epilogue_"))
    return 0;
  return size_t(c.out(0).numel()) * dtypeSize(c.in(0).dtype);
}

} // namespace

void registerContractionKernels(Registry &r) {
  r["matmul"] = {matmulKernel, false, contractionScratch};
  r["gemm"] = {gemmKernel, false, contractionScratch};
}

} // namespace mp::rt::cuda
