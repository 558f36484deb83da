"""mp on CUDA against PyTorch on the same GPU, in one run.

For each workload of bench/models.py (mlp, gpt2) and mode (fp32, amp-fp16,
amp-bf16) it runs the program compiled by bench/export_bench_models.py with
`mp-run --device cuda --bench`, and the very same PyTorch model eagerly
(autocast + GradScaler for f16, fused AdamW lr 1e-4, as
../shared/bench/torch_baseline.py does it) and, for AMP, under
torch.compile. Timing: warm-up steps, then each step between CUDA events
(mp-run: a device synchronisation after each step), median of --steps.
Inputs are random (N(0,1) features, uniform class ids / tokens), weights
N(0, 0.02). Prints one JSON line per run and a table of ratios
(mp ms / PyTorch ms: below 1.0 means mp is faster), MFU against 989
TFLOP/s, and peak device memory; measures the two ceilings once (cuBLAS
f16 GEMM rate and device copy bandwidth).

    python3 bench/cuda_bench.py MP_RUN PROGRAM_DIR [--works mlp gpt2]
        [--modes fp32 amp-fp16 amp-bf16] [--steps 20] [--warmup 5]
        [--no-compile] [--json OUT.json] [--profile]
"""
import argparse
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402

PEAK = 989e12


def ceilings():
    dev = "cuda"
    n = 8192
    a = torch.randn(n, n, device=dev, dtype=torch.float16)
    b = torch.randn(n, n, device=dev, dtype=torch.float16)
    for _ in range(3):
        a @ b
    s, e = torch.cuda.Event(True), torch.cuda.Event(True)
    s.record()
    for _ in range(10):
        a @ b
    e.record()
    torch.cuda.synchronize()
    gemm = 2 * n ** 3 * 10 / (s.elapsed_time(e) / 1e3)
    x = torch.empty(1 << 28, device=dev, dtype=torch.float32)  # 1 GiB
    y = torch.empty_like(x)
    y.copy_(x)
    s.record()
    for _ in range(10):
        y.copy_(x)
    e.record()
    torch.cuda.synchronize()
    bw = 2 * x.numel() * 4 * 10 / (s.elapsed_time(e) / 1e3)
    del a, b, x, y
    torch.cuda.empty_cache()
    return dict(f16_gemm_tflops=round(gemm / 1e12, 1),
                copy_gb_per_s=round(bw / 1e9, 1))


def torch_run(work, mode, compile_, steps, warm):
    m, x, y = models.build(work)
    m = m.cuda()
    x, y = x.cuda(), y.cuda()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    params = sum(p.numel() for p in m.parameters())
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, fused=True)
    amp = mode.startswith("amp")
    dt = torch.float16 if mode == "amp-fp16" else torch.bfloat16
    scaler = torch.amp.GradScaler("cuda", enabled=mode == "amp-fp16")
    fwd = torch.compile(m) if compile_ else m

    def step():
        with torch.autocast("cuda", dtype=dt, enabled=amp):
            loss = fwd(x, y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(warm):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    ts = []
    for _ in range(steps):
        a, b = torch.cuda.Event(True), torch.cuda.Event(True)
        a.record()
        loss = step()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    ms = ts[len(ts) // 2]
    r = dict(system="torch.compile" if compile_ else "torch", work=work,
             mode=mode, ms=round(ms, 3), params=params,
             peak_mib=round(torch.cuda.max_memory_allocated() / 2 ** 20, 1),
             loss=round(float(loss.detach()), 4))
    del m, opt, fwd
    torch.cuda.empty_cache()
    return r


def mp_run(mp_run_bin, program, work, steps, warm, profile):
    w = models.WORKLOADS[work]
    high = w["classes"] if work == "mlp" else w["vocab"]
    cmd = [mp_run_bin, program, "--device", "cuda", "--synthetic",
           "--int-high", str(high), "--init-params", "0.02",
           "--bench", str(warm), "--steps", str(steps)]
    env = dict(os.environ)
    if profile:
        env["MP_CUDA_PROFILE"] = "1"
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        return dict(system="mp", work=work, error=(p.stderr or p.stdout)[-2000:])
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r.update(system="mp", work=work)
    if profile:
        r["profile"] = [l for l in p.stderr.splitlines()
                        if l.startswith("mp cuda profile")][:25]
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mp_run")
    ap.add_argument("programs")
    ap.add_argument("--works", nargs="+", default=["mlp", "gpt2"])
    ap.add_argument("--modes", nargs="+",
                    default=["fp32", "amp-fp16", "amp-bf16"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="also run mp once per workload with MP_CUDA_PROFILE=1")
    ap.add_argument("--json")
    a = ap.parse_args()
    print(torch.__version__, torch.cuda.get_device_name(), flush=True)
    results = [dict(system="ceilings", **ceilings())]
    print(json.dumps(results[0]), flush=True)
    table = []
    for work in a.works:
        for mode in a.modes:
            prog = os.path.join(a.programs, "%s-%s.mpb" % (work, mode))
            r = mp_run(a.mp_run, prog, work, a.steps, a.warmup, False)
            r["mode"] = mode
            results.append(r)
            print(json.dumps(r), flush=True)
            row = dict(work=work, mode=mode, mp=r.get("ms"),
                       mp_mib=r.get("device_mib"))
            if not a.no_torch:
                t = torch_run(work, mode, False, a.steps, a.warmup)
                results.append(t)
                print(json.dumps(t), flush=True)
                row.update(torch=t["ms"], torch_mib=t["peak_mib"],
                           params=t["params"])
                if mode.startswith("amp") and not a.no_compile:
                    tc = torch_run(work, mode, True, a.steps, a.warmup)
                    results.append(tc)
                    print(json.dumps(tc), flush=True)
                    row["compile"] = tc["ms"]
            table.append(row)
        if a.profile:
            prog = os.path.join(a.programs, "%s-amp-fp16.mpb" % work)
            r = mp_run(a.mp_run, prog, work, 5, 2, True)
            results.append(dict(r, mode="amp-fp16-profile"))
            for line in r.get("profile", []):
                print(work, line, flush=True)
    print("\n%-5s %-9s %9s %9s %7s %9s %7s %6s %9s %9s" % (
        "work", "mode", "mp ms", "torch ms", "ratio", "compile", "ratio",
        "MFU", "mp MiB", "torch MiB"))
    for row in table:
        mp_ms, t_ms, c_ms = row.get("mp"), row.get("torch"), row.get("compile")
        mfu = ""
        if mp_ms and row.get("params"):
            f = models.flops_per_step(row["work"], row["params"])
            mfu = "%.3f" % (f / (mp_ms / 1e3) / PEAK)
        fmt = lambda v: "-" if v is None else "%.2f" % v
        ratio = lambda x, y: "-" if not x or not y else "%.2f" % (x / y)
        print("%-5s %-9s %9s %9s %7s %9s %7s %6s %9s %9s" % (
            row["work"], row["mode"], fmt(mp_ms), fmt(t_ms), ratio(mp_ms, t_ms),
            fmt(c_ms), ratio(mp_ms, c_ms), mfu, fmt(row.get("mp_mib")),
            fmt(row.get("torch_mib"))))
    for work in a.works:
        f32 = [r for r in table if r["work"] == work and r["mode"] == "fp32"]
        f16 = [r for r in table if r["work"] == work and r["mode"] == "amp-fp16"]
        if f32 and f16 and f32[0].get("mp") and f16[0].get("mp"):
            print("%s: mp AMP f16 speed-up over mp fp32: %.2fx" % (
                work, f32[0]["mp"] / f16[0]["mp"]))
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
