"""Run the model once over all T steps and keep every layer's spike trains for counting.

* ``emu`` — :func:`neurodeploy.runtime.emu.emulate` with ``record=True``: every synaptic layer's
  spikes ``(N, *shape, T)``, indexed by the input step that caused them.
* ``sim`` — Lava's CPU simulator (:func:`neurodeploy.runtime.sim.simulate`, exit rule off,
  ``record=True``). Lava hands back each layer's spike *totals* per step and per neuron, not the
  per-neuron trains the per-step counts need, so the trains come from the emulator and are checked
  against Lava on every sample: output spikes, per-layer per-step totals and per-neuron totals must
  be identical, else :class:`~neurodeploy.errors.CheckFailedError`. The predictions and exit steps
  then come from Lava's own output spikes.

Both run every sample for all T steps; early exit is applied afterwards to the output spikes by
:func:`neurodeploy.runtime.exit_rules.apply_exit_rule` — the very rule the Lava driver evaluates
step by step, so the exit steps are those of an early-exit run.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
import torch

from neurodeploy.errors import CheckFailedError, UnavailableError, UsageError

BACKENDS = ("emu", "sim")


@dataclass
class Recording:
    """Output spikes ``(N, C, T)`` uint8 and per-synaptic-layer spikes ``(N, *shape, T)``."""

    backend: str
    output: torch.Tensor
    layers: list
    check: dict = field(default_factory=dict)
    inputs: torch.Tensor | None = None    # what the first synapse receives (the input neuron's output), if not the input


def _progress_bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="sample", file=sys.stderr, leave=False,
                disable=not sys.stderr.isatty())


def _emulate(model, spikes, desc: str, input_mode=None, steps=None):
    from neurodeploy.runtime.emu import emulate

    bar = _progress_bar(int(spikes.shape[0]), desc)
    try:
        return emulate(model, spikes, record=True, progress=lambda n: bar.update(n - bar.n),
                       input_mode=input_mode, steps=steps)
    finally:
        bar.close()


def _simulate(model, path, spikes, input_mode=None, steps=None):
    try:
        from neurodeploy._lava_compat import import_slayer
        from neurodeploy.runtime.sim import simulate
        import_slayer()  # quietly: lava-dl prints import warnings on stdout
    except Exception as e:  # noqa: BLE001 - any import failure means the backend is missing
        raise UnavailableError(f"backend 'sim' needs Lava (lava-nc, lava-dl), which cannot be imported here ({e})") from None
    bar = _progress_bar(int(spikes.shape[0]), "lava sim")
    try:
        return simulate(path, spikes, exit_rule="off", record=True, model=model,
                        progress=lambda n: bar.update(n - bar.n), input_mode=input_mode, steps=steps)
    finally:
        bar.close()


def compare_with_sim(emu_out: torch.Tensor, emu_layers: list, sim) -> dict:
    """Per-sample agreement of the emulator's trains with Lava's outputs and recorded totals."""
    n = int(emu_out.shape[0])
    bad_out = ~(emu_out.to(torch.int64) == sim.spikes.to(torch.int64)).reshape(n, -1).all(1).numpy()
    per_layer = []
    for k, (el, ls, ln) in enumerate(zip(emu_layers, sim.layer_steps, sim.layer_neurons)):
        e = el.to(torch.int64).numpy()
        steps_ok = (e.reshape(n, -1, e.shape[-1]).sum(1) == np.asarray(ls)).all(1)
        neurons_ok = (e.sum(-1).reshape(n, -1) == np.asarray(ln).reshape(n, -1)).all(1)
        per_layer.append({"layer": k, "samples_differing_steps": int((~steps_ok).sum()),
                          "samples_differing_neurons": int((~neurons_ok).sum()),
                          "spikes_sim": int(np.asarray(ls).sum()), "spikes_emu": int(e.sum())})
    return {"samples": n, "samples_differing_output": int(bad_out.sum()), "layers": per_layer,
            "identical": bool(not bad_out.any() and all(l["samples_differing_steps"] == 0 and
                                                        l["samples_differing_neurons"] == 0 for l in per_layer)),
            "lava_steps": int(sim.lava_steps), "wall_time_s": float(sim.wall_time)}


def record(model, path, spikes: torch.Tensor, backend: str = "emu", input_mode=None, steps=None) -> Recording:
    """Run ``spikes`` through ``model`` on ``backend`` (all T steps) and keep every layer's trains."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend '{backend}' for report (known: {', '.join(BACKENDS)})")
    if backend == "emu":
        r = _emulate(model, spikes, "emulate", input_mode, steps)
        return Recording(backend="emu", output=r.spikes, layers=list(r.layers), inputs=r.input_layer,
                         check={"method": "integer-exact emulator of Lava's fixed-point models"})
    sim = _simulate(model, path, spikes, input_mode, steps)
    r = _emulate(model, spikes, "emulate (trains)", input_mode, steps)
    check = compare_with_sim(r.spikes, r.layers, sim)
    if not check["identical"]:
        worst = [l for l in check["layers"] if l["samples_differing_steps"] or l["samples_differing_neurons"]]
        what = (f"layer {worst[0]['layer']} spike counts differ on {max(worst[0]['samples_differing_steps'], worst[0]['samples_differing_neurons'])} samples"
                if worst else f"output spikes differ on {check['samples_differing_output']} samples")
        raise CheckFailedError(f"{path}: Lava sim and the emulator disagree ({what}); "
                               "the per-neuron counts would not describe the Lava run")
    check["method"] = ("Lava sim (fixed_pt) outputs; per-neuron trains from the emulator, checked equal "
                       "to Lava's per-layer per-step and per-neuron spike totals on every sample")
    return Recording(backend="sim", output=sim.spikes.to(r.spikes.dtype), layers=list(r.layers), check=check,
                     inputs=r.input_layer)
