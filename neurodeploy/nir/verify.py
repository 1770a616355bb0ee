"""Import verification: the float NIR reference against the emulated NetX artifact.

Both run the same input spikes (N, *input, T) from zero state. The prediction of a sample is
the class with the most output spikes over the T steps (ties: the lowest class, as the runtime
decides). Per NetX layer we report the fraction of (neuron, step) entries whose spikes differ
and both sides' spike rates; emu's layer spikes are indexed by the input step that caused them
(:mod:`neurodeploy.runtime.emu`), which is the reference's step.

Where the two can differ: 12-bit decays with truncation toward zero and 8-bit weights (the
quantisation), and biases: Lava integrates a bias during the k steps before the first input
reaches layer k (the runtime's "pre-roll"), the NIR graph from step 0.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from neurodeploy.nir.from_nir import Imported
from neurodeploy.nir.reference import simulate


@dataclass
class LayerDiff:
    """Spike-train difference of one layer: the NIR neuron node and the NetX layer it became."""

    node: str
    netx_layer: int
    mismatch: float           # fraction of (sample, neuron, step) entries that differ
    rate_reference: float     # spikes per neuron per step
    rate_emu: float


@dataclass
class Verification:
    """Reference vs emu on one input set; ``passed`` when agreement >= ``min_agreement``."""

    samples: int
    steps: int
    prediction_agreement: float
    identical_output: float   # fraction of samples whose output spike trains are identical
    min_agreement: float
    passed: bool
    layers: list = field(default_factory=list)
    input: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["layers"] = [asdict(l) for l in self.layers]
        return d

    def summary(self) -> str:
        worst = max((l.mismatch for l in self.layers), default=0.0)
        return (f"prediction agreement {self.prediction_agreement:.2%} on {self.samples} samples x {self.steps} steps "
                f"({self.input}); identical output trains {self.identical_output:.1%}; worst layer spike mismatch "
                f"{worst:.3%}")


def predictions(spikes: torch.Tensor) -> torch.Tensor:
    """Class with the most spikes over time (N, C, T) -> (N,); ties go to the lowest class."""
    return spikes.reshape(spikes.shape[0], -1, spikes.shape[-1]).sum(-1).argmax(1)


def verify(graph, imported: Imported, spikes, min_agreement: float = 0.99, input_desc: str = "") -> Verification:
    """Run the reference and emu on ``spikes`` (N, *input, T) 0/1 and compare."""
    from neurodeploy.runtime.emu import emulate

    x = torch.as_tensor(np.asarray(spikes)) if not isinstance(spikes, torch.Tensor) else spikes
    ref = simulate(graph, x, imported.convention)
    emu = emulate(imported.model, x, record=True)
    out_ref = ref.spikes
    out_emu = emu.spikes.to(torch.float64).reshape(out_ref.shape)
    N, T = int(x.shape[0]), int(x.shape[-1])
    agree = (predictions(out_ref) == predictions(out_emu)).double().mean().item() if N else 1.0
    same = (out_ref == out_emu).reshape(N, -1).all(1).double().mean().item() if N else 1.0
    synaptic = [i for i, l in enumerate(imported.model.layers) if hasattr(l, "neuron")]
    diffs = []
    for info, k, rec in zip(imported.layers, synaptic, emu.layers):
        r = ref.layers[info.neuron]
        e = rec.to(torch.float64).reshape(r.shape)
        diffs.append(LayerDiff(node=info.neuron, netx_layer=k,
                               mismatch=float((r != e).double().mean().item()) if r.numel() else 0.0,
                               rate_reference=float(r.mean().item()) if r.numel() else 0.0,
                               rate_emu=float(e.mean().item()) if e.numel() else 0.0))
    return Verification(samples=N, steps=T, prediction_agreement=float(agree), identical_output=float(same),
                        min_agreement=float(min_agreement), passed=bool(agree >= min_agreement), layers=diffs,
                        input=input_desc)
