"""Issue 14 targets: fast exact CPU training against stock lava-dl, and speed beside a busy neighbour.

    python benchmarks/train_speed.py [--quick] [--models mlp,conv28,conv32] [--steps 8,16] [--batch 64]
           [--reps 5] [--rounds R] [--threads N|auto] [--emu-model netx_models/fmnist_conv28_early_burst_T8.net]
           [--no-busy]

In one run, each figure measured in its own subprocess (so peak memory is that configuration's):
1. One training step of ``neurodeploy train``'s model (encoder, SLAYER network, temporal loss,
   backward, Adam), median of ``--reps`` after one warm-up, with NEURODEPLOY_DYNAMICS=stock and
   =fast, for each model and T (``--rounds R``: R alternating fresh processes each, median over rounds); peak resident memory (getrusage maxrss) of each, and the part
   of it above the resident memory before the first step (``*_step_mb``).
   ``synapse_ms``: the part of a step spent in the synapses' convolutions (profiled); exactness
   pins them to lava-dl's calls, so ``exact_cap`` = stock / synapse_ms bounds any exact speedup.
2. The step's fp32 work, analytic: forward MACs x 2 FLOP x 3 (forward + backward), divided by a
   GEMM throughput (4096x1024 @ 1024x1024) measured in this run: the GEMM-bound step time.
3. Exactness: from the same initial weights and batch, every parameter's gradient under stock and
   fast, max |difference| (must be 0).
4. Busy neighbour: the conv28 fast step and ``emu`` throughput quiet, then with one
   ``while True`` Python process running (threads chosen by the command's policy, and forced to 2
   for contrast); the fraction of the quiet speed kept.
Writes benchmarks/out/train_speed.json (--quick: train_speed_quick.json, tiny sizes, a smoke test).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def _dataset(model: str) -> str:
    return "cifar10" if model == "conv32" else "fashion-mnist"


def _clf(model: str, steps: int):
    from neurodeploy.runfolder import build_classifier
    from neurodeploy.training.config import TrainConfig

    return build_classifier(TrainConfig(dataset=_dataset(model), model=model, steps=steps, seed=0))


def _batch(clf, batch: int):
    import torch

    g = torch.Generator().manual_seed(1)
    c, h, w = clf.net.input_shape
    c //= clf.encoder.channels_factor
    return torch.rand(batch, c, h, w, generator=g), torch.randint(0, 10, (batch,), generator=g)


def _step(clf, opt, x, y):
    from neurodeploy.training.losses import temporal_loss

    opt.zero_grad()
    loss = temporal_loss(clf.cumulative(x), y)
    loss.backward()
    opt.step()


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    """Resident memory now (the imports' and model's share, before any step)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) / 1024
    return 0.0


# ------------------------------------------------------------------------------------ workers
def worker_step(model, steps, batch, reps, mode, synapse=False) -> dict:
    import torch

    os.environ["NEURODEPLOY_DYNAMICS"] = mode
    torch.manual_seed(0)
    clf = _clf(model, steps)
    opt = torch.optim.Adam(clf.net.parameters(), lr=1e-3)
    x, y = _batch(clf, batch)
    base = _rss_mb()
    _step(clf, opt, x, y)  # warm-up (and the extension's build/load)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        _step(clf, opt, x, y)
        times.append(time.perf_counter() - t0)
    peak = _maxrss_mb()
    return {"step_ms": 1000 * statistics.median(times), "times_ms": [1000 * t for t in times], "peak_rss_mb": peak,
            "base_rss_mb": base, "synapse_ms": _synapse_ms(clf, opt, x, y, reps) if synapse else None}


def _synapse_ms(clf, opt, x, y, reps) -> float:
    """Wall time per step inside the synapses' convolutions, forward and backward (lava-dl runs dense
    layers as 1x1x1 conv3d too), from torch's profiler over ``reps`` more steps. Exactness fixes
    these calls (the same mkldnn algorithm gives the same float sums), so stock / this is the
    largest speedup any exact neuron path can reach (Amdahl)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(reps):
            _step(clf, opt, x, y)
    us = sum(e.cpu_time_total for e in prof.key_averages()
             if e.key == "aten::convolution" or e.key.startswith("autograd::engine::evaluate_function: ConvolutionBackward"))
    return us / reps / 1000


def worker_exact(model, steps, batch) -> dict:
    import torch

    from neurodeploy.training.losses import temporal_loss

    torch.manual_seed(0)
    clf = _clf(model, steps)
    x, y = _batch(clf, batch)
    grads = {}
    for mode in ("stock", "fast"):
        os.environ["NEURODEPLOY_DYNAMICS"] = mode
        clf.zero_grad()
        clf.generator = torch.Generator().manual_seed(3)
        temporal_loss(clf.cumulative(x), y).backward()
        grads[mode] = {n: p.grad.clone() for n, p in clf.net.named_parameters() if p.grad is not None}
    diff = max(float((grads["stock"][n] - grads["fast"][n]).abs().max()) for n in grads["stock"])
    nonzero = sum(int(g.abs().sum() > 0) for g in grads["stock"].values())
    return {"max_abs_grad_diff": diff, "parameters": len(grads["stock"]), "nonzero_gradients": nonzero}


def worker_gemm() -> dict:
    import torch

    a, b = torch.randn(4096, 1024), torch.randn(1024, 1024)
    a @ b
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return {"gflops": 2 * 4096 * 1024 * 1024 / statistics.median(times) / 1e9}


def worker_emu(model_path, limit, reps) -> dict:
    import torch

    from neurodeploy import netx
    from neurodeploy.runtime.emu import compile_model, emulate

    model = netx.read(model_path)
    net = compile_model(model)
    T = int(model.card.get("steps", 8))
    g = torch.Generator().manual_seed(0)
    spikes = (torch.rand(limit, *net.input_shape, T, generator=g) < 0.2).to(torch.uint8)
    emulate(net, spikes[: min(limit, 64)])
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        emulate(net, spikes)
        times.append(time.perf_counter() - t0)
    return {"samples_per_s": limit / statistics.median(times), "samples": limit, "peak_rss_mb": _maxrss_mb()}


def _worker_main(argv):
    job = json.loads(argv[0])
    from neurodeploy.threads import configure_threads

    threads = configure_threads(job.pop("threads"))
    kind = job.pop("kind")
    fn = {"step": worker_step, "exact": worker_exact, "gemm": worker_gemm, "emu": worker_emu}[kind]
    print(json.dumps({**fn(**job), "threads": threads}))


# ------------------------------------------------------------------------------------ parent
def run_job(kind: str, threads, **job) -> dict:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, str(Path(__file__)), "--worker", json.dumps({"kind": kind, "threads": threads, **job})],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"error: {kind} {job} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def forward_macs(model: str) -> int:
    """Multiply-accumulates of one sample and one time step through the synapses."""
    from neurodeploy.models.architectures import Conv, Flatten, architecture, shapes

    inp, specs = architecture(model, 10)
    total, shape = 0, inp
    for spec, out in zip(specs, shapes(inp, specs)):
        if isinstance(spec, Conv):
            total += out[0] * out[1] * out[2] * shape[0] * spec.kernel * spec.kernel
        elif not isinstance(spec, Flatten):
            n_in = 1
            for d in shape:
                n_in *= d
            total += n_in * out[0]
        shape = out
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not figures")
    p.add_argument("--models", default="mlp,conv28,conv32")
    p.add_argument("--steps", default="8,16")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", default="auto", help="N or auto (the commands' policy)")
    p.add_argument("--emu-model", default=str(HERE.parent / "netx_models" / "fmnist_conv28_early_burst_T8.net"))
    p.add_argument("--emu-limit", type=int, default=2000)
    p.add_argument("--no-busy", action="store_true", help="skip the busy-neighbour part (4.)")
    p.add_argument("--rounds", type=int, default=1,
                   help="stock and fast measured R times, alternating, each in a fresh process; the "
                        "figures are the medians over rounds (this machine drifts between runs)")
    a = p.parse_args()
    if a.quick:
        a.steps, a.batch, a.reps, a.emu_limit = "4", 4, 2, 100
    from common import table, write_result

    models, steps = a.models.split(","), [int(s) for s in a.steps.split(",")]
    gemm = run_job("gemm", a.threads)
    print(f"GEMM 4096x1024 @ 1024x1024: {gemm['gflops']:.0f} GFLOP/s ({gemm['threads']} threads)")
    rows = []
    for model in models:
        for T in steps:
            runs = {"stock": [], "fast": []}
            for _ in range(max(1, a.rounds)):      # alternate, so drift hits both alike
                for mode in runs:
                    runs[mode].append(run_job("step", a.threads, model=model, steps=T, batch=a.batch, reps=a.reps,
                                              mode=mode, synapse=True))
            stock, fast = (dict(r[0], step_ms=statistics.median(x["step_ms"] for x in r)) for r in runs.values())
            # the convolutions exactness fixes (the same mkldnn calls in both modes): median over all runs
            syn_ms = statistics.median(x["synapse_ms"] for r in runs.values() for x in r)
            exact = run_job("exact", a.threads, model=model, steps=T, batch=a.batch)
            flops = forward_macs(model) * a.batch * T * 2 * 3
            bound_ms = flops / (gemm["gflops"] * 1e9) * 1000
            row = {"model": model, "T": T, "batch": a.batch, "stock_ms": round(stock["step_ms"], 1),
                   "fast_ms": round(fast["step_ms"], 1), "speedup": round(stock["step_ms"] / fast["step_ms"], 2),
                   "gflop_step": round(flops / 1e9, 2), "gemm_bound_ms": round(bound_ms, 1),
                   "fast_over_bound": round(fast["step_ms"] / bound_ms, 1),
                   "synapse_ms": round(syn_ms, 1), "exact_cap": round(stock["step_ms"] / syn_ms, 2),
                   "stock_peak_mb": round(stock["peak_rss_mb"]), "fast_peak_mb": round(fast["peak_rss_mb"]),
                   "stock_step_mb": round(stock["peak_rss_mb"] - stock["base_rss_mb"]),
                   "fast_step_mb": round(fast["peak_rss_mb"] - fast["base_rss_mb"]),
                   "max_abs_grad_diff": exact["max_abs_grad_diff"], "threads": fast["threads"],
                   "rounds_ms": {m: [round(x["step_ms"], 1) for x in r] for m, r in runs.items()}}
            rows.append(row)
            print(table([row], [k for k in row if k != "rounds_ms"]).splitlines()[-1], flush=True)

    if a.no_busy:
        print()
        print(table(rows, [k for k in rows[0] if k != "rounds_ms"]))
        write_result("train_speed_quick" if a.quick else "train_speed",
                     {"quick": a.quick, "gemm_gflops": gemm["gflops"], "steps": rows, "busy_neighbour": None,
                      "command": " ".join(sys.argv)})
        return
    # busy neighbour -------------------------------------------------------------------------
    busy_model = "conv28" if "conv28" in models or not a.quick else models[0]
    T0 = steps[0]
    quiet_step = run_job("step", a.threads, model=busy_model, steps=T0, batch=a.batch, reps=a.reps, mode="fast")
    quiet_emu = run_job("emu", a.threads, model_path=a.emu_model, limit=a.emu_limit, reps=3)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)  # let the scheduler and /proc/stat see it
        busy_step = run_job("step", a.threads, model=busy_model, steps=T0, batch=a.batch, reps=a.reps, mode="fast")
        busy_emu = run_job("emu", a.threads, model_path=a.emu_model, limit=a.emu_limit, reps=3)
        forced_step = run_job("step", 2, model=busy_model, steps=T0, batch=a.batch, reps=a.reps, mode="fast")
        forced_emu = run_job("emu", 2, model_path=a.emu_model, limit=a.emu_limit, reps=3)
    finally:
        hog.kill()
        hog.wait()
    busy = [
        {"what": f"{busy_model} fast step (ms)", "quiet": round(quiet_step["step_ms"], 1), "busy": round(busy_step["step_ms"], 1),
         "kept": round(quiet_step["step_ms"] / busy_step["step_ms"], 2),
         "threads quiet/busy": f"{quiet_step['threads']}/{busy_step['threads']}",
         "busy, 2 threads forced": round(forced_step["step_ms"], 1),
         "kept, 2 forced": round(quiet_step["step_ms"] / forced_step["step_ms"], 2)},
        {"what": "emu (samples/s)", "quiet": round(quiet_emu["samples_per_s"]), "busy": round(busy_emu["samples_per_s"]),
         "kept": round(busy_emu["samples_per_s"] / quiet_emu["samples_per_s"], 2),
         "threads quiet/busy": f"{quiet_emu['threads']}/{busy_emu['threads']}",
         "busy, 2 threads forced": round(forced_emu["samples_per_s"]),
         "kept, 2 forced": round(forced_emu["samples_per_s"] / quiet_emu["samples_per_s"], 2)},
    ]
    print()
    print(table(rows, [k for k in rows[0] if k != "rounds_ms"]))
    print()
    print(table(busy, list(busy[0])))
    write_result("train_speed_quick" if a.quick else "train_speed",
                 {"quick": a.quick, "gemm_gflops": gemm["gflops"], "steps": rows, "busy_neighbour": busy,
                  "emu_model": a.emu_model, "command": " ".join(sys.argv)})


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        _worker_main(sys.argv[2:])
    else:
        main()
