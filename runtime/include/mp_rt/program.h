//===- program.h - in-memory model of an .mpb program -----------*- C++ -*-===//
//
// The C++ model of a runtime program (tensors, functions, instructions,
// memory plan) and its binary serialization, the `.mpb` format described in
// docs/ProgramFormat.md. The compiler links this to write programs; the
// runtime uses it to read them. Reading never trusts its input: every read is
// bounds-checked and sizes are limited by ReadOptions, so a malformed or
// truncated file yields an error string, never a crash. This header stays
// light (standard containers only) so the compiler can include it cheaply.
//
//===----------------------------------------------------------------------===//
#ifndef MP_RT_PROGRAM_H
#define MP_RT_PROGRAM_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mp::rt {

/// Element types. The numeric values are the on-disk codes and equal the
/// C ABI's mp_dtype values.
enum class DType : uint8_t {
  F32 = 0,
  F16 = 1,
  BF16 = 2,
  F64 = 3,
  I64 = 4,
  I32 = 5,
  I8 = 6,
  U8 = 7,
  Bool = 8,
};
constexpr unsigned kNumDTypes = 9;

/// What a tensor is for. The numeric values are the on-disk codes and equal
/// the C ABI's mp_role values.
enum class Role : uint8_t {
  Input = 0,     ///< bound by the caller before a run
  Label = 1,     ///< like Input; a training target
  Param = 2,     ///< persistent trainable state
  OptState = 3,  ///< persistent optimizer state (moments, step counts, RNG)
  Scaler = 4,    ///< persistent loss-scaler state (scale, growth tracker)
  Output = 5,    ///< persistent buffer the caller reads after a run
  Constant = 6,  ///< read-only, initial data required
  Transient = 7, ///< lives in the arena during one function run
};
constexpr unsigned kNumRoles = 8;

/// Marks "no tensor": an absent optional operand, or no `updates` target.
constexpr uint32_t kNoTensor = 0xFFFFFFFFu;
/// Arena offset of tensors that do not live in the arena.
constexpr uint64_t kNoOffset = ~uint64_t(0);

const char *dtypeName(DType t);
const char *roleName(Role r);
/// Bytes of one element (bool is one byte: 0 or 1).
size_t dtypeSize(DType t);
bool isFloat(DType t);
/// Parses "f32", "bf16", ...; returns false on an unknown name.
bool parseDType(const std::string &name, DType &out);

/// A tensor of the program. Shapes are static.
struct TensorDesc {
  uint32_t id = 0; ///< equals its index in Program::tensors
  std::string name;
  DType dtype = DType::F32;
  Role role = Role::Transient;
  std::vector<int64_t> shape;
  /// Initial contents (exactly numBytes() bytes) or empty.
  std::vector<uint8_t> data;
  /// The persistent tensor whose storage this tensor shares: writing this
  /// tensor updates that one in place. kNoTensor if none.
  uint32_t updates = kNoTensor;
  /// Byte offset in the arena (Transient only, filled by the memory
  /// planner), kNoOffset otherwise.
  uint64_t arenaOffset = kNoOffset;

  int64_t numElements() const;
  uint64_t numBytes() const;
};

/// An attribute value: exactly one of the kinds below.
struct Attribute {
  enum class Kind : uint8_t { I64 = 0, F64 = 1, I64s = 2, F64s = 3, Str = 4 };
  std::string name;
  Kind kind = Kind::I64;
  int64_t i = 0;
  double f = 0;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::string s;

  static Attribute ofInt(std::string name, int64_t v);
  static Attribute ofFloat(std::string name, double v);
  static Attribute ofInts(std::string name, std::vector<int64_t> v);
  static Attribute ofFloats(std::string name, std::vector<double> v);
  static Attribute ofString(std::string name, std::string v);
};

/// One kernel invocation. Operands may contain kNoTensor for an absent
/// optional operand; results may not.
struct Instruction {
  std::string kernel;
  std::vector<uint32_t> operands;
  std::vector<uint32_t> results;
  std::vector<Attribute> attrs;

  const Attribute *findAttr(const std::string &name) const;
};

struct Function {
  std::string name;
  std::vector<uint32_t> inputs;  ///< tensors the caller binds (Input/Label)
  std::vector<uint32_t> outputs; ///< tensors the caller may read afterwards
  std::vector<Instruction> body; ///< executed in order
};

struct Program {
  std::vector<TensorDesc> tensors;
  std::vector<Function> functions;
  /// Bytes of the arena all Transient tensors live in.
  uint64_t arenaSize = 0;

  /// Appends a tensor and returns its id.
  uint32_t addTensor(std::string name, DType dtype, std::vector<int64_t> shape,
                     Role role, std::vector<uint8_t> data = {});
  const TensorDesc *findTensor(const std::string &name) const;
  const Function *findFunction(const std::string &name) const;
};

/// Limits applied while reading (and validating) a program.
struct ReadOptions {
  uint64_t maxTensorBytes = uint64_t(16) << 30; ///< one tensor
  uint64_t maxTotalBytes = uint64_t(64) << 30;  ///< all tensors + arena
  uint32_t maxRank = 16;
  uint32_t maxTensors = 1u << 22;
  uint32_t maxFunctions = 1u << 16;
  uint32_t maxInstructions = 1u << 22; ///< per function
  uint32_t maxOperands = 1u << 16;     ///< per instruction, also results
  uint32_t maxAttrs = 1024;            ///< per instruction
  uint64_t maxAttrElements = 1u << 20; ///< per list attribute
  uint32_t maxStringBytes = 1u << 16;
};

/// The format version this library writes and reads.
constexpr uint32_t kFormatVersion = 1;

/// Checks the structural rules of docs/ProgramFormat.md (ids in range,
/// unique names, roles, data sizes, `updates` targets, arena bounds and
/// non-overlap of simultaneously live transients other than a view and its
/// operand at one offset, define-before-use).
/// Returns an empty string when valid, else the first problem found.
std::string validateProgram(const Program &p,
                            const ReadOptions &opts = ReadOptions());

/// Assigns arena offsets to every Transient tensor (first fit over
/// per-function live ranges, 64-byte aligned) and sets arenaSize. A view
/// (reshape, flatten, squeeze, unsqueeze, identity) whose result and operand
/// are transients written once shares its operand's bytes.
void planMemory(Program &p);

/// Serializes `p` (which should validate) into `out`.
void writeProgram(const Program &p, std::vector<uint8_t> &out);
/// Writes `p` to a file; returns an empty string or an error message.
std::string writeProgramFile(const Program &p, const std::string &path);

/// Parses and validates a program. Returns an empty string on success,
/// otherwise an error message (and `out` is unspecified).
std::string readProgram(const uint8_t *data, size_t size, Program &out,
                        const ReadOptions &opts = ReadOptions());
std::string readProgramFile(const std::string &path, Program &out,
                            const ReadOptions &opts = ReadOptions());

} // namespace mp::rt

#endif // MP_RT_PROGRAM_H
