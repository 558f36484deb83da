//===- CApi.cpp - the C ABI of mp_rt.h ------------------------------------===//
//
// Contexts, program loading, tensor queries and copies, and runs. Every
// entry point catches anything thrown below it (allocation failures, thread
// creation) and turns it into a status; messages go to the context's last
// error, or to a thread-local one for calls without a context.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "mp_rt/mp_rt.h"
#include "mp_rt/program.h"

#include <algorithm>
#include <exception>
#include <new>
#include <string>
#include <unordered_map>

using namespace mp::rt;

struct mp_context {
  std::string backendName;
  std::unique_ptr<Backend> backend;
  std::shared_ptr<const Program> program;
  std::unordered_map<std::string, uint32_t> tensorsByName;
  std::unordered_map<std::string, size_t> functionsByName;
  std::string lastError;
  ReadOptions limits;
};

namespace {

thread_local std::string globalError;

mp_status fail(mp_context *ctx, mp_status code, const std::string &msg) {
  (ctx ? ctx->lastError : globalError) = msg;
  return code;
}

mp_status report(mp_context *ctx, const Status &s) {
  if (s.ok())
    return MP_OK;
  return fail(ctx, s.code, s.message);
}

/// Runs `body` and converts exceptions into statuses.
template <typename F> mp_status guarded(mp_context *ctx, F &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(ctx, MP_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception &e) {
    return fail(ctx, MP_ERROR_INTERNAL,
                std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(ctx, MP_ERROR_INTERNAL, "internal error: unknown exception");
  }
}

mp_status needProgram(mp_context *ctx) {
  if (!ctx->program)
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "no program is loaded");
  return MP_OK;
}

mp_status loadParsed(mp_context *ctx, Program &&p) {
  auto prog = std::make_shared<const Program>(std::move(p));
  ctx->program.reset();
  ctx->tensorsByName.clear();
  ctx->functionsByName.clear();
  Status s = ctx->backend->load(prog);
  if (!s.ok())
    return report(ctx, s);
  ctx->program = prog;
  for (const TensorDesc &t : prog->tensors)
    ctx->tensorsByName[t.name] = t.id;
  for (size_t i = 0; i < prog->functions.size(); ++i)
    ctx->functionsByName[prog->functions[i].name] = i;
  return MP_OK;
}

mp_status findTensor(mp_context *ctx, const char *name, uint32_t &id) {
  if (!name)
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null tensor name");
  if (mp_status s = needProgram(ctx))
    return s;
  auto it = ctx->tensorsByName.find(name);
  if (it == ctx->tensorsByName.end())
    return fail(ctx, MP_ERROR_NOT_FOUND,
                std::string("no tensor named '") + name + "'");
  id = it->second;
  return MP_OK;
}

void fillInfo(const TensorDesc &t, mp_tensor_info *info) {
  info->name = t.name.c_str();
  info->dtype = mp_dtype(t.dtype);
  info->role = mp_role(t.role);
  info->rank = int32_t(t.shape.size());
  info->shape = t.shape.data();
  info->num_elements = t.numElements();
  info->num_bytes = size_t(t.numBytes());
}

} // namespace

extern "C" {

const char *mp_dtype_name(mp_dtype dtype) {
  unsigned v = rawEnumValue(dtype);
  if (v >= kNumDTypes)
    return "unknown";
  return dtypeName(DType(v));
}

const char *mp_role_name(mp_role role) {
  unsigned v = rawEnumValue(role);
  if (v >= kNumRoles)
    return "unknown";
  return roleName(Role(v));
}

mp_status mp_rt_create_context(const char *backend, mp_context **out) {
  if (!out)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null output pointer");
  *out = nullptr;
  return guarded(nullptr, [&]() -> mp_status {
    if (!backend)
      return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null backend name");
    std::string name = backend;
    std::unique_ptr<Backend> b;
    if (name == "cpu")
      b = createCpuBackend();
    else if (name == "cuda") {
#ifdef MP_RT_HAVE_CUDA
      Status st;
      b = createCudaBackend(st);
      if (!b)
        return fail(nullptr, st.code, st.message);
#else
      return fail(nullptr, MP_ERROR_NOT_BUILT,
                  "the cuda backend is not built into this runtime");
#endif
    }
    else
      return fail(nullptr, MP_ERROR_INVALID_ARGUMENT,
                  "unknown backend '" + name + "' (want \"cpu\" or \"cuda\")");
    auto *ctx = new mp_context;
    ctx->backendName = name;
    ctx->backend = std::move(b);
    *out = ctx;
    return MP_OK;
  });
}

void mp_rt_destroy_context(mp_context *ctx) { delete ctx; }

const char *mp_rt_last_error(const mp_context *ctx) {
  return ctx ? ctx->lastError.c_str() : globalError.c_str();
}

const char *mp_rt_backend(const mp_context *ctx) {
  return ctx ? ctx->backendName.c_str() : "";
}

mp_status mp_rt_set_limits(mp_context *ctx, uint64_t max_tensor_bytes,
                           uint64_t max_total_bytes) {
  if (!ctx)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null context");
  // Capped so element counts and byte sizes always fit in int64.
  const uint64_t cap = uint64_t(1) << 60;
  if (max_tensor_bytes)
    ctx->limits.maxTensorBytes = std::min(max_tensor_bytes, cap);
  if (max_total_bytes)
    ctx->limits.maxTotalBytes = std::min(max_total_bytes, cap);
  return MP_OK;
}

mp_status mp_rt_set_check_numerics(mp_context *ctx, int flags) {
  if (!ctx)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null context");
  if (flags & ~(MP_CHECK_NAN | MP_CHECK_INF))
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT,
                "unknown numerics-check flags " + std::to_string(flags));
  return guarded(ctx, [&]() -> mp_status {
    return report(ctx, ctx->backend->setCheckNumerics(unsigned(flags)));
  });
}

mp_status mp_rt_load_program_file(mp_context *ctx, const char *path) {
  if (!ctx)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null context");
  return guarded(ctx, [&]() -> mp_status {
    if (!path)
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null path");
    Program p;
    std::string err = readProgramFile(path, p, ctx->limits);
    if (!err.empty())
      return fail(ctx,
                  err.rfind("cannot", 0) == 0 ? MP_ERROR_IO
                                              : MP_ERROR_INVALID_PROGRAM,
                  err);
    return loadParsed(ctx, std::move(p));
  });
}

mp_status mp_rt_load_program_memory(mp_context *ctx, const void *data,
                                    size_t size) {
  if (!ctx)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null context");
  return guarded(ctx, [&]() -> mp_status {
    if (!data && size)
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null data");
    Program p;
    std::string err =
        readProgram(static_cast<const uint8_t *>(data), size, p, ctx->limits);
    if (!err.empty())
      return fail(ctx, MP_ERROR_INVALID_PROGRAM, err);
    return loadParsed(ctx, std::move(p));
  });
}

mp_status mp_rt_num_tensors(mp_context *ctx, int32_t *count) {
  if (!ctx || !count)
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null argument");
  if (mp_status s = needProgram(ctx))
    return s;
  *count = int32_t(ctx->program->tensors.size());
  return MP_OK;
}

mp_status mp_rt_tensor_info_at(mp_context *ctx, int32_t index,
                               mp_tensor_info *info) {
  if (!ctx || !info)
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null argument");
  if (mp_status s = needProgram(ctx))
    return s;
  if (index < 0 || size_t(index) >= ctx->program->tensors.size())
    return fail(ctx, MP_ERROR_NOT_FOUND,
                "tensor index " + std::to_string(index) + " out of range");
  fillInfo(ctx->program->tensors[size_t(index)], info);
  return MP_OK;
}

mp_status mp_rt_tensor_info(mp_context *ctx, const char *name,
                            mp_tensor_info *info) {
  if (!ctx || !info)
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null argument");
  return guarded(ctx, [&]() -> mp_status {
    uint32_t id;
    if (mp_status s = findTensor(ctx, name, id))
      return s;
    fillInfo(ctx->program->tensors[id], info);
    return MP_OK;
  });
}

mp_status mp_rt_num_functions(mp_context *ctx, int32_t *count) {
  if (!ctx || !count)
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null argument");
  if (mp_status s = needProgram(ctx))
    return s;
  *count = int32_t(ctx->program->functions.size());
  return MP_OK;
}

mp_status mp_rt_function_name(mp_context *ctx, int32_t index,
                              const char **name) {
  if (!ctx || !name)
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null argument");
  if (mp_status s = needProgram(ctx))
    return s;
  if (index < 0 || size_t(index) >= ctx->program->functions.size())
    return fail(ctx, MP_ERROR_NOT_FOUND,
                "function index " + std::to_string(index) + " out of range");
  *name = ctx->program->functions[size_t(index)].name.c_str();
  return MP_OK;
}

mp_status mp_rt_write_tensor(mp_context *ctx, const char *name,
                             const void *data, size_t size) {
  if (!ctx)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null context");
  return guarded(ctx, [&]() -> mp_status {
    uint32_t id;
    if (mp_status s = findTensor(ctx, name, id))
      return s;
    const TensorDesc &t = ctx->program->tensors[id];
    if (t.role == Role::Constant || t.role == Role::Transient)
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT,
                  "tensor '" + t.name + "' is a " + roleName(t.role) +
                      " and cannot be written");
    if (size != t.numBytes())
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT,
                  "tensor '" + t.name + "' has " +
                      std::to_string(t.numBytes()) + " bytes, got " +
                      std::to_string(size));
    if (!data && size)
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null data");
    return report(ctx, ctx->backend->write(id, data, size));
  });
}

mp_status mp_rt_read_tensor(mp_context *ctx, const char *name, void *data,
                            size_t size) {
  if (!ctx)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null context");
  return guarded(ctx, [&]() -> mp_status {
    uint32_t id;
    if (mp_status s = findTensor(ctx, name, id))
      return s;
    const TensorDesc &t = ctx->program->tensors[id];
    if (t.role == Role::Transient)
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT,
                  "tensor '" + t.name +
                      "' is transient: its memory is reused during a run");
    if (size != t.numBytes())
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT,
                  "tensor '" + t.name + "' has " +
                      std::to_string(t.numBytes()) + " bytes, got " +
                      std::to_string(size));
    if (!data && size)
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null data");
    return report(ctx, ctx->backend->read(id, data, size));
  });
}

mp_status mp_rt_run(mp_context *ctx, const char *function) {
  if (!ctx)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null context");
  return guarded(ctx, [&]() -> mp_status {
    if (!function)
      return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null function name");
    if (mp_status s = needProgram(ctx))
      return s;
    auto it = ctx->functionsByName.find(function);
    if (it == ctx->functionsByName.end())
      return fail(ctx, MP_ERROR_NOT_FOUND,
                  std::string("no function named '") + function + "'");
    return report(ctx, ctx->backend->run(it->second));
  });
}

mp_status mp_rt_synchronize(mp_context *ctx) {
  if (!ctx)
    return fail(nullptr, MP_ERROR_INVALID_ARGUMENT, "null context");
  return guarded(ctx, [&]() -> mp_status {
    if (mp_status s = needProgram(ctx))
      return s;
    return report(ctx, ctx->backend->synchronize());
  });
}

mp_status mp_rt_device_memory(mp_context *ctx, uint64_t *bytes) {
  if (!ctx || !bytes)
    return fail(ctx, MP_ERROR_INVALID_ARGUMENT, "null argument");
  *bytes = ctx->backend ? ctx->backend->deviceMemoryBytes() : 0;
  return MP_OK;
}

} // extern "C"
