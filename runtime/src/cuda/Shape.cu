//===- Shape.cu - data movement and shape kernels on CUDA -----------------===//
//
// The CUDA versions of the kernels of cpu/Shape.cpp (and slice_grad): views
// (reshape, flatten, squeeze, unsqueeze) are one device copy; transpose,
// slice, expand and slice_grad go through one strided copy (dims of size 1
// dropped, dims contiguous in the source merged, and the innermost run moved
// as 2..16-byte words when sizes and addresses allow). A transpose that moves
// the innermost dim uses a shared-memory tile (32x32 elements, or 64x64 /
// 128x128 for 2- / 1-byte elements moved as 4-byte words) so that both the
// reads and the writes are coalesced. concat and split are pitched 2-D
// copies; gather copies one row per index; the scatters apply their
// reduction with atomics into the result (f32, f64, i64) or into a
// f32 / f64 / i64 scratch copy that is rounded into the result once, as the
// CPU does. Indices out of range raise kDevIndexOutOfRange; shape operands
// that are not constants are checked on the device (kDevBadValue), since
// the CPU reference checks them at run time. shape, size, range and
// constant_of_shape write their values with small kernels (no host-to-device
// copies, so everything stays capturable in a CUDA graph).
//
//===----------------------------------------------------------------------===//
#include "Device.cuh"

#include "../cpu/Window.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace mp::rt::cuda {
namespace {

using cpu::numElements;
using cpu::shapeStr;
using cpu::stridesOf;

//===----------------------------------------------------------------------===//
// Words, strided offsets
//===----------------------------------------------------------------------===//

/// An unsigned word of B bytes (what data movement kernels copy).
template <int B> struct Word;
template <> struct Word<1> { using T = uint8_t; };
template <> struct Word<2> { using T = uint16_t; };
template <> struct Word<4> { using T = uint32_t; };
template <> struct Word<8> { using T = unsigned long long; };
template <> struct Word<16> { using T = uint4; };

/// Calls f(Word<bytes>{}) for bytes in {1, 2, 4, 8, 16}.
template <typename F> Status withWord(size_t bytes, F &&f) {
  switch (bytes) {
  case 1:
    return f(Word<1>{});
  case 2:
    return f(Word<2>{});
  case 4:
    return f(Word<4>{});
  case 8:
    return f(Word<8>{});
  default:
    return f(Word<16>{});
  }
}

/// Calls f(Word<es>{}) for an element size es in {1, 2, 4, 8}.
template <typename F> Status withElem(size_t es, F &&f) {
  switch (es) {
  case 1:
    return f(Word<1>{});
  case 2:
    return f(Word<2>{});
  case 4:
    return f(Word<4>{});
  default:
    return f(Word<8>{});
  }
}

uint64_t addr(const void *p) {
  return uint64_t(reinterpret_cast<uintptr_t>(p));
}

/// The widest word (16, 8, 4 or 2 bytes, else `es`) that divides every value
/// (byte counts, byte offsets, addresses).
size_t widestWord(size_t es, const std::vector<uint64_t> &vals) {
  for (size_t w = 16; w > es; w /= 2) {
    bool ok = true;
    for (uint64_t v : vals)
      ok = ok && v % w == 0;
    if (ok)
      return w;
  }
  return es;
}

/// Row-major dims with arbitrary (possibly zero or negative) strides.
struct Strided {
  int rank = 0;
  int64_t size[kMaxRank];
  int64_t stride[kMaxRank];
};

/// sum_d index_d(i) * stride_d for the row-major decomposition of i.
template <typename I>
__device__ __forceinline__ int64_t offsetOf(const Strided &s, I i) {
  int64_t off = 0;
  for (int d = s.rank - 1; d > 0; --d) {
    I n = I(s.size[d]);
    I q = i / n;
    off += int64_t(i - q * n) * s.stride[d];
    i = q;
  }
  return s.rank > 0 ? off + int64_t(i) * s.stride[0] : off;
}

/// Drops dims of size 1 and merges neighbours that are contiguous in the
/// source (stride[d] == stride[d+1] * size[d+1]).
void collapse(const Shape &shape, const std::vector<int64_t> &stride, Shape &cs,
              std::vector<int64_t> &cst) {
  cs.clear();
  cst.clear();
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    if (!cs.empty() && cst.back() == stride[d] * shape[d]) {
      cs.back() *= shape[d];
      cst.back() = stride[d];
      continue;
    }
    cs.push_back(shape[d]);
    cst.push_back(stride[d]);
  }
}

bool fits32(int64_t n) { return n < (int64_t(1) << 31); }

unsigned blocksFor(int64_t n, int perBlock) {
  int64_t b = (n + perBlock - 1) / perBlock;
  return unsigned(std::max<int64_t>(1, std::min<int64_t>(b, int64_t(1) << 20)));
}

//===----------------------------------------------------------------------===//
// Strided copy: dst[i] = src[base + off(i)] (or the scatter dst[base +
// off(i)] = src[i])
//===----------------------------------------------------------------------===//

template <typename W, typename I, bool Scatter>
__global__ void stridedCopyK(W *__restrict__ dst, const W *__restrict__ src,
                             int64_t base, Strided s, I n) {
  for (I i = I(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += I(blockDim.x) * gridDim.x) {
    int64_t off = base + offsetOf(s, i);
    if (Scatter)
      dst[off] = src[i];
    else
      dst[i] = src[off];
  }
}

/// Copies `shape` elements of es bytes: dst[i] = src[base + sum idx_d *
/// strides_d] (scatter: the other way round). Strides in elements.
Status stridedCopy(KernelContext &c, Env &env, uint8_t *dst, const uint8_t *src,
                   int64_t base, const std::vector<int64_t> &strides,
                   const Shape &shape, size_t es, bool scatter = false) {
  int64_t n = numElements(shape);
  if (n == 0)
    return Status::success();
  Shape cs;
  std::vector<int64_t> cst;
  collapse(shape, strides, cs, cst);
  if (cs.empty() || (cs.size() == 1 && cst[0] == 1))
    return scatter
               ? copyAsync(c, env, dst + size_t(base) * es, src, size_t(n) * es)
               : copyAsync(c, env, dst, src + size_t(base) * es,
                           size_t(n) * es);
  if (cs.size() > size_t(kMaxRank))
    return c.unsupported("more than 8 non-mergeable dims");
  // Move the innermost run in wider words when it is contiguous.
  size_t w = es;
  if (cst.back() == 1) {
    std::vector<uint64_t> vals = {uint64_t(cs.back()) * es, uint64_t(base) * es,
                                  addr(dst), addr(src)};
    for (size_t d = 0; d + 1 < cs.size(); ++d)
      vals.push_back(uint64_t(std::abs(cst[d])) * es);
    w = widestWord(es, vals);
  }
  int64_t k = int64_t(w / es);
  Strided s;
  s.rank = int(cs.size());
  for (size_t d = 0; d < cs.size(); ++d) {
    bool last = d + 1 == cs.size();
    s.size[d] = last ? cs[d] / k : cs[d];
    s.stride[d] = last ? cst[d] : cst[d] / k;
  }
  base /= k;
  n /= k;
  return withWord(w, [&](auto tag) {
    using W = typename decltype(tag)::T;
    auto *d = reinterpret_cast<W *>(dst);
    auto *sp = reinterpret_cast<const W *>(src);
    if (fits32(n)) {
      if (scatter)
        stridedCopyK<W, uint32_t, true>
            <<<gridFor(n), kThreads, 0, env.stream>>>(d, sp, base, s,
                                                      uint32_t(n));
      else
        stridedCopyK<W, uint32_t, false>
            <<<gridFor(n), kThreads, 0, env.stream>>>(d, sp, base, s,
                                                      uint32_t(n));
    } else {
      if (scatter)
        stridedCopyK<W, uint64_t, true>
            <<<gridFor(n), kThreads, 0, env.stream>>>(d, sp, base, s,
                                                      uint64_t(n));
      else
        stridedCopyK<W, uint64_t, false>
            <<<gridFor(n), kThreads, 0, env.stream>>>(d, sp, base, s,
                                                      uint64_t(n));
    }
    return checkLaunch(c, "strided copy");
  });
}

Status copyBytes(KernelContext &c, Env &env) {
  return copyAsync(c, env, c.out(0).data, c.in(0).data, c.in(0).bytes());
}

//===----------------------------------------------------------------------===//
// Run-time checks of shape operands (reshape, expand, constant_of_shape)
//===----------------------------------------------------------------------===//

constexpr int kMaxCheckRank = 16;

enum ShapeCheckKind : int { kCheckReshape, kCheckExpand, kCheckEqual };

struct ShapeCheck {
  int kind = kCheckEqual;
  int xr = 0, yr = 0, n = 0;
  bool allowZero = false;
  int64_t xNumel = 0;
  int64_t xs[kMaxCheckRank];
  int64_t ys[kMaxCheckRank];
};

/// One thread replays the CPU's run-time check of a shape operand's values.
__global__ void shapeCheckK(const int64_t *vals, ShapeCheck g, int *flag,
                            int instr) {
  bool ok = true;
  int64_t t[kMaxCheckRank];
  if (g.kind == kCheckEqual) {
    ok = g.n == g.yr;
    for (int i = 0; ok && i < g.n; ++i)
      ok = vals[i] == g.ys[i];
  } else if (g.kind == kCheckReshape) {
    int infer = -1;
    int64_t prod = 1;
    for (int i = 0; ok && i < g.n; ++i) {
      t[i] = vals[i];
      if (t[i] == 0 && !g.allowZero) {
        if (i >= g.xr) {
          ok = false;
          break;
        }
        t[i] = g.xs[i];
      }
      if (t[i] == -1) {
        ok = infer < 0;
        infer = i;
        continue;
      }
      if (t[i] < 0) {
        ok = false;
        break;
      }
      if (t[i] != 0 && prod > std::numeric_limits<int64_t>::max() / t[i]) {
        ok = false;
        break;
      }
      prod *= t[i];
    }
    if (ok && infer >= 0)
      t[infer] = prod ? g.xNumel / prod : 0;
    ok = ok && g.n == g.yr;
    for (int i = 0; ok && i < g.n; ++i)
      ok = t[i] == g.ys[i];
  } else { // numpy broadcast of x's shape and the values, equal to y's
    int r = g.xr > g.n ? g.xr : g.n;
    ok = r == g.yr;
    for (int i = 0; ok && i < r; ++i)
      t[i] = 1;
    for (int k = 0; ok && k < 2; ++k) {
      int rk = k == 0 ? g.xr : g.n;
      for (int i = 0; ok && i < rk; ++i) {
        int64_t d = k == 0 ? g.xs[i] : vals[i];
        int64_t &o = t[r - rk + i];
        if (d == o || d == 1)
          continue;
        if (o == 1)
          o = d;
        else
          ok = false;
      }
    }
    for (int i = 0; ok && i < r; ++i)
      ok = t[i] == g.ys[i];
  }
  if (!ok)
    deviceFail(flag, instr, kDevBadValue);
}

/// Checks a shape operand at run time unless it is a constant (which the
/// validation at load time already checked).
Status checkShapeOperand(KernelContext &c, Env &env, const TensorView &vals,
                         int kind, const Shape &xs, const Shape &ys,
                         bool allowZero = false) {
  if (vals.role == Role::Constant)
    return Status::success();
  if (xs.size() > size_t(kMaxCheckRank) || ys.size() > size_t(kMaxCheckRank) ||
      vals.numel() > kMaxCheckRank)
    return c.unsupported("shape operands of more than 16 entries");
  ShapeCheck g;
  g.kind = kind;
  g.xr = int(xs.size());
  g.yr = int(ys.size());
  g.n = int(vals.numel());
  g.allowZero = allowZero;
  g.xNumel = numElements(xs);
  for (size_t i = 0; i < xs.size(); ++i)
    g.xs[i] = xs[i];
  for (size_t i = 0; i < ys.size(); ++i)
    g.ys[i] = ys[i];
  shapeCheckK<<<1, 1, 0, env.stream>>>(vals.as<int64_t>(), g, env.errorFlag,
                                       int(c.instructionIndex));
  return checkLaunch(c, "shape check");
}

//===----------------------------------------------------------------------===//
// Fills
//===----------------------------------------------------------------------===//

template <typename W> __global__ void fillK(W *y, W v, int64_t n) {
  MP_GRID_STRIDE(i, n) { y[i] = v; }
}

/// Fills n elements of es bytes with the element `pattern` (es bytes).
Status fillPattern(KernelContext &c, Env &env, void *y, int64_t n, size_t es,
                   const uint8_t *pattern) {
  if (n == 0)
    return Status::success();
  size_t bytes = size_t(n) * es;
  bool same = true;
  for (size_t i = 1; i < es; ++i)
    same = same && pattern[i] == pattern[0];
  if (same)
    return checkCuda(c, cudaMemsetAsync(y, pattern[0], bytes, env.stream),
                     "memset");
  size_t w = widestWord(es, {uint64_t(bytes), addr(y)});
  uint8_t word[16];
  for (size_t i = 0; i < w; ++i)
    word[i] = pattern[i % es];
  int64_t nw = int64_t(bytes / w);
  return withWord(w, [&](auto tag) {
    using W = typename decltype(tag)::T;
    W v;
    std::memcpy(&v, word, sizeof(W));
    fillK<W><<<gridFor(nw, 4), kThreads, 0, env.stream>>>(static_cast<W *>(y),
                                                          v, nw);
    return checkLaunch(c, "fill");
  });
}

/// The bytes of `v` stored as dtype t, as the CPU's storeAs<T> writes them.
template <typename T> void patternOf(T v, DType t, uint8_t (&out)[8]) {
  std::memset(out, 0, sizeof(out));
  cpu::storeAs<T>(&v, t, out, 1);
}

struct SmallList {
  int n = 0;
  int64_t v[16];
};

__global__ void writeListK(int64_t *y, SmallList l) {
  if (int(threadIdx.x) < l.n)
    y[threadIdx.x] = l.v[threadIdx.x];
}

/// Writes host values into a device i64 tensor by kernel parameters.
Status writeI64(KernelContext &c, Env &env, int64_t *y,
                const std::vector<int64_t> &vals) {
  for (size_t at = 0; at < vals.size(); at += 16) {
    SmallList l;
    l.n = int(std::min<size_t>(16, vals.size() - at));
    for (int i = 0; i < l.n; ++i)
      l.v[i] = vals[at + size_t(i)];
    writeListK<<<1, 32, 0, env.stream>>>(y + at, l);
    MP_RT_TRY(checkLaunch(c, "write values"));
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Views: reshape, flatten, squeeze, unsqueeze
//===----------------------------------------------------------------------===//

Status reshapeKernel(KernelContext &c, Env &env) {
  bool allowZero = c.i64("allowzero", 0) != 0;
  MP_RT_TRY(checkShapeOperand(c, env, c.in(1), kCheckReshape, c.in(0).shape,
                              c.out(0).shape, allowZero));
  return copyBytes(c, env);
}

Status flattenKernel(KernelContext &c, Env &env) {
  c.i64("axis", 1);
  return copyBytes(c, env);
}

Status squeezeKernel(KernelContext &c, Env &env) {
  c.has("axes");
  c.ints("axes");
  return copyBytes(c, env);
}

Status unsqueezeKernel(KernelContext &c, Env &env) {
  c.ints("axes");
  return copyBytes(c, env);
}

//===----------------------------------------------------------------------===//
// transpose
//===----------------------------------------------------------------------===//

/// A transpose that moves the innermost dim: `a` is the source's innermost
/// dim (size A), `b` the result's (size B); the other dims are a batch.
struct TileGeom {
  int64_t A, B, inStrideB, outStrideA, tilesA, tilesB, nTiles;
  int rank;
  int64_t size[kMaxRank], inStride[kMaxRank], outStride[kMaxRank];
};

/// One (32V x 32V)-element tile per iteration, 32x8 threads: rows of the
/// tile are read along `a` (V elements = one 4-byte word per thread) and
/// written along `b`. The odd row pitch of the shared tile keeps both
/// phases free of bank conflicts.
template <typename E, int V>
__global__ void __launch_bounds__(256)
    transposeTiledK(E *__restrict__ y, const E *__restrict__ x, TileGeom g) {
  constexpr int T = 32 * V;
  __shared__ E tile[T][T + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t t = blockIdx.x; t < g.nTiles; t += gridDim.x) {
    int64_t ta = t % g.tilesA, rest = t / g.tilesA;
    int64_t tb = rest % g.tilesB, bi = rest / g.tilesB;
    int64_t inOff = 0, outOff = 0;
    for (int d = g.rank - 1; d >= 0; --d) {
      int64_t q = bi / g.size[d], r = bi - q * g.size[d];
      inOff += r * g.inStride[d];
      outOff += r * g.outStride[d];
      bi = q;
    }
    const int64_t a0 = ta * T, b0 = tb * T;
    const int64_t a = a0 + int64_t(tx) * V;
    if (a < g.A)
      for (int r = ty; r < T; r += 8) {
        int64_t b = b0 + r;
        if (b >= g.B)
          break;
        const E *p = x + inOff + b * g.inStrideB + a;
        if constexpr (V == 1) {
          tile[r][tx] = *p;
        } else {
          uint32_t w = *reinterpret_cast<const uint32_t *>(p);
          const E *e = reinterpret_cast<const E *>(&w);
#pragma unroll
          for (int v = 0; v < V; ++v)
            tile[r][tx * V + v] = e[v];
        }
      }
    __syncthreads();
    const int64_t b = b0 + int64_t(tx) * V;
    if (b < g.B)
      for (int r = ty; r < T; r += 8) {
        int64_t aa = a0 + r;
        if (aa >= g.A)
          break;
        E *p = y + outOff + aa * g.outStrideA + b;
        if constexpr (V == 1) {
          *p = tile[tx][r];
        } else {
          uint32_t w;
          E *e = reinterpret_cast<E *>(&w);
#pragma unroll
          for (int v = 0; v < V; ++v)
            e[v] = tile[tx * V + v][r];
          *reinterpret_cast<uint32_t *>(p) = w;
        }
      }
    __syncthreads();
  }
}

template <typename E, int V>
Status launchTiled(KernelContext &c, Env &env, void *y, const void *x,
                   TileGeom g) {
  constexpr int T = 32 * V;
  g.tilesA = (g.A + T - 1) / T;
  g.tilesB = (g.B + T - 1) / T;
  int64_t batch = 1;
  for (int d = 0; d < g.rank; ++d)
    batch *= g.size[d];
  g.nTiles = g.tilesA * g.tilesB * batch;
  unsigned blocks = unsigned(std::min<int64_t>(g.nTiles, int64_t(1) << 30));
  transposeTiledK<E, V><<<blocks, dim3(32, 8), 0, env.stream>>>(
      static_cast<E *>(y), static_cast<const E *>(x), g);
  return checkLaunch(c, "transpose");
}

Status transposeKernel(KernelContext &c, Env &env) {
  bool hasPerm = c.has("perm");
  Shape perm = c.ints("perm");
  TensorView &x = c.in(0), &y = c.out(0);
  size_t r = x.shape.size();
  if (!hasPerm)
    for (size_t d = 0; d < r; ++d)
      perm.push_back(int64_t(r - 1 - d));
  for (int64_t &p : perm)
    cpu::normAxis(p, int64_t(r));
  size_t es = dtypeSize(x.dtype);
  if (y.numel() == 0)
    return Status::success();
  // Output dims with their source strides, collapsed.
  std::vector<int64_t> st = stridesOf(x.shape), ost(r);
  for (size_t d = 0; d < r; ++d)
    ost[d] = st[size_t(perm[d])];
  Shape cs;
  std::vector<int64_t> cst;
  collapse(y.shape, ost, cs, cst);
  if (cs.size() <= 1 || cst.back() == 1 || cs.size() > size_t(kMaxRank))
    return stridedCopy(c, env, y.data, x.data, 0, ost, y.shape, es);
  size_t ia = 0;
  while (cst[ia] != 1)
    ++ia;
  size_t ib = cs.size() - 1;
  int64_t A = cs[ia], B = cs[ib];
  // Thin transposes waste most of a tile: gather per element instead.
  if (A < 8 || B < 8)
    return stridedCopy(c, env, y.data, x.data, 0, ost, y.shape, es);
  std::vector<int64_t> outSt = stridesOf(cs);
  TileGeom g{};
  g.A = A;
  g.B = B;
  g.inStrideB = cst[ib];
  g.outStrideA = outSt[ia];
  g.rank = 0;
  for (size_t d = 0; d < cs.size(); ++d) {
    if (d == ia || d == ib)
      continue;
    g.size[g.rank] = cs[d];
    g.inStride[g.rank] = cst[d];
    g.outStride[g.rank] = outSt[d];
    ++g.rank;
  }
  bool word4 = addr(x.data) % 4 == 0 && addr(y.data) % 4 == 0;
  switch (es) {
  case 1:
    if (word4 && A % 4 == 0 && B % 4 == 0)
      return launchTiled<uint8_t, 4>(c, env, y.data, x.data, g);
    return launchTiled<uint8_t, 1>(c, env, y.data, x.data, g);
  case 2:
    if (word4 && A % 2 == 0 && B % 2 == 0)
      return launchTiled<uint16_t, 2>(c, env, y.data, x.data, g);
    return launchTiled<uint16_t, 1>(c, env, y.data, x.data, g);
  case 4:
    return launchTiled<uint32_t, 1>(c, env, y.data, x.data, g);
  default:
    return launchTiled<unsigned long long, 1>(c, env, y.data, x.data, g);
  }
}

//===----------------------------------------------------------------------===//
// slice, slice_grad, expand
//===----------------------------------------------------------------------===//

Status sliceKernel(KernelContext &c, Env &env) {
  TensorView &x = c.in(0), &y = c.out(0);
  Shape st, step, want;
  MP_RT_TRY(cpu::sliceGeometry(c, x.shape, st, step, want));
  size_t r = x.shape.size();
  std::vector<int64_t> xs = stridesOf(x.shape), os(r);
  int64_t base = 0;
  for (size_t d = 0; d < r; ++d) {
    if (want[d] > 0)
      base += st[d] * xs[d];
    os[d] = step[d] * xs[d];
  }
  return stridedCopy(c, env, y.data, x.data, base, os, y.shape,
                     dtypeSize(x.dtype));
}

Status sliceGradKernel(KernelContext &c, Env &env) {
  Shape inShape = c.ints("input_shape");
  TensorView &dy = c.in(0), &dx = c.out(0);
  Shape start, step, want;
  MP_RT_TRY(cpu::sliceGeometry(c, inShape, start, step, want));
  if (dx.bytes())
    MP_RT_TRY(checkCuda(c, cudaMemsetAsync(dx.data, 0, dx.bytes(), env.stream),
                        "memset"));
  size_t r = inShape.size();
  std::vector<int64_t> xs = stridesOf(inShape), os(r);
  int64_t base = 0;
  for (size_t d = 0; d < r; ++d) {
    if (want[d] > 0)
      base += start[d] * xs[d];
    os[d] = step[d] * xs[d];
  }
  return stridedCopy(c, env, dx.data, dy.data, base, os, want,
                     dtypeSize(dx.dtype), /*scatter=*/true);
}

Status expandKernel(KernelContext &c, Env &env) {
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(checkShapeOperand(c, env, c.in(1), kCheckExpand, x.shape, y.shape));
  return stridedCopy(c, env, y.data, x.data, 0,
                     cpu::broadcastStrides(x.shape, y.shape), y.shape,
                     dtypeSize(x.dtype));
}

//===----------------------------------------------------------------------===//
// concat, split: pitched 2-D copies
//===----------------------------------------------------------------------===//

template <typename W, typename I>
__global__ void copy2DK(W *__restrict__ dst, int64_t dPitch,
                        const W *__restrict__ src, int64_t sPitch, I width,
                        I n) {
  for (I i = I(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += I(blockDim.x) * gridDim.x) {
    I row = i / width, col = i - row * width;
    dst[int64_t(row) * dPitch + col] = src[int64_t(row) * sPitch + col];
  }
}

/// rows x width bytes from src (row pitch sPitch) to dst (pitch dPitch).
Status copy2D(KernelContext &c, Env &env, uint8_t *dst, int64_t dPitch,
              const uint8_t *src, int64_t sPitch, int64_t width, int64_t rows,
              size_t es) {
  if (rows == 0 || width == 0)
    return Status::success();
  if (rows == 1 || (dPitch == width && sPitch == width))
    return copyAsync(c, env, dst, src, size_t(rows * width));
  size_t w = widestWord(es, {uint64_t(width), uint64_t(dPitch),
                             uint64_t(sPitch), addr(dst), addr(src)});
  int64_t ww = width / int64_t(w), n = ww * rows;
  int64_t dp = dPitch / int64_t(w), sp = sPitch / int64_t(w);
  return withWord(w, [&](auto tag) {
    using W = typename decltype(tag)::T;
    auto *d = reinterpret_cast<W *>(dst);
    auto *s = reinterpret_cast<const W *>(src);
    if (fits32(n))
      copy2DK<W, uint32_t><<<gridFor(n), kThreads, 0, env.stream>>>(
          d, dp, s, sp, uint32_t(ww), uint32_t(n));
    else
      copy2DK<W, uint64_t><<<gridFor(n), kThreads, 0, env.stream>>>(
          d, dp, s, sp, uint64_t(ww), uint64_t(n));
    return checkLaunch(c, "pitched copy");
  });
}

Status concatKernel(KernelContext &c, Env &env) {
  c.has("axis");
  int64_t axis = c.i64("axis", 0);
  TensorView &y = c.out(0);
  cpu::normAxis(axis, y.rank());
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= y.shape[size_t(d)];
  for (int64_t d = axis + 1; d < y.rank(); ++d)
    inner *= y.shape[size_t(d)];
  size_t es = dtypeSize(y.dtype);
  int64_t rowOut = y.shape[size_t(axis)] * inner * int64_t(es), off = 0;
  for (TensorView *t : c.operands) {
    int64_t row = t->shape[size_t(axis)] * inner * int64_t(es);
    MP_RT_TRY(
        copy2D(c, env, y.data + off, rowOut, t->data, row, row, outer, es));
    off += row;
  }
  return Status::success();
}

Status splitKernel(KernelContext &c, Env &env) {
  int64_t axis = c.i64("axis", 0);
  Shape split = c.ints("split");
  TensorView &x = c.in(0);
  cpu::normAxis(axis, x.rank());
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[size_t(d)];
  size_t es = dtypeSize(x.dtype);
  int64_t rowIn = x.shape[size_t(axis)] * inner * int64_t(es), off = 0;
  for (size_t i = 0; i < split.size(); ++i) {
    int64_t row = split[i] * inner * int64_t(es);
    MP_RT_TRY(copy2D(c, env, c.out(i).data, row, x.data + off, rowIn, row,
                     outer, es));
    off += row;
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// pad, trilu
//===----------------------------------------------------------------------===//

struct PadGeom {
  int rank = 0;
  int64_t ySize[kMaxRank], xSize[kMaxRank], xStride[kMaxRank],
      padBegin[kMaxRank];
};

template <typename E, typename I>
__global__ void padK(E *__restrict__ y, const E *__restrict__ x, PadGeom g,
                     E value, I n) {
  for (I i = I(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += I(blockDim.x) * gridDim.x) {
    I rem = i;
    int64_t off = 0;
    bool inside = true;
    for (int d = g.rank - 1; d >= 0; --d) {
      I sz = I(g.ySize[d]);
      I q = d > 0 ? rem / sz : I(0);
      int64_t xi = int64_t(rem - q * sz) - g.padBegin[d];
      rem = q;
      inside = inside && xi >= 0 && xi < g.xSize[d];
      off += xi * g.xStride[d];
    }
    y[i] = inside ? x[off] : value;
  }
}

Status padKernel(KernelContext &c, Env &env) {
  std::vector<int64_t> pads = c.ints("pads");
  double value = c.f64("value", 0.0);
  TensorView &x = c.in(0), &y = c.out(0);
  size_t r = x.shape.size(), es = dtypeSize(x.dtype);
  int64_t n = y.numel();
  if (n == 0)
    return Status::success();
  // Merge a dim without padding into the dim before it.
  std::vector<int64_t> xsz, ysz, pb;
  for (size_t d = 0; d < r; ++d) {
    bool unpadded = pads[d] == 0 && pads[d + r] == 0;
    if (unpadded && !xsz.empty()) {
      xsz.back() *= x.shape[d];
      ysz.back() *= x.shape[d];
      pb.back() *= x.shape[d];
      continue;
    }
    xsz.push_back(x.shape[d]);
    ysz.push_back(y.shape[d]);
    pb.push_back(pads[d]);
  }
  if (xsz.size() > size_t(kMaxRank))
    return c.unsupported("pad of more than 8 padded dims");
  PadGeom g;
  g.rank = int(xsz.size());
  std::vector<int64_t> xst = stridesOf(xsz);
  for (int d = 0; d < g.rank; ++d) {
    g.ySize[d] = ysz[size_t(d)];
    g.xSize[d] = xsz[size_t(d)];
    g.xStride[d] = xst[size_t(d)];
    g.padBegin[d] = pb[size_t(d)];
  }
  uint8_t pat[8];
  patternOf<double>(value, x.dtype, pat);
  return withElem(es, [&](auto tag) {
    using E = typename decltype(tag)::T;
    E v;
    std::memcpy(&v, pat, sizeof(E));
    if (fits32(n))
      padK<E, uint32_t><<<gridFor(n), kThreads, 0, env.stream>>>(
          y.as<E>(), x.as<E>(), g, v, uint32_t(n));
    else
      padK<E, uint64_t><<<gridFor(n), kThreads, 0, env.stream>>>(
          y.as<E>(), x.as<E>(), g, v, uint64_t(n));
    return checkLaunch(c, "pad");
  });
}

template <typename E, typename I>
__global__ void triluK(E *y, const E *x, I n, I R, I C, int64_t k, bool upper) {
  for (I i = I(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += I(blockDim.x) * gridDim.x) {
    I q = i / C;
    int64_t j = int64_t(i - q * C), row = int64_t(q % R);
    bool keep = upper ? j - row >= k : j - row <= k;
    y[i] = keep ? x[i] : E(0);
  }
}

Status triluKernel(KernelContext &c, Env &env) {
  bool upper = c.i64("upper", 1) != 0;
  int64_t k = c.i64("k", 0);
  TensorView &x = c.in(0), &y = c.out(0);
  int64_t R = x.shape[x.shape.size() - 2], C = x.shape.back(), n = x.numel();
  if (n == 0)
    return Status::success();
  return withElem(dtypeSize(x.dtype), [&](auto tag) {
    using E = typename decltype(tag)::T;
    if (fits32(n))
      triluK<E, uint32_t><<<gridFor(n), kThreads, 0, env.stream>>>(
          y.as<E>(), x.as<E>(), uint32_t(n), uint32_t(R), uint32_t(C), k,
          upper);
    else
      triluK<E, uint64_t><<<gridFor(n), kThreads, 0, env.stream>>>(
          y.as<E>(), x.as<E>(), uint64_t(n), uint64_t(R), uint64_t(C), k,
          upper);
    return checkLaunch(c, "trilu");
  });
}

//===----------------------------------------------------------------------===//
// gather, gather_elements
//===----------------------------------------------------------------------===//

/// Threads per row (x) and rows per block (y) for rows of `w` words.
dim3 rowBlock(int64_t w) {
  int64_t tx =
      std::min<int64_t>(256, std::max<int64_t>(32, (w + 31) / 32 * 32));
  return dim3(unsigned(tx), unsigned(256 / tx));
}

/// y[o, j, :] = x[o, idx[j], :] with rows of innerW words; one row per
/// (threadIdx.y) group.
template <typename W, typename IdxT>
__global__ void gatherK(W *__restrict__ y, const W *__restrict__ x,
                        const IdxT *__restrict__ idx, int64_t ni, int64_t dim,
                        int64_t rows, int64_t innerW, int *flag, int instr) {
  for (int64_t row = int64_t(blockIdx.x) * blockDim.y + threadIdx.y; row < rows;
       row += int64_t(gridDim.x) * blockDim.y) {
    int64_t o = row / ni, j = row - o * ni;
    int64_t k = int64_t(idx[j]);
    if (k < -dim || k >= dim) {
      if (threadIdx.x == 0)
        deviceFail(flag, instr, kDevIndexOutOfRange);
      continue;
    }
    if (k < 0)
      k += dim;
    const W *s = x + (o * dim + k) * innerW;
    W *d = y + row * innerW;
    for (int64_t e = threadIdx.x; e < innerW; e += blockDim.x)
      d[e] = s[e];
  }
}

Status gatherKernel(KernelContext &c, Env &env) {
  int64_t axis = c.i64("axis", 0);
  TensorView &x = c.in(0), &idx = c.in(1), &y = c.out(0);
  cpu::normAxis(axis, x.rank());
  int64_t outer = 1, inner = 1, dim = x.shape[size_t(axis)];
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[size_t(d)];
  int64_t ni = idx.numel();
  if (ni == 0)
    return Status::success();
  size_t es = dtypeSize(x.dtype);
  size_t w = widestWord(es, {uint64_t(inner) * es, addr(x.data), addr(y.data)});
  int64_t innerW = inner * int64_t(es) / int64_t(w);
  int64_t rows = outer * ni;
  if (rows == 0 || innerW == 0) { // still check the indices, as the CPU does
    rows = ni;
    innerW = 0;
    outer = 1;
  }
  dim3 block = rowBlock(innerW);
  unsigned blocks = blocksFor(rows, int(block.y));
  return withWord(w, [&](auto tag) {
    using W = typename decltype(tag)::T;
    if (idx.dtype == DType::I64)
      gatherK<W, int64_t><<<blocks, block, 0, env.stream>>>(
          y.as<W>(), x.as<W>(), idx.as<int64_t>(), ni, dim, rows, innerW,
          env.errorFlag, int(c.instructionIndex));
    else
      gatherK<W, int32_t><<<blocks, block, 0, env.stream>>>(
          y.as<W>(), x.as<W>(), idx.as<int32_t>(), ni, dim, rows, innerW,
          env.errorFlag, int(c.instructionIndex));
    return checkLaunch(c, "gather");
  });
}

/// Index geometry of gather_elements / scatter_elements: the index tensor's
/// shape, the data's strides, the axis and its size in the data.
struct ElemGeom {
  int rank = 0, axis = 0;
  int64_t dim = 0;
  int64_t size[kMaxRank], stride[kMaxRank];
};

ElemGeom elemGeom(const TensorView &x, const TensorView &idx, int64_t axis) {
  ElemGeom g;
  g.rank = int(idx.rank());
  g.axis = int(axis);
  g.dim = x.shape[size_t(axis)];
  std::vector<int64_t> xs = stridesOf(x.shape);
  for (int d = 0; d < g.rank; ++d) {
    g.size[d] = idx.shape[size_t(d)];
    g.stride[d] = xs[size_t(d)];
  }
  return g;
}

/// Offset in the data of index element i, or -1 when its index is out of
/// range.
template <typename IdxT>
__device__ __forceinline__ int64_t elemOffset(const ElemGeom &g,
                                              const IdxT *idx, int64_t i) {
  int64_t k = int64_t(idx[i]);
  if (k < -g.dim || k >= g.dim)
    return -1;
  if (k < 0)
    k += g.dim;
  int64_t off = 0, rem = i;
  for (int d = g.rank - 1; d >= 0; --d) {
    int64_t q = rem / g.size[d], pos = rem - q * g.size[d];
    rem = q;
    off += (d == g.axis ? k : pos) * g.stride[d];
  }
  return off;
}

template <typename E, typename IdxT>
__global__ void gatherElementsK(E *__restrict__ y, const E *__restrict__ x,
                                const IdxT *__restrict__ idx, ElemGeom g,
                                int64_t n, int *flag, int instr) {
  MP_GRID_STRIDE(i, n) {
    int64_t off = elemOffset(g, idx, i);
    if (off < 0) {
      deviceFail(flag, instr, kDevIndexOutOfRange);
      continue;
    }
    y[i] = x[off];
  }
}

Status gatherElementsKernel(KernelContext &c, Env &env) {
  int64_t axis = c.i64("axis", 0);
  TensorView &x = c.in(0), &idx = c.in(1), &y = c.out(0);
  cpu::normAxis(axis, x.rank());
  int64_t n = idx.numel();
  if (n == 0)
    return Status::success();
  if (idx.rank() > kMaxRank)
    return c.unsupported("rank above 8");
  ElemGeom g = elemGeom(x, idx, axis);
  return withElem(dtypeSize(x.dtype), [&](auto tag) {
    using E = typename decltype(tag)::T;
    if (idx.dtype == DType::I64)
      gatherElementsK<E, int64_t><<<gridFor(n), kThreads, 0, env.stream>>>(
          y.as<E>(), x.as<E>(), idx.as<int64_t>(), g, n, env.errorFlag,
          int(c.instructionIndex));
    else
      gatherElementsK<E, int32_t><<<gridFor(n), kThreads, 0, env.stream>>>(
          y.as<E>(), x.as<E>(), idx.as<int32_t>(), g, n, env.errorFlag,
          int(c.instructionIndex));
    return checkLaunch(c, "gather_elements");
  });
}

//===----------------------------------------------------------------------===//
// Scatter reductions
//===----------------------------------------------------------------------===//

enum RedKind : int { kRedNone, kRedAdd, kRedMul, kRedMax, kRedMin };

Status parseReduction(KernelContext &c, int &r) {
  std::string s = c.str("reduction", "none");
  r = s == "add"   ? kRedAdd
      : s == "mul" ? kRedMul
      : s == "max" ? kRedMax
      : s == "min" ? kRedMin
                   : kRedNone;
  return Status::success();
}

/// dst op v as the CPU's applyRed (std::max / std::min semantics).
template <typename A> __device__ __forceinline__ A redOp(A a, A v, int r) {
  switch (r) {
  case kRedAdd:
    return a + v;
  case kRedMul:
    return a * v;
  case kRedMax:
    return a < v ? v : a;
  case kRedMin:
    return v < a ? v : a;
  default:
    return v;
  }
}
template <>
__device__ __forceinline__ int64_t redOp<int64_t>(int64_t a, int64_t v, int r) {
  // Wrapping add / mul, as the CPU's int64 arithmetic does in practice.
  if (r == kRedAdd)
    return int64_t(uint64_t(a) + uint64_t(v));
  if (r == kRedMul)
    return int64_t(uint64_t(a) * uint64_t(v));
  return r == kRedMax ? (a < v ? v : a) : r == kRedMin ? (v < a ? v : a) : v;
}

__device__ __forceinline__ void atomicRed(float *p, float v, int r) {
  if (r == kRedNone) {
    *p = v;
  } else if (r == kRedAdd) {
    atomicAdd(p, v);
  } else {
    auto *u = reinterpret_cast<unsigned *>(p);
    unsigned old = *u, assumed;
    do {
      assumed = old;
      old = atomicCAS(u, assumed,
                      __float_as_uint(redOp(__uint_as_float(assumed), v, r)));
    } while (old != assumed);
  }
}

__device__ __forceinline__ void atomicRed(double *p, double v, int r) {
  if (r == kRedNone) {
    *p = v;
  } else if (r == kRedAdd) {
    atomicAdd(p, v);
  } else {
    auto *u = reinterpret_cast<unsigned long long *>(p);
    unsigned long long old = *u, assumed;
    do {
      assumed = old;
      old = atomicCAS(u, assumed,
                      (unsigned long long)__double_as_longlong(redOp(
                          __longlong_as_double((long long)assumed), v, r)));
    } while (old != assumed);
  }
}

__device__ __forceinline__ void atomicRed(int64_t *p, int64_t v, int r) {
  auto *u = reinterpret_cast<unsigned long long *>(p);
  if (r == kRedNone) {
    *p = v;
  } else if (r == kRedAdd) {
    atomicAdd(u, (unsigned long long)v);
  } else {
    unsigned long long old = *u, assumed;
    do {
      assumed = old;
      old = atomicCAS(u, assumed,
                      (unsigned long long)redOp(int64_t(assumed), v, r));
    } while (old != assumed);
  }
}

template <typename A>
__global__ void loadAccK(A *acc, const void *x, DType t, int64_t n) {
  MP_GRID_STRIDE(i, n) { acc[i] = ldAs<A>(x, t, i); }
}

template <typename A>
__global__ void storeAccK(void *y, DType t, const A *acc, int64_t n) {
  MP_GRID_STRIDE(i, n) { stAs<A>(y, t, i, acc[i]); }
}

/// Calls f(A{}) with A the accumulation type of dtype t (float, double,
/// int64_t), as cpu::dispatchCompute.
template <typename F> Status withAcc(DType t, F &&f) {
  switch (t) {
  case DType::F32:
  case DType::F16:
  case DType::BF16:
    return f(float{});
  case DType::F64:
    return f(double{});
  default:
    return f(int64_t{});
  }
}

bool accIsStorage(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::I64;
}

size_t accBytes(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 ? 4 : 8;
}

/// Scratch of the scatters: an accumulation copy of the result when the
/// reduction is not `none` and the result's dtype is not its own
/// accumulation type.
size_t scatterScratch(KernelContext &c) {
  if (c.str("reduction", "none") == "none" || c.numResults() < 1)
    return 0;
  const TensorView &y = c.out(0);
  return accIsStorage(y.dtype) ? 0 : size_t(y.numel()) * accBytes(y.dtype);
}

/// Runs `apply(A *acc)` on the accumulation buffer of y (y itself, or the
/// scratch loaded from y and rounded back into it afterwards).
template <typename A, typename F>
Status withAccBuffer(KernelContext &c, Env &env, TensorView &y, F &&apply) {
  int64_t n = y.numel();
  if (accIsStorage(y.dtype))
    return apply(y.as<A>());
  if (env.scratchBytes < size_t(n) * sizeof(A))
    return c.execError("missing scratch memory");
  A *acc = static_cast<A *>(env.scratch);
  loadAccK<A><<<gridFor(n), kThreads, 0, env.stream>>>(acc, y.data, y.dtype, n);
  MP_RT_TRY(checkLaunch(c, "scatter accumulation"));
  MP_RT_TRY(apply(acc));
  storeAccK<A>
      <<<gridFor(n), kThreads, 0, env.stream>>>(y.data, y.dtype, acc, n);
  return checkLaunch(c, "scatter accumulation");
}

//===----------------------------------------------------------------------===//
// scatter_elements
//===----------------------------------------------------------------------===//

template <typename E, typename IdxT>
__global__ void scatterElementsCopyK(E *y, const E *__restrict__ upd,
                                     const IdxT *__restrict__ idx, ElemGeom g,
                                     int64_t n, int *flag, int instr) {
  MP_GRID_STRIDE(i, n) {
    int64_t off = elemOffset(g, idx, i);
    if (off < 0) {
      deviceFail(flag, instr, kDevIndexOutOfRange);
      continue;
    }
    y[off] = upd[i];
  }
}

template <typename A, typename IdxT>
__global__ void scatterElementsRedK(A *acc, const void *__restrict__ upd,
                                    DType ut, const IdxT *__restrict__ idx,
                                    ElemGeom g, int64_t n, int red, int *flag,
                                    int instr) {
  MP_GRID_STRIDE(i, n) {
    int64_t off = elemOffset(g, idx, i);
    if (off < 0) {
      deviceFail(flag, instr, kDevIndexOutOfRange);
      continue;
    }
    atomicRed(acc + off, ldAs<A>(upd, ut, i), red);
  }
}

Status scatterElementsKernel(KernelContext &c, Env &env) {
  int64_t axis = c.i64("axis", 0);
  int red;
  MP_RT_TRY(parseReduction(c, red));
  TensorView &x = c.in(0), &idx = c.in(1), &upd = c.in(2), &y = c.out(0);
  cpu::normAxis(axis, x.rank());
  MP_RT_TRY(copyBytes(c, env));
  int64_t n = idx.numel();
  if (n == 0)
    return Status::success();
  if (idx.rank() > kMaxRank)
    return c.unsupported("rank above 8");
  ElemGeom g = elemGeom(x, idx, axis);
  int instr = int(c.instructionIndex);
  bool i64 = idx.dtype == DType::I64;
  if (red == kRedNone)
    return withElem(dtypeSize(x.dtype), [&](auto tag) {
      using E = typename decltype(tag)::T;
      if (i64)
        scatterElementsCopyK<E, int64_t>
            <<<gridFor(n), kThreads, 0, env.stream>>>(y.as<E>(), upd.as<E>(),
                                                      idx.as<int64_t>(), g, n,
                                                      env.errorFlag, instr);
      else
        scatterElementsCopyK<E, int32_t>
            <<<gridFor(n), kThreads, 0, env.stream>>>(y.as<E>(), upd.as<E>(),
                                                      idx.as<int32_t>(), g, n,
                                                      env.errorFlag, instr);
      return checkLaunch(c, "scatter_elements");
    });
  return withAcc(y.dtype, [&](auto tag) {
    using A = decltype(tag);
    return withAccBuffer<A>(c, env, y, [&](A *acc) {
      if (i64)
        scatterElementsRedK<A, int64_t>
            <<<gridFor(n), kThreads, 0, env.stream>>>(
                acc, upd.data, upd.dtype, idx.as<int64_t>(), g, n, red,
                env.errorFlag, instr);
      else
        scatterElementsRedK<A, int32_t>
            <<<gridFor(n), kThreads, 0, env.stream>>>(
                acc, upd.data, upd.dtype, idx.as<int32_t>(), g, n, red,
                env.errorFlag, instr);
      return checkLaunch(c, "scatter_elements");
    });
  });
}

//===----------------------------------------------------------------------===//
// scatter_nd
//===----------------------------------------------------------------------===//

/// The first k dims of the data: sizes and strides (in the unit the kernel
/// addresses: elements, or words for the copy).
struct NdGeom {
  int k = 0;
  int64_t size[kMaxRank], stride[kMaxRank];
};

/// Offset of index tuple j, or -1 when one of its indices is out of range.
__device__ __forceinline__ int64_t ndOffset(const NdGeom &g,
                                            const int64_t *__restrict__ idx,
                                            int64_t j) {
  int64_t off = 0;
  for (int d = 0; d < g.k; ++d) {
    int64_t i = idx[j * g.k + d];
    if (i < -g.size[d] || i >= g.size[d])
      return -1;
    off += (i < 0 ? i + g.size[d] : i) * g.stride[d];
  }
  return off;
}

/// reduction none: y[off_j + s] = upd[j, s] in words.
template <typename W>
__global__ void
scatterNDCopyK(W *y, const W *__restrict__ upd, const int64_t *__restrict__ idx,
               NdGeom g, int64_t n, int64_t sliceW, int *flag, int instr) {
  for (int64_t j = int64_t(blockIdx.x) * blockDim.y + threadIdx.y; j < n;
       j += int64_t(gridDim.x) * blockDim.y) {
    int64_t off = ndOffset(g, idx, j);
    if (off < 0) {
      if (threadIdx.x == 0)
        deviceFail(flag, instr, kDevIndexOutOfRange);
      continue;
    }
    for (int64_t s = threadIdx.x; s < sliceW; s += blockDim.x)
      y[off + s] = upd[j * sliceW + s];
  }
}

template <typename A>
__global__ void scatterNDRedK(A *acc, const void *__restrict__ upd, DType ut,
                              const int64_t *__restrict__ idx, NdGeom g,
                              int64_t n, int64_t slice, int red, int *flag,
                              int instr) {
  for (int64_t j = int64_t(blockIdx.x) * blockDim.y + threadIdx.y; j < n;
       j += int64_t(gridDim.x) * blockDim.y) {
    int64_t off = ndOffset(g, idx, j);
    if (off < 0) {
      if (threadIdx.x == 0)
        deviceFail(flag, instr, kDevIndexOutOfRange);
      continue;
    }
    for (int64_t s = threadIdx.x; s < slice; s += blockDim.x)
      atomicRed(acc + off + s, ldAs<A>(upd, ut, j * slice + s), red);
  }
}

/// f32 add of f32 updates, 4 floats per atomic (sm_90 vector atomics; the
/// embedding gradient).
__global__ void scatterNDAddF4K(float *acc, const float *__restrict__ upd,
                                const int64_t *__restrict__ idx, NdGeom g,
                                int64_t n, int64_t slice4, int *flag,
                                int instr) {
  for (int64_t j = int64_t(blockIdx.x) * blockDim.y + threadIdx.y; j < n;
       j += int64_t(gridDim.x) * blockDim.y) {
    int64_t off = ndOffset(g, idx, j);
    if (off < 0) {
      if (threadIdx.x == 0)
        deviceFail(flag, instr, kDevIndexOutOfRange);
      continue;
    }
    auto *d = reinterpret_cast<float4 *>(acc + off);
    auto *s = reinterpret_cast<const float4 *>(upd) + j * slice4;
    for (int64_t e = threadIdx.x; e < slice4; e += blockDim.x) {
      float4 v = s[e];
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
      atomicAdd(d + e, v);
#else
      float *p = reinterpret_cast<float *>(d + e);
      atomicAdd(p, v.x);
      atomicAdd(p + 1, v.y);
      atomicAdd(p + 2, v.z);
      atomicAdd(p + 3, v.w);
#endif
    }
  }
}

Status scatterNDKernel(KernelContext &c, Env &env) {
  int red;
  MP_RT_TRY(parseReduction(c, red));
  TensorView &x = c.in(0), &idx = c.in(1), &upd = c.in(2), &y = c.out(0);
  MP_RT_TRY(copyBytes(c, env));
  int64_t k = idx.shape.back();
  int64_t slice = numElements(Shape(x.shape.begin() + k, x.shape.end()));
  int64_t n = k ? idx.numel() / k
                : numElements(Shape(idx.shape.begin(), idx.shape.end() - 1));
  if (n == 0)
    return Status::success();
  if (k > kMaxRank)
    return c.unsupported("index tuples longer than 8");
  std::vector<int64_t> xs = stridesOf(x.shape);
  NdGeom g;
  g.k = int(k);
  for (int d = 0; d < g.k; ++d) {
    g.size[d] = x.shape[size_t(d)];
    g.stride[d] = xs[size_t(d)];
  }
  size_t es = dtypeSize(x.dtype);
  int instr = int(c.instructionIndex);
  if (red == kRedNone) {
    // Tuple offsets are multiples of the slice: copy in words.
    size_t w =
        widestWord(es, {uint64_t(slice) * es, addr(y.data), addr(upd.data)});
    int64_t per = int64_t(w / es), sliceW = slice / per;
    for (int d = 0; d < g.k; ++d)
      g.stride[d] /= per;
    dim3 block = rowBlock(sliceW);
    return withWord(w, [&](auto tag) {
      using W = typename decltype(tag)::T;
      scatterNDCopyK<W><<<blocksFor(n, int(block.y)), block, 0, env.stream>>>(
          y.as<W>(), upd.as<W>(), idx.as<int64_t>(), g, n, sliceW,
          env.errorFlag, instr);
      return checkLaunch(c, "scatter_nd");
    });
  }
  if (red == kRedAdd && x.dtype == DType::F32 && slice % 4 == 0 &&
      addr(y.data) % 16 == 0 && addr(upd.data) % 16 == 0) {
    dim3 block = rowBlock(slice / 4);
    scatterNDAddF4K<<<blocksFor(n, int(block.y)), block, 0, env.stream>>>(
        y.as<float>(), upd.as<float>(), idx.as<int64_t>(), g, n, slice / 4,
        env.errorFlag, instr);
    return checkLaunch(c, "scatter_nd");
  }
  dim3 block = rowBlock(slice);
  return withAcc(y.dtype, [&](auto tag) {
    using A = decltype(tag);
    return withAccBuffer<A>(c, env, y, [&](A *acc) {
      scatterNDRedK<A><<<blocksFor(n, int(block.y)), block, 0, env.stream>>>(
          acc, upd.data, upd.dtype, idx.as<int64_t>(), g, n, slice, red,
          env.errorFlag, instr);
      return checkLaunch(c, "scatter_nd");
    });
  });
}

//===----------------------------------------------------------------------===//
// shape, size, range, constant_of_shape
//===----------------------------------------------------------------------===//

Status shapeKernel(KernelContext &c, Env &env) {
  int64_t r = c.in(0).rank();
  int64_t start = c.i64("start", 0);
  int64_t end = c.i64("end", r);
  auto clamp = [&](int64_t v) {
    if (v < 0)
      v += r;
    return std::min(std::max<int64_t>(v, 0), r);
  };
  start = clamp(start);
  end = clamp(end);
  std::vector<int64_t> vals;
  for (int64_t i = start; i < end; ++i)
    vals.push_back(c.in(0).shape[size_t(i)]);
  return writeI64(c, env, c.out(0).as<int64_t>(), vals);
}

Status sizeKernel(KernelContext &c, Env &env) {
  return writeI64(c, env, c.out(0).as<int64_t>(), {c.in(0).numel()});
}

__device__ __forceinline__ bool isFloatDev(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 ||
         t == DType::F64;
}

/// Stores a double into dtype t with one rounding (f16 / bf16 directly from
/// double, as the CPU's storeF64).
__device__ __forceinline__ void stF64(void *p, DType t, int64_t i, double v) {
  if (t == DType::F16)
    static_cast<__half *>(p)[i] = __double2half(v);
  else if (t == DType::BF16)
    static_cast<__nv_bfloat16 *>(p)[i] = __double2bfloat16(v);
  else
    stAs<double>(p, t, i, v);
}

/// Every thread recomputes the element count from the (device) scalars and
/// checks it against the result's; on a match it writes its elements.
__global__ void rangeK(void *y, DType t, const void *s, const void *l,
                       const void *d, int64_t n, int *flag, int instr) {
  bool first = blockIdx.x == 0 && threadIdx.x == 0;
  if (isFloatDev(t)) {
    double st = ldAs<double>(s, t, 0), li = ldAs<double>(l, t, 0),
           de = ldAs<double>(d, t, 0);
    if (de == 0 || !isfinite(st) || !isfinite(li) || !isfinite(de)) {
      if (first)
        deviceFail(flag, instr, kDevBadValue);
      return;
    }
    double cnt = ceil((li - st) / de);
    int64_t m = cnt > 0 ? int64_t(fmin(cnt, 9e18)) : 0;
    if (m != n) {
      if (first)
        deviceFail(flag, instr, kDevBadValue);
      return;
    }
    MP_GRID_STRIDE(i, n) { stF64(y, t, i, st + double(i) * de); }
  } else {
    int64_t st = ldAs<int64_t>(s, t, 0), li = ldAs<int64_t>(l, t, 0),
            de = ldAs<int64_t>(d, t, 0);
    if (de == 0) {
      if (first)
        deviceFail(flag, instr, kDevBadValue);
      return;
    }
    // Exact ceil((li - st) / de).
    __int128 a = __int128(li) - __int128(st), q = a / de, rm = a % de;
    if (rm != 0 && ((rm > 0) == (de > 0)))
      q += 1;
    int64_t m = q > 0 ? (q > __int128(std::numeric_limits<int64_t>::max())
                             ? std::numeric_limits<int64_t>::max()
                             : int64_t(q))
                      : 0;
    if (m != n) {
      if (first)
        deviceFail(flag, instr, kDevBadValue);
      return;
    }
    MP_GRID_STRIDE(i, n) {
      stAs<int64_t>(y, t, i,
                    int64_t(uint64_t(st) + uint64_t(i) * uint64_t(de)));
    }
  }
}

Status rangeKernel(KernelContext &c, Env &env) {
  TensorView &y = c.out(0);
  int64_t n = y.numel();
  rangeK<<<gridFor(std::max<int64_t>(n, 1)), kThreads, 0, env.stream>>>(
      y.data, y.dtype, c.in(0).data, c.in(1).data, c.in(2).data, n,
      env.errorFlag, int(c.instructionIndex));
  return checkLaunch(c, "range");
}

Status constantOfShapeKernel(KernelContext &c, Env &env) {
  double fv = c.f64("value", 0.0);
  TensorView &y = c.out(0);
  MP_RT_TRY(checkShapeOperand(c, env, c.in(0), kCheckEqual, {}, y.shape));
  uint8_t pat[8];
  const Attribute *a = c.ins.findAttr("value");
  if (a && a->kind == Attribute::Kind::I64 && !isFloat(y.dtype))
    patternOf<int64_t>(a->i, y.dtype, pat);
  else
    patternOf<double>(fv, y.dtype, pat);
  return fillPattern(c, env, y.data, y.numel(), dtypeSize(y.dtype), pat);
}

} // namespace

void registerShapeKernels(Registry &r) {
  r["reshape"] = {reshapeKernel, true, nullptr};
  r["flatten"] = {flattenKernel, true, nullptr};
  r["squeeze"] = {squeezeKernel, true, nullptr};
  r["unsqueeze"] = {unsqueezeKernel, true, nullptr};
  r["transpose"] = {transposeKernel, false, nullptr};
  r["slice"] = {sliceKernel, false, nullptr};
  r["slice_grad"] = {sliceGradKernel, false, nullptr};
  r["expand"] = {expandKernel, false, nullptr};
  r["concat"] = {concatKernel, false, nullptr};
  r["split"] = {splitKernel, false, nullptr};
  r["gather"] = {gatherKernel, false, nullptr};
  r["gather_elements"] = {gatherElementsKernel, false, nullptr};
  r["scatter_elements"] = {scatterElementsKernel, true, scatterScratch};
  r["scatter_nd"] = {scatterNDKernel, true, scatterScratch};
  r["trilu"] = {triluKernel, true, nullptr};
  r["pad"] = {padKernel, false, nullptr};
  r["shape"] = {shapeKernel, false, nullptr};
  r["size"] = {sizeKernel, false, nullptr};
  r["range"] = {rangeKernel, false, nullptr};
  r["constant_of_shape"] = {constantOfShapeKernel, false, nullptr};
}

} // namespace mp::rt::cuda
