"""Issue 13 item 5: an adversarially trained MLP SNN on Fashion-MNIST, and its adversarially trained ANN twin.

    python benchmarks/train_robust.py [--data-dir ../shared/data] [--stage train|export|attack|all]
                                      [--limit N] [--epochs E] [--eval-limit 1000]

Recipe (the levers of issue 13): early_burst_floor encoding (a pixel below 1/T never fires),
T = 8, temporal loss, 0.5·loss(clean) + 0.5·loss(PGD) or TRADES, ε = 0.1 warmed up over the
first epoch, and a training attack whose surrogate gradient (encoder surrogate, neuron surrogate
shape and width) is drawn per batch from the attack suite's family. Stages, each resumable
(runs continue from their checkpoints, finished stages are skipped when their output exists):

1. ``pre``: the SNN adversarially trained on the first ``--pre-limit`` images (a warm start);
2. ``snn``: fine-tuned from ``pre`` on the full training set (``--init-from``);
3. ``ann``: the ANN twin trained with the same recipe from scratch;
4. export the SNN to ``netx_models/fmnist_mlp_robust_floor_T8.net`` (verified against the run);
5. the suite at ε = 0.1 on ``--eval-limit`` test images: on the artifact (``neurodeploy attack
   MODEL.net --attack suite --eps 0.1``: white-box through its float twin, judged on emu), plus
   straight-through PGD-50 alone; the same for the ANN twin.

The shipped model: ``--threads 1 --epochs 3 --stop-after 1`` (one epoch of the full-data stage's
3-epoch cosine schedule; the machine's time ran out), ANN twin ``--ann-epochs 4``.

Prints a table (figures beside the issue's targets: clean ≥ 75 %, suite ≥ 30 %, PGD-50 at most 5
points above the suite) and writes benchmarks/out/train_robust.json.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from common import OUT, ROOT, data_dir, table, write_result
from neurodeploy.training.config import TrainConfig
from neurodeploy.training.run import train

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--data-dir")
p.add_argument("--stage", default="all", choices=["train", "export", "attack", "all"])
p.add_argument("--pre-limit", type=int, default=10000, help="images of the warm-start stage")
p.add_argument("--pre-epochs", type=int, default=3)
p.add_argument("--limit", type=int, default=None, help="training images of the main stage (default: all)")
p.add_argument("--epochs", type=int, default=3, help="epochs of the main SNN stage (its cosine schedule)")
p.add_argument("--stop-after", type=int, default=None,
               help="stop the main SNN stage after this epoch (the shipped model: 1; resumable later)")
p.add_argument("--ann-epochs", type=int, default=4)
p.add_argument("--adv", default="pgd:0.1,3", help="training attack")
p.add_argument("--trades", type=float, default=None, help="TRADES β instead of the 0.5/0.5 mix")
p.add_argument("--eval-limit", type=int, default=1000)
p.add_argument("--eps", type=float, default=0.1)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--tag", default="", help="suffix of the run folders (recipes side by side)")
p.add_argument("--skip-ann", action="store_true")
p.add_argument("--only", default=None, choices=["pre", "snn", "ann"], help="train only this run")
p.add_argument("--model-out", default=str(ROOT / "netx_models" / "fmnist_mlp_robust_floor_T8.net"))
a = p.parse_args()
torch.set_num_threads(a.threads)
root = data_dir(a.data_dir)
RUNS = OUT / "runs"
ENC = {"name": "early_burst_floor"}
common = dict(dataset="fashion-mnist", model="mlp", steps=8, seed=a.seed, loss="temporal", adv=a.adv,
              trades=a.trades, adv_grad="random", eps_warmup=1.0)
SNN, PRE, ANN = f"robust_snn{a.tag}", f"robust_snn_pre{a.tag}", f"robust_ann{a.tag}"
runs = {
    PRE: TrainConfig(encoding=ENC, epochs=a.pre_epochs, limit=a.pre_limit, test_limit=2000, **common),
    SNN: TrainConfig(encoding=ENC, epochs=a.epochs, limit=a.limit, init_from=str(RUNS / PRE),
                     **{**common, "eps_warmup": 0.0}),
}
if not a.skip_ann:
    runs[ANN] = TrainConfig(encoding=ENC, epochs=a.ann_epochs, ann=True, **common)
result = {"config": vars(a), "runs": {}}


def _train(name: str) -> dict:
    out = RUNS / name
    t0 = time.time()
    m = train(runs[name], out, resume=(out / "checkpoint.pt").exists(), data_dir=root, progress=True,
              stop_after=a.stop_after if name == SNN else None)
    ep = m["epochs"]
    print(f"{name}: {len(ep)} epochs, test accuracy {ep[-1]['test_accuracy']:.4f} ({time.time() - t0:.0f} s)", flush=True)
    return {"run_dir": str(out), "epochs": len(ep), "test_accuracy": ep[-1]["test_accuracy"],
            "output_silent": m.get("output_silent"), "train_seconds": sum(e["seconds"] for e in ep)}


if a.stage in ("train", "all"):
    for name in runs:
        if a.only is None or name == {"pre": PRE, "snn": SNN, "ann": ANN}[a.only]:
            result["runs"][name] = _train(name)

model_path = Path(a.model_out)
if a.stage in ("export", "all", "attack"):
    from neurodeploy import export_run

    if not model_path.exists():
        export_run(RUNS / SNN, model_path, check_samples=256, data_dir=root)
    print(f"exported {model_path} ({model_path.stat().st_size / 1e6:.2f} MB)", flush=True)
    result["model"] = {"path": str(model_path.relative_to(ROOT)), "bytes": model_path.stat().st_size}

if a.stage in ("attack", "all"):
    import json

    from neurodeploy.attacks import AttackConfig, attack

    def _measure(path, aname: str, out: Path) -> dict:
        """One attack run into ``out``; an existing attack.json of the same settings is reused (resumable)."""
        kw = dict(attack="suite") if aname == "suite" else dict(attack="pgd", steps=50, queries=10)
        if not (out / "attack.json").exists():
            attack(str(path), AttackConfig(eps=(a.eps,), limit=a.eval_limit, seed=a.seed, data_dir=root, **kw), out_dir=out)
        d = json.loads((out / "attack.json").read_text())
        if d["n"] != a.eval_limit or d["config"]["attack"] != kw["attack"]:
            raise SystemExit(f"{out}: holds another measurement (n={d['n']}); delete it to re-measure")
        return {"clean": d["clean_accuracy"], "robust_accuracy": d["results"][0]["robust_accuracy"],
                "seconds": d["seconds"], "checks": d["checks"], "command": f"neurodeploy attack {path} --attack "
                f"{kw['attack']}{' --steps 50' if aname != 'suite' else ''} --eps {a.eps:g} --limit {a.eval_limit}"}

    rows = []
    for label, path in (("SNN (artifact, judged on emu)", model_path), ("ANN twin", RUNS / ANN)):
        tag = "snn" if label.startswith("SNN") else "ann"
        entry = {aname: _measure(path, aname, OUT / "train_robust" / f"{tag}_{aname.split()[0]}")
                 for aname in ("suite", "pgd50")}
        gap = entry["pgd50"]["robust_accuracy"] - entry["suite"]["robust_accuracy"]
        entry["pgd50_minus_suite"] = gap
        result.setdefault("attacks", {})[label] = entry
        s = entry["suite"]
        failed = [c["name"] for c in s["checks"] if c["status"] == "FAILED"]
        rows.append({"model": label, "clean %": f"{100 * s['clean']:.1f}", "suite %": f"{100 * s['robust_accuracy']:.1f}",
                     "PGD-50 ste %": f"{100 * entry['pgd50']['robust_accuracy']:.1f}",
                     "PGD-50 − suite": f"{100 * gap:+.1f}", "suite s": f"{s['seconds']:.0f}",
                     "masking checks": "FAILED: " + ", ".join(failed) if failed else "passed",
                     "targets (SNN)": ("clean ≥ 75: {}, suite ≥ 30: {}, gap ≤ 5: {}".format(
                         *("met" if ok else "NOT met" for ok in (s["clean"] >= 0.75, s["robust_accuracy"] >= 0.30,
                                                                 gap <= 0.05))) if tag == "snn" else "-")})
    print(table(rows, list(rows[0])))
write_result(f"train_robust{a.tag}", result)
