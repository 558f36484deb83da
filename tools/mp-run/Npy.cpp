//===- Npy.cpp - .npy and .npz files for mp-run ---------------------------===//
#include "Npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace mp::npy {

namespace {
const struct {
  const char *descr;
  const char *dtype;
  size_t size;
} kTypes[] = {{"<f4", "f32", 4}, {"<f2", "f16", 2}, {"<f8", "f64", 8},
              {"<i8", "i64", 8}, {"<i4", "i32", 4}, {"|i1", "i8", 1},
              {"|u1", "u8", 1},  {"|b1", "bool", 1}};

size_t elementSize(const std::string &dtype) {
  for (auto &t : kTypes)
    if (dtype == t.dtype)
      return t.size;
  return 0;
}

std::string readFile(const std::string &path, std::vector<uint8_t> &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return "cannot open '" + path + "'";
  out.assign(std::istreambuf_iterator<char>(f), {});
  return "";
}

/// The value text of `key` in a numpy header dict, e.g. 'descr': '<f4'.
std::string dictValue(const std::string &h, const std::string &key) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos)
    return "";
  size_t colon = h.find(':', k);
  if (colon == std::string::npos)
    return "";
  size_t start = h.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos)
    return "";
  char open = h[start];
  size_t end = open == '(' ? h.find(')', start)
               : open == '\'' ? h.find('\'', start + 1)
                              : h.find_first_of(",}", start);
  if (end == std::string::npos)
    return "";
  return h.substr(start, end - start + 1);
}

uint32_t crc32(const uint8_t *p, size_t n) {
  static uint32_t table[256];
  static bool init = false;
  if (!init) {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    init = true;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i)
    c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t le32(const uint8_t *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24;
}
uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | p[1] << 8); }
void put16(std::vector<uint8_t> &o, uint16_t v) {
  o.push_back(v & 0xFF);
  o.push_back(v >> 8);
}
void put32(std::vector<uint8_t> &o, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    o.push_back((v >> (8 * i)) & 0xFF);
}
} // namespace

std::string parseNpy(const uint8_t *data, size_t size, Array &out) {
  if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0)
    return "not an .npy file (bad magic)";
  uint8_t major = data[6];
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = le16(data + 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12)
      return "truncated .npy header";
    headerLen = le32(data + 8);
    offset = 12;
  } else {
    return "unsupported .npy version " + std::to_string(major);
  }
  if (headerLen > size - offset)
    return "truncated .npy header";
  std::string h(reinterpret_cast<const char *>(data + offset), headerLen);
  std::string descr = dictValue(h, "descr");
  if (descr.size() < 2)
    return "no dtype in .npy header";
  descr = descr.substr(1, descr.size() - 2);
  out.dtype.clear();
  for (auto &t : kTypes)
    if (descr == t.descr || (descr[0] == '=' && descr.substr(1) == t.descr + 1))
      out.dtype = t.dtype;
  if (out.dtype.empty())
    return "unsupported .npy dtype '" + descr +
           "' (want little-endian f32/f16/f64/i64/i32/i8/u8/bool)";
  if (dictValue(h, "fortran_order").rfind("True", 0) == 0)
    return "Fortran-order .npy arrays are not supported";
  std::string shape = dictValue(h, "shape");
  if (shape.empty() || shape[0] != '(')
    return "no shape in .npy header";
  out.shape.clear();
  std::stringstream ss(shape.substr(1, shape.size() - 2));
  std::string item;
  uint64_t count = 1;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos)
      continue;
    char *end;
    long long d = std::strtoll(item.c_str() + b, &end, 10);
    if (d < 0 || d > (1ll << 40))
      return "bad dim in .npy shape";
    out.shape.push_back(d);
    if (d && count > (uint64_t(1) << 40) / uint64_t(d))
      return ".npy array too large";
    count *= uint64_t(d);
  }
  uint64_t bytes = count * elementSize(out.dtype);
  size_t start = offset + headerLen;
  if (bytes != size - start)
    return ".npy data holds " + std::to_string(size - start) +
           " bytes, its shape needs " + std::to_string(bytes);
  out.data.assign(data + start, data + size);
  return "";
}

std::string readNpy(const std::string &path, Array &out) {
  std::vector<uint8_t> bytes;
  std::string err = readFile(path, bytes);
  if (!err.empty())
    return err;
  err = parseNpy(bytes.data(), bytes.size(), out);
  return err.empty() ? "" : path + ": " + err;
}

std::string readNpz(const std::string &path,
                    std::map<std::string, Array> &out) {
  std::vector<uint8_t> z;
  std::string err = readFile(path, z);
  if (!err.empty())
    return err;
  return parseNpz(z, path, out);
}

std::string parseNpz(const std::vector<uint8_t> &z, const std::string &path,
                     std::map<std::string, Array> &out) {
  std::string err;
  size_t pos = 0;
  while (pos + 4 <= z.size() && le32(&z[pos]) == 0x04034b50) {
    if (pos + 30 > z.size())
      return path + ": truncated zip entry";
    uint16_t flags = le16(&z[pos + 6]), method = le16(&z[pos + 8]);
    uint64_t csize = le32(&z[pos + 18]);
    uint16_t nameLen = le16(&z[pos + 26]), extraLen = le16(&z[pos + 28]);
    size_t dataStart = pos + 30 + nameLen + extraLen;
    if (dataStart > z.size())
      return path + ": truncated zip entry";
    std::string name(reinterpret_cast<const char *>(&z[pos + 30]), nameLen);
    if (method != 0)
      return path + ": member '" + name +
             "' is compressed; write the archive with np.savez, not "
             "np.savez_compressed";
    if (flags & 0x08)
      return path + ": zip data descriptors are not supported";
    if (csize == 0xFFFFFFFFu) {
      // zip64: sizes are in the extra field.
      size_t e = pos + 30 + nameLen, eEnd = e + extraLen;
      bool found = false;
      while (e + 4 <= eEnd) {
        uint16_t id = le16(&z[e]), len = le16(&z[e + 2]);
        if (id == 1 && len >= 16 && e + 4 + 16 <= eEnd) {
          uint64_t lo = le32(&z[e + 12]), hi = le32(&z[e + 16]);
          csize = lo | hi << 32;
          found = true;
        }
        e += 4 + len;
      }
      if (!found)
        return path + ": bad zip64 entry";
    }
    if (csize > z.size() - dataStart)
      return path + ": truncated member '" + name + "'";
    Array a;
    err = parseNpy(&z[dataStart], csize, a);
    if (!err.empty())
      return path + ": member '" + name + "': " + err;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
      name.resize(name.size() - 4);
    out[name] = std::move(a);
    pos = dataStart + csize;
  }
  if (out.empty())
    return path + ": not an .npz archive (no members found)";
  return "";
}

std::vector<uint8_t> encodeNpy(const Array &a) {
  std::string descr;
  for (auto &t : kTypes)
    if (a.dtype == t.dtype)
      descr = t.descr;
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i)
    shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 ? "," : i + 1 < a.shape.size() ? ", " : "");
  shape += ")";
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                  shape + ", }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  put16(out, uint16_t(h.size()));
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

std::string writeNpz(const std::string &path,
                     const std::map<std::string, Array> &arrays) {
  std::vector<uint8_t> zip, central;
  uint16_t count = 0;
  for (auto &[key, a] : arrays)
    if (!elementSize(a.dtype))
      return "array '" + key + "' has dtype " + a.dtype +
             ", which .npy cannot hold (cast it to f32 in the model)";
  for (auto &[key, a] : arrays) {
    std::vector<uint8_t> body = encodeNpy(a);
    std::string name = key + ".npy";
    if (body.size() >= 0xFFFFFFFFu)
      return "array '" + key + "' is too large for a zip32 archive";
    uint32_t crc = crc32(body.data(), body.size());
    uint32_t offset = uint32_t(zip.size());
    auto header = [&](std::vector<uint8_t> &o, bool centralDir) {
      put32(o, centralDir ? 0x02014b50 : 0x04034b50);
      if (centralDir)
        put16(o, 20);
      put16(o, 20);
      put16(o, 0);
      put16(o, 0);
      put16(o, 0);
      put16(o, 0);
      put32(o, crc);
      put32(o, uint32_t(body.size()));
      put32(o, uint32_t(body.size()));
      put16(o, uint16_t(name.size()));
      put16(o, 0);
      if (centralDir) {
        put16(o, 0);
        put16(o, 0);
        put16(o, 0);
        put32(o, 0);
        put32(o, offset);
      }
      o.insert(o.end(), name.begin(), name.end());
    };
    header(zip, false);
    zip.insert(zip.end(), body.begin(), body.end());
    header(central, true);
    ++count;
  }
  uint32_t cdOffset = uint32_t(zip.size());
  zip.insert(zip.end(), central.begin(), central.end());
  put32(zip, 0x06054b50);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, count);
  put16(zip, count);
  put32(zip, uint32_t(central.size()));
  put32(zip, cdOffset);
  put16(zip, 0);
  // Write to a temporary file first: nothing is left half-written.
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f)
      return "cannot write '" + path + "'";
    f.write(reinterpret_cast<const char *>(zip.data()), zip.size());
    if (!f)
      return "cannot write '" + path + "'";
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return "cannot write '" + path + "'";
  return "";
}

} // namespace mp::npy
