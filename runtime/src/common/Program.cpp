//===- Program.cpp - .mpb serialization, validation, memory planning ------===//
//
// Writes and reads the `.mpb` format (docs/ProgramFormat.md). The reader is a
// cursor over a byte span: every read checks the bytes left, every count is
// checked against the bytes it needs before anything is allocated, and all
// sizes respect ReadOptions. Validation (structure, roles, memory plan) runs
// after parsing and is shared with writers through validateProgram().
//
//===----------------------------------------------------------------------===//
#include "mp_rt/program.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace mp::rt {

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F64:
    return "f64";
  case DType::I64:
    return "i64";
  case DType::I32:
    return "i32";
  case DType::I8:
    return "i8";
  case DType::U8:
    return "u8";
  case DType::Bool:
    return "bool";
  }
  return "?";
}

const char *roleName(Role r) {
  switch (r) {
  case Role::Input:
    return "input";
  case Role::Label:
    return "label";
  case Role::Param:
    return "param";
  case Role::OptState:
    return "opt_state";
  case Role::Scaler:
    return "scaler";
  case Role::Output:
    return "output";
  case Role::Constant:
    return "constant";
  case Role::Transient:
    return "transient";
  }
  return "?";
}

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  return 1;
}

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 ||
         t == DType::F64;
}

bool parseDType(const std::string &name, DType &out) {
  for (unsigned i = 0; i < kNumDTypes; ++i)
    if (name == dtypeName(DType(i))) {
      out = DType(i);
      return true;
    }
  return false;
}

int64_t TensorDesc::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

uint64_t TensorDesc::numBytes() const {
  return uint64_t(numElements()) * dtypeSize(dtype);
}

Attribute Attribute::ofInt(std::string name, int64_t v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::I64;
  a.i = v;
  return a;
}
Attribute Attribute::ofFloat(std::string name, double v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::F64;
  a.f = v;
  return a;
}
Attribute Attribute::ofInts(std::string name, std::vector<int64_t> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::I64s;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::ofFloats(std::string name, std::vector<double> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::F64s;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::ofString(std::string name, std::string v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::Str;
  a.s = std::move(v);
  return a;
}

const Attribute *Instruction::findAttr(const std::string &name) const {
  for (const Attribute &a : attrs)
    if (a.name == name)
      return &a;
  return nullptr;
}

uint32_t Program::addTensor(std::string name, DType dtype,
                            std::vector<int64_t> shape, Role role,
                            std::vector<uint8_t> data) {
  TensorDesc t;
  t.id = uint32_t(tensors.size());
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.role = role;
  t.data = std::move(data);
  tensors.push_back(std::move(t));
  return tensors.back().id;
}

const TensorDesc *Program::findTensor(const std::string &name) const {
  for (const TensorDesc &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

const Function *Program::findFunction(const std::string &name) const {
  for (const Function &f : functions)
    if (f.name == name)
      return &f;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

namespace {

std::string str(uint64_t v) { return std::to_string(v); }

std::string tensorRef(const Program &p, uint32_t id) {
  if (id >= p.tensors.size())
    return "tensor #" + str(id);
  return "tensor #" + str(id) + " '" + p.tensors[id].name + "'";
}

bool isPersistentWritable(Role r) {
  return r == Role::Param || r == Role::OptState || r == Role::Scaler ||
         r == Role::Output;
}

bool isWritable(Role r) {
  return r != Role::Constant && r != Role::Input && r != Role::Label;
}

/// Per-function live range [first, last] (instruction indices, inclusive)
/// of each transient the function touches.
struct LiveRange {
  uint32_t func;
  uint32_t first, last;
};

std::vector<std::vector<LiveRange>> liveRanges(const Program &p) {
  std::vector<std::vector<LiveRange>> ranges(p.tensors.size());
  for (uint32_t f = 0; f < p.functions.size(); ++f) {
    std::unordered_map<uint32_t, size_t> index; // tensor -> ranges[t] slot
    const auto &body = p.functions[f].body;
    for (uint32_t i = 0; i < body.size(); ++i) {
      auto touch = [&](uint32_t id) {
        if (id >= p.tensors.size() || p.tensors[id].role != Role::Transient)
          return;
        auto it = index.find(id);
        if (it == index.end()) {
          index[id] = ranges[id].size();
          ranges[id].push_back({f, i, i});
        } else {
          ranges[id][it->second].last = i;
        }
      };
      for (uint32_t id : body[i].operands)
        touch(id);
      for (uint32_t id : body[i].results)
        touch(id);
    }
  }
  return ranges;
}

bool timeOverlap(const std::vector<LiveRange> &a,
                 const std::vector<LiveRange> &b) {
  for (const LiveRange &x : a)
    for (const LiveRange &y : b)
      if (x.func == y.func && x.first <= y.last && y.first <= x.last)
        return true;
  return false;
}

/// Kernels whose result holds its first operand's bytes unchanged.
bool isViewKernel(const std::string &k) {
  return k == "reshape" || k == "flatten" || k == "squeeze" ||
         k == "unsqueeze" || k == "identity";
}

/// View groups: a view kernel's transient result and its transient first
/// operand, of one dtype and byte size, each written by exactly one
/// instruction of the program, may occupy the same bytes, since both hold
/// the same value for as long as either lives (the kernels skip a copy onto
/// itself). Returns each tensor's group representative (the smallest id;
/// the tensor itself when it is in no group).
std::vector<uint32_t> viewGroups(const Program &p) {
  const size_t n = p.tensors.size();
  std::vector<uint32_t> parent(n), writes(n, 0);
  for (uint32_t i = 0; i < n; ++i)
    parent[i] = i;
  for (const Function &f : p.functions)
    for (const Instruction &ins : f.body)
      for (uint32_t id : ins.results)
        if (id < n)
          ++writes[id];
  auto find = [&](uint32_t x) {
    while (parent[x] != x)
      x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const Function &f : p.functions)
    for (const Instruction &ins : f.body) {
      if (!isViewKernel(ins.kernel) || ins.operands.empty() ||
          ins.results.size() != 1)
        continue;
      uint32_t x = ins.operands[0], y = ins.results[0];
      if (x >= n || y >= n || x == y)
        continue;
      const TensorDesc &tx = p.tensors[x], &ty = p.tensors[y];
      if (tx.role != Role::Transient || ty.role != Role::Transient ||
          tx.dtype != ty.dtype || tx.numBytes() != ty.numBytes() ||
          tx.numBytes() == 0 || writes[x] != 1 || writes[y] != 1)
        continue;
      uint32_t a = find(x), b = find(y);
      if (a != b)
        parent[std::max(a, b)] = std::min(a, b);
    }
  for (uint32_t i = 0; i < n; ++i)
    parent[i] = find(i);
  return parent;
}

} // namespace

std::string validateProgram(const Program &p, const ReadOptions &opts) {
  const uint64_t n = p.tensors.size();
  if (n > opts.maxTensors)
    return "too many tensors: " + str(n);
  if (p.functions.size() > opts.maxFunctions)
    return "too many functions: " + str(p.functions.size());
  if (p.arenaSize > opts.maxTotalBytes)
    return "arena size " + str(p.arenaSize) + " exceeds the limit of " +
           str(opts.maxTotalBytes) + " bytes";

  uint64_t total = p.arenaSize;
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n; ++i) {
    const TensorDesc &t = p.tensors[i];
    std::string where = tensorRef(p, uint32_t(i));
    if (t.id != i)
      return where + ": id " + str(t.id) + " does not equal its index";
    if (t.name.empty())
      return where + ": empty name";
    if (t.name.size() > opts.maxStringBytes)
      return where + ": name too long";
    if (!names.insert(t.name).second)
      return where + ": duplicate tensor name";
    if (unsigned(t.dtype) >= kNumDTypes)
      return where + ": unknown dtype code " + str(unsigned(t.dtype));
    if (unsigned(t.role) >= kNumRoles)
      return where + ": unknown role code " + str(unsigned(t.role));
    if (t.shape.size() > opts.maxRank)
      return where + ": rank " + str(t.shape.size()) + " exceeds the limit " +
             str(opts.maxRank);
    uint64_t bytes = dtypeSize(t.dtype);
    for (int64_t d : t.shape) {
      if (d < 0)
        return where + ": negative dimension " + std::to_string(d);
      if (d != 0 && bytes > opts.maxTensorBytes / uint64_t(d))
        return where + ": size exceeds the limit of " +
               str(opts.maxTensorBytes) + " bytes";
      bytes *= uint64_t(d);
    }
    if (bytes > opts.maxTensorBytes)
      return where + ": " + str(bytes) + " bytes exceed the limit of " +
             str(opts.maxTensorBytes) + " bytes";
    if (!t.data.empty() && t.data.size() != bytes)
      return where + ": initial data has " + str(t.data.size()) +
             " bytes, expected " + str(bytes);
    if (t.role == Role::Constant && t.data.empty() && bytes != 0)
      return where + ": constant without data";
    if (t.role == Role::Transient) {
      if (!t.data.empty())
        return where + ": transient with initial data";
      if (t.updates != kNoTensor)
        return where + ": transient with an 'updates' target";
      if (t.arenaOffset == kNoOffset)
        return where + ": transient without an arena offset";
      if (t.arenaOffset % dtypeSize(t.dtype) != 0)
        return where + ": arena offset " + str(t.arenaOffset) +
               " is not a multiple of the element size";
      if (t.arenaOffset > p.arenaSize || bytes > p.arenaSize - t.arenaOffset)
        return where + ": arena range [" + str(t.arenaOffset) + ", +" +
               str(bytes) + ") is outside the arena of " + str(p.arenaSize) +
               " bytes";
    } else {
      if (t.arenaOffset != kNoOffset)
        return where + ": arena offset on a " + roleName(t.role) + " tensor";
      if (t.updates == kNoTensor) {
        total += bytes;
        if (total > opts.maxTotalBytes)
          return "program needs more than " + str(opts.maxTotalBytes) +
                 " bytes";
      }
    }
    if (t.updates != kNoTensor) {
      if (t.updates >= n)
        return where + ": 'updates' target " + str(t.updates) + " out of range";
      const TensorDesc &u = p.tensors[t.updates];
      if (t.updates == i)
        return where + ": updates itself";
      if (!isWritable(t.role))
        return where + ": a " + std::string(roleName(t.role)) +
               " tensor cannot update another";
      if (!isPersistentWritable(u.role))
        return where + ": 'updates' target " + tensorRef(p, t.updates) +
               " is a " + roleName(u.role) +
               " tensor (want param, opt_state, scaler or output)";
      if (u.updates != kNoTensor)
        return where + ": 'updates' target " + tensorRef(p, t.updates) +
               " itself updates another tensor";
      if (u.dtype != t.dtype || u.shape != t.shape)
        return where + ": dtype or shape differs from its 'updates' target " +
               tensorRef(p, t.updates);
      if (!t.data.empty())
        return where + ": tensor with an 'updates' target has initial data";
    }
  }

  std::unordered_set<std::string> fnames;
  for (const Function &f : p.functions) {
    std::string where = "function '" + f.name + "'";
    if (f.name.empty())
      return "function with an empty name";
    if (!fnames.insert(f.name).second)
      return where + ": duplicate function name";
    if (f.body.size() > opts.maxInstructions)
      return where + ": too many instructions";
    for (uint32_t id : f.inputs) {
      if (id >= n)
        return where + ": input id " + str(id) + " out of range";
      Role r = p.tensors[id].role;
      if (r != Role::Input && r != Role::Label)
        return where + ": input " + tensorRef(p, id) + " has role " +
               roleName(r) + " (want input or label)";
    }
    for (uint32_t id : f.outputs) {
      if (id >= n)
        return where + ": output id " + str(id) + " out of range";
      if (p.tensors[id].role == Role::Transient)
        return where + ": output " + tensorRef(p, id) + " is transient";
    }
    std::vector<bool> defined(n, false);
    for (size_t i = 0; i < f.body.size(); ++i) {
      const Instruction &ins = f.body[i];
      std::string iw =
          where + " instruction " + str(i) + " ('" + ins.kernel + "')";
      if (ins.kernel.empty())
        return iw + ": empty kernel name";
      if (ins.operands.size() > opts.maxOperands ||
          ins.results.size() > opts.maxOperands)
        return iw + ": too many operands or results";
      if (ins.attrs.size() > opts.maxAttrs)
        return iw + ": too many attributes";
      for (uint32_t id : ins.operands) {
        if (id == kNoTensor)
          continue;
        if (id >= n)
          return iw + ": operand id " + str(id) + " out of range";
        if (p.tensors[id].role == Role::Transient && !defined[id])
          return iw + ": reads transient " + tensorRef(p, id) +
                 " before it is written";
      }
      for (uint32_t id : ins.results) {
        if (id >= n)
          return iw + ": result id " + str(id) + " out of range";
        if (!isWritable(p.tensors[id].role))
          return iw + ": writes " + std::string(roleName(p.tensors[id].role)) +
                 " " + tensorRef(p, id);
      }
      for (uint32_t id : ins.results)
        defined[id] = true;
      std::unordered_set<std::string> anames;
      for (const Attribute &a : ins.attrs) {
        if (a.name.empty() || !anames.insert(a.name).second)
          return iw + ": empty or duplicate attribute name '" + a.name + "'";
        if (a.ints.size() > opts.maxAttrElements ||
            a.floats.size() > opts.maxAttrElements)
          return iw + ": attribute '" + a.name + "' too long";
      }
    }
  }

  // Transients whose arena bytes overlap must never be live together.
  std::vector<uint32_t> trans;
  for (uint32_t i = 0; i < n; ++i)
    if (p.tensors[i].role == Role::Transient && p.tensors[i].numBytes() > 0)
      trans.push_back(i);
  std::sort(trans.begin(), trans.end(), [&](uint32_t a, uint32_t b) {
    return p.tensors[a].arenaOffset < p.tensors[b].arenaOffset;
  });
  auto ranges = liveRanges(p);
  std::vector<uint32_t> group = viewGroups(p);
  for (size_t a = 0; a < trans.size(); ++a) {
    const TensorDesc &ta = p.tensors[trans[a]];
    uint64_t end = ta.arenaOffset + ta.numBytes();
    for (size_t b = a + 1; b < trans.size(); ++b) {
      const TensorDesc &tb = p.tensors[trans[b]];
      if (tb.arenaOffset >= end)
        break;
      // One view group at one offset: the same bytes, the same value.
      if (group[trans[a]] == group[trans[b]] &&
          ta.arenaOffset == tb.arenaOffset)
        continue;
      if (timeOverlap(ranges[trans[a]], ranges[trans[b]]))
        return "memory plan: " + tensorRef(p, trans[a]) + " and " +
               tensorRef(p, trans[b]) +
               " share arena bytes while both are live";
    }
  }
  return "";
}

void planMemory(Program &p) {
  auto ranges = liveRanges(p);
  // A view group is placed once, live over the union of its members'
  // ranges; every member then gets its representative's offset.
  std::vector<uint32_t> group = viewGroups(p);
  for (uint32_t i = 0; i < p.tensors.size(); ++i)
    if (group[i] != i)
      ranges[group[i]].insert(ranges[group[i]].end(), ranges[i].begin(),
                              ranges[i].end());
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < p.tensors.size(); ++i)
    if (p.tensors[i].role == Role::Transient && group[i] == i)
      order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return p.tensors[a].numBytes() > p.tensors[b].numBytes();
  });
  const uint64_t align = 64;
  std::vector<uint32_t> placed;
  uint64_t arena = 0;
  for (uint32_t id : order) {
    uint64_t size = p.tensors[id].numBytes();
    // Candidate offsets: 0 and the aligned end of every conflicting tensor.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (uint32_t q : placed)
      if (timeOverlap(ranges[id], ranges[q]))
        busy.push_back({p.tensors[q].arenaOffset,
                        p.tensors[q].arenaOffset + p.tensors[q].numBytes()});
    std::sort(busy.begin(), busy.end());
    uint64_t off = 0;
    for (auto &[b, e] : busy) {
      if (size == 0 || off + size <= b)
        break;
      off = std::max(off, (e + align - 1) / align * align);
    }
    p.tensors[id].arenaOffset = off;
    arena = std::max(arena, off + size);
    placed.push_back(id);
  }
  for (uint32_t i = 0; i < p.tensors.size(); ++i)
    if (group[i] != i)
      p.tensors[i].arenaOffset = p.tensors[group[i]].arenaOffset;
  p.arenaSize = (arena + align - 1) / align * align;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

namespace {

constexpr uint32_t tag(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 |
         uint32_t(uint8_t(s[2])) << 16 | uint32_t(uint8_t(s[3])) << 24;
}
constexpr uint32_t kTagTensors = tag("TNSR");
constexpr uint32_t kTagFunctions = tag("FUNC");
constexpr uint32_t kTagPlan = tag("PLAN");

struct Writer {
  std::vector<uint8_t> &out;
  void u8(uint8_t v) { out.push_back(v); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i)
      out.push_back(uint8_t(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i)
      out.push_back(uint8_t(v >> (8 * i)));
  }
  void i64(int64_t v) { u64(uint64_t(v)); }
  void f64(double v) {
    uint64_t b;
    std::memcpy(&b, &v, 8);
    u64(b);
  }
  void string(const std::string &s) {
    u32(uint32_t(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  void ids(const std::vector<uint32_t> &v) {
    u32(uint32_t(v.size()));
    for (uint32_t x : v)
      u32(x);
  }
  /// Starts a section; returns the position of its length field.
  size_t begin(uint32_t t) {
    u32(t);
    size_t pos = out.size();
    u64(0);
    return pos;
  }
  void end(size_t pos) {
    uint64_t len = out.size() - pos - 8;
    for (int i = 0; i < 8; ++i)
      out[pos + i] = uint8_t(len >> (8 * i));
  }
};

} // namespace

void writeProgram(const Program &p, std::vector<uint8_t> &out) {
  out.clear();
  Writer w{out};
  for (char c : {'M', 'P', 'B', '1'})
    w.u8(uint8_t(c));
  w.u32(kFormatVersion);
  w.u32(3); // sections

  size_t s = w.begin(kTagTensors);
  w.u32(uint32_t(p.tensors.size()));
  for (const TensorDesc &t : p.tensors) {
    w.u32(t.id);
    w.string(t.name);
    w.u8(uint8_t(t.dtype));
    w.u8(uint8_t(t.role));
    w.u32(uint32_t(t.shape.size()));
    for (int64_t d : t.shape)
      w.i64(d);
    w.u32(t.updates);
    w.u64(t.data.size());
    out.insert(out.end(), t.data.begin(), t.data.end());
  }
  w.end(s);

  s = w.begin(kTagFunctions);
  w.u32(uint32_t(p.functions.size()));
  for (const Function &f : p.functions) {
    w.string(f.name);
    w.ids(f.inputs);
    w.ids(f.outputs);
    w.u32(uint32_t(f.body.size()));
    for (const Instruction &ins : f.body) {
      w.string(ins.kernel);
      w.ids(ins.operands);
      w.ids(ins.results);
      w.u32(uint32_t(ins.attrs.size()));
      for (const Attribute &a : ins.attrs) {
        w.string(a.name);
        w.u8(uint8_t(a.kind));
        switch (a.kind) {
        case Attribute::Kind::I64:
          w.i64(a.i);
          break;
        case Attribute::Kind::F64:
          w.f64(a.f);
          break;
        case Attribute::Kind::I64s:
          w.u32(uint32_t(a.ints.size()));
          for (int64_t v : a.ints)
            w.i64(v);
          break;
        case Attribute::Kind::F64s:
          w.u32(uint32_t(a.floats.size()));
          for (double v : a.floats)
            w.f64(v);
          break;
        case Attribute::Kind::Str:
          w.string(a.s);
          break;
        }
      }
    }
  }
  w.end(s);

  s = w.begin(kTagPlan);
  w.u64(p.arenaSize);
  uint32_t count = 0;
  for (const TensorDesc &t : p.tensors)
    count += t.arenaOffset != kNoOffset;
  w.u32(count);
  for (const TensorDesc &t : p.tensors)
    if (t.arenaOffset != kNoOffset) {
      w.u32(t.id);
      w.u64(t.arenaOffset);
    }
  w.end(s);
}

std::string writeProgramFile(const Program &p, const std::string &path) {
  std::vector<uint8_t> bytes;
  writeProgram(p, bytes);
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return "cannot open '" + path + "' for writing";
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok &= std::fclose(f) == 0;
  return ok ? "" : "cannot write '" + path + "'";
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

/// A bounds-checked cursor. After the first failure every read fails and
/// `err` keeps the first message.
struct Reader {
  const uint8_t *p;
  size_t left;
  const ReadOptions &opts;
  std::string err;
  std::string context = "header";

  bool fail(const std::string &msg) {
    if (err.empty())
      err = "malformed program (" + context + "): " + msg;
    return false;
  }
  bool need(uint64_t n, const char *what) {
    if (!err.empty())
      return false;
    if (n > left)
      return fail(std::string("truncated reading ") + what + " (need " +
                  str(n) + " bytes, " + str(left) + " left)");
    return true;
  }
  bool bytes(void *dst, size_t n, const char *what) {
    if (!need(n, what))
      return false;
    if (n)
      std::memcpy(dst, p, n);
    p += n;
    left -= n;
    return true;
  }
  bool u8(uint8_t &v, const char *what) { return bytes(&v, 1, what); }
  bool u32(uint32_t &v, const char *what) {
    uint8_t b[4];
    if (!bytes(b, 4, what))
      return false;
    v = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 |
        uint32_t(b[3]) << 24;
    return true;
  }
  bool u64(uint64_t &v, const char *what) {
    uint8_t b[8];
    if (!bytes(b, 8, what))
      return false;
    v = 0;
    for (int i = 7; i >= 0; --i)
      v = v << 8 | b[i];
    return true;
  }
  bool i64(int64_t &v, const char *what) {
    uint64_t u;
    if (!u64(u, what))
      return false;
    v = int64_t(u);
    return true;
  }
  bool f64(double &v, const char *what) {
    uint64_t u;
    if (!u64(u, what))
      return false;
    std::memcpy(&v, &u, 8);
    return true;
  }
  /// Reads a count and checks that `count * minBytes` bytes remain and that
  /// it is within `limit`.
  bool count(uint32_t &n, uint64_t minBytes, uint64_t limit, const char *what) {
    if (!u32(n, what))
      return false;
    if (n > limit)
      return fail(std::string(what) + " " + str(n) + " exceeds the limit " +
                  str(limit));
    if (uint64_t(n) * minBytes > left)
      return fail(std::string("truncated: ") + what + " " + str(n) +
                  " needs at least " + str(uint64_t(n) * minBytes) +
                  " bytes, " + str(left) + " left");
    return true;
  }
  bool string(std::string &s, const char *what) {
    uint32_t n;
    if (!count(n, 1, opts.maxStringBytes, what))
      return false;
    s.assign(reinterpret_cast<const char *>(p), n);
    p += n;
    left -= n;
    return true;
  }
  bool ids(std::vector<uint32_t> &v, const char *what) {
    uint32_t n;
    if (!count(n, 4, opts.maxOperands, what))
      return false;
    v.resize(n);
    for (uint32_t &x : v)
      if (!u32(x, what))
        return false;
    return true;
  }
};

bool readTensors(Reader &r, Program &out) {
  uint32_t n;
  if (!r.count(n, 4 + 4 + 2 + 4 + 4 + 8, r.opts.maxTensors, "tensor count"))
    return false;
  out.tensors.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    TensorDesc &t = out.tensors[i];
    r.context = "tensor " + str(i);
    uint8_t dt = 0, role = 0;
    uint32_t rank = 0;
    if (!r.u32(t.id, "id") || !r.string(t.name, "name") || !r.u8(dt, "dtype") ||
        !r.u8(role, "role"))
      return false;
    if (dt >= kNumDTypes)
      return r.fail("unknown dtype code " + str(dt));
    if (role >= kNumRoles)
      return r.fail("unknown role code " + str(role));
    t.dtype = DType(dt);
    t.role = Role(role);
    if (!r.count(rank, 8, r.opts.maxRank, "rank"))
      return false;
    t.shape.resize(rank);
    uint64_t bytes = dtypeSize(t.dtype);
    for (int64_t &d : t.shape) {
      if (!r.i64(d, "dimension"))
        return false;
      if (d < 0)
        return r.fail("negative dimension " + std::to_string(d));
      if (d != 0 && bytes > r.opts.maxTensorBytes / uint64_t(d))
        return r.fail("tensor size exceeds the limit of " +
                      str(r.opts.maxTensorBytes) + " bytes");
      bytes *= uint64_t(d);
    }
    uint64_t dataSize = 0;
    if (!r.u32(t.updates, "updates") || !r.u64(dataSize, "data size"))
      return false;
    if (dataSize != 0 && dataSize != bytes)
      return r.fail("data size " + str(dataSize) + " does not match the " +
                    str(bytes) + " bytes of its shape");
    if (!r.need(dataSize, "tensor data"))
      return false;
    t.data.assign(r.p, r.p + dataSize);
    r.p += dataSize;
    r.left -= dataSize;
  }
  return true;
}

bool readAttribute(Reader &r, Attribute &a) {
  uint8_t kind;
  if (!r.string(a.name, "attribute name") || !r.u8(kind, "attribute kind"))
    return false;
  if (kind > uint8_t(Attribute::Kind::Str))
    return r.fail("unknown attribute kind " + str(kind));
  a.kind = Attribute::Kind(kind);
  uint32_t n;
  switch (a.kind) {
  case Attribute::Kind::I64:
    return r.i64(a.i, "attribute value");
  case Attribute::Kind::F64:
    return r.f64(a.f, "attribute value");
  case Attribute::Kind::I64s:
    if (!r.count(n, 8, r.opts.maxAttrElements, "attribute length"))
      return false;
    a.ints.resize(n);
    for (int64_t &v : a.ints)
      if (!r.i64(v, "attribute element"))
        return false;
    return true;
  case Attribute::Kind::F64s:
    if (!r.count(n, 8, r.opts.maxAttrElements, "attribute length"))
      return false;
    a.floats.resize(n);
    for (double &v : a.floats)
      if (!r.f64(v, "attribute element"))
        return false;
    return true;
  case Attribute::Kind::Str:
    return r.string(a.s, "attribute value");
  }
  return false;
}

bool readFunctions(Reader &r, Program &out) {
  uint32_t n;
  if (!r.count(n, 4 * 4, r.opts.maxFunctions, "function count"))
    return false;
  out.functions.resize(n);
  for (uint32_t fi = 0; fi < n; ++fi) {
    Function &f = out.functions[fi];
    r.context = "function " + str(fi);
    uint32_t ni;
    if (!r.string(f.name, "function name") || !r.ids(f.inputs, "inputs") ||
        !r.ids(f.outputs, "outputs") ||
        !r.count(ni, 4 * 4, r.opts.maxInstructions, "instruction count"))
      return false;
    f.body.resize(ni);
    for (uint32_t ii = 0; ii < ni; ++ii) {
      Instruction &ins = f.body[ii];
      r.context = "function " + str(fi) + " instruction " + str(ii);
      uint32_t na;
      if (!r.string(ins.kernel, "kernel name") ||
          !r.ids(ins.operands, "operands") || !r.ids(ins.results, "results") ||
          !r.count(na, 4 + 1 + 4, r.opts.maxAttrs, "attribute count"))
        return false;
      ins.attrs.resize(na);
      for (Attribute &a : ins.attrs)
        if (!readAttribute(r, a))
          return false;
    }
  }
  return true;
}

bool readPlan(Reader &r, Program &out) {
  uint32_t n;
  if (!r.u64(out.arenaSize, "arena size") ||
      !r.count(n, 12, r.opts.maxTensors, "plan entry count"))
    return false;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t id;
    uint64_t off;
    if (!r.u32(id, "plan tensor id") || !r.u64(off, "plan offset"))
      return false;
    if (id >= out.tensors.size())
      return r.fail("plan entry for unknown tensor " + str(id));
    if (out.tensors[id].arenaOffset != kNoOffset)
      return r.fail("two plan entries for tensor " + str(id));
    if (off == kNoOffset)
      return r.fail("invalid arena offset");
    out.tensors[id].arenaOffset = off;
  }
  return true;
}

} // namespace

std::string readProgram(const uint8_t *data, size_t size, Program &out,
                        const ReadOptions &opts) {
  out = Program();
  if (!data && size)
    return "null program data";
  Reader r{data, size, opts, {}};
  char magic[4];
  if (!r.bytes(magic, 4, "magic"))
    return r.err;
  if (std::memcmp(magic, "MPB1", 4) != 0)
    return "not an mp program: bad magic (want \"MPB1\")";
  uint32_t version, sections;
  if (!r.u32(version, "version"))
    return r.err;
  if (version != kFormatVersion)
    return "unsupported program format version " + str(version) +
           " (this runtime reads version " + str(kFormatVersion) + ")";
  if (!r.count(sections, 12, 1024, "section count"))
    return r.err;
  bool seen[3] = {false, false, false};
  for (uint32_t s = 0; s < sections; ++s) {
    r.context = "section " + str(s);
    uint32_t t;
    uint64_t len;
    if (!r.u32(t, "section tag") || !r.u64(len, "section length"))
      return r.err;
    if (!r.need(len, "section payload"))
      return r.err;
    Reader sub{r.p, size_t(len), opts, {}, r.context};
    r.p += len;
    r.left -= len;
    int which = t == kTagTensors     ? 0
                : t == kTagFunctions ? 1
                : t == kTagPlan      ? 2
                                     : -1;
    if (which < 0)
      continue; // unknown sections are skipped (forward compatibility)
    if (seen[which])
      return "malformed program: duplicate section " + str(t);
    if (which == 2 && !seen[0])
      return "malformed program: PLAN section before TNSR";
    seen[which] = true;
    bool ok = which == 0   ? readTensors(sub, out)
              : which == 1 ? readFunctions(sub, out)
                           : readPlan(sub, out);
    if (!ok)
      return sub.err;
    if (sub.left != 0)
      return "malformed program (" + r.context + "): " + str(sub.left) +
             " unread bytes at the end of the section";
  }
  if (r.left != 0)
    return "malformed program: " + str(r.left) + " trailing bytes";
  if (!seen[0] || !seen[1] || !seen[2])
    return "malformed program: missing TNSR, FUNC or PLAN section";
  std::string err = validateProgram(out, opts);
  if (!err.empty())
    return "invalid program: " + err;
  return "";
}

std::string readProgramFile(const std::string &path, Program &out,
                            const ReadOptions &opts) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return "cannot open '" + path + "'";
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    bytes.insert(bytes.end(), buf, buf + got);
    if (bytes.size() > opts.maxTotalBytes + (uint64_t(1) << 30)) {
      std::fclose(f);
      return "'" + path + "' is larger than the configured limits allow";
    }
  }
  bool err = std::ferror(f);
  std::fclose(f);
  if (err)
    return "cannot read '" + path + "'";
  return readProgram(bytes.data(), bytes.size(), out, opts);
}

} // namespace mp::rt
