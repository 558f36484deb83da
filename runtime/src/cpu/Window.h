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

} // namespace mp::rt::cpu

#endif // MP_RT_CPU_WINDOW_H
