//===- CudaBackend.cpp - the CUDA backend: one graph replay per run -------===//
//
// Loading a program:
// 1. every instruction is validated by its CPU reference kernel in
//    validate-only mode (the same checks and messages as the cpu backend)
//    and must have a CUDA kernel;
// 2. device memory is allocated once, in one cudaMalloc: persistent tensors,
//    constants, the transient arena of the program's memory plan, scratch
//    for the largest per-instruction need, the cuBLASLt workspace and the
//    device error flag; initial data is copied in;
// 3. each function is a list of steps with fixed device pointers;
//    consecutive instructions that a multi-tensor kernel can run together
//    (KernelInfo::batchKey: the optimizer updates of one training step)
//    become one step (MP_CUDA_MULTI_TENSOR=0 keeps them apart).
// Running a function the first time enqueues its steps eagerly, which lets
// the matmul kernels time cuBLASLt's candidate algorithms on the real
// operands; the second run records them into a CUDA graph on the
// backend's stream (stream capture), and from then on every run is one
// cudaGraphLaunch: no allocation and no host synchronisation inside a step,
// because learning rate, loss scale and skip flag live on the device.
// Writes of inputs are ordered on the same stream; reads synchronise it and
// then report any run-time failure a kernel raised on the device (an index
// out of range), naming its instruction. MP_CUDA_GRAPHS=0 runs the steps
// eagerly instead (debugging); MP_CUDA_PROFILE=1 runs them eagerly between
// CUDA events and prints, when the context is destroyed, the device time
// spent in each kernel (the per-kernel breakdown of docs/Performance.md),
// and MP_CUDA_PROFILE=2 splits it by operand shapes. MP_CUDA_TUNE=0 takes
// cuBLASLt's first heuristic choice untimed and records the graph on the
// first run.
//
//===----------------------------------------------------------------------===//
#include "../common/Backend.h"
#include "CudaKernel.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace mp::rt {
namespace cuda {

const uint8_t *Env::hostData(const TensorView &t) const {
  if (!program || t.id >= program->tensors.size())
    return nullptr;
  const TensorDesc &d = program->tensors[t.id];
  return d.role == Role::Constant && !d.data.empty() ? d.data.data() : nullptr;
}

static std::string where(KernelContext &c) {
  std::string p = "kernel '" + c.ins.kernel + "'";
  if (const Attribute *n = c.ins.findAttr("name"))
    if (n->kind == Attribute::Kind::Str)
      p += " (" + n->s + ")";
  return p;
}

Status checkCuda(KernelContext &c, cudaError_t e, const char *what) {
  if (e == cudaSuccess)
    return Status::success();
  return Status::error(MP_ERROR_EXECUTION, where(c) + ": " + what + ": " +
                                               cudaGetErrorString(e));
}

Status checkLaunch(KernelContext &c, const char *what) {
  return checkCuda(c, cudaGetLastError(), what);
}

Status checkCublas(KernelContext &c, cublasStatus_t s, const char *what) {
  if (s == CUBLAS_STATUS_SUCCESS)
    return Status::success();
  return Status::error(MP_ERROR_EXECUTION, where(c) + ": " + what +
                                               " failed (cublas status " +
                                               std::to_string(int(s)) + ")");
}

Status copyAsync(KernelContext &c, Env &env, void *dst, const void *src,
                 size_t n) {
  if (n == 0 || dst == src)
    return Status::success();
  return checkCuda(
      c, cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, env.stream),
      "device copy");
}

const Registry &registry() {
  static const Registry r = [] {
    Registry r;
    registerElementwiseKernels(r);
    registerContractionKernels(r);
    registerShapeKernels(r);
    registerReduceKernels(r);
    registerNormKernels(r);
    registerLossKernels(r);
    registerWindowKernels(r);
    registerTrainingKernels(r);
    return r;
  }();
  return r;
}

} // namespace cuda

namespace {

using cpu::KernelContext;
using cpu::TensorView;

Status cudaStatus(cudaError_t e, const std::string &what) {
  if (e == cudaSuccess)
    return Status::success();
  mp_status code = e == cudaErrorMemoryAllocation ? MP_ERROR_OUT_OF_MEMORY
                                                  : MP_ERROR_EXECUTION;
  return Status::error(code, "cuda: " + what + ": " + cudaGetErrorString(e));
}

#define CUDA_TRY(expr, what) MP_RT_TRY(cudaStatus((expr), (what)))

constexpr size_t kAlign = 256;
size_t alignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

struct Step {
  const Instruction *ins;
  const cuda::KernelInfo *info;
  std::vector<TensorView *> operands;
  std::vector<TensorView *> results;
  size_t scratchBytes = 0; ///< the kernel's own scratch need
  bool copyResults = false; ///< results overlap operands: compute aside
  uint64_t index;
  /// Steps run by this one's KernelInfo::batch (itself included), or 0
  /// when an earlier step of its batch runs it.
  size_t batch = 1;
};

/// Whether byte ranges [a, a + na) and [b, b + nb) share a byte.
bool rangesOverlap(uintptr_t a, size_t na, uintptr_t b, size_t nb) {
  return na && nb && a < b + nb && b < a + na;
}

bool overlaps(const TensorView &a, const TensorView &b) {
  return rangesOverlap(uintptr_t(a.data), a.bytes(), uintptr_t(b.data),
                       b.bytes());
}

class CudaBackend final : public Backend {
public:
  ~CudaBackend() override {
    if (profile)
      printProfile();
    release();
  }

  const char *name() const override { return "cuda"; }

  Status init() {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0)
      return Status::error(MP_ERROR_NO_DEVICE,
                           std::string("no CUDA device for the cuda backend: ") +
                               (e != cudaSuccess ? cudaGetErrorString(e)
                                                 : "none found"));
    CUDA_TRY(cudaSetDevice(0), "set device");
    CUDA_TRY(cudaStreamCreateWithFlags(&env.stream, cudaStreamNonBlocking),
             "stream");
    if (cublasLtCreate(&env.lt) != CUBLAS_STATUS_SUCCESS)
      return Status::error(MP_ERROR_EXECUTION, "cuda: cublasLtCreate failed");
    CUDA_TRY(cudaDeviceGetAttribute(&env.numSMs, cudaDevAttrMultiProcessorCount,
                                    0),
             "device attribute");
    const char *g = std::getenv("MP_CUDA_GRAPHS");
    const char *prof = std::getenv("MP_CUDA_PROFILE");
    profile = prof && (std::string(prof) == "1" || std::string(prof) == "2");
    profileShapes = prof && std::string(prof) == "2";
    useGraphs = !(g && std::string(g) == "0") && !profile;
    const char *mt = std::getenv("MP_CUDA_MULTI_TENSOR");
    multiTensor = !(mt && std::string(mt) == "0");
    const char *tune = std::getenv("MP_CUDA_TUNE");
    env.tuneMatmuls = !(tune && std::string(tune) == "0");
    return Status::success();
  }

  Status load(std::shared_ptr<const Program> p) override {
    releaseProgram();
    program = std::move(p);
    const Program &prog = *program;
    env.program = &prog;
    views.assign(prog.tensors.size(), TensorView());
    static uint64_t empty[1];
    for (const TensorDesc &t : prog.tensors) {
      TensorView &v = views[t.id];
      v.id = t.id;
      v.dtype = t.dtype;
      v.role = t.role;
      v.shape = t.shape;
      v.name = &t.name;
      if (t.role == Role::Constant)
        v.data = t.data.empty() ? reinterpret_cast<uint8_t *>(empty)
                                : const_cast<uint8_t *>(t.data.data());
    }

    // 1. Validation by the reference kernels, then a CUDA kernel for each.
    const cpu::Registry &ref = cpu::registry();
    const cuda::Registry &reg = cuda::registry();
    size_t kernelScratch = 0;
    for (const Function &f : prog.functions) {
      std::vector<Step> plan;
      for (size_t i = 0; i < f.body.size(); ++i) {
        const Instruction &ins = f.body[i];
        std::string at =
            "function '" + f.name + "' instruction " + std::to_string(i) + ": ";
        auto rit = ref.find(ins.kernel);
        auto it = reg.find(ins.kernel);
        if (rit == ref.end() || it == reg.end())
          return Status::error(MP_ERROR_UNSUPPORTED,
                               at + "unknown kernel '" + ins.kernel +
                                   "' on the cuda backend");
        Step s{&ins, &it->second, {}, {}, 0, false, i};
        for (uint32_t id : ins.operands)
          s.operands.push_back(id == kNoTensor ? nullptr : &views[id]);
        for (uint32_t id : ins.results)
          s.results.push_back(&views[id]);
        KernelContext ctx(ins, s.operands, s.results, true, i);
        Status st = rit->second.fn(ctx);
        if (st.ok() && !ctx.attrError.empty())
          st = ctx.error(ctx.attrError);
        if (st.ok())
          for (const Attribute &a : ins.attrs)
            if (!ctx.usedAttrs.count(a.name) && a.name != "name" &&
                a.name.rfind("mp.", 0) != 0)
              st = ctx.error("unknown attribute '" + a.name + "'");
        if (!st.ok()) {
          st.message = at + st.message;
          return st;
        }
        if (s.info->scratch) {
          KernelContext sc(ins, s.operands, s.results, true, i);
          s.scratchBytes = alignUp(s.info->scratch(sc));
        }
        kernelScratch = std::max(kernelScratch, s.scratchBytes);
        plan.push_back(std::move(s));
      }
      plans.push_back(std::move(plan));
    }

    // 2. One allocation for everything.
    size_t total = 0;
    std::vector<size_t> offset(prog.tensors.size(), SIZE_MAX);
    for (const TensorDesc &t : prog.tensors)
      if (t.role != Role::Transient && t.updates == kNoTensor) {
        offset[t.id] = total;
        total += alignUp(size_t(t.numBytes()) + 1);
      }
    size_t arenaAt = total;
    total += alignUp(size_t(prog.arenaSize) + 1);
    size_t workspaceAt = total;
    total += kWorkspaceBytes;
    size_t flagAt = total;
    total += kAlign;
    size_t scratchAt = total;
    // Which steps share bytes between results, or between a result and an
    // operand, follows from the offsets within the allocation, so it is
    // decided here: results that share bytes are an error, and a kernel
    // that cannot work in place computes results that overlap an operand
    // into scratch (copyResults). The scratch is sized for those steps only
    // (the memory plan never puts a transient result on a live operand, so
    // they are results updating a persistent operand); reserving for every
    // such kernel's largest result instead cost GPT-2 1.6 GB.
    auto offsetOf = [&](const TensorView &v) {
      const TensorDesc &t = prog.tensors[v.id];
      if (t.role == Role::Transient)
        return arenaAt + size_t(t.arenaOffset);
      return offset[t.updates == kNoTensor ? t.id : t.updates];
    };
    auto sharesBytes = [&](const TensorView &a, const TensorView &b) {
      return rangesOverlap(offsetOf(a), a.bytes(), offsetOf(b), b.bytes());
    };
    size_t copyScratch = 0;
    for (size_t fi = 0; fi < plans.size(); ++fi)
      for (Step &s : plans[fi]) {
        for (size_t a = 0; a < s.results.size(); ++a)
          for (size_t b = a + 1; b < s.results.size(); ++b)
            if (sharesBytes(*s.results[a], *s.results[b]))
              return Status::error(MP_ERROR_INVALID_PROGRAM,
                                   "function '" + prog.functions[fi].name +
                                       "' instruction " +
                                       std::to_string(s.index) + ": results " +
                                       std::to_string(a) + " and " +
                                       std::to_string(b) + " share memory");
        for (TensorView *r : s.results)
          for (TensorView *o : s.operands)
            if (o && !s.info->inPlaceSafe && sharesBytes(*r, *o))
              s.copyResults = true;
        if (s.copyResults)
          copyScratch = std::max(copyScratch, copyBytes(s));
      }
    total += kernelScratch + copyScratch + kAlign;
    uint8_t *base = nullptr;
    CUDA_TRY(cudaMalloc(&base, total),
             "allocating " + std::to_string(total) + " bytes of device memory");
    device = base;
    deviceBytes = total;
    CUDA_TRY(cudaMemsetAsync(base, 0, total, env.stream), "memset");
    for (const TensorDesc &t : prog.tensors) {
      TensorView &v = views[t.id];
      if (t.role == Role::Transient)
        v.data = base + arenaAt + t.arenaOffset;
      else if (t.updates == kNoTensor)
        v.data = base + offset[t.id];
      if (t.updates == kNoTensor && t.role != Role::Transient &&
          !t.data.empty())
        CUDA_TRY(cudaMemcpyAsync(v.data, t.data.data(), t.data.size(),
                                 cudaMemcpyHostToDevice, env.stream),
                 "copying the initial data of '" + t.name + "'");
    }
    for (const TensorDesc &t : prog.tensors)
      if (t.updates != kNoTensor)
        views[t.id].data = views[t.updates].data;
    env.workspace = base + workspaceAt;
    env.workspaceBytes = kWorkspaceBytes;
    env.errorFlag = reinterpret_cast<int *>(base + flagAt);
    scratch = base + scratchAt;
    kernelScratchBytes = kernelScratch;
    CUDA_TRY(cudaStreamSynchronize(env.stream), "initial copies");

    if (multiTensor)
      for (std::vector<Step> &plan : plans)
        formBatches(plan);
    graphs.assign(prog.functions.size(), nullptr);
    runCount.assign(prog.functions.size(), 0);
    return Status::success();
  }

  Status write(uint32_t id, const void *data, size_t size) override {
    if (!size)
      return Status::success();
    // Ordered after any run already enqueued; pageable source memory is
    // staged by the driver before this returns.
    CUDA_TRY(cudaMemcpyAsync(views[id].data, data, size,
                             cudaMemcpyHostToDevice, env.stream),
             "writing '" + *views[id].name + "'");
    return Status::success();
  }

  Status read(uint32_t id, void *data, size_t size) override {
    if (size)
      CUDA_TRY(cudaMemcpyAsync(data, views[id].data, size,
                               cudaMemcpyDeviceToHost, env.stream),
               "reading '" + *views[id].name + "'");
    return sync();
  }

  Status run(size_t function) override {
    lastFunction = function;
    if (!useGraphs || (env.tuneMatmuls && runCount[function] == 0)) {
      Status st = enqueue(function);
      ++runCount[function];
      return st;
    }
    if (!graphs[function]) {
      CUDA_TRY(cudaStreamBeginCapture(env.stream,
                                      cudaStreamCaptureModeThreadLocal),
               "begin graph capture");
      Status st = enqueue(function);
      cudaGraph_t graph = nullptr;
      cudaError_t e = cudaStreamEndCapture(env.stream, &graph);
      if (!st.ok()) {
        if (graph)
          cudaGraphDestroy(graph);
        cudaGetLastError();
        return st;
      }
      CUDA_TRY(e, "end graph capture");
      cudaGraphExec_t exec = nullptr;
      e = cudaGraphInstantiate(&exec, graph, 0);
      cudaGraphDestroy(graph);
      CUDA_TRY(e, "instantiating the graph of '" +
                      program->functions[function].name + "'");
      graphs[function] = exec;
    }
    CUDA_TRY(cudaGraphLaunch(graphs[function], env.stream),
             "launching the graph of '" + program->functions[function].name +
                 "'");
    return Status::success();
  }

  Status synchronize() override { return sync(); }
  uint64_t deviceMemoryBytes() const override { return deviceBytes; }

private:
  /// Scratch a step's results take when computed aside (Step::copyResults).
  static size_t copyBytes(const Step &s) {
    size_t b = 0;
    for (const TensorView *r : s.results)
      b += alignUp(r->bytes());
    return b;
  }

  /// Groups runs of consecutive steps with one non-empty batch key into
  /// batches, as long as no member reads or writes what another writes
  /// (the members of a batch run concurrently).
  static void formBatches(std::vector<Step> &plan) {
    auto keyOf = [](Step &s) {
      if (!s.info->batchKey || !s.info->batch || s.copyResults)
        return std::string();
      KernelContext ctx(*s.ins, s.operands, s.results, false, s.index);
      return s.info->batchKey(ctx);
    };
    auto conflict = [](const Step &a, const Step &b) {
      for (const TensorView *r : a.results) {
        for (const TensorView *o : b.operands)
          if (o && overlaps(*r, *o))
            return true;
        for (const TensorView *o : b.results)
          if (overlaps(*r, *o))
            return true;
      }
      return false;
    };
    for (size_t i = 0; i < plan.size();) {
      std::string key = keyOf(plan[i]);
      size_t j = i + 1;
      if (!key.empty())
        for (; j < plan.size() && keyOf(plan[j]) == key; ++j) {
          bool clash = false;
          for (size_t k = i; k < j && !clash; ++k)
            clash = conflict(plan[k], plan[j]) || conflict(plan[j], plan[k]);
          if (clash)
            break;
        }
      plan[i].batch = j - i;
      for (size_t k = i + 1; k < j; ++k)
        plan[k].batch = 0;
      i = j;
    }
  }

  /// Enqueues every step of a function on the stream.
  Status enqueue(size_t function) {
    const Function &f = program->functions[function];
    std::vector<Step> &plan = plans[function];
    for (size_t si = 0; si < plan.size(); ++si) {
      Step &s = plan[si];
      if (s.batch == 0)
        continue;
      env.scratch = scratch;
      env.scratchBytes = s.scratchBytes;
      Status st;
      cudaEvent_t ev[2] = {nullptr, nullptr};
      // The first run of a function pays for lazy module loading and
      // algorithm selection: it is not profiled.
      bool timed = profile && runCount[function] > 0;
      if (timed) {
        cudaEventCreate(&ev[0]);
        cudaEventCreate(&ev[1]);
        cudaEventRecord(ev[0], env.stream);
      }
      if (s.batch > 1) {
        std::vector<KernelContext> group;
        group.reserve(s.batch);
        for (size_t k = si; k < si + s.batch; ++k)
          group.emplace_back(*plan[k].ins, plan[k].operands, plan[k].results,
                             false, plan[k].index);
        st = s.info->batch(group, env);
      } else if (!s.copyResults) {
        KernelContext ctx(*s.ins, s.operands, s.results, false, s.index);
        st = s.info->fn(ctx, env);
      } else {
        // Results land in scratch after the kernel's own scratch, then
        // are copied over the operands they overlap.
        std::vector<TensorView> copies;
        copies.reserve(s.results.size());
        std::vector<TensorView *> res;
        uint8_t *at = scratch + kernelScratchBytes;
        for (TensorView *r : s.results) {
          copies.push_back(*r);
          copies.back().data = at;
          at += alignUp(r->bytes());
          res.push_back(&copies.back());
        }
        KernelContext ctx(*s.ins, s.operands, res, false, s.index);
        st = s.info->fn(ctx, env);
        for (size_t i = 0; st.ok() && i < res.size(); ++i)
          st = cuda::copyAsync(ctx, env, s.results[i]->data, res[i]->data,
                               res[i]->bytes());
      }
      if (timed) {
        cudaEventRecord(ev[1], env.stream);
        std::string key = s.ins->kernel;
        if (!s.operands.empty() && s.operands[0])
          key += std::string(" ") + dtypeName(s.operands[0]->dtype);
        if (s.batch > 1)
          key += " (multi-tensor, " + std::to_string(s.batch) + ")";
        if (profileShapes) // MP_CUDA_PROFILE=2: operand shapes too
          for (TensorView *o : s.operands)
            if (o)
              key += " " + cpu::shapeStr(o->shape);
        pending.push_back({key, ev[0], ev[1]});
      }
      if (!st.ok()) {
        st.message = "function '" + f.name + "' instruction " +
                     std::to_string(s.index) + ": " + st.message;
        return st;
      }
    }
    return Status::success();
  }

  struct Timed {
    std::string kernel;
    cudaEvent_t start, end;
  };

  /// Adds the finished events' times to the per-kernel totals.
  void collectProfile() {
    for (Timed &t : pending) {
      float ms = 0;
      if (cudaEventElapsedTime(&ms, t.start, t.end) == cudaSuccess) {
        auto &tot = profileTotals[t.kernel];
        tot.first += ms;
        tot.second += 1;
      }
      cudaEventDestroy(t.start);
      cudaEventDestroy(t.end);
    }
    pending.clear();
  }

  void printProfile() {
    if (env.stream)
      cudaStreamSynchronize(env.stream);
    collectProfile();
    std::vector<std::pair<std::string, std::pair<double, long>>> rows(
        profileTotals.begin(), profileTotals.end());
    std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
      return a.second.first > b.second.first;
    });
    double total = 0;
    for (auto &r : rows)
      total += r.second.first;
    std::fprintf(stderr, "mp cuda profile: %-40s %8s %12s %7s\n", "kernel",
                 "calls", "total ms", "share");
    for (auto &r : rows)
      std::fprintf(stderr, "mp cuda profile: %-40s %8ld %12.3f %6.1f%%\n",
                   r.first.c_str(), r.second.second, r.second.first,
                   total > 0 ? 100 * r.second.first / total : 0.0);
  }

  /// Waits for the stream and reports a failure raised on the device.
  Status sync() {
    CUDA_TRY(cudaStreamSynchronize(env.stream), "synchronize");
    if (profile)
      collectProfile();
    int flag[2] = {0, 0};
    CUDA_TRY(cudaMemcpy(flag, env.errorFlag, sizeof(flag),
                        cudaMemcpyDeviceToHost),
             "reading the error flag");
    if (flag[0] == 0)
      return Status::success();
    CUDA_TRY(cudaMemset(env.errorFlag, 0, sizeof(flag)), "clearing the flag");
    const Function &f = program->functions[lastFunction];
    size_t index = size_t(flag[0] - 1);
    std::string what = flag[1] == cuda::kDevIndexOutOfRange ? "index out of range"
                       : flag[1] == cuda::kDevDivideByZero
                           ? "integer division by zero"
                           : "invalid value";
    std::string at = "function '" + f.name + "' instruction " +
                     std::to_string(index);
    if (index < f.body.size()) {
      at += ": kernel '" + f.body[index].kernel + "'";
      if (const Attribute *n = f.body[index].findAttr("name"))
        if (n->kind == Attribute::Kind::Str)
          at += " (" + n->s + ")";
    }
    return Status::error(MP_ERROR_EXECUTION, at + ": " + what);
  }

  void releaseProgram() {
    if (env.stream)
      cudaStreamSynchronize(env.stream);
    for (cudaGraphExec_t g : graphs)
      if (g)
        cudaGraphExecDestroy(g);
    graphs.clear();
    plans.clear();
    views.clear();
    if (device)
      cudaFree(device);
    device = nullptr;
    deviceBytes = 0;
    env.matmulCache.algos.clear();
  }

  void release() {
    releaseProgram();
    if (env.lt)
      cublasLtDestroy(env.lt);
    if (env.stream)
      cudaStreamDestroy(env.stream);
    env.lt = nullptr;
    env.stream = nullptr;
  }

  cuda::Env env;
  std::shared_ptr<const Program> program;
  std::vector<TensorView> views;
  std::vector<std::vector<Step>> plans;
  std::vector<cudaGraphExec_t> graphs;
  uint8_t *device = nullptr, *scratch = nullptr;
  size_t deviceBytes = 0, kernelScratchBytes = 0;
  size_t lastFunction = 0;
  bool useGraphs = true, profile = false, profileShapes = false;
  bool multiTensor = true;
  std::vector<long> runCount;
  std::vector<Timed> pending;
  std::map<std::string, std::pair<double, long>> profileTotals;
};

} // namespace

std::unique_ptr<Backend> createCudaBackend(Status &status) {
  auto b = std::make_unique<CudaBackend>();
  status = b->init();
  if (!status.ok())
    return nullptr;
  return b;
}

} // namespace mp::rt
