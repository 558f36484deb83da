//===- gemm_probe.cu - cuBLASLt algorithms for the shapes of a program ----===//
//
// Times cuBLASLt on the three products of a language-model head (logits =
// H W, dH = dL W^T, dW = H^T dL for H [tokens, dim], W [dim, vocab]) the
// way the runtime issues them (row-major, so column-major m = vocab), in
// f16 with f32 accumulation:
//   - as stored: leading dimension = vocab (odd for GPT-2's 50257);
//   - padded ld: the same sizes, leading dimension rounded up to 8;
//   - padded vocab: sizes and leading dimension rounded up to 8;
// and for each the heuristic's first algorithm and the fastest of its top
// --algos. Tells whether an odd vocabulary costs through alignment, through
// the heuristic's choice, or both. Build and run on a GPU machine:
//
//   nvcc -O2 -arch=sm_90 bench/gemm_probe.cu -lcublasLt -o gemm_probe
//   ./gemm_probe [--tokens 8192] [--dim 768] [--vocab 50257] [--algos 32]
//
//===----------------------------------------------------------------------===//
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CK(x)                                                                  \
  do {                                                                         \
    auto e_ = (x);                                                             \
    if (e_ != 0) {                                                             \
      std::fprintf(stderr, "%s:%d: %s failed (%d)\n", __FILE__, __LINE__, #x, \
                   int(e_));                                                   \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

namespace {

cublasLtHandle_t lt;
void *workspace;
const size_t kWorkspace = size_t(32) << 20;

struct Problem {
  const char *name;
  bool ta, tb;
  int64_t m, n, k, lda, ldb, ldd;
};

__global__ void fill(__half *p, size_t n, unsigned seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    unsigned h = unsigned(i) * 2654435761u ^ seed;
    p[i] = __float2half(float(h % 2001) / 1000.0f - 1.0f);
  }
}

/// Median ms of `reps` runs of one algorithm, or -1 if it fails.
float timeAlgo(cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a,
               cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t d,
               const cublasLtMatmulAlgo_t *algo, const void *A, const void *B,
               void *D, int reps) {
  float one = 1, zero = 0;
  cudaEvent_t s, e;
  CK(cudaEventCreate(&s));
  CK(cudaEventCreate(&e));
  std::vector<float> ms;
  for (int r = 0; r < reps + 1; ++r) {
    CK(cudaEventRecord(s));
    cublasStatus_t st = cublasLtMatmul(lt, op, &one, A, a, B, b, &zero, D, d,
                                       D, d, algo, workspace, kWorkspace, 0);
    CK(cudaEventRecord(e));
    CK(cudaEventSynchronize(e));
    if (st != CUBLAS_STATUS_SUCCESS)
      return -1;
    float t;
    CK(cudaEventElapsedTime(&t, s, e));
    if (r > 0) // the first is a warm-up
      ms.push_back(t);
  }
  cudaEventDestroy(s);
  cudaEventDestroy(e);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void probe(const Problem &p, int algos, const void *A, const void *B,
           void *D) {
  cublasLtMatmulDesc_t op;
  CK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t ta = p.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t tb = p.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta,
                                    sizeof(ta)));
  CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb,
                                    sizeof(tb)));
  cublasLtMatrixLayout_t a, b, d;
  CK(cublasLtMatrixLayoutCreate(&a, CUDA_R_16F, p.ta ? p.k : p.m,
                                p.ta ? p.m : p.k, p.lda));
  CK(cublasLtMatrixLayoutCreate(&b, CUDA_R_16F, p.tb ? p.n : p.k,
                                p.tb ? p.k : p.n, p.ldb));
  CK(cublasLtMatrixLayoutCreate(&d, CUDA_R_16F, p.m, p.n, p.ldd));
  cublasLtMatmulPreference_t pref;
  CK(cublasLtMatmulPreferenceCreate(&pref));
  size_t ws = kWorkspace;
  CK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  std::vector<cublasLtMatmulHeuristicResult_t> res(static_cast<size_t>(algos));
  int found = 0;
  CK(cublasLtMatmulAlgoGetHeuristic(lt, op, a, b, d, d, pref, algos,
                                    res.data(), &found));
  double flop = 2.0 * double(p.m) * double(p.n) * double(p.k);
  float first = -1, best = -1;
  int bestAt = -1;
  for (int i = 0; i < found; ++i) {
    float t = timeAlgo(op, a, b, d, &res[size_t(i)].algo, A, B, D, 5);
    if (i == 0)
      first = t;
    if (t > 0 && (best < 0 || t < best)) {
      best = t;
      bestAt = i;
    }
  }
  std::printf("%-26s m=%-6lld n=%-6lld k=%-6lld ld=%lld/%lld/%lld  algos %2d  "
              "first %7.3f ms (%5.0f TFLOP/s)  best #%-2d %7.3f ms (%5.0f "
              "TFLOP/s)\n",
              p.name, (long long)p.m, (long long)p.n, (long long)p.k,
              (long long)p.lda, (long long)p.ldb, (long long)p.ldd, found,
              first, flop / first / 1e9, bestAt, best, flop / best / 1e9);
  std::fflush(stdout);
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(a);
  cublasLtMatrixLayoutDestroy(b);
  cublasLtMatrixLayoutDestroy(d);
  cublasLtMatmulDescDestroy(op);
}

int64_t roundUp8(int64_t v) { return (v + 7) / 8 * 8; }

} // namespace

int main(int argc, char **argv) {
  int64_t tokens = 8192, dim = 768, vocab = 50257;
  int algos = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tokens"))
      tokens = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dim"))
      dim = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--vocab"))
      vocab = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--algos"))
      algos = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--tokens T] [--dim D] [--vocab V] "
                           "[--algos K]\n", argv[0]);
      return 2;
    }
  }
  CK(cublasLtCreate(&lt));
  CK(cudaMalloc(&workspace, kWorkspace));
  int64_t vp = roundUp8(vocab);
  // Buffers big enough for the padded variants: H [tokens, dim],
  // W [dim, vp], L [tokens, vp] (logits or their gradient), dW [dim, vp].
  __half *H, *W, *L, *O;
  size_t nH = size_t(tokens * dim), nW = size_t(dim * vp),
         nL = size_t(tokens * vp);
  CK(cudaMalloc(&H, nH * 2));
  CK(cudaMalloc(&W, nW * 2));
  CK(cudaMalloc(&L, nL * 2));
  CK(cudaMalloc(&O, std::max(nL, nW) * 2));
  fill<<<1024, 256>>>(H, nH, 1);
  fill<<<1024, 256>>>(W, nW, 2);
  fill<<<1024, 256>>>(L, nL, 3);
  CK(cudaDeviceSynchronize());
  const char *labels[3] = {"as stored", "padded ld", "padded vocab"};
  for (int v = 0; v < 3; ++v) {
    int64_t V = v == 2 ? vp : vocab, ld = v == 0 ? vocab : vp;
    std::printf("-- %s (vocab %lld, leading dimension %lld)\n", labels[v],
                (long long)V, (long long)ld);
    char n0[64], n1[64], n2[64];
    std::snprintf(n0, sizeof(n0), "logits = H W");
    std::snprintf(n1, sizeof(n1), "dH = dL W^T");
    std::snprintf(n2, sizeof(n2), "dW = H^T dL");
    // Column-major: logits^T [V, tokens] = W^T-as-stored [V, dim] . H^T.
    probe({n0, false, false, V, tokens, dim, ld, dim, ld}, algos, W, H, O);
    // dH^T [dim, tokens] = (W stored as col-major [V, dim])^T . dL^T.
    probe({n1, true, false, dim, tokens, V, ld, ld, dim}, algos, W, L, O);
    // dW^T [V, dim] = dL^T [V, tokens] . (H stored col-major [dim, tokens])^T.
    probe({n2, false, true, V, dim, tokens, ld, dim, ld}, algos, L, H, O);
  }
  // The reference rate: a square product of the same order of work.
  std::printf("-- reference\n");
  probe({"square 8192^3", false, false, 8192, 8192, 8192, 8192, 8192, 8192},
        algos, L, L, O);
  return 0;
}
