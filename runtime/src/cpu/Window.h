//===- Window.h - sliding-window geometry for conv and pooling --*- C++ -*-===//
//
// Reads auto_pad / pads / strides / dilations and computes the output size
// of each spatial dim as ONNX specifies (ceil_mode for pooling drops a last
// window that would start in the end padding, as PyTorch does).
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_CPU_WINDOW_H
#define MP_RT_CPU_WINDOW_H

#include "Kernel.h"

#include <algorithm>
#include <limits>

namespace mp::rt::cpu {

struct Window {
  Shape in, kernel, strides, dilations, padBegin, padEnd, out;
  size_t rank() const { return in.size(); }
};

inline Status makeWindow(KernelContext &c, const Shape &in, const Shape &kernel,
                         bool ceilMode, Window &w) {
  size_t nd = in.size();
  std::string autoPad = c.str("auto_pad", "NOTSET");
  bool hasPads = c.has("pads");
  Shape pads = c.ints("pads", Shape(2 * nd, 0));
  w.strides = c.ints("strides", Shape(nd, 1));
  w.dilations = c.ints("dilations", Shape(nd, 1));
  w.in = in;
  w.kernel = kernel;
  if (pads.size() != 2 * nd)
    return c.error("pads must have " + std::to_string(2 * nd) + " entries");
  if (w.strides.size() != nd || w.dilations.size() != nd)
    return c.error("strides and dilations must have " + std::to_string(nd) +
                   " entries");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return c.error("auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  if (autoPad != "NOTSET" && hasPads)
    return c.error("pads cannot be combined with auto_pad = " + autoPad);
  w.padBegin.assign(nd, 0);
  w.padEnd.assign(nd, 0);
  w.out.assign(nd, 0);
  for (size_t d = 0; d < nd; ++d) {
    int64_t s = w.strides[d], dl = w.dilations[d], k = kernel[d];
    if (s < 1 || dl < 1 || k < 1)
      return c.error("strides, dilations and kernel sizes must be >= 1");
    if (s > (int64_t(1) << 20) || dl > (int64_t(1) << 20) ||
        k > (int64_t(1) << 34))
      return c.error("strides and dilations must be <= 2^20");
    int64_t span = (k - 1) * dl + 1;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t o = (in[d] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (o - 1) * s + span - in[d]);
      int64_t small = total / 2;
      w.padBegin[d] = autoPad == "SAME_UPPER" ? small : total - small;
      w.padEnd[d] = total - w.padBegin[d];
      w.out[d] = o;
      continue;
    }
    if (autoPad == "NOTSET") {
      w.padBegin[d] = pads[d];
      w.padEnd[d] = pads[nd + d];
      if (pads[d] < 0 || pads[nd + d] < 0 || pads[d] > (int64_t(1) << 31) ||
          pads[nd + d] > (int64_t(1) << 31))
        return c.error("pads must be in [0, 2^31]");
    }
    int64_t avail = in[d] + w.padBegin[d] + w.padEnd[d] - span;
    if (avail < 0)
      return c.error("window of " + std::to_string(span) +
                     " elements is larger than the padded input dim " +
                     std::to_string(in[d] + w.padBegin[d] + w.padEnd[d]));
    int64_t o = (ceilMode && autoPad == "NOTSET") ? (avail + s - 1) / s + 1
                                                  : avail / s + 1;
    if (ceilMode && autoPad == "NOTSET" && (o - 1) * s >= in[d] + w.padBegin[d])
      --o;
    w.out[d] = o;
  }
  return Status::success();
}

/// Advances a multi-index over `dims` (row-major); false after the last.
inline bool nextIndex(std::vector<int64_t> &idx, const Shape &dims) {
  for (int64_t d = int64_t(dims.size()) - 1; d >= 0; --d) {
    if (++idx[d] < dims[d])
      return true;
    idx[d] = 0;
  }
  return false;
}

/// For every (kernel position ki, output position p) the offset of the
/// input element within one channel plane, or -1 in the padding:
/// offs[ki * P + p] (im2col's gather table).
inline std::vector<int64_t> windowOffsets(const Window &w) {
  size_t nd = w.rank();
  int64_t kprod = numElements(w.kernel), P = numElements(w.out);
  std::vector<int64_t> offs(static_cast<size_t>(kprod * P));
  std::vector<int64_t> inStr = stridesOf(w.in);
  std::vector<int64_t> kk(nd, 0);
  for (int64_t ki = 0; ki < kprod; ++ki, nextIndex(kk, w.kernel)) {
    std::vector<int64_t> o(nd, 0);
    for (int64_t p = 0; p < P; ++p, nextIndex(o, w.out)) {
      int64_t off = 0;
      for (size_t d = 0; d < nd && off >= 0; ++d) {
        int64_t i =
            o[d] * w.strides[d] - w.padBegin[d] + kk[d] * w.dilations[d];
        off = (i < 0 || i >= w.in[d]) ? -1 : off + i * inStr[d];
      }
      offs[size_t(ki * P + p)] = off;
    }
  }
  return offs;
}

/// ONNX Slice geometry: reads starts/ends/axes/steps and gives, per dim of
/// `in`, the first index, the step and the output length.
inline Status sliceGeometry(KernelContext &c, const Shape &in, Shape &start,
                            Shape &step, Shape &out) {
  Shape starts = c.ints("starts"), ends = c.ints("ends");
  bool hasAxes = c.has("axes"), hasSteps = c.has("steps");
  Shape axes = c.ints("axes"), steps = c.ints("steps");
  size_t r = in.size(), n = starts.size();
  if (!hasAxes)
    for (size_t i = 0; i < n; ++i)
      axes.push_back(int64_t(i));
  if (!hasSteps)
    steps.assign(n, 1);
  if (ends.size() != n || axes.size() != n || steps.size() != n)
    return c.error("starts, ends, axes and steps must have one length");
  start.assign(r, 0);
  step.assign(r, 1);
  out = in;
  std::vector<bool> seen(r, false);
  for (size_t i = 0; i < n; ++i) {
    int64_t a = axes[i];
    if (!normAxis(a, int64_t(r)) || seen[size_t(a)])
      return c.error("axes out of range or repeated");
    seen[size_t(a)] = true;
    int64_t dim = in[size_t(a)], s = starts[i], e = ends[i], k = steps[i];
    if (k == 0 || k == std::numeric_limits<int64_t>::min())
      return c.error("steps must be non-zero and in range");
    // ONNX clamping (saturating for huge values).
    auto clampIdx = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0)
        v = v < -dim ? -1 : v + dim;
      if (v < 0 && lo == 0)
        v = 0;
      return std::min(std::max(v, lo), hi);
    };
    if (k > 0) {
      s = clampIdx(s, 0, dim);
      e = clampIdx(e, 0, dim);
    } else {
      s = clampIdx(s, 0, dim - 1);
      e = clampIdx(e, -1, dim - 1);
    }
    int64_t len = k > 0 ? (e > s ? (e - s - 1) / k + 1 : 0)
                        : (s > e ? (s - e - 1) / (-k) + 1 : 0);
    start[size_t(a)] = s;
    step[size_t(a)] = k;
    out[size_t(a)] = len;
  }
  return Status::success();
}

} // namespace mp::rt::cpu

#endif // MP_RT_CPU_WINDOW_H
