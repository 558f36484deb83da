//===- Npy.h - .npy and .npz files for mp-run -------------------*- C++ -*-===//
//
// Reads and writes numpy's .npy (format 1.0-3.0, little-endian, C order) and
// .npz archives (zip, stored or deflate-free: np.savez; np.savez_compressed
// files are rejected with a clear message). Every size is checked against
// the file; errors are strings, never crashes.
//
//===----------------------------------------------------------------------===//
#ifndef MP_TOOLS_MPRUN_NPY_H
#define MP_TOOLS_MPRUN_NPY_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mp::npy {

struct Array {
  std::string dtype; ///< "f32", "f16", "f64", "i64", "i32", "i8", "u8", "bool"
  std::vector<int64_t> shape;
  std::vector<uint8_t> data; ///< C order, little-endian
};

/// Parses one .npy file image.
std::string parseNpy(const uint8_t *data, size_t size, Array &out);
std::string readNpy(const std::string &path, Array &out);
/// Reads every member of an .npz archive, keyed without the ".npy" suffix.
std::string readNpz(const std::string &path, std::map<std::string, Array> &out);
/// Parses an .npz archive image; `path` names it in messages.
std::string parseNpz(const std::vector<uint8_t> &z, const std::string &path,
                     std::map<std::string, Array> &out);

std::vector<uint8_t> encodeNpy(const Array &a);
/// Writes an .npz archive (stored members).
std::string writeNpz(const std::string &path,
                     const std::map<std::string, Array> &arrays);

} // namespace mp::npy

#endif // MP_TOOLS_MPRUN_NPY_H
