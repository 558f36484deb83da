//===- Shape.cpp - data movement and shape kernels ------------------------===//
//
// reshape, flatten, squeeze, unsqueeze (byte copies), transpose, slice and
// expand (one strided copy), concat, split, gather, gather_elements,
// scatter_elements, scatter_nd, trilu, shape, size, range and
// constant_of_shape. Shapes are static: a kernel whose shape comes from an
// operand's values (reshape, expand, range, constant_of_shape) checks those
// values against the result shape, at load time when the operand is a
// constant and at run time otherwise. Indices out of range are run-time
// errors.
//
//===----------------------------------------------------------------------===//
#include "Window.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace mp::rt::cpu {
namespace {

/// dst[i] = src[base + sum_d idx_d * strides[d]] over `out` (element size
/// es); strides may be 0 or negative.
void stridedCopy(const uint8_t *src, int64_t base,
                 const std::vector<int64_t> &strides, const Shape &out,
                 uint8_t *dst, size_t es) {
  int64_t n = numElements(out);
  if (n == 0)
    return;
  std::vector<int64_t> idx(out.size(), 0);
  int64_t off = base;
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(dst + size_t(i) * es, src + size_t(off) * es, es);
    for (int64_t d = int64_t(out.size()) - 1; d >= 0; --d) {
      off += strides[size_t(d)];
      if (++idx[size_t(d)] < out[size_t(d)])
        break;
      off -= strides[size_t(d)] * out[size_t(d)];
      idx[size_t(d)] = 0;
    }
  }
}

Status sameDType(KernelContext &c, const TensorView &a, const TensorView &b) {
  if (a.dtype != b.dtype)
    return c.error(std::string("result dtype ") + dtypeName(b.dtype) +
                   " differs from operand dtype " + dtypeName(a.dtype));
  return Status::success();
}

/// Values of a 1-D integer operand, when they can be known now (at run
/// time, or at load time for constants). `known` says whether they were.
Status readShapeOperand(KernelContext &c, const TensorView &t, Shape &vals,
                        bool &known) {
  if (t.dtype != DType::I64 || t.rank() != 1)
    return c.error("shape operand must be a 1-D i64 tensor");
  known = !c.validateOnly || t.role == Role::Constant;
  vals.clear();
  if (known)
    for (int64_t i = 0; i < t.numel(); ++i)
      vals.push_back(t.as<int64_t>()[i]);
  return Status::success();
}

Status failAt(KernelContext &c, const std::string &msg) {
  return c.validateOnly ? c.error(msg) : c.execError(msg);
}

Status copyBytes(KernelContext &c) {
  if (!c.validateOnly && c.in(0).data != c.out(0).data)
    std::memmove(c.out(0).data, c.in(0).data, c.in(0).bytes());
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Views: reshape, flatten, squeeze, unsqueeze
//===----------------------------------------------------------------------===//

Status reshapeKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  bool allowZero = c.i64("allowzero", 0) != 0;
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  if (x.numel() != y.numel())
    return c.error("cannot reshape " + shapeStr(x.shape) + " to " +
                   shapeStr(y.shape));
  Shape vals;
  bool known;
  MP_RT_TRY(readShapeOperand(c, c.in(1), vals, known));
  if (vals.size() != y.shape.size() && (known || c.in(1).numel() != y.rank()))
    return c.error("shape operand has " + std::to_string(c.in(1).numel()) +
                   " entries for a result of rank " + std::to_string(y.rank()));
  if (known) {
    int64_t infer = -1, prod = 1;
    Shape target = vals;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == 0 && !allowZero) {
        if (i >= x.shape.size())
          return failAt(c, "shape entry 0 at a dim the input lacks");
        target[i] = x.shape[i];
      }
      if (target[i] == -1) {
        if (infer >= 0)
          return failAt(c, "shape has two -1 entries");
        infer = int64_t(i);
        continue;
      }
      if (target[i] < 0)
        return failAt(c, "negative shape entry");
      if (__builtin_mul_overflow(prod, target[i], &prod))
        return failAt(c, "shape operand " + shapeStr(vals) + " overflows");
    }
    if (infer >= 0)
      target[size_t(infer)] = prod ? x.numel() / prod : 0;
    if (target != y.shape)
      return failAt(c, "shape operand " + shapeStr(vals) + " gives " +
                           shapeStr(target) + ", result is " +
                           shapeStr(y.shape));
  }
  return copyBytes(c);
}

Status flattenKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  int64_t axis = c.i64("axis", 1);
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  // ONNX Flatten: axis in [-r, r], a negative one counts from r.
  if (axis < -x.rank() || axis > x.rank())
    return c.error("axis out of range");
  if (axis < 0)
    axis += x.rank();
  int64_t a = 1;
  for (int64_t d = 0; d < axis; ++d)
    a *= x.shape[size_t(d)];
  Shape want = {a,
                a ? x.numel() / a
                  : numElements(Shape(x.shape.begin() + axis, x.shape.end()))};
  if (y.shape != want)
    return c.error("result shape should be " + shapeStr(want));
  return copyBytes(c);
}

Status squeezeKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  bool hasAxes = c.has("axes");
  Shape axes = c.ints("axes");
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  std::vector<bool> drop(x.shape.size(), false);
  if (!hasAxes) {
    for (size_t d = 0; d < x.shape.size(); ++d)
      drop[d] = x.shape[d] == 1;
  } else {
    for (int64_t a : axes) {
      if (!normAxis(a, x.rank()) || x.shape[size_t(a)] != 1)
        return c.error("axis " + std::to_string(a) +
                       " is out of range or not of size 1");
      drop[size_t(a)] = true;
    }
  }
  Shape want;
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (!drop[d])
      want.push_back(x.shape[d]);
  if (y.shape != want)
    return c.error("result shape should be " + shapeStr(want));
  return copyBytes(c);
}

Status unsqueezeKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  Shape axes = c.ints("axes");
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  int64_t r = x.rank() + int64_t(axes.size());
  std::vector<bool> ins(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    if (!normAxis(a, r) || ins[size_t(a)])
      return c.error("axes out of range or repeated");
    ins[size_t(a)] = true;
  }
  Shape want;
  size_t j = 0;
  for (int64_t d = 0; d < r; ++d)
    want.push_back(ins[size_t(d)] ? 1 : x.shape[j++]);
  if (y.shape != want)
    return c.error("result shape should be " + shapeStr(want));
  return copyBytes(c);
}

//===----------------------------------------------------------------------===//
// Strided copies: transpose, slice, expand
//===----------------------------------------------------------------------===//

Status transposeKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  bool hasPerm = c.has("perm");
  Shape perm = c.ints("perm");
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  size_t r = x.shape.size();
  if (!hasPerm)
    for (size_t d = 0; d < r; ++d)
      perm.push_back(int64_t(r - 1 - d));
  if (perm.size() != r)
    return c.error("perm must have one entry per dim");
  std::vector<bool> seen(r, false);
  Shape want;
  for (int64_t &p : perm) {
    if (!normAxis(p, int64_t(r)) || seen[size_t(p)])
      return c.error("perm is not a permutation");
    seen[size_t(p)] = true;
    want.push_back(x.shape[size_t(p)]);
  }
  if (y.shape != want)
    return c.error("result shape should be " + shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  std::vector<int64_t> st = stridesOf(x.shape), ost(r);
  for (size_t d = 0; d < r; ++d)
    ost[d] = st[size_t(perm[d])];
  stridedCopy(x.data, 0, ost, y.shape, y.data, dtypeSize(x.dtype));
  return Status::success();
}

Status sliceKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  Shape st, step, want;
  MP_RT_TRY(sliceGeometry(c, x.shape, st, step, want));
  if (y.shape != want)
    return c.error("result shape " + shapeStr(y.shape) + " should be " +
                   shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  size_t r = x.shape.size();
  std::vector<int64_t> xs = stridesOf(x.shape), os(r);
  int64_t base = 0;
  for (size_t d = 0; d < r; ++d) {
    if (want[d] > 0)
      base += st[d] * xs[d];
    os[d] = step[d] * xs[d];
  }
  stridedCopy(x.data, base, os, y.shape, y.data, dtypeSize(x.dtype));
  return Status::success();
}

Status expandKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  Shape vals, out;
  bool known;
  MP_RT_TRY(readShapeOperand(c, c.in(1), vals, known));
  if (known && (!broadcastShapes({&x.shape, &vals}, out) || out != y.shape))
    return failAt(c, "expanding " + shapeStr(x.shape) + " by " +
                         shapeStr(vals) + " does not give " +
                         shapeStr(y.shape));
  if (!broadcastShapes({&x.shape, &y.shape}, out) || out != y.shape)
    return c.error(shapeStr(x.shape) + " does not broadcast to " +
                   shapeStr(y.shape));
  if (c.validateOnly)
    return Status::success();
  stridedCopy(x.data, 0, broadcastStrides(x.shape, y.shape), y.shape, y.data,
              dtypeSize(x.dtype));
  return Status::success();
}

//===----------------------------------------------------------------------===//
// concat, split
//===----------------------------------------------------------------------===//

Status concatKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, std::max<size_t>(1, c.numOperands()), 1, 1));
  if (!c.has("axis"))
    return c.error("axis is required");
  int64_t axis = c.i64("axis", 0);
  TensorView &y = c.out(0);
  if (!normAxis(axis, y.rank()))
    return c.error("axis out of range");
  Shape want = y.shape;
  want[size_t(axis)] = 0;
  for (TensorView *t : c.operands) {
    if (!t)
      return c.error("absent operand");
    if (t->dtype != y.dtype || t->rank() != y.rank())
      return c.error("operands must have the result's dtype and rank");
    for (int64_t d = 0; d < y.rank(); ++d)
      if (d != axis && t->shape[size_t(d)] != y.shape[size_t(d)])
        return c.error("operand shape " + shapeStr(t->shape) +
                       " does not fit result " + shapeStr(y.shape));
    want[size_t(axis)] += t->shape[size_t(axis)];
  }
  if (want != y.shape)
    return c.error("result shape should be " + shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= y.shape[size_t(d)];
  for (int64_t d = axis + 1; d < y.rank(); ++d)
    inner *= y.shape[size_t(d)];
  size_t es = dtypeSize(y.dtype);
  int64_t rowOut = y.shape[size_t(axis)] * inner, off = 0;
  for (TensorView *t : c.operands) {
    int64_t row = t->shape[size_t(axis)] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(y.data + size_t(o * rowOut + off) * es,
                  t->data + size_t(o * row) * es, size_t(row) * es);
    off += row;
  }
  return Status::success();
}

Status splitKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, std::max<size_t>(1, c.numResults())));
  int64_t axis = c.i64("axis", 0);
  Shape split = c.ints("split");
  TensorView &x = c.in(0);
  if (!normAxis(axis, x.rank()))
    return c.error("axis out of range");
  if (split.size() != c.numResults())
    return c.error("split must have one size per result");
  int64_t total = 0;
  for (size_t i = 0; i < split.size(); ++i) {
    if (split[i] < 0)
      return c.error("negative split size");
    total += split[i];
    Shape want = x.shape;
    want[size_t(axis)] = split[i];
    if (c.out(i).shape != want || c.out(i).dtype != x.dtype)
      return c.error("result " + std::to_string(i) + " should be " +
                     shapeStr(want) + " of the operand's dtype");
  }
  if (total != x.shape[size_t(axis)])
    return c.error("split sizes do not add up to the dim");
  if (c.validateOnly)
    return Status::success();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[size_t(d)];
  size_t es = dtypeSize(x.dtype);
  int64_t rowIn = x.shape[size_t(axis)] * inner, off = 0;
  for (size_t i = 0; i < split.size(); ++i) {
    int64_t row = split[i] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(c.out(i).data + size_t(o * row) * es,
                  x.data + size_t(o * rowIn + off) * es, size_t(row) * es);
    off += row;
  }
  return Status::success();
}

//===----------------------------------------------------------------------===//
// gather, gather_elements, scatter_elements, scatter_nd
//===----------------------------------------------------------------------===//

Status indexType(KernelContext &c, const TensorView &t, bool allowI32 = true) {
  if (t.dtype != DType::I64 && !(allowI32 && t.dtype == DType::I32))
    return c.error(allowI32 ? "indices must be i32 or i64"
                            : "indices must be i64");
  return Status::success();
}

int64_t indexAt(const TensorView &t, int64_t i) {
  return t.dtype == DType::I64 ? t.as<int64_t>()[i] : t.as<int32_t>()[i];
}

/// Normalizes a possibly negative index into [0, dim); false if outside.
bool fixIndex(int64_t &i, int64_t dim) {
  if (i < -dim || i >= dim)
    return false;
  if (i < 0)
    i += dim;
  return true;
}

Status gatherKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  int64_t axis = c.i64("axis", 0);
  TensorView &x = c.in(0), &idx = c.in(1), &y = c.out(0);
  MP_RT_TRY(indexType(c, idx));
  MP_RT_TRY(sameDType(c, x, y));
  if (!normAxis(axis, x.rank()))
    return c.error("axis out of range");
  Shape want(x.shape.begin(), x.shape.begin() + axis);
  want.insert(want.end(), idx.shape.begin(), idx.shape.end());
  want.insert(want.end(), x.shape.begin() + axis + 1, x.shape.end());
  if (y.shape != want)
    return c.error("result shape should be " + shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  int64_t outer = 1, inner = 1, dim = x.shape[size_t(axis)];
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[size_t(d)];
  int64_t ni = idx.numel();
  size_t es = dtypeSize(x.dtype);
  for (int64_t j = 0; j < ni; ++j) {
    int64_t k = indexAt(idx, j);
    if (!fixIndex(k, dim))
      return c.execError("index " + std::to_string(indexAt(idx, j)) +
                         " out of range for dim " + std::to_string(dim));
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < ni; ++j) {
      int64_t k = indexAt(idx, j);
      fixIndex(k, dim);
      std::memcpy(y.data + size_t((o * ni + j) * inner) * es,
                  x.data + size_t((o * dim + k) * inner) * es,
                  size_t(inner) * es);
    }
  return Status::success();
}

/// Iterates an index tensor of the data's rank and yields (position in the
/// index tensor, offset in data with dim `axis` replaced by the index).
template <typename F>
Status forEachElementIndex(KernelContext &c, const TensorView &data,
                           const TensorView &idx, int64_t axis, F &&f) {
  std::vector<int64_t> ds = stridesOf(data.shape);
  std::vector<int64_t> pos(idx.shape.size(), 0);
  int64_t dim = data.shape[size_t(axis)];
  for (int64_t i = 0, n = idx.numel(); i < n; ++i, nextIndex(pos, idx.shape)) {
    int64_t k = indexAt(idx, i);
    if (!fixIndex(k, dim))
      return c.execError("index " + std::to_string(indexAt(idx, i)) +
                         " out of range for dim " + std::to_string(dim));
    int64_t off = 0;
    for (size_t d = 0; d < pos.size(); ++d)
      off += (int64_t(d) == axis ? k : pos[d]) * ds[d];
    f(i, off);
  }
  return Status::success();
}

Status checkElementIndices(KernelContext &c, const TensorView &x,
                           const TensorView &idx, int64_t axis) {
  if (idx.rank() != x.rank())
    return c.error("indices must have the data's rank");
  for (int64_t d = 0; d < x.rank(); ++d)
    if (d != axis && idx.shape[size_t(d)] > x.shape[size_t(d)])
      return c.error("indices dim " + std::to_string(d) +
                     " is larger than the data's");
  return Status::success();
}

Status gatherElementsKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(2, 2, 1, 1));
  int64_t axis = c.i64("axis", 0);
  TensorView &x = c.in(0), &idx = c.in(1), &y = c.out(0);
  MP_RT_TRY(indexType(c, idx));
  MP_RT_TRY(sameDType(c, x, y));
  if (!normAxis(axis, x.rank()))
    return c.error("axis out of range");
  MP_RT_TRY(checkElementIndices(c, x, idx, axis));
  if (y.shape != idx.shape)
    return c.error("result shape must equal the indices' shape");
  if (c.validateOnly)
    return Status::success();
  size_t es = dtypeSize(x.dtype);
  return forEachElementIndex(c, x, idx, axis, [&](int64_t i, int64_t off) {
    std::memcpy(y.data + size_t(i) * es, x.data + size_t(off) * es, es);
  });
}

enum class Red { None, Add, Mul, Max, Min };

Status parseReduction(KernelContext &c, Red &r) {
  std::string s = c.str("reduction", "none");
  if (s == "none")
    r = Red::None;
  else if (s == "add")
    r = Red::Add;
  else if (s == "mul")
    r = Red::Mul;
  else if (s == "max")
    r = Red::Max;
  else if (s == "min")
    r = Red::Min;
  else
    return c.error("reduction must be none, add, mul, max or min");
  return Status::success();
}

template <typename T> void applyRed(T &dst, T v, Red r) {
  switch (r) {
  case Red::None:
    dst = v;
    break;
  case Red::Add:
    dst = dst + v;
    break;
  case Red::Mul:
    dst = dst * v;
    break;
  case Red::Max:
    dst = std::max(dst, v);
    break;
  case Red::Min:
    dst = std::min(dst, v);
    break;
  }
}

Status scatterElementsKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(3, 3, 1, 1));
  int64_t axis = c.i64("axis", 0);
  Red red;
  MP_RT_TRY(parseReduction(c, red));
  TensorView &x = c.in(0), &idx = c.in(1), &upd = c.in(2), &y = c.out(0);
  MP_RT_TRY(indexType(c, idx));
  if (x.dtype != y.dtype || upd.dtype != x.dtype || x.shape != y.shape)
    return c.error("data, updates and result must have one dtype; result "
                   "the data's shape");
  if (!normAxis(axis, x.rank()))
    return c.error("axis out of range");
  MP_RT_TRY(checkElementIndices(c, x, idx, axis));
  if (upd.shape != idx.shape)
    return c.error("updates must have the indices' shape");
  if (c.validateOnly)
    return Status::success();
  return dispatchCompute(x.dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    Input<T> iu(upd);
    std::vector<T> out(static_cast<size_t>(x.numel()));
    loadAs<T>(x.dtype, x.data, out.data(), x.numel());
    MP_RT_TRY(forEachElementIndex(c, x, idx, axis, [&](int64_t i, int64_t off) {
      applyRed(out[size_t(off)], iu[i], red);
    }));
    storeAs<T>(out.data(), y.dtype, y.data, y.numel());
    return Status::success();
  });
}

Status scatterNDKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(3, 3, 1, 1));
  Red red;
  MP_RT_TRY(parseReduction(c, red));
  TensorView &x = c.in(0), &idx = c.in(1), &upd = c.in(2), &y = c.out(0);
  MP_RT_TRY(indexType(c, idx, false));
  if (x.dtype != y.dtype || upd.dtype != x.dtype || x.shape != y.shape)
    return c.error("data, updates and result must have one dtype; result "
                   "the data's shape");
  if (idx.rank() < 1)
    return c.error("indices must have rank >= 1");
  int64_t k = idx.shape.back();
  if (k < 0 || k > x.rank())
    return c.error("indices' last dim exceeds the data's rank");
  Shape want(idx.shape.begin(), idx.shape.end() - 1);
  want.insert(want.end(), x.shape.begin() + k, x.shape.end());
  if (upd.shape != want)
    return c.error("updates shape should be " + shapeStr(want));
  if (c.validateOnly)
    return Status::success();
  int64_t slice = numElements(Shape(x.shape.begin() + k, x.shape.end()));
  int64_t n = k ? idx.numel() / k
                : numElements(Shape(idx.shape.begin(), idx.shape.end() - 1));
  std::vector<int64_t> xs = stridesOf(x.shape);
  return dispatchCompute(x.dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    Input<T> iu(upd);
    std::vector<T> out(static_cast<size_t>(x.numel()));
    loadAs<T>(x.dtype, x.data, out.data(), x.numel());
    for (int64_t j = 0; j < n; ++j) {
      int64_t off = 0;
      for (int64_t d = 0; d < k; ++d) {
        int64_t i = idx.as<int64_t>()[j * k + d];
        if (!fixIndex(i, x.shape[size_t(d)]))
          return c.execError("index out of range in scatter_nd");
        off += i * xs[size_t(d)];
      }
      for (int64_t s = 0; s < slice; ++s)
        applyRed(out[size_t(off + s)], iu[j * slice + s], red);
    }
    storeAs<T>(out.data(), y.dtype, y.data, y.numel());
    return Status::success();
  });
}

//===----------------------------------------------------------------------===//
// trilu, shape, size, range, constant_of_shape
//===----------------------------------------------------------------------===//

Status triluKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  bool upper = c.i64("upper", 1) != 0;
  int64_t k = c.i64("k", 0);
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  if (x.rank() < 2 || x.shape != y.shape)
    return c.error("operand must have rank >= 2 and the result its shape");
  if (c.validateOnly)
    return Status::success();
  int64_t R = x.shape[x.shape.size() - 2], C = x.shape.back();
  int64_t B = (R * C != 0) ? x.numel() / (R * C) : 0;
  size_t es = dtypeSize(x.dtype);
  if (x.data != y.data)
    std::memmove(y.data, x.data, x.bytes());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < R; ++i)
      for (int64_t j = 0; j < C; ++j) {
        bool keep = upper ? j - i >= k : j - i <= k;
        if (!keep)
          std::memset(y.data + size_t((b * R + i) * C + j) * es, 0, es);
      }
  return Status::success();
}

Status padKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  std::vector<int64_t> pads = c.ints("pads");
  double value = c.f64("value", 0.0);
  TensorView &x = c.in(0), &y = c.out(0);
  MP_RT_TRY(sameDType(c, x, y));
  size_t r = x.shape.size();
  if (pads.size() != 2 * r)
    return c.error("pads must hold 2 x rank entries");
  Shape expect(r);
  for (size_t i = 0; i < r; ++i) {
    expect[i] = x.shape[i] + pads[i] + pads[i + r];
    if (expect[i] < 0)
      return c.error("pads crop a dim below zero");
  }
  if (y.shape != expect)
    return c.error("result must have shape " + shapeStr(expect));
  if (c.validateOnly)
    return Status::success();
  size_t es = dtypeSize(x.dtype);
  int64_t n = y.numel();
  if (n > 0) {
    storeF64(y, 0, value);
    for (int64_t i = 1; i < n; ++i)
      std::memcpy(y.data + size_t(i) * es, y.data, es);
  }
  std::vector<int64_t> idx(r, 0);
  for (int64_t k = 0, m = x.numel(); k < m; ++k) {
    int64_t off = 0;
    bool inside = true;
    for (size_t d = 0; d < r; ++d) {
      int64_t yi = idx[d] + pads[d];
      if (yi < 0 || yi >= y.shape[d]) {
        inside = false;
        break;
      }
      off = off * y.shape[d] + yi;
    }
    if (inside)
      std::memcpy(y.data + size_t(off) * es, x.data + size_t(k) * es, es);
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < x.shape[d])
        break;
      idx[d] = 0;
    }
  }
  return Status::success();
}

Status shapeKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
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
  int64_t n = std::max<int64_t>(0, end - start);
  TensorView &y = c.out(0);
  if (y.dtype != DType::I64 || y.shape != Shape{n})
    return c.error("result must be i64 of shape [" + std::to_string(n) + "]");
  if (c.validateOnly)
    return Status::success();
  for (int64_t i = 0; i < n; ++i)
    y.as<int64_t>()[i] = c.in(0).shape[size_t(start + i)];
  return Status::success();
}

Status sizeKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  TensorView &y = c.out(0);
  if (y.dtype != DType::I64 || y.numel() != 1)
    return c.error("result must be a one-element i64");
  if (!c.validateOnly)
    y.as<int64_t>()[0] = c.in(0).numel();
  return Status::success();
}

Status rangeKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(3, 3, 1, 1));
  TensorView &s = c.in(0), &l = c.in(1), &d = c.in(2), &y = c.out(0);
  for (TensorView *t : {&s, &l, &d})
    if (t->numel() != 1 || t->dtype != y.dtype)
      return c.error("start, limit and delta must be scalars of the result's "
                     "dtype");
  if (y.rank() != 1 || y.dtype == DType::Bool)
    return c.error("result must be 1-D and numeric");
  bool known =
      !c.validateOnly || (s.role == Role::Constant &&
                          l.role == Role::Constant && d.role == Role::Constant);
  if (!known)
    return Status::success();
  int64_t n;
  if (isFloat(y.dtype)) {
    double st = scalarF64(s), li = scalarF64(l), de = scalarF64(d);
    if (de == 0 || !std::isfinite(st) || !std::isfinite(li) ||
        !std::isfinite(de))
      return failAt(c, "delta must be non-zero and bounds finite");
    double cnt = std::ceil((li - st) / de);
    n = cnt > 0 ? int64_t(std::min(cnt, 9e18)) : 0;
    if (n != y.numel())
      return failAt(c, "range has " + std::to_string(n) +
                           " elements, the result " +
                           std::to_string(y.numel()));
    if (!c.validateOnly)
      for (int64_t i = 0; i < n; ++i)
        storeF64(y, i, st + double(i) * de);
  } else {
    int64_t st = scalarI64(s), li = scalarI64(l), de = scalarI64(d);
    if (de == 0)
      return failAt(c, "delta must be non-zero");
    long double cnt = std::ceil((static_cast<long double>(li) - st) / de);
    n = cnt > 0 ? int64_t(cnt) : 0;
    if (n != y.numel())
      return failAt(c, "range has " + std::to_string(n) +
                           " elements, the result " +
                           std::to_string(y.numel()));
    if (!c.validateOnly)
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = int64_t(uint64_t(st) + uint64_t(i) * uint64_t(de));
        storeAs<int64_t>(&v, y.dtype, y.data + size_t(i) * dtypeSize(y.dtype),
                         1);
      }
  }
  return Status::success();
}

Status constantOfShapeKernel(KernelContext &c) {
  MP_RT_TRY(c.arity(1, 1, 1, 1));
  double fv = c.f64("value", 0.0);
  TensorView &y = c.out(0);
  Shape vals;
  bool known;
  MP_RT_TRY(readShapeOperand(c, c.in(0), vals, known));
  if (known && vals != y.shape)
    return failAt(c, "shape operand " + shapeStr(vals) +
                         " differs from the result shape " + shapeStr(y.shape));
  if (c.validateOnly)
    return Status::success();
  const Attribute *a = c.ins.findAttr("value");
  if (a && a->kind == Attribute::Kind::I64 && !isFloat(y.dtype)) {
    int64_t v = a->i;
    for (int64_t i = 0; i < y.numel(); ++i)
      storeAs<int64_t>(&v, y.dtype, y.data + size_t(i) * dtypeSize(y.dtype), 1);
  } else {
    for (int64_t i = 0; i < y.numel(); ++i)
      storeF64(y, i, fv);
  }
  return Status::success();
}

} // namespace

void registerShapeKernels(Registry &r) {
  r["reshape"] = {reshapeKernel, true};
  r["flatten"] = {flattenKernel, true};
  r["squeeze"] = {squeezeKernel, true};
  r["unsqueeze"] = {unsqueezeKernel, true};
  r["transpose"] = {transposeKernel, false};
  r["slice"] = {sliceKernel, false};
  r["expand"] = {expandKernel, false};
  r["concat"] = {concatKernel, false};
  r["split"] = {splitKernel, false};
  r["gather"] = {gatherKernel, false};
  r["gather_elements"] = {gatherElementsKernel, false};
  r["scatter_elements"] = {scatterElementsKernel, true};
  r["scatter_nd"] = {scatterNDKernel, true};
  r["trilu"] = {triluKernel, true};
  r["pad"] = {padKernel, false};
  r["shape"] = {shapeKernel, false};
  r["size"] = {sizeKernel, false};
  r["range"] = {rangeKernel, false};
  r["constant_of_shape"] = {constantOfShapeKernel, false};
}

} // namespace mp::rt::cpu
