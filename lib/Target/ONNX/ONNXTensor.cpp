//===- ONNXTensor.cpp - ONNX tensors <-> MLIR attributes ------------------===//
//
// TensorProto data arrives in one of three places: `raw_data` (packed
// little-endian), a typed repeated field (float_data, int32_data, ...), or an
// external file named in `external_data` (the layout PyTorch's exporter
// writes beside large models). All three are normalized to packed
// little-endian bytes, checked against the declared dims, and turned into a
// DenseElementsAttr (small) or a DenseResourceElementsAttr blob (large).
//
// Hostile input: dims are checked for negative values and overflow before any
// allocation, the byte count must match exactly, and external paths must be
// relative and stay below the model's directory.
//
//===----------------------------------------------------------------------===//

#include "ONNXTensor.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;

namespace mp::onnx_io {

Type elementType(MLIRContext *ctx, int32_t code) {
  using TP = onnx::TensorProto;
  switch (code) {
  case TP::FLOAT:
    return Float32Type::get(ctx);
  case TP::FLOAT16:
    return Float16Type::get(ctx);
  case TP::BFLOAT16:
    return BFloat16Type::get(ctx);
  case TP::DOUBLE:
    return Float64Type::get(ctx);
  case TP::INT64:
    return IntegerType::get(ctx, 64);
  case TP::INT32:
    return IntegerType::get(ctx, 32);
  case TP::INT16:
    return IntegerType::get(ctx, 16);
  case TP::INT8:
    return IntegerType::get(ctx, 8);
  case TP::UINT8:
    return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case TP::UINT16:
    return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  case TP::UINT32:
    return IntegerType::get(ctx, 32, IntegerType::Unsigned);
  case TP::UINT64:
    return IntegerType::get(ctx, 64, IntegerType::Unsigned);
  case TP::BOOL:
    return IntegerType::get(ctx, 1);
  default:
    return nullptr;
  }
}

int32_t dataTypeCode(Type type) {
  using TP = onnx::TensorProto;
  if (type.isF32())
    return TP::FLOAT;
  if (type.isF16())
    return TP::FLOAT16;
  if (type.isBF16())
    return TP::BFLOAT16;
  if (type.isF64())
    return TP::DOUBLE;
  auto it = dyn_cast<IntegerType>(type);
  if (!it)
    return TP::UNDEFINED;
  bool u = it.isUnsigned();
  switch (it.getWidth()) {
  case 1:
    return TP::BOOL;
  case 8:
    return u ? TP::UINT8 : TP::INT8;
  case 16:
    return u ? TP::UINT16 : TP::INT16;
  case 32:
    return u ? TP::UINT32 : TP::INT32;
  case 64:
    return u ? TP::UINT64 : TP::INT64;
  default:
    return TP::UNDEFINED;
  }
}

const char *dataTypeName(int32_t code) {
  if (onnx::TensorProto::DataType_IsValid(code))
    return onnx::TensorProto::DataType_Name(
               static_cast<onnx::TensorProto::DataType>(code))
        .c_str();
  return "<invalid>";
}

/// Bytes per element in packed form (bools take one byte).
static int64_t elementBytes(Type t) {
  if (t.isInteger(1))
    return 1;
  return t.getIntOrFloatBitWidth() / 8;
}

/// Appends the low `width` bytes of each value, little-endian.
template <typename T>
static void packTruncated(const google::protobuf::RepeatedField<T> &field,
                          int64_t width, std::string &out) {
  out.reserve(field.size() * width);
  for (T v : field) {
    uint64_t bits = static_cast<uint64_t>(v);
    for (int64_t b = 0; b < width; ++b)
      out.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
  }
}

template <typename T>
static void packExact(const google::protobuf::RepeatedField<T> &field,
                      std::string &out) {
  out.assign(reinterpret_cast<const char *>(field.data()),
             field.size() * sizeof(T));
}

/// Reads the external-data bytes of `tensor`.
static LogicalResult readExternal(const onnx::TensorProto &tensor,
                                  llvm::StringRef dir, int64_t expected,
                                  std::string &out, std::string &error) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : tensor.external_data()) {
    llvm::StringRef value = kv.value();
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      int64_t v;
      if (value.getAsInteger(10, v) || v < 0) {
        error = "external data '" + kv.key() + "' is not a valid integer: '" +
                kv.value() + "'";
        return failure();
      }
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty()) {
    error = "external data has no 'location'";
    return failure();
  }
  if (llvm::sys::path::is_absolute(location) ||
      llvm::is_contained(llvm::make_range(llvm::sys::path::begin(location),
                                          llvm::sys::path::end(location)),
                         "..")) {
    error = "external data location '" + location +
            "' must be a relative path below the model's directory";
    return failure();
  }
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, location);
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file) {
    error = "cannot read external data file '" + std::string(path) +
            "': " + file.getError().message();
    return failure();
  }
  int64_t size = (*file)->getBufferSize();
  if (length < 0)
    length = size - offset;
  if (offset > size || length > size - offset) {
    error = "external data [offset " + std::to_string(offset) + ", length " +
            std::to_string(length) + "] lies outside '" + location + "' (" +
            std::to_string(size) + " bytes)";
    return failure();
  }
  if (length != expected) {
    error = "external data holds " + std::to_string(length) +
            " bytes, the dims need " + std::to_string(expected);
    return failure();
  }
  out.assign((*file)->getBufferStart() + offset, length);
  return success();
}

/// A resource blob name: the tensor name with characters outside
/// [A-Za-z0-9_.] replaced, so it prints as a bare key.
static std::string blobName(llvm::StringRef name) {
  std::string s;
  for (char c : name)
    s.push_back(llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_');
  if (s.empty() || !(llvm::isAlpha(s[0]) || s[0] == '_'))
    s.insert(0, "t_");
  return s;
}

ElementsAttr tensorToAttr(MLIRContext *ctx, const onnx::TensorProto &tensor,
                          llvm::StringRef externalDir,
                          int64_t resourceThreshold, std::string &error,
                          int64_t maxBytes, int64_t maxRank) {
  using TP = onnx::TensorProto;
  Type elt = elementType(ctx, tensor.data_type());
  if (!elt) {
    error = std::string("unsupported tensor element type ") +
            dataTypeName(tensor.data_type());
    return nullptr;
  }
  if (tensor.has_segment()) {
    error = "segmented tensors are not supported";
    return nullptr;
  }
  if (tensor.dims_size() > maxRank) {
    error = "tensor rank " + std::to_string(tensor.dims_size()) +
            " exceeds the limit " + std::to_string(maxRank) +
            " (--onnx-max-rank)";
    return nullptr;
  }
  SmallVector<int64_t> dims;
  int64_t count = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0 || __builtin_mul_overflow(count, d, &count) ||
        count > (int64_t(1) << 40)) {
      error = "tensor dims are negative or too large";
      return nullptr;
    }
    dims.push_back(d);
  }
  int64_t width = elementBytes(elt);
  int64_t expected = count * width;
  if (expected > maxBytes) {
    error = "tensor needs " + std::to_string(expected) +
            " bytes, over the limit " + std::to_string(maxBytes) +
            " (--onnx-max-tensor-bytes)";
    return nullptr;
  }

  std::string bytes;
  if (tensor.data_location() == TP::EXTERNAL) {
    if (failed(readExternal(tensor, externalDir, expected, bytes, error)))
      return nullptr;
  } else if (tensor.has_raw_data()) {
    bytes = tensor.raw_data();
  } else {
    switch (tensor.data_type()) {
    case TP::FLOAT:
      packExact(tensor.float_data(), bytes);
      break;
    case TP::DOUBLE:
      packExact(tensor.double_data(), bytes);
      break;
    case TP::INT64:
      packExact(tensor.int64_data(), bytes);
      break;
    case TP::UINT32:
    case TP::UINT64:
      packTruncated(tensor.uint64_data(), width, bytes);
      break;
    default:
      packTruncated(tensor.int32_data(), width, bytes);
      break;
    }
  }
  if ((int64_t)bytes.size() != expected) {
    error = "tensor holds " + std::to_string(bytes.size()) +
            " bytes of data, its dims " + "need " + std::to_string(expected);
    return nullptr;
  }

  auto type = RankedTensorType::get(dims, elt);
  if (elt.isInteger(1)) {
    SmallVector<bool> values;
    for (char c : bytes)
      values.push_back(c != 0);
    return DenseElementsAttr::get(type, values);
  }
  // Splats stay dense whatever their size: they print as one value.
  bool splat = count > 1;
  for (int64_t i = 1; splat && i < count; ++i)
    splat = std::memcmp(bytes.data(), bytes.data() + i * width, width) == 0;
  if (splat)
    return DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(bytes.data(), width));
  if (count > resourceThreshold) {
    auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(bytes.data(), bytes.size()), alignof(uint64_t));
    return DenseResourceElementsAttr::get(type, blobName(tensor.name()),
                                          std::move(blob));
  }
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(bytes.data(), bytes.size()));
}

LogicalResult attrToTensor(ElementsAttr attr, onnx::TensorProto &tensor,
                           std::string &error) {
  auto type = cast<ShapedType>(attr.getType());
  int32_t code = dataTypeCode(type.getElementType());
  if (!code) {
    error = "element type has no ONNX equivalent";
    return failure();
  }
  tensor.set_data_type(code);
  for (int64_t d : type.getShape())
    tensor.add_dims(d);
  int64_t n = type.getNumElements();
  std::string *raw = tensor.mutable_raw_data();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob) {
      error = "resource blob '" + res.getRawHandle().getKey().str() +
              "' has no data";
      return failure();
    }
    ArrayRef<char> data = blob->getData();
    raw->assign(data.data(), data.size());
    return success();
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense) {
    error = "unsupported elements attribute";
    return failure();
  }
  if (type.getElementType().isInteger(1)) {
    for (bool b : dense.getValues<bool>())
      raw->push_back(b ? 1 : 0);
    return success();
  }
  ArrayRef<char> data = dense.getRawData();
  if (dense.isSplat()) {
    raw->reserve(data.size() * n);
    for (int64_t i = 0; i < n; ++i)
      raw->append(data.data(), data.size());
  } else {
    raw->assign(data.data(), data.size());
  }
  return success();
}

} // namespace mp::onnx_io
