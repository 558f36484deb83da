//===- mp-run.cpp - run an mp program (.mpb) ------------------------------===//
//
// Loads a program through the runtime's C ABI (no MLIR), binds its inputs
// from .npy/.npz files or synthetic data, runs a function for a number of
// steps and reports what happened. Data files with more rows than the
// program's batch are iterated batch by batch (a dataset); with a
// `train_step` function this is a training loop.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"
#include "mp_rt/mp_rt.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

const char *kUsage = R"(usage: mp-run PROGRAM.mpb [options]

Runs a program compiled by mp-compile (or mp-translate --mp-to-mpb).

  --device cpu|cuda       backend (default cpu; cuda reports "not built"
                          unless the runtime was built with CUDA)
  --function NAME         function to run (default: train_step if present,
                          else forward, else the first)
  --steps N               run it N times (default 1)
  --input NAME=FILE.npy   bind an input or label tensor
  --inputs FILE.npz       bind every input whose name is a member
  --synthetic             fill unbound inputs with random data (floats
                          ~ N(0,1), integers in [0, --int-high))
  --int-high N            upper bound for synthetic integers (default 10)
  --seed N                seed for synthetic data (default 0)
  --batch N               check that the program's batch (its inputs'
                          leading dim) is N; programs have static shapes, so
                          a model with a dynamic batch axis is compiled for a
                          batch with mp-compile --batch N
  --every K               print the loss every K steps (default: 10 lines);
                          a progress bar shows on a terminal
After the steps it prints steps/s, samples/s and the process's peak resident
memory.
  --print                 print every output tensor after the last step
  --save-outputs F.npz    write the outputs after the last step
  --save-params F.npz     write the parameters after the last step, keyed by
                          their ONNX initializer names
  --save-state F.npz      write every persistent tensor after the last step
                          (parameters, optimizer and loss-scaler state),
                          keyed by their program names (see --list)
  --eval FILE.npz         after the steps, run `forward` once over every
                          batch of FILE (members named like the inputs) and
                          report the accuracy of the argmax of the logits
                          output against the integer labels input
  --logits NAME           output holding the logits (default:
                          "forward.logits", or the first rank-2 f32 output)
  --labels NAME           input holding the class labels (default: "y", or
                          the only integer input)
  --init-params STD       overwrite every parameter with N(0, STD^2) random
                          values (--seed); for programs compiled with
                          mp-compile --no-state-data
  --bench W               benchmark: W untimed warm-up steps, then --steps
                          steps each followed by a device synchronisation,
                          timed one by one; prints the median ms/step,
                          throughput and device memory, and reads the loss
                          only after the last step; then enqueues --steps
                          more without waiting and reports the host time
                          of enqueuing one step (enqueue_ms) against the
                          time per step (pipelined_ms)
  --check-numerics[=nan|inf]
                          stop at the first instruction whose result holds
                          NaN or inf (default both) and name it: index,
                          kernel and ONNX node (cpu backend only; slow)
  --allow-nonfinite       run on NaN/inf in inputs or parameters and on a
                          NaN/inf loss (default: stop with an error naming
                          the tensor and the step)
  --max-tensor-bytes N    refuse a program with a tensor of more than N
                          bytes (default 16 GiB), checked before anything
                          is allocated
  --max-total-bytes N     refuse a program whose tensors and arena need more
                          than N bytes in all (default 64 GiB)
  --list                  list the program's tensors and functions, then exit
  -h, --help              this text

An input file with more rows than the tensor's first dim is a dataset: step
s uses rows [s*B, (s+1)*B) modulo the number of whole batches.
Before running, the parameters and every batch of every input are checked
for NaN/inf; after each step, the loss (a NaN/inf loss of a step the loss
scaler did not skip stops the run and names the non-finite parameters).
Exit status: 0 on success, 1 on any error (the message names the tensor).
)";

struct Options {
  std::string program, device = "cpu", function;
  long steps = 1, every = 0, intHigh = 10, batch = 0, bench = -1;
  double initStd = -1;
  unsigned seed = 0;
  bool synthetic = false, print = false, list = false, eval = false;
  bool allowNonfinite = false;
  int checkNumerics = 0;                          // MP_CHECK_* flags
  uint64_t maxTensorBytes = 0, maxTotalBytes = 0; // 0: the runtime's default
  std::string logits, labels, evalFile;
  std::map<std::string, std::string> inputFiles;
  std::vector<std::string> npzFiles;
  std::string saveOutputs, saveParams, saveState;
};

[[noreturn]] void die(const std::string &msg) {
  std::fprintf(stderr, "mp-run: error: %s\n", msg.c_str());
  std::exit(1);
}

bool parseLong(const char *s, long &out) {
  char *end;
  errno = 0;
  out = std::strtol(s, &end, 10);
  return *s && !*end && errno == 0;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc)
        die("option '" + a + "' needs a value");
      return argv[++i];
    };
    long n;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--device")
      o.device = value();
    else if (a == "--function")
      o.function = value();
    else if (a == "--steps") {
      if (!parseLong(value(), n) || n < 0)
        die("--steps needs a non-negative integer");
      o.steps = n;
    } else if (a == "--bench") {
      if (!parseLong(value(), n) || n < 0)
        die("--bench needs a non-negative number of warm-up steps");
      o.bench = n;
    } else if (a == "--init-params") {
      std::string v = value();
      char *end = nullptr;
      o.initStd = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(o.initStd >= 0))
        die("--init-params needs a non-negative standard deviation");
    } else if (a == "--every") {
      if (!parseLong(value(), n) || n < 1)
        die("--every needs a positive integer");
      o.every = n;
    } else if (a == "--int-high") {
      if (!parseLong(value(), n) || n < 1)
        die("--int-high needs a positive integer");
      o.intHigh = n;
    } else if (a == "--batch") {
      if (!parseLong(value(), n) || n < 1)
        die("--batch needs a positive integer");
      o.batch = n;
    } else if (a == "--seed") {
      if (!parseLong(value(), n) || n < 0)
        die("--seed needs a non-negative integer");
      o.seed = unsigned(n);
    } else if (a == "--input") {
      std::string v = value();
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        die("--input wants NAME=FILE.npy, got '" + v + "'");
      o.inputFiles[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (a == "--inputs")
      o.npzFiles.push_back(value());
    else if (a == "--synthetic")
      o.synthetic = true;
    else if (a == "--check-numerics" || a == "--check-numerics=all")
      o.checkNumerics = MP_CHECK_NAN | MP_CHECK_INF;
    else if (a == "--check-numerics=nan")
      o.checkNumerics = MP_CHECK_NAN;
    else if (a == "--check-numerics=inf")
      o.checkNumerics = MP_CHECK_INF;
    else if (a == "--max-tensor-bytes" || a == "--max-total-bytes") {
      if (!parseLong(value(), n) || n < 1)
        die(a + " needs a positive number of bytes");
      (a == "--max-tensor-bytes" ? o.maxTensorBytes : o.maxTotalBytes) =
          uint64_t(n);
    } else if (a == "--allow-nonfinite")
      o.allowNonfinite = true;
    else if (a == "--print")
      o.print = true;
    else if (a == "--list")
      o.list = true;
    else if (a == "--eval") {
      o.eval = true;
      o.evalFile = value();
    }
    else if (a == "--logits")
      o.logits = value();
    else if (a == "--labels")
      o.labels = value();
    else if (a == "--save-outputs")
      o.saveOutputs = value();
    else if (a == "--save-params")
      o.saveParams = value();
    else if (a == "--save-state")
      o.saveState = value();
    else if (!a.empty() && a[0] == '-')
      die("unknown option '" + a + "' (see --help)");
    else if (o.program.empty())
      o.program = a;
    else
      die("more than one program given ('" + o.program + "', '" + a + "')");
  }
  if (o.program.empty())
    die("no program given (see --help)");
  return o;
}

/// A bound input: its data, possibly several batches long.
struct Feed {
  mp_tensor_info info;
  std::vector<uint8_t> data; // whole batches, in the tensor's dtype
  int64_t batches = 1;
};

std::string shapeStr(const std::string &dtype, const int64_t *shape, int rank) {
  std::string s = dtype + "[";
  for (int i = 0; i < rank; ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Converts a loaded array to the tensor's dtype where that is lossless or
/// ordinary (f64 data for an f32 tensor, i32 labels for an i64 tensor).
std::string convert(const mp::npy::Array &a, const mp_tensor_info &t,
                    std::vector<uint8_t> &out) {
  std::string want = mp_dtype_name(t.dtype);
  int64_t n = 1;
  for (int64_t d : a.shape)
    n *= d;
  if (a.dtype == want) {
    out = a.data;
    return "";
  }
  if (want == "f32" && a.dtype == "f64") {
    out.resize(n * 4);
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, &a.data[i * 8], 8);
      float f = float(d);
      std::memcpy(&out[i * 4], &f, 4);
    }
    return "";
  }
  if (want == "i64" && a.dtype == "i32") {
    out.resize(n * 8);
    for (int64_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, &a.data[i * 4], 4);
      int64_t w = v;
      std::memcpy(&out[i * 8], &w, 8);
    }
    return "";
  }
  return "wants " + want + ", the file has " + a.dtype;
}

void check(mp_context *ctx, mp_status s, const std::string &what) {
  if (s != MP_OK)
    die(what + ": " + mp_rt_last_error(ctx) + " (" + mp_status_string(s) + ")");
}

/// Element i of the tensor of t's dtype at b, as a double.
double scalarValue(const mp_tensor_info &t, const uint8_t *b, int64_t i) {
  switch (t.dtype) {
  case MP_DTYPE_F32: {
    float f;
    std::memcpy(&f, &b[i * 4], 4);
    return f;
  }
  case MP_DTYPE_F64: {
    double d;
    std::memcpy(&d, &b[i * 8], 8);
    return d;
  }
  case MP_DTYPE_I64: {
    int64_t v;
    std::memcpy(&v, &b[i * 8], 8);
    return double(v);
  }
  case MP_DTYPE_I32: {
    int32_t v;
    std::memcpy(&v, &b[i * 4], 4);
    return v;
  }
  case MP_DTYPE_BOOL:
  case MP_DTYPE_U8:
    return b[i];
  case MP_DTYPE_I8:
    return int8_t(b[i]);
  case MP_DTYPE_F16:
  case MP_DTYPE_BF16: {
    uint16_t h;
    std::memcpy(&h, &b[i * 2], 2);
    uint32_t bits;
    if (t.dtype == MP_DTYPE_BF16) {
      bits = uint32_t(h) << 16;
    } else {
      uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F,
               man = h & 0x3FF;
      if (exp == 0x1F)
        bits = sign | 0x7F800000u | (man << 13);
      else if (exp)
        bits = sign | ((exp + 112) << 23) | (man << 13);
      else {
        float f = std::ldexp(float(man), -24);
        return (h & 0x8000u) ? -f : f;
      }
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  }
  return 0;
}

double scalarValue(const mp_tensor_info &t, const std::vector<uint8_t> &b,
                   int64_t i) {
  return scalarValue(t, b.data(), i);
}

/// NaN/inf elements among `n` values of `t`'s dtype at `data`.
struct NonFinite {
  int64_t count = 0, first = -1;
  double value = 0;
};

NonFinite findNonFinite(const mp_tensor_info &t, const uint8_t *data,
                        int64_t n) {
  NonFinite r;
  if (t.dtype != MP_DTYPE_F32 && t.dtype != MP_DTYPE_F64 &&
      t.dtype != MP_DTYPE_F16 && t.dtype != MP_DTYPE_BF16)
    return r;
  for (int64_t i = 0; i < n; ++i) {
    double v = scalarValue(t, data, i);
    if (!std::isfinite(v)) {
      if (r.first < 0) {
        r.first = i;
        r.value = v;
      }
      ++r.count;
    }
  }
  return r;
}

std::string nonFiniteStr(const NonFinite &nf) {
  char v[32];
  std::snprintf(v, sizeof v, "%g", nf.value);
  return std::to_string(nf.count) + " non-finite value" +
         (nf.count == 1 ? "" : "s") + " (first: element " +
         std::to_string(nf.first) + " = " + v + ")";
}

const char *kAllowHint = "; pass --allow-nonfinite to run anyway";

/// The parameters holding NaN/inf ("'w' (3 non-finite values ...)"), or "".
std::string nonFiniteParams(mp_context *ctx,
                            const std::vector<mp_tensor_info> &tensors) {
  std::string out;
  std::vector<uint8_t> buf;
  std::set<std::string> params;
  for (auto &t : tensors)
    if (t.role == MP_ROLE_PARAM)
      params.insert(t.name);
  for (auto &t : tensors) {
    if (t.role != MP_ROLE_PARAM)
      continue;
    // "<param>.new" is the updated value mp-compile aliases onto <param>:
    // the same memory, reported once.
    std::string name = t.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".new") == 0 &&
        params.count(name.substr(0, name.size() - 4)))
      continue;
    buf.resize(t.num_bytes);
    check(ctx, mp_rt_read_tensor(ctx, t.name, buf.data(), buf.size()),
          std::string("reading '") + t.name + "'");
    NonFinite nf = findNonFinite(t, buf.data(), t.num_elements);
    if (nf.count)
      out += std::string(out.empty() ? "" : ", ") + "parameter '" + t.name +
             "' has " + nonFiniteStr(nf);
  }
  return out;
}

} // namespace

/// --bench: warm-up steps, then steps timed one by one (each followed by a
/// synchronisation, as torch.cuda.Event timing does), median reported.
int benchmark(mp_context *ctx, const Options &o, const std::string &fn,
              std::vector<Feed> &feeds, const mp_tensor_info *loss) {
  auto step = [&](long i) {
    for (auto &f : feeds)
      if (f.batches > 1) {
        int64_t b = i % f.batches;
        check(ctx,
              mp_rt_write_tensor(ctx, f.info.name,
                                 f.data.data() + size_t(b) * f.info.num_bytes,
                                 f.info.num_bytes),
              std::string("binding '") + f.info.name + "'");
      }
    check(ctx, mp_rt_run(ctx, fn.c_str()),
          "step " + std::to_string(i) + " of '" + fn + "'");
  };
  for (long i = 0; i < o.bench; ++i)
    step(i);
  check(ctx, mp_rt_synchronize(ctx), "warm-up");
  std::vector<double> ms;
  for (long i = 0; i < o.steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    step(o.bench + i);
    check(ctx, mp_rt_synchronize(ctx), "step " + std::to_string(i));
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - t0)
                     .count());
  }
  if (ms.empty())
    die("--bench needs --steps >= 1");
  // The same steps enqueued back to back: on an asynchronous backend the
  // host returns long before the device finishes, which shows that a step
  // holds no host synchronisation.
  // enqueue_ms: the host time of the first of them, from an idle device
  // (later ones may wait for room in the launch queue).
  auto t0 = std::chrono::steady_clock::now();
  double enqueueMs = 0;
  for (long i = 0; i < o.steps; ++i) {
    step(o.bench + o.steps + i);
    if (i == 0)
      enqueueMs = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  }
  check(ctx, mp_rt_synchronize(ctx), "pipelined steps");
  double pipelinedMs = std::chrono::duration<double, std::milli>(
                           std::chrono::steady_clock::now() - t0)
                           .count() /
                       double(o.steps);
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  int64_t batch = !feeds.empty() && feeds[0].info.rank > 0
                      ? feeds[0].info.shape[0]
                      : 0;
  uint64_t device = 0;
  mp_rt_device_memory(ctx, &device);
  double l = NAN;
  if (loss) {
    std::vector<uint8_t> buf(loss->num_bytes);
    check(ctx, mp_rt_read_tensor(ctx, loss->name, buf.data(), buf.size()),
          "reading the loss");
    l = scalarValue(*loss, buf, 0);
  }
  std::printf("{\"device\": \"%s\", \"function\": \"%s\", \"steps\": %ld, "
              "\"warmup\": %ld, \"ms\": %.3f, \"ms_min\": %.3f, "
              "\"ms_max\": %.3f, \"batch\": %lld, \"samples_per_s\": %.0f, "
              "\"device_mib\": %.1f, \"loss\": %.6g, "
              "\"enqueue_ms\": %.4f, \"pipelined_ms\": %.3f}\n",
              mp_rt_backend(ctx), fn.c_str(), o.steps, o.bench, median,
              ms.front(), ms.back(), (long long)batch,
              batch / median * 1e3, double(device) / (1 << 20), l, enqueueMs,
              pipelinedMs);
  return 0;
}

int main(int argc, char **argv) {
  Options o = parseArgs(argc, argv);
  if (o.bench >= 0 && o.steps < 1)
    die("--bench needs --steps >= 1");
  mp_context *ctx = nullptr;
  mp_status s = mp_rt_create_context(o.device.c_str(), &ctx);
  if (s != MP_OK)
    die("device '" + o.device + "': " + mp_rt_last_error(nullptr));
  check(ctx, mp_rt_set_limits(ctx, o.maxTensorBytes, o.maxTotalBytes),
        "limits");
  check(ctx, mp_rt_load_program_file(ctx, o.program.c_str()),
        "cannot load '" + o.program + "'");
  if (o.checkNumerics)
    check(ctx, mp_rt_set_check_numerics(ctx, o.checkNumerics),
          "--check-numerics");

  int32_t nt = 0, nf = 0;
  check(ctx, mp_rt_num_tensors(ctx, &nt), "tensors");
  check(ctx, mp_rt_num_functions(ctx, &nf), "functions");
  std::vector<mp_tensor_info> tensors(nt);
  for (int32_t i = 0; i < nt; ++i)
    check(ctx, mp_rt_tensor_info_at(ctx, i, &tensors[i]), "tensor info");
  std::vector<std::string> functions;
  for (int32_t i = 0; i < nf; ++i) {
    const char *name;
    check(ctx, mp_rt_function_name(ctx, i, &name), "function name");
    functions.push_back(name);
  }
  if (o.list) {
    for (auto &t : tensors)
      if (t.role != MP_ROLE_TRANSIENT)
        std::printf("%-10s %-40s %s\n", mp_role_name(t.role), t.name,
                    shapeStr(mp_dtype_name(t.dtype), t.shape, t.rank).c_str());
    for (auto &f : functions)
      std::printf("function   %s\n", f.c_str());
    return 0;
  }
  if (functions.empty())
    die("the program has no function");
  std::string fn = o.function;
  auto has = [&](const std::string &n) {
    for (auto &f : functions)
      if (f == n)
        return true;
    return false;
  };
  if (fn.empty())
    fn = has("train_step") ? "train_step" : has("forward") ? "forward"
                                                            : functions[0];
  else if (!has(fn))
    die("no function '" + fn + "' in the program");

  if (o.initStd >= 0) {
    std::mt19937_64 prng(o.seed + 0x5eed);
    std::normal_distribution<float> normal(0.0f, float(o.initStd));
    for (auto &t : tensors) {
      if (t.role != MP_ROLE_PARAM || t.dtype != MP_DTYPE_F32)
        continue;
      std::vector<float> v(size_t(t.num_elements));
      for (float &x : v)
        x = normal(prng);
      check(ctx, mp_rt_write_tensor(ctx, t.name, v.data(), t.num_bytes),
            std::string("initializing '") + t.name + "'");
    }
  }

  // Bind inputs.
  std::map<std::string, mp::npy::Array> files;
  for (auto &path : o.npzFiles) {
    std::string err = mp::npy::readNpz(path, files);
    if (!err.empty())
      die(err);
  }
  for (auto &[name, path] : o.inputFiles) {
    mp::npy::Array a;
    std::string err = mp::npy::readNpy(path, a);
    if (!err.empty())
      die(err);
    files[name] = std::move(a);
  }
  // Shapes are static: a program runs at the batch it was compiled for.
  if (o.batch > 0)
    for (auto &t : tensors)
      if ((t.role == MP_ROLE_INPUT || t.role == MP_ROLE_LABEL) && t.rank > 0 &&
          t.shape[0] != o.batch)
        die("--batch " + std::to_string(o.batch) + ": the program was "
            "compiled for batch " + std::to_string(t.shape[0]) + " (input '" +
            t.name + "' is " +
            shapeStr(mp_dtype_name(t.dtype), t.shape, t.rank) +
            "); recompile with mp-compile --batch " + std::to_string(o.batch) +
            " (the model needs a dynamic batch axis)");
  std::vector<Feed> feeds;
  std::mt19937_64 rng(o.seed);
  for (auto &t : tensors) {
    if (t.role != MP_ROLE_INPUT && t.role != MP_ROLE_LABEL)
      continue;
    Feed f{t, {}, 1};
    std::string desc = shapeStr(mp_dtype_name(t.dtype), t.shape, t.rank);
    auto it = files.find(t.name);
    if (it != files.end()) {
      const mp::npy::Array &a = it->second;
      // Same shape, or a dataset: k * batch rows with the same inner dims.
      bool inner = a.shape.size() == size_t(t.rank);
      for (int i = 1; inner && i < t.rank; ++i)
        inner = a.shape[i] == t.shape[i];
      // A scalar tensor takes a scalar or a one-element array.
      int64_t count = 1;
      for (int64_t d : a.shape)
        count *= d;
      bool rank0 = t.rank == 0 && count == 1;
      if (!rank0 && (!inner || (t.rank > 0 && (t.shape[0] == 0 ||
                                               a.shape[0] < t.shape[0]))))
        die("input '" + std::string(t.name) + "' wants " + desc +
            ", the file has " +
            shapeStr(a.dtype, a.shape.data(), int(a.shape.size())));
      std::string err = convert(a, t, f.data);
      if (!err.empty())
        die("input '" + std::string(t.name) + "' " + err);
      if (t.rank > 0) {
        f.batches = a.shape[0] / t.shape[0];
        f.data.resize(size_t(f.batches) * t.num_bytes);
      }
      files.erase(it);
    } else if (o.synthetic) {
      f.data.resize(t.num_bytes);
      std::normal_distribution<float> normal;
      std::uniform_int_distribution<int64_t> ints(0, o.intHigh - 1);
      for (int64_t i = 0; i < t.num_elements; ++i) {
        switch (t.dtype) {
        case MP_DTYPE_F32: {
          float v = normal(rng);
          std::memcpy(&f.data[i * 4], &v, 4);
          break;
        }
        case MP_DTYPE_I64: {
          int64_t v = ints(rng);
          std::memcpy(&f.data[i * 8], &v, 8);
          break;
        }
        case MP_DTYPE_I32: {
          int32_t v = int32_t(ints(rng));
          std::memcpy(&f.data[i * 4], &v, 4);
          break;
        }
        case MP_DTYPE_BOOL:
          f.data[i] = uint8_t(ints(rng) & 1);
          break;
        default:
          die("--synthetic cannot fill input '" + std::string(t.name) +
              "' of type " + mp_dtype_name(t.dtype));
        }
      }
    } else {
      die("input '" + std::string(t.name) + "' (" + desc +
          ") is not bound; use --input " + t.name +
          "=FILE.npy, --inputs FILE.npz or --synthetic");
    }
    feeds.push_back(std::move(f));
  }
  for (auto &[name, a] : files) {
    std::string known;
    for (auto &f : feeds)
      known += std::string(known.empty() ? "" : ", ") + f.info.name;
    die("no input named '" + name + "' in the program (inputs: " +
        (known.empty() ? "none" : known) + ")");
  }

  // Garbage in, garbage out: refuse NaN/inf in the data and the weights.
  if (!o.allowNonfinite) {
    std::string bad = nonFiniteParams(ctx, tensors);
    if (!bad.empty())
      die(bad + " before step 1" + kAllowHint);
    for (auto &f : feeds)
      for (int64_t b = 0; b < f.batches; ++b) {
        NonFinite nf =
            findNonFinite(f.info, f.data.data() + size_t(b) * f.info.num_bytes,
                          f.info.num_elements);
        if (!nf.count)
          continue;
        std::string where = f.batches > 1 ? " in batch " + std::to_string(b) +
                                                " (first used at step " +
                                                std::to_string(b + 1) + ")"
                                          : " (used from step 1)";
        die("input '" + std::string(f.info.name) + "' has " + nonFiniteStr(nf) +
            where + kAllowHint);
      }
  }

  const mp_tensor_info *loss = nullptr, *scale = nullptr, *skipped = nullptr;
  // The loss: "<fn>.loss", else the function's only scalar float output.
  const mp_tensor_info *scalarOut = nullptr;
  int scalarOuts = 0;
  for (auto &t : tensors) {
    std::string n = t.name;
    if ((n == fn + ".loss" || (!loss && n == "loss")) && t.num_elements == 1)
      loss = &t;
    if (t.role == MP_ROLE_OUTPUT && t.rank == 0 &&
        n.rfind(fn + ".", 0) == 0 &&
        (t.dtype == MP_DTYPE_F32 || t.dtype == MP_DTYPE_F64)) {
      scalarOut = &t;
      ++scalarOuts;
    }
    if (n == "loss_scale" && t.num_elements == 1)
      scale = &t;
    if ((n == fn + ".skipped" || n == "skipped") && t.num_elements == 1)
      skipped = &t;
  }
  if (!loss && scalarOuts == 1)
    loss = scalarOut;
  long every = o.every ? o.every : std::max<long>(1, o.steps / 10);
  int64_t samples = 0, skippedSteps = 0;
  std::vector<uint8_t> buf;
  auto readScalar = [&](const mp_tensor_info *t) {
    buf.resize(t->num_bytes);
    check(ctx, mp_rt_read_tensor(ctx, t->name, buf.data(), buf.size()),
          std::string("reading '") + t->name + "'");
    return scalarValue(*t, buf, 0);
  };
  bool hostBackend = std::strcmp(mp_rt_backend(ctx), "cpu") == 0;
  // A progress bar when stderr is a terminal (never in logs or pipes).
  bool progress = isatty(STDERR_FILENO) && o.steps > 1;
  // A feed of one batch is bound once: the device keeps it between steps.
  for (auto &f : feeds)
    if (f.batches == 1)
      check(ctx,
            mp_rt_write_tensor(ctx, f.info.name, f.data.data(),
                               f.info.num_bytes),
            std::string("binding '") + f.info.name + "'");
  if (o.bench >= 0) {
    int rc = benchmark(ctx, o, fn, feeds, loss);
    mp_rt_destroy_context(ctx); // a backend's end-of-run report (profile)
    return rc;
  }
  auto start = std::chrono::steady_clock::now();
  for (long step = 0; step < o.steps; ++step) {
    for (auto &f : feeds) {
      if (f.batches == 1)
        continue;
      int64_t b = step % f.batches;
      check(ctx,
            mp_rt_write_tensor(ctx, f.info.name,
                               f.data.data() + size_t(b) * f.info.num_bytes,
                               f.info.num_bytes),
            std::string("binding '") + f.info.name + "'");
    }
    check(ctx, mp_rt_run(ctx, fn.c_str()),
          "step " + std::to_string(step + 1) + " of '" + fn + "'");
    if (!feeds.empty() && feeds[0].info.rank > 0)
      samples += feeds[0].info.shape[0];
    bool skippedStep = skipped && readScalar(skipped) != 0;
    if (skippedStep)
      ++skippedSteps;
    // A non-finite loss on a step that updated the state poisons every
    // later step: stop and say which parameters it reached. The cpu backend
    // is checked every step; an asynchronous one (cuda) only where the loss
    // is read anyway, so that steps stay free of host synchronisation.
    bool printStep = (step + 1) % every == 0 || step + 1 == o.steps;
    if (loss && !o.allowNonfinite && !skippedStep &&
        (hostBackend || printStep)) {
      double l = readScalar(loss);
      if (!std::isfinite(l)) {
        std::string bad = nonFiniteParams(ctx, tensors);
        die("step " + std::to_string(step + 1) + " of '" + fn +
            "': the loss is " + (std::isnan(l) ? "NaN" : "infinite") +
            (bad.empty() ? std::string(" (the parameters are still finite)")
                         : "; after it, " + bad) +
            "; rerun with --check-numerics to find the first instruction "
            "producing it" +
            kAllowHint);
      }
    }
    if (progress) {
      int done = int(40 * (step + 1) / o.steps);
      std::fprintf(stderr, "\r[%-40.*s] %ld/%ld", done,
                   "########################################", step + 1,
                   o.steps);
      if (step + 1 == o.steps)
        std::fprintf(stderr, "\r%60s\r", "");
    }
    if (loss && ((step + 1) % every == 0 || step + 1 == o.steps)) {
      double l = readScalar(loss);
      std::printf("step %6ld  loss %.6f", step + 1, l);
      if (scale)
        std::printf("  loss-scale %g", readScalar(scale));
      std::printf("\n");
      if (!std::isfinite(l))
        std::fprintf(stderr, "mp-run: warning: the loss is %s at step %ld\n",
                     std::isnan(l) ? "NaN" : "infinite", step + 1);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              start)
                    .count();
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  if (o.steps > 0)
    std::printf("%ld steps of '%s' on %s in %.3f s: %.1f steps/s, %.0f "
                "samples/s, peak memory %.1f MiB%s\n",
                o.steps, fn.c_str(), mp_rt_backend(ctx), secs,
                o.steps / std::max(secs, 1e-9),
                double(samples) / std::max(secs, 1e-9),
                double(usage.ru_maxrss) / 1024.0, skipped ? (", skipped steps " + std::to_string(skippedSteps))
                              .c_str()
                        : "");

  auto evaluate = [&]() {
    // Accuracy over the whole eval dataset with the forward function.
    std::map<std::string, mp::npy::Array> data;
    std::string err = mp::npy::readNpz(o.evalFile, data);
    if (!err.empty())
      die(err);
    std::vector<Feed> feeds;
    for (auto &t : tensors) {
      if (t.role != MP_ROLE_INPUT && t.role != MP_ROLE_LABEL)
        continue;
      auto it = data.find(t.name);
      if (it == data.end())
        continue;
      Feed f{t, {}, 1};
      const mp::npy::Array &a = it->second;
      if (t.rank == 0 || a.shape.size() != size_t(t.rank) ||
          a.shape[0] < t.shape[0])
        die("--eval: member '" + it->first + "' does not fit input '" +
            t.name + "'");
      err = convert(a, t, f.data);
      if (!err.empty())
        die("--eval: input '" + std::string(t.name) + "' " + err);
      f.batches = a.shape[0] / t.shape[0];
      f.data.resize(size_t(f.batches) * t.num_bytes);
      if (!o.allowNonfinite) {
        NonFinite nf =
            findNonFinite(t, f.data.data(), f.batches * t.num_elements);
        if (nf.count)
          die("--eval: input '" + std::string(t.name) + "' has " +
              nonFiniteStr(nf) + kAllowHint);
      }
      feeds.push_back(std::move(f));
    }
    std::string evalFn = "forward";
    if (!has(evalFn))
      die("--eval needs a function '" + evalFn + "' (use --function)");
    const mp_tensor_info *lg = nullptr;
    const Feed *lb = nullptr;
    for (auto &t : tensors)
      if (t.role == MP_ROLE_OUTPUT &&
          (o.logits.empty() ? (std::string(t.name) == "forward.logits" ||
                               (!lg && t.rank == 2 && t.dtype == MP_DTYPE_F32))
                            : o.logits == t.name))
        lg = &t;
    for (auto &f : feeds)
      if (o.labels.empty()
              ? (std::string(f.info.name) == "y" ||
                 (!lb && (f.info.dtype == MP_DTYPE_I64 ||
                          f.info.dtype == MP_DTYPE_I32)))
              : o.labels == f.info.name)
        lb = &f;
    if (!lg || lg->rank != 2)
      die("--eval: no rank-2 logits output (name it with --logits)");
    if (!lb || lb->info.rank != 1 || lb->info.shape[0] != lg->shape[0])
      die("--eval: no integer labels input matching the logits' batch (name "
          "it with --labels)");
    int64_t batches = 1;
    for (auto &f : feeds)
      batches = std::max(batches, f.batches);
    const mp_tensor_info *ls = nullptr;
    for (auto &t : tensors)
      if (std::string(t.name) == evalFn + ".loss" && t.num_elements == 1)
        ls = &t;
    double lossSum = 0;
    int64_t correct = 0, total = 0, B = lg->shape[0], C = lg->shape[1];
    std::vector<uint8_t> out(lg->num_bytes);
    for (int64_t b = 0; b < batches; ++b) {
      for (auto &f : feeds)
        check(ctx,
              mp_rt_write_tensor(ctx, f.info.name,
                                 f.data.data() +
                                     size_t(b % f.batches) * f.info.num_bytes,
                                 f.info.num_bytes),
              std::string("binding '") + f.info.name + "'");
      check(ctx, mp_rt_run(ctx, evalFn.c_str()), "running '" + evalFn + "'");
      check(ctx, mp_rt_read_tensor(ctx, lg->name, out.data(), out.size()),
            "reading logits");
      if (ls)
        lossSum += readScalar(ls);
      const uint8_t *labels =
          lb->data.data() + size_t(b % lb->batches) * lb->info.num_bytes;
      std::vector<uint8_t> lab(labels, labels + lb->info.num_bytes);
      for (int64_t i = 0; i < B; ++i) {
        int64_t best = 0;
        for (int64_t j = 1; j < C; ++j)
          if (scalarValue(*lg, out, i * C + j) > scalarValue(*lg, out, i * C + best))
            best = j;
        correct += int64_t(scalarValue(lb->info, lab, i)) == best;
        ++total;
      }
    }
    std::printf("accuracy: %.2f%% (%lld/%lld)",
                100.0 * double(correct) / double(std::max<int64_t>(total, 1)),
                (long long)correct, (long long)total);
    if (ls)
      std::printf(", mean loss %.6f", lossSum / double(batches));
    std::printf(" on '%s'\n", o.evalFile.c_str());
  };

  if (o.eval)
    evaluate();

  auto collect = [&](mp_role role, std::map<std::string, mp::npy::Array> &out) {
    for (auto &t : tensors) {
      if (t.role != role)
        continue;
      mp::npy::Array a;
      a.dtype = mp_dtype_name(t.dtype);
      a.shape.assign(t.shape, t.shape + t.rank);
      a.data.resize(t.num_bytes);
      check(ctx, mp_rt_read_tensor(ctx, t.name, a.data.data(), a.data.size()),
            std::string("reading '") + t.name + "'");
      out[t.name] = std::move(a);
    }
  };
  // The tensors of `roles`, keyed by tensor name.
  auto gather = [&](std::initializer_list<mp_role> roles) {
    std::map<std::string, mp::npy::Array> arrays;
    for (mp_role role : roles)
      collect(role, arrays);
    return arrays;
  };
  auto save = [&](const std::string &path,
                  const std::map<std::string, mp::npy::Array> &arrays) {
    std::string err = mp::npy::writeNpz(path, arrays);
    if (!err.empty())
      die(err);
  };
  if (o.print || !o.saveOutputs.empty()) {
    std::map<std::string, mp::npy::Array> outs = gather({MP_ROLE_OUTPUT});
    if (o.print)
      for (auto &[name, a] : outs) {
        mp_tensor_info info;
        check(ctx, mp_rt_tensor_info(ctx, name.c_str(), &info), "info");
        std::printf("%s %s =", name.c_str(),
                    shapeStr(a.dtype, a.shape.data(), int(a.shape.size())).c_str());
        for (int64_t i = 0; i < std::min<int64_t>(info.num_elements, 8); ++i)
          std::printf(" %g", scalarValue(info, a.data, i));
        std::printf(info.num_elements > 8 ? " ...\n" : "\n");
      }
    if (!o.saveOutputs.empty())
      save(o.saveOutputs, outs);
  }
  if (!o.saveParams.empty())
    save(o.saveParams, gather({MP_ROLE_PARAM}));
  if (!o.saveState.empty())
    save(o.saveState,
         gather({MP_ROLE_PARAM, MP_ROLE_OPT_STATE, MP_ROLE_SCALER}));
  mp_rt_destroy_context(ctx);
  return 0;
}
