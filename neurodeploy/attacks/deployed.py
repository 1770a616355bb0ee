"""Adversarial images on the deployed artifact: the exported NetX file run by the integer-exact
emulator (:func:`neurodeploy.runtime.emu.emulate`; no Lava import).

Images are encoded with the *model card's* encoder and number of steps, drawing stochastic
encoders with the same per-sample evaluation seed as the trained model
(:func:`~neurodeploy.attacks.target.eval_spikes`), then decided with the same exit rule. An
optional Lava ``sim`` cross-check runs a few samples through
:func:`neurodeploy.runtime.sim.simulate` and reports whether its predictions agree.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import torch

from neurodeploy.attacks.target import Target, eval_spikes
from neurodeploy.encoding import make_encoder
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.runtime.exit_rules import ExitRule, apply_exit_rule


@dataclass
class DeployedModel:
    """An exported model ready to judge images: compiled emulator network, card encoder, exit rule."""

    path: Path
    net: object
    encoder: object
    steps: int
    rule: ExitRule
    seed: int = 0
    card: dict = field(default_factory=dict)

    def counts(self, x: torch.Tensor, idx: torch.Tensor, batch: int = 1000) -> torch.Tensor:
        from neurodeploy.runtime.emu import emulate

        outs = []
        for lo in range(0, x.shape[0], batch):
            s = eval_spikes(self.encoder, x[lo:lo + batch], self.steps, idx[lo:lo + batch], self.seed)
            outs.append(emulate(self.net, self.encoder.to_deployed(s)).counts)
        return torch.cat(outs, dim=0)

    def decide(self, x: torch.Tensor, idx: torch.Tensor) -> tuple:
        exit_step, pred = apply_exit_rule(self.counts(x, idx), self.rule)
        return pred, exit_step

    def correct(self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return self.decide(x, idx)[0] == y

    def simulate_sample(self, x: torch.Tensor, idx: torch.Tensor, timeout: float = 600.0) -> dict:
        """Run ``x`` on Lava ``sim`` in a fresh Python process; predictions and agreement with the emulator.

        A separate process because Lava forks its runtime, which can deadlock a parent whose torch
        thread pools are already running (observed here); the subprocess also bounds the time.
        """
        s = self.encoder.to_deployed(eval_spikes(self.encoder, x, self.steps, idx, self.seed))
        emu_pred, emu_exit = self.decide(x, idx)
        with tempfile.TemporaryDirectory(prefix="neurodeploy-attack-sim-") as tmp:
            inp, out = Path(tmp) / "spikes.npy", Path(tmp) / "result.json"
            np.save(inp, s.numpy())
            proc = subprocess.run([sys.executable, "-c", _SIM_SCRIPT, str(self.path), str(inp), str(self.rule), str(out)],
                                  capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0 or not out.exists():
                tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
                raise RuntimeError(f"Lava sim failed: {tail[0][:160]}")
            res = json.loads(out.read_text())
        sim_pred = torch.tensor(res["prediction"], dtype=torch.int64)
        sim_exit = torch.tensor(res["exit_step"], dtype=torch.int64)
        return {"samples": int(x.shape[0]), "sim_prediction": sim_pred.tolist(),
                "agree_prediction": bool((sim_pred == emu_pred).all()),
                "agree_exit_step": bool((sim_exit == emu_exit).all()),
                "wall_time": float(res["wall_time"])}


_SIM_SCRIPT = """
import json, sys
import numpy as np, torch
import neurodeploy
from neurodeploy.runtime.sim import simulate
path, inp, rule, out = sys.argv[1:5]
r = simulate(path, torch.from_numpy(np.load(inp)), exit_rule=rule)
json.dump({"prediction": [int(v) for v in r.prediction], "exit_step": [int(v) for v in r.exit_step],
           "wall_time": float(r.wall_time)}, open(out, "w"))
"""


def load_deployed(path, target: Target, rule: ExitRule, seed: int) -> DeployedModel:
    """Read ``path`` and check that its card matches the attacked run (data set, encoder, steps)."""
    from neurodeploy import netx
    from neurodeploy.runtime.emu import compile_model

    if not target.is_snn:
        raise UsageError(f"{path}: an ANN twin has no deployed NetX form; attack the spiking run to use --deployed")
    model = netx.read(path)
    card = model.card or {}
    cfg = getattr(target.clf, "config", None)
    if "encoding" not in card or "steps" not in card:
        raise BadInputError(f"{path}: model card lacks 'encoding'/'steps'; re-export the run")
    encoder = make_encoder(card["encoding"])
    problems = []
    if cfg is not None and card.get("dataset") not in (None, cfg.dataset):
        problems.append(f"data set {card.get('dataset')} != run's {cfg.dataset}")
    if encoder.config() != target.clf.encoder.config():
        problems.append(f"encoding {encoder.config()} != run's {target.clf.encoder.config()}")
    if int(card["steps"]) != int(target.clf.steps):
        problems.append(f"steps {card['steps']} != run's {target.clf.steps}")
    if tuple(model.input_shape) != tuple(target.clf.net.input_shape):
        problems.append(f"input shape {tuple(model.input_shape)} != run's {tuple(target.clf.net.input_shape)}")
    if problems:
        raise BadInputError(f"{path}: not an export of this run ({'; '.join(problems)})")
    return DeployedModel(Path(path), compile_model(model), encoder, int(card["steps"]), ExitRule.parse(rule),
                         int(seed), card)
