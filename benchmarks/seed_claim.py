"""Issue 13 item 7: the seed paper's claim, tested as stated — a standard-trained SNN with early
encoding and early exit against the standard-trained ANN twin, PGD at ε = 0.1.

    python benchmarks/seed_claim.py [--data-dir ../shared/data] [--snn RUN] [--ann RUN] [--limit 1000]
                                    [--exit margin:2,min=2] [--eps 0.1]

Runs (resumable, trained if missing, the same settings as benchmarks/train_fmnist.py): the MLP SNN
(early burst, T = 8, temporal loss) and its ANN twin on Fashion-MNIST. Two measurements on the
first ``--limit`` test images:

* seed-style: PGD-7 (α = 2.5ε/7, random start) through the seed code's spike-only encoder
  gradient, the loss read at the exit step — what the seed code would report; the ANN gets PGD-7
  with its exact gradient;
* the suite (neurodeploy's per-sample worst case over every attack, cheap-first).

Prints the robust accuracies and the ratio SNN / ANN under each, and writes
benchmarks/out/seed_claim.json. A ratio ≥ 2 under the seed-style attack and < 2 under the suite
means the claim rests on a masked gradient.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from common import OUT, data_dir, table, write_result
from neurodeploy.attacks import AttackConfig, Target, evaluate
from neurodeploy.data import load_dataset
from neurodeploy.runfolder import load_run
from neurodeploy.training.config import TrainConfig
from neurodeploy.training.run import train

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--data-dir")
p.add_argument("--snn", default=str(OUT / "runs" / "snn_mlp_early_burst_T8"))
p.add_argument("--ann", default=str(OUT / "runs" / "ann_mlp"))
p.add_argument("--epochs", type=int, default=20, help="SNN epochs if it must be trained")
p.add_argument("--ann-epochs", type=int, default=10)
p.add_argument("--train-limit", type=int, default=None, help="training images if the runs must be trained (smoke)")
p.add_argument("--limit", type=int, default=1000)
p.add_argument("--eps", type=float, default=0.1)
p.add_argument("--exit", default="margin:2,min=2")
p.add_argument("--steps", type=int, default=50, help="suite steps")
p.add_argument("--queries", type=int, default=1000, help="suite Square queries")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--out-name", default="seed_claim")
a = p.parse_args()
torch.set_num_threads(a.threads)
root = data_dir(a.data_dir)

configs = {a.snn: TrainConfig(dataset="fashion-mnist", model="mlp", encoding={"name": "early_burst"}, steps=8,
                              epochs=a.epochs, seed=a.seed, loss="temporal", limit=a.train_limit),
           a.ann: TrainConfig(dataset="fashion-mnist", model="mlp", ann=True, epochs=a.ann_epochs, seed=a.seed,
                              limit=a.train_limit)}
for run, cfg in configs.items():  # train or finish a missing run (an existing finished one is reused as is)
    done = (Path(run) / "checkpoint.pt").exists()
    if not done or len(json.loads((Path(run) / "metrics.json").read_text())["epochs"]) < cfg.epochs:
        train(cfg, run, resume=done, data_dir=root)

snn, ann = load_run(a.snn), load_run(a.ann)
ds = load_dataset("fashion-mnist", "test", root, a.limit)
x = torch.from_numpy(ds.images).float().div_(255.0)
y = torch.from_numpy(ds.labels).to(torch.int64)
targets = {"SNN (early burst, early exit)": Target(snn, a.exit, a.seed), "ANN twin": Target(ann, "off", a.seed)}
attacks = {"seed-style PGD-7 (spike-only grad)": dict(attack="pgd", steps=7, grad="spike", checks=False),
           "suite": dict(attack="suite", steps=a.steps, queries=a.queries)}
res, rows = {"config": vars(a), "n": len(y), "data": ds.source, "accuracy": {}}, []
for aname, kw in attacks.items():
    acc = {}
    for tname, tg in targets.items():
        t0 = time.time()
        rep = evaluate(tg, x, y, AttackConfig(eps=(a.eps,), limit=None, seed=a.seed, exit=str(tg.rule), **kw),
                       progress=False)
        acc[tname] = {"clean": rep.clean_accuracy, "robust": rep.results[0].robust_accuracy, "seconds": time.time() - t0,
                      "failed_checks": [c.name for c in rep.failed_checks]}
    s, n = acc["SNN (early burst, early exit)"]["robust"], acc["ANN twin"]["robust"]
    ratio = s / n if n > 0 else None
    res["accuracy"][aname] = {**acc, "ratio_snn_over_ann": ratio}
    rows.append({"attack": aname, "ε": f"{a.eps:g}", "SNN robust %": f"{100 * s:.1f}", "ANN robust %": f"{100 * n:.1f}",
                 "SNN / ANN": f"{ratio:.2f}" if ratio is not None else "n/a (ANN at 0 %)",
                 "claim (≥ 2×)": "n/a" if ratio is None else ("holds" if ratio >= 2 else "does not hold")})
print(table(rows, list(rows[0])))
write_result(a.out_name, res)
