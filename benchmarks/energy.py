"""Issue 5 benchmark: modelled energy and latency per inference of the Fashion-MNIST SNNs.

    python benchmarks/energy.py [--models a.net b.net] [--data-dir ../shared/data] [--limit 1000]
                                [--exit margin:2,min=2]

For each exported model (default: benchmarks/out/models/*.net): run the first ``--limit`` test
images once on the emulator (all T steps, every layer recorded), then cost the activity on loihi2
and loihi1 without early exit (all T steps) and with the exit rule, and the ANN twin's MACs on
cmos45-fp32 and cmos45-int8 — the same code path as ``neurodeploy report``. Prints one table and
writes benchmarks/out/energy.json. Every energy and latency is modelled, never measured.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from common import OUT, data_dir, table, write_result
from neurodeploy.energy.model import LABEL, ann_energy
from neurodeploy import netx
from neurodeploy.hardware.profiles import load_profile
from neurodeploy.report.activity import FullActivity
from neurodeploy.report.backends import record
from neurodeploy.report.energy_report import DEFAULT_EXIT, Costing
from neurodeploy.report.inputs import encode_inputs
from neurodeploy.runtime.exit_rules import ExitRule

SNN_TARGETS = ("loihi2", "loihi1")
ANN_TARGETS = ("cmos45-fp32", "cmos45-int8")

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--models", nargs="+", default=None, help="Exported NetX files (default: benchmarks/out/models/*.net).")
p.add_argument("--data-dir")
p.add_argument("--limit", type=int, default=1000)
p.add_argument("--exit", default=DEFAULT_EXIT, help="Early-exit rule (margin:M[,min=S] | confidence:P[,min=S]).")
p.add_argument("--seed", type=int, default=None, help="Encoder seed (default: each model card's).")
a = p.parse_args()
torch.set_num_threads(2)
root = data_dir(a.data_dir)
rule = ExitRule.parse(a.exit)
models = [Path(m) for m in a.models] if a.models else sorted((OUT / "models").glob("*.net"))
if not models:
    raise SystemExit(f"error: no models in {OUT / 'models'}; export runs there "
                     "(`neurodeploy export RUN --out benchmarks/out/models/NAME.net`) or give --models")
snn_profiles = [load_profile(t) for t in SNN_TARGETS]
ann_profiles = [load_profile(t) for t in ANN_TARGETS]

rows, result = [], {"label": LABEL, "limit": a.limit, "exit_rule": str(rule), "data_dir": root, "models": {}}
for path in models:
    t0 = time.time()
    model = netx.read(path)
    enc = encode_inputs(model, None, a.limit, root, a.seed, path=path)
    rec = record(model, path, enc.spikes, "emu")
    activity = FullActivity.count(model, enc.spikes, rec.layers)
    name = path.stem
    entry = {"path": str(path), "samples": enc.num_samples, "steps": activity.steps,
             "model": model.card.get("model"), "encoding": model.card.get("encoding"), "snn": [], "ann": []}
    for prof in snn_profiles:
        costing = Costing(model, activity, rec.output, enc.labels, prof)
        for scen_name, r in (("no_exit", ExitRule()), ("early_exit", rule)):
            s = costing.scenario(scen_name, r)
            entry["snn"].append({"target": prof.name, **{k: v for k, v in s.to_dict().items() if k not in ("energy", "per_sample")},
                                 "dynamic_J": s.energy.dynamic_J, "static_J": s.energy.static_J,
                                 "excluded": s.energy.excluded, "cores": costing.cores})
            rows.append({"model": name, "network": "SNN", "target": prof.name, "exit": str(r),
                         "accuracy": f"{s.accuracy:.4f}", "input steps": f"{s.mean_steps:.2f}",
                         "Lava steps": f"{s.lava_steps:.2f}",
                         f"energy uJ ({LABEL})": f"{s.energy_J * 1e6:.4g}",
                         "dynamic uJ": f"{s.energy.dynamic_J * 1e6:.4g}",
                         f"latency us ({LABEL})": "-" if s.latency_s is None else f"{s.latency_s * 1e6:.4g}"})
    for prof in ann_profiles:
        est = ann_energy(model, prof)
        entry["ann"].append(est.to_dict() | {"energy_J": est.total_J})
        rows.append({"model": name, "network": "ANN twin", "target": prof.name, "exit": "-",
                     "accuracy": "not run", "input steps": "1 pass", "Lava steps": "-",
                     f"energy uJ ({LABEL})": f"{est.total_J * 1e6:.4g}", "dynamic uJ": f"{est.dynamic_J * 1e6:.4g}",
                     f"latency us ({LABEL})": "not modelled"})
    entry["seconds"] = time.time() - t0
    result["models"][name] = entry
    print(f"{name}: {enc.num_samples} samples in {entry['seconds']:.1f} s", file=sys.stderr)

print(table(rows, list(rows[0])))
static = "; ".join(f"{q.name}: {q.quantity('energy.static_power').describe() if q.quantity('energy.static_power') else 'none'}"
                   for q in snn_profiles)
note = (f"All energies and latencies are {LABEL} (counted activity x per-operation figures of neurodeploy/hardware/builtin_profiles/*.toml), "
        f"never measured. SNN rows include static power x latency where the profile has a figure ({static}; "
        "whole chip); ANN rows: MACs + SRAM traffic, no static power, accuracy not run here. "
        "`neurodeploy report` lists what each figure includes and leaves out.")
print(note)
result["note"] = note
write_result("energy", result)
