"""Issue 4 targets: emu == sim parity, SLAYER agreement, emu throughput, early exit.

    python benchmarks/deploy.py [--data-dir ../shared/data] [--limit 1000]
           [--run benchmarks/out/runs/snn_mlp_early_burst_T8] [--model netx_models/fmnist_mlp_early_burst_T8.net]

On the same encoded Fashion-MNIST test images (the model card's encoder):
1. Lava ``sim`` and ``emu``, exit off: output spikes at every step, predictions, exit steps.
2. The trained SLAYER model (fixed-point forward pass) against emu: prediction agreement and the
   fraction of samples whose output spike trains differ at all.
3. Throughput of emu and sim (samples/s) on the same samples, measured in this run.
4. Early exit: margin rules swept on emu; the cheapest rule within 0.5 point of full-T accuracy
   is then run on sim too (exit steps must agree) and its wall time compared with exit off.
5. Throughput rows (issue 10), each with and without exit: the shipped MLP and conv28 and one
   network made with lava-dl's own blocks and ``export_hdf5`` (strided convs with biases, a dense
   layer with biases and synaptic delays; random weights, card-less), fed the same encoded images:
   parity of emu and sim (output at every step, predictions, exit steps) and emu/sim samples/s.
   ``--rows-limit`` samples per row (sim is slow: ~60x slower with delays), ``--no-rows`` skips it.
Writes benchmarks/out/deploy.json.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from common import ROOT, data_dir, identical_every_step, table, write_result
import neurodeploy
from neurodeploy import netx
from neurodeploy.runtime.api import encode_dataset_for_model, run_model

p = argparse.ArgumentParser()
p.add_argument("--data-dir")
p.add_argument("--limit", type=int, default=1000)
p.add_argument("--run", default=str(ROOT / "benchmarks/out/runs/snn_mlp_early_burst_T8"))
p.add_argument("--model", default=str(ROOT / "netx_models/fmnist_mlp_early_burst_T8.net"))
p.add_argument("--rows-limit", type=int, default=300, help="samples per throughput row (section 5)")
p.add_argument("--rows-exit", default="margin:2,min=2", help="exit rule of the throughput rows")
p.add_argument("--no-rows", action="store_true")
a = p.parse_args()
torch.set_num_threads(2)
root = data_dir(a.data_dir)

model = netx.read(a.model)
T = int(model.card["steps"])
spikes, labels = encode_dataset_for_model(model, limit=a.limit, data_dir=root)
N = len(labels)
print(f"{Path(a.model).name}: {N} test images, T = {T}, {len(model.synaptic_layers)} synaptic layers")

# 1. parity, exit off ---------------------------------------------------------------------
emu_times = []
for _ in range(5):  # median of 5 (the first call warms up); sim runs once, its start-up included
    t0 = time.perf_counter()
    emu_full = run_model(model, spikes, labels, "emu", "off", progress=False, path=a.model, threads=2)
    emu_times.append(time.perf_counter() - t0)
emu_s = float(np.median(emu_times))
sim_full = run_model(model, spikes, labels, "sim", "off", progress=True, path=a.model)
sim_s = sim_full.wall_time
parity = {
    "samples": N,
    "identical_spike_counts_every_step": identical_every_step(emu_full, sim_full),
    "identical_predictions": float((emu_full.prediction == sim_full.prediction).mean()),
    "identical_exit_steps": float((emu_full.exit_step == sim_full.exit_step).mean()),
}

# 2. trained SLAYER model in fixed point vs emu -----------------------------------------------
slayer = {}
if Path(a.run).is_dir():
    clf = neurodeploy.load(a.run)
    with torch.no_grad():
        ref = torch.cat([clf.net(spikes[i:i + 500].float().reshape(-1, *clf.net.input_shape, T))
                         for i in range(0, N, 500)]).numpy().astype(np.uint8)
    slayer_pred = ref.astype(np.int64).sum(-1).argmax(1)
    slayer = {
        "prediction_agreement_with_emu": float((slayer_pred == emu_full.prediction).mean()),
        "samples_with_any_spike_difference": float((ref != emu_full.step_counts).reshape(N, -1).any(1).mean()),
        "slayer_accuracy": float((slayer_pred == labels).mean()),
    }
else:
    print(f"section 2 skipped: no training run folder {a.run} (give --run)")

# 3. throughput -------------------------------------------------------------------------------
throughput = {"emu_samples_per_s": N / emu_s, "sim_samples_per_s": N / sim_s, "emu_over_sim": sim_s / emu_s, "emu_seconds_runs": emu_times,
              "sim_startup_s": sim_full.meta.get("startup_s")}

# 4. early exit -------------------------------------------------------------------------------
full_acc = float((emu_full.prediction == labels).mean())
sweep = []
for m in range(1, T + 1):
    for mn in (1, 2, 3):
        rule = f"margin:{m},min={mn}"
        r = run_model(model, spikes, labels, "emu", rule, progress=False, path=a.model)
        sweep.append({"rule": rule, "accuracy": float((r.prediction == labels).mean()),
                      "mean_steps": float(r.exit_step.mean())})
ok = [s for s in sweep if full_acc - s["accuracy"] <= 0.005]
best = min(ok, key=lambda s: s["mean_steps"])
sim_exit = run_model(model, spikes, labels, "sim", best["rule"], progress=True, path=a.model)
emu_exit = run_model(model, spikes, labels, "emu", best["rule"], progress=False, path=a.model)
steps = emu_exit.exit_step
early = {
    "rule": best["rule"], "full_T_accuracy": full_acc, "exit_accuracy": best["accuracy"],
    "accuracy_loss_points": 100 * (full_acc - best["accuracy"]),
    "mean_steps": float(steps.mean()), "mean_steps_fraction_of_T": float(steps.mean() / T),
    "p50_p90_p99_steps": [float(np.percentile(steps, q)) for q in (50, 90, 99)],
    "sim_identical_exit_steps": float((sim_exit.exit_step == emu_exit.exit_step).mean()),
    "sim_identical_predictions": float((sim_exit.prediction == emu_exit.prediction).mean()),
    "sim_wall_s_exit_off": sim_full.wall_time, "sim_wall_s_with_exit": sim_exit.wall_time,
    "sim_lava_steps_exit_off": sim_full.lava_steps, "sim_lava_steps_with_exit": sim_exit.lava_steps,
}

rows = [
    {"figure": "emu vs sim: identical spike counts at every step", "value": f"{parity['identical_spike_counts_every_step']:.1%}", "target": "100 %"},
    {"figure": "emu vs sim: identical predictions / exit steps (exit off)", "value": f"{parity['identical_predictions']:.1%} / {parity['identical_exit_steps']:.1%}", "target": "100 %"},
    {"figure": "emu vs sim: identical predictions / exit steps (with exit)", "value": f"{early['sim_identical_predictions']:.1%} / {early['sim_identical_exit_steps']:.1%}", "target": "100 %"},
    {"figure": "SLAYER fixed point vs emu: prediction agreement", "value": f"{slayer['prediction_agreement_with_emu']:.2%}" if slayer else "skipped", "target": ">= 99.5 %"},
    {"figure": "SLAYER vs emu: samples whose spike trains differ", "value": f"{slayer['samples_with_any_spike_difference']:.2%}" if slayer else "skipped", "target": "(reported)"},
    {"figure": "emu throughput (samples/s, median of 5, 2 threads)", "value": f"{throughput['emu_samples_per_s']:.0f}", "target": ""},
    {"figure": "sim throughput (samples/s, incl. start-up)", "value": f"{throughput['sim_samples_per_s']:.1f}", "target": ""},
    {"figure": "emu / sim throughput", "value": f"{throughput['emu_over_sim']:.0f}x", "target": ">= 100x"},
    {"figure": f"early exit {best['rule']}: mean steps / T", "value": f"{early['mean_steps']:.2f} / {T} = {early['mean_steps_fraction_of_T']:.0%}", "target": "<= 60 %"},
    {"figure": "early exit: accuracy loss vs full T", "value": f"{early['accuracy_loss_points']:.2f} points ({full_acc:.2%} -> {best['accuracy']:.2%})", "target": "<= 0.5"},
    {"figure": "sim wall time: exit off -> with exit", "value": f"{sim_full.wall_time:.1f} s -> {sim_exit.wall_time:.1f} s (Lava steps {sim_full.lava_steps} -> {sim_exit.lava_steps})", "target": "falls"},
]
print(table(rows, ["figure", "value", "target"]))


# 5. throughput rows with and without exit, incl. a lava-dl-made conv net -------------------------
def lavadl_conv_net(path, seed=0):
    """28x28 input -> conv 8 s2 (bias) -> conv 16 s2 (bias) -> flatten -> dense 64 (bias, delays 0..3)
    -> dense 10, built with lava-dl's SLAYER blocks and written by lava-dl's own export_hdf5."""
    import h5py

    from neurodeploy._lava_compat import import_slayer

    slayer = import_slayer()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    p = {"threshold": 0.5, "current_decay": 0.25, "voltage_decay": 0.03, "tau_grad": 1, "scale_grad": 1,
         "requires_grad": False, "norm": slayer.neuron.norm.MeanOnlyBatchNorm}
    q = {k: v for k, v in p.items() if k != "norm"}
    blocks = torch.nn.ModuleList([
        slayer.block.cuba.Conv(p, 1, 8, 3, stride=2, padding=1, weight_scale=3),
        slayer.block.cuba.Conv(p, 8, 16, 3, stride=2, padding=1, weight_scale=3),
        slayer.block.cuba.Flatten(),
        slayer.block.cuba.Dense(p, 16 * 7 * 7, 64, weight_scale=3, delay=True),
        slayer.block.cuba.Dense(q, 64, 10, weight_scale=3)])
    x = torch.rand(1, 1, 28, 28, 4)
    with torch.no_grad():
        for b in blocks:
            x = b(x)
        for b in (blocks[0], blocks[1], blocks[3]):          # biases and delays after the sizing pass
            n = b.neuron.norm.running_mean.shape[0]
            b.neuron.norm.running_mean.copy_(torch.from_numpy(rng.uniform(-0.3, 0.6, n)).float())
        blocks[3].delay.delay.copy_(torch.from_numpy(rng.integers(0, 4, blocks[3].delay.delay.shape)).float())
    with h5py.File(path, "w") as h:
        h.create_group("layer/0")
        h["layer/0"].create_dataset("type", (1,), "S10", [b"input"])
        h["layer/0"].create_dataset("shape", data=np.array([1, 28, 28]))
        for i, b in enumerate(blocks):
            b.export_hdf5(h.create_group(f"layer/{i + 1}"))
    return path


def throughput_row(name, path, model, x, rule):
    emu_t = []
    for _ in range(3):
        t0 = time.perf_counter()
        e = run_model(model, x, None, "emu", rule, progress=False, path=path, threads=2)
        emu_t.append(time.perf_counter() - t0)
    sim = run_model(model, x, None, "sim", rule, progress=True, path=path)
    n = int(x.shape[0])
    emu_rate, sim_rate = n / float(np.median(emu_t)), n / sim.wall_time
    return {"model": name, "exit": rule, "samples": n, "mean_exit_step": float(e.exit_step.mean()),
            "identical_every_step": identical_every_step(e, sim),
            "identical_predictions": float((e.prediction == sim.prediction).mean()),
            "identical_exit_steps": float((e.exit_step == sim.exit_step).mean()),
            "emu_samples_per_s": emu_rate, "sim_samples_per_s": sim_rate, "emu_over_sim": emu_rate / sim_rate,
            "sim_startup_s": sim.meta.get("startup_s")}


rows5 = []
if not a.no_rows:
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="deploy-bench-"))
    lavadl_path = lavadl_conv_net(tmp / "lavadl_conv.net")
    models = [("mlp (shipped)", a.model), ("conv28 (shipped)", str(ROOT / "netx_models/fmnist_conv28_early_burst_T8.net")),
              ("lava-dl conv, biases + delays", str(lavadl_path))]
    for name, path in models:
        m = netx.read(path)
        n = min(a.rows_limit, N)
        x = spikes[:n].reshape(n, *m.input_shape, T)            # the same encoded images, T = 8
        for rule in ("off", a.rows_exit):
            rows5.append(throughput_row(name, path, m, x, rule))
    print(table([{"model": r["model"], "exit": r["exit"], "samples": r["samples"],
                  "mean exit step": f"{r['mean_exit_step']:.2f}",
                  "emu == sim (every step / pred / exit)": f"{r['identical_every_step']:.0%} / "
                  f"{r['identical_predictions']:.0%} / {r['identical_exit_steps']:.0%}",
                  "emu samples/s": f"{r['emu_samples_per_s']:.0f}", "sim samples/s": f"{r['sim_samples_per_s']:.1f}",
                  "emu / sim": f"{r['emu_over_sim']:.0f}x (target >= 100x)"} for r in rows5],
                ["model", "exit", "samples", "mean exit step", "emu == sim (every step / pred / exit)",
                 "emu samples/s", "sim samples/s", "emu / sim"]))
write_result("deploy", {"model": a.model, "run": a.run, "parity": parity, "slayer": slayer,
                        "throughput": throughput, "early_exit": early, "sweep": sweep, "rows": rows5})
