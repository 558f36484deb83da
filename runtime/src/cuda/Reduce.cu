//===- Reduce.cu - reduce_sum, reduce_mean, reduce_max on CUDA ------------===//
//
// Reductions over any set of axes, with the attributes and results of the
// CPU reference (cpu/Norm.cpp): f32 / f16 / bf16 accumulate in float, f64
// in double, integers in (wrapping) int64; reduce_max propagates NaN; the
// result is rounded once into its dtype. The input's dims are collapsed
// (size-1 dims dropped, neighbours that are both kept or both reduced
// merged), which leaves two shapes of work. When the innermost dim is
// reduced (a row reduction, e.g. [N, C] -> [N]) a warp, or a block for long
// rows, reduces each output's elements with 16-byte loads. When the innermost
// dim is kept and wide (a column reduction, e.g. the bias gradient
// [8192, 4096] -> [4096]) 32x8-thread blocks read rows of 32 16-byte
// words, coalesced along the kept dim, and reduce their 8 row-threads in
// shared memory. Either way, when there are too few outputs to fill the GPU,
// the reduced range is split across blocks that write partial results to the
// instruction's scratch memory (KernelInfo::scratch), and a second kernel
// combines the partials in a fixed order, so results are deterministic.
// Summation order differs from the CPU's sequential one (results agree to
// rounding).
//
//===----------------------------------------------------------------------===//
#include "Device.cuh"

#include <algorithm>
#include <limits>

namespace mp::rt::cuda {
namespace {

//===----------------------------------------------------------------------===//
// Geometry
//===----------------------------------------------------------------------===//

/// Row-major dims with input strides.
struct Dims {
  int rank = 0;
  int64_t size[kMaxRank];
  int64_t stride[kMaxRank];
};

__device__ __forceinline__ int64_t offsetOf(const Dims &d, int64_t i) {
  int64_t off = 0;
  for (int k = d.rank - 1; k > 0; --k) {
    int64_t q = i / d.size[k];
    off += (i - q * d.size[k]) * d.stride[k];
    i = q;
  }
  return d.rank > 0 ? off + i * d.stride[0] : off;
}

/// What one reduction does. Outputs are (o, j): o over `kept` (all kept
/// dims but a trailing column dim), j over the column dim of size C (1 for
/// row reductions); each reduces R elements addressed through `red`,
/// split into `splits` chunks of `chunk`.
struct RedParams {
  Dims kept, red;
  int64_t nOut = 1, C = 1, R = 1, splits = 1, chunk = 1;
  int64_t count = 0; ///< elements per output, for the mean
  int mean = 0;
};

struct Plan {
  bool column = false;
  bool simple = false; ///< red is one dim of stride 1 (row) or C (column)
  RedParams p;
};

enum class Kind { Sum, Mean, Max };

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Reads the attributes as the CPU kernel does and gives the reduced dims.
Status parse(KernelContext &c, Kind &kind, std::vector<bool> &red) {
  bool hasAxes = c.has("axes");
  Shape axes = c.ints("axes");
  c.i64("keepdims", 1);
  bool noop = c.i64("noop_with_empty_axes", 0) != 0;
  const TensorView &x = c.in(0);
  if (c.acc(x.dtype) != cpu::Acc::Native)
    return c.unsupported("cuda accumulates in f32");
  const std::string &k = c.ins.kernel;
  kind = k == "reduce_max"    ? Kind::Max
         : k == "reduce_mean" ? Kind::Mean
                              : Kind::Sum;
  red.assign(x.shape.size(), false);
  if (!hasAxes || axes.empty()) {
    if (!noop)
      red.assign(x.shape.size(), true);
  } else {
    for (int64_t a : axes)
      if (cpu::normAxis(a, x.rank()))
        red[size_t(a)] = true;
  }
  return Status::success();
}

/// Collapses the dims, picks row or column work and the split. False when
/// more than kMaxRank dims remain.
bool makePlan(const Shape &xs, const std::vector<bool> &red, Plan &pl) {
  Shape sz;
  std::vector<bool> rf;
  for (size_t d = 0; d < xs.size(); ++d) {
    if (xs[d] == 1)
      continue;
    if (!sz.empty() && rf.back() == red[d]) {
      sz.back() *= xs[d];
      continue;
    }
    sz.push_back(xs[d]);
    rf.push_back(red[d]);
  }
  if (sz.size() > size_t(kMaxRank))
    return false;
  std::vector<int64_t> st = cpu::stridesOf(sz);
  size_t nd = sz.size();
  RedParams &p = pl.p;
  p = RedParams();
  pl.column = nd > 0 && !rf.back() && sz.back() >= 32;
  p.C = pl.column ? sz.back() : 1;
  size_t keptEnd = pl.column ? nd - 1 : nd;
  for (size_t d = 0; d < nd; ++d) {
    Dims &t = rf[d] ? p.red : p.kept;
    if (!rf[d] && d >= keptEnd)
      continue;
    t.size[t.rank] = sz[d];
    t.stride[t.rank] = st[d];
    ++t.rank;
    (rf[d] ? p.R : p.nOut) *= sz[d];
  }
  pl.simple = p.red.rank == 0 ||
              (p.red.rank == 1 && p.red.stride[0] == (pl.column ? p.C : 1));
  // Split the reduced range when the outputs alone give too few blocks.
  p.splits = 1;
  if (pl.column) {
    int64_t blocks = ceilDiv(p.C, 128) * p.nOut;
    if (blocks < 2048 && p.R > 128)
      p.splits = std::min(ceilDiv(2048, blocks), ceilDiv(p.R, 64));
    if (p.splits > 1) {
      p.chunk = ceilDiv(ceilDiv(p.R, p.splits), 8) * 8;
      p.splits = ceilDiv(p.R, p.chunk);
    }
  } else {
    if (p.R > 16384 && p.nOut < 1024)
      p.splits = std::min(ceilDiv(p.R, 8192), ceilDiv(2048, p.nOut));
    if (p.splits > 1) {
      p.chunk = ceilDiv(ceilDiv(p.R, p.splits), 256) * 256;
      p.splits = ceilDiv(p.R, p.chunk);
    }
  }
  if (p.splits <= 1) {
    p.splits = 1;
    p.chunk = p.R;
  }
  return true;
}

size_t accBytes(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 ? 4 : 8;
}

size_t partialBytes(const Plan &pl, DType t) {
  const RedParams &p = pl.p;
  return p.splits > 1 ? size_t(p.splits * p.nOut * p.C) * accBytes(t) : 0;
}

size_t reduceScratch(KernelContext &c) {
  Kind kind;
  std::vector<bool> red;
  Plan pl;
  if (!parse(c, kind, red).ok() || c.out(0).numel() == 0 ||
      !makePlan(c.in(0).shape, red, pl))
    return 0;
  return partialBytes(pl, c.in(0).dtype);
}

//===----------------------------------------------------------------------===//
// Sources and operations
//===----------------------------------------------------------------------===//

__device__ __forceinline__ float toF(float v) { return v; }
__device__ __forceinline__ float toF(__half v) { return __half2float(v); }
__device__ __forceinline__ float toF(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

/// f32 / f16 / bf16 data, read as float; vec<V> reads 16 bytes.
template <typename T> struct Typed {
  using A = float;
  static constexpr int kVec = 16 / int(sizeof(T));
  const T *p;
  __device__ __forceinline__ float at(int64_t i) const { return toF(p[i]); }
  template <int V>
  __device__ __forceinline__ void vec(int64_t i, float (&o)[V]) const {
    static_assert(V * sizeof(T) == 16, "16-byte loads");
    uint4 w = *reinterpret_cast<const uint4 *>(p + i);
    const T *e = reinterpret_cast<const T *>(&w);
#pragma unroll
    for (int v = 0; v < V; ++v)
      o[v] = toF(e[v]);
  }
};

/// Any dtype read as A (double for f64, int64 for integers); no vectors.
template <typename Acc> struct Dyn {
  using A = Acc;
  static constexpr int kVec = 1;
  const void *p;
  DType t;
  __device__ __forceinline__ A at(int64_t i) const { return ldAs<A>(p, t, i); }
  template <int V>
  __device__ __forceinline__ void vec(int64_t i, A (&o)[V]) const {
#pragma unroll
    for (int v = 0; v < V; ++v)
      o[v] = at(i + v);
  }
};

template <typename A> struct SumOp {
  static __device__ __forceinline__ A id() { return A(0); }
  static __device__ __forceinline__ A comb(A a, A b) { return a + b; }
};
template <> struct SumOp<int64_t> {
  static __device__ __forceinline__ int64_t id() { return 0; }
  static __device__ __forceinline__ int64_t comb(int64_t a, int64_t b) {
    return int64_t(uint64_t(a) + uint64_t(b));
  }
};

/// max with NaN propagation: once NaN, NaN (the CPU's rule).
template <typename A> struct MaxOp {
  static __device__ __forceinline__ A id() {
    return -std::numeric_limits<A>::infinity();
  }
  static __device__ __forceinline__ A comb(A a, A b) {
    return a != a ? a : (b != b || b > a) ? b : a;
  }
};
template <> struct MaxOp<int64_t> {
  static __device__ __forceinline__ int64_t id() {
    return std::numeric_limits<int64_t>::lowest();
  }
  static __device__ __forceinline__ int64_t comb(int64_t a, int64_t b) {
    return b > a ? b : a;
  }
};

template <typename Op, typename A>
__device__ __forceinline__ A warpReduce(A v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = Op::comb(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// Every thread of the block gets the result; `sh` holds 32 values.
template <typename Op, typename A> __device__ A blockReduce(A v, A *sh) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warpReduce<Op>(v);
  __syncthreads(); // sh may still be read from the previous item
  if (lane == 0)
    sh[warp] = v;
  __syncthreads();
  int nw = int(blockDim.x >> 5);
  v = lane < nw ? sh[lane] : Op::id();
  return warpReduce<Op>(v);
}

template <typename A>
__device__ __forceinline__ void storeOut(void *y, DType t, int64_t i, A a,
                                         const RedParams &p) {
  if (p.mean)
    a = a / A(p.count);
  stAs<A>(y, t, i, a);
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

/// Row reduction: a group (a warp, or the whole 256-thread block with
/// Block) per (output, split) item.
template <typename Src, typename Op, int V, bool Simple, bool Block>
__global__ void __launch_bounds__(256)
    rowReduceK(Src src, typename Src::A *partial, void *y, DType yt,
               RedParams p) {
  using A = typename Src::A;
  constexpr int G = Block ? 256 : 32;
  __shared__ A sh[32];
  const int lane = int(threadIdx.x) % G;
  const int64_t groups = blockDim.x / G;
  const int64_t items = p.nOut * p.splits;
  for (int64_t it = int64_t(blockIdx.x) * groups + threadIdx.x / G; it < items;
       it += int64_t(gridDim.x) * groups) {
    int64_t s = it / p.nOut, o = it - s * p.nOut;
    int64_t base = offsetOf(p.kept, o);
    int64_t q0 = s * p.chunk, q1 = min(p.R, q0 + p.chunk);
    A acc = Op::id();
    if constexpr (Simple && V > 1) {
#pragma unroll 4
      for (int64_t q = q0 + int64_t(lane) * V; q < q1; q += int64_t(G) * V) {
        A v[V];
        src.template vec<V>(base + q, v);
#pragma unroll
        for (int e = 0; e < V; ++e)
          acc = Op::comb(acc, v[e]);
      }
    } else if constexpr (Simple) {
#pragma unroll 4
      for (int64_t q = q0 + lane; q < q1; q += G)
        acc = Op::comb(acc, src.at(base + q));
    } else {
      for (int64_t q = q0 + lane; q < q1; q += G)
        acc = Op::comb(acc, src.at(base + offsetOf(p.red, q)));
    }
    if constexpr (Block)
      acc = blockReduce<Op>(acc, sh);
    else
      acc = warpReduce<Op>(acc);
    if (lane == 0) {
      if (p.splits == 1)
        storeOut(y, yt, o, acc, p);
      else
        partial[it] = acc;
    }
  }
}

/// Column reduction: 32x8 threads; blockIdx.x picks 32V columns,
/// blockIdx.y the outer output, blockIdx.z the split. Each thread reduces
/// every 8th row of the split over V adjacent columns.
template <typename Src, typename Op, int V, bool Simple>
__global__ void __launch_bounds__(256)
    colReduceK(Src src, typename Src::A *partial, void *y, DType yt,
               RedParams p) {
  using A = typename Src::A;
  __shared__ A sh[8][V][32];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t j = (int64_t(blockIdx.x) * 32 + tx) * V;
  const int64_t s = blockIdx.z;
  const int64_t r0 = s * p.chunk, r1 = min(p.R, r0 + p.chunk);
  const int64_t M = p.nOut * p.C;
  for (int64_t o = blockIdx.y; o < p.nOut; o += gridDim.y) {
    int64_t base = offsetOf(p.kept, o) + j;
    A acc[V];
#pragma unroll
    for (int v = 0; v < V; ++v)
      acc[v] = Op::id();
    if (j < p.C) {
#pragma unroll 4
      for (int64_t r = r0 + ty; r < r1; r += 8) {
        int64_t off = base + (Simple ? r * p.C : offsetOf(p.red, r));
        if constexpr (V > 1) {
          A v[V];
          src.template vec<V>(off, v);
#pragma unroll
          for (int e = 0; e < V; ++e)
            acc[e] = Op::comb(acc[e], v[e]);
        } else {
          acc[0] = Op::comb(acc[0], src.at(off));
        }
      }
    }
#pragma unroll
    for (int v = 0; v < V; ++v)
      sh[ty][v][tx] = acc[v];
    __syncthreads();
    if (ty == 0 && j < p.C) {
#pragma unroll
      for (int v = 0; v < V; ++v) {
        A a = sh[0][v][tx];
        for (int t = 1; t < 8; ++t)
          a = Op::comb(a, sh[t][v][tx]);
        int64_t oi = o * p.C + j + v;
        if (p.splits == 1)
          storeOut(y, yt, oi, a, p);
        else
          partial[s * M + oi] = a;
      }
    }
    __syncthreads();
  }
}

/// Combines the splits' partials ([split][output]) in a fixed order: 32x8
/// threads, threadIdx.x over outputs, threadIdx.y over every 8th split.
template <typename Op, typename A>
__global__ void __launch_bounds__(256)
    finalizeK(const A *__restrict__ partial, void *y, DType yt, RedParams p) {
  __shared__ A sh[8][32];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t M = p.nOut * p.C;
  for (int64_t i0 = int64_t(blockIdx.x) * 32; i0 < M;
       i0 += int64_t(gridDim.x) * 32) {
    int64_t i = i0 + tx;
    A a = Op::id();
    if (i < M) {
#pragma unroll 4
      for (int64_t s = ty; s < p.splits; s += 8)
        a = Op::comb(a, partial[s * M + i]);
    }
    sh[ty][tx] = a;
    __syncthreads();
    if (ty == 0 && i < M) {
      for (int t = 1; t < 8; ++t)
        a = Op::comb(a, sh[t][tx]);
      storeOut(y, yt, i, a, p);
    }
    __syncthreads();
  }
}

/// The same for few outputs with many splits: a block per output.
template <typename Op, typename A>
__global__ void __launch_bounds__(256)
    finalizeWideK(const A *__restrict__ partial, void *y, DType yt,
                  RedParams p) {
  __shared__ A sh[32];
  const int64_t M = p.nOut * p.C;
  for (int64_t i = blockIdx.x; i < M; i += gridDim.x) {
    A a = Op::id();
#pragma unroll 4
    for (int64_t s = threadIdx.x; s < p.splits; s += blockDim.x)
      a = Op::comb(a, partial[s * M + i]);
    a = blockReduce<Op>(a, sh);
    if (threadIdx.x == 0)
      storeOut(y, yt, i, a, p);
  }
}

template <typename Src, typename Op, int V, bool Simple>
Status launch(KernelContext &c, Env &env, const Plan &pl, Src src,
              typename Src::A *partial, TensorView &y) {
  const RedParams &p = pl.p;
  if (pl.column) {
    dim3 grid(unsigned(ceilDiv(p.C, 32 * V)),
              unsigned(std::min<int64_t>(p.nOut, 65535)), unsigned(p.splits));
    colReduceK<Src, Op, V, Simple><<<grid, dim3(32, 8), 0, env.stream>>>(
        src, partial, y.data, y.dtype, p);
  } else {
    int64_t items = p.nOut * p.splits;
    int64_t work = p.splits > 1 ? p.chunk : p.R;
    if (work >= 1024) {
      unsigned blocks = unsigned(std::min<int64_t>(items, int64_t(1) << 30));
      rowReduceK<Src, Op, V, Simple, true>
          <<<blocks, 256, 0, env.stream>>>(src, partial, y.data, y.dtype, p);
    } else {
      unsigned blocks =
          unsigned(std::min<int64_t>(ceilDiv(items, 8), int64_t(1) << 30));
      rowReduceK<Src, Op, V, Simple, false>
          <<<blocks, 256, 0, env.stream>>>(src, partial, y.data, y.dtype, p);
    }
  }
  MP_RT_TRY(checkLaunch(c, "reduce"));
  if (p.splits > 1) {
    int64_t m = p.nOut * p.C;
    if (m < 64 && p.splits >= 64)
      finalizeWideK<Op, typename Src::A>
          <<<unsigned(m), 256, 0, env.stream>>>(partial, y.data, y.dtype, p);
    else
      finalizeK<Op, typename Src::A>
          <<<unsigned(std::min<int64_t>(ceilDiv(m, 32), int64_t(1) << 30)),
             dim3(32, 8), 0, env.stream>>>(partial, y.data, y.dtype, p);
    MP_RT_TRY(checkLaunch(c, "reduce (combine)"));
  }
  return Status::success();
}

/// Picks the kernel variant: 16-byte loads when the reduced run (row) or the
/// columns (column) allow them.
template <typename Src, typename Op>
Status run(KernelContext &c, Env &env, const Plan &pl, Src src,
           typename Src::A *partial, TensorView &x, TensorView &y) {
  constexpr int V = Src::kVec;
  const RedParams &p = pl.p;
  if (!pl.simple)
    return launch<Src, Op, 1, false>(c, env, pl, src, partial, y);
  if constexpr (V > 1) {
    bool aligned = reinterpret_cast<uintptr_t>(x.data) % 16 == 0;
    bool fits = pl.column ? p.C % V == 0
                          : p.R % V == 0 && (p.splits == 1 || p.chunk % V == 0);
    if (aligned && fits)
      return launch<Src, Op, V, true>(c, env, pl, src, partial, y);
  }
  return launch<Src, Op, 1, true>(c, env, pl, src, partial, y);
}

template <typename Src>
Status runKind(KernelContext &c, Env &env, Kind kind, const Plan &pl, Src src,
               TensorView &x, TensorView &y) {
  using A = typename Src::A;
  A *partial = static_cast<A *>(env.scratch);
  if (kind == Kind::Max)
    return run<Src, MaxOp<A>>(c, env, pl, src, partial, x, y);
  return run<Src, SumOp<A>>(c, env, pl, src, partial, x, y);
}

Status reduceKernel(KernelContext &c, Env &env) {
  Kind kind;
  std::vector<bool> red;
  MP_RT_TRY(parse(c, kind, red));
  TensorView &x = c.in(0), &y = c.out(0);
  int64_t nOut = y.numel(), nIn = x.numel();
  if (nOut == 0)
    return Status::success();
  Plan pl;
  if (!makePlan(x.shape, red, pl))
    return c.unsupported("more than 8 dims after merging");
  RedParams &p = pl.p;
  p.mean = kind == Kind::Mean;
  p.count = nIn / nOut;
  if (p.splits > 1 &&
      (!env.scratch || env.scratchBytes < partialBytes(pl, x.dtype))) {
    p.splits = 1; // no scratch: one pass
    p.chunk = p.R;
  }
  switch (x.dtype) {
  case DType::F32:
    return runKind(c, env, kind, pl, Typed<float>{x.as<float>()}, x, y);
  case DType::F16:
    return runKind(c, env, kind, pl, Typed<__half>{x.as<__half>()}, x, y);
  case DType::BF16:
    return runKind(c, env, kind, pl,
                   Typed<__nv_bfloat16>{x.as<__nv_bfloat16>()}, x, y);
  case DType::F64:
    return runKind(c, env, kind, pl, Dyn<double>{x.data, x.dtype}, x, y);
  default:
    return runKind(c, env, kind, pl, Dyn<int64_t>{x.data, x.dtype}, x, y);
  }
}

} // namespace

void registerReduceKernels(Registry &r) {
  r["reduce_sum"] = {reduceKernel, false, reduceScratch};
  r["reduce_mean"] = {reduceKernel, false, reduceScratch};
  r["reduce_max"] = {reduceKernel, false, reduceScratch};
}

} // namespace mp::rt::cuda
