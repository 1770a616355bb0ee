"""Activity counts for any early-exit vector from one full-length count.

:func:`neurodeploy.energy.counting.count_activity` counts step ``t`` of sample ``n`` only when
``t < steps[n]``; every count it returns is a sum over steps of a per-step quantity. So counting
once over all T steps and keeping the per-step arrays lets any exit vector be applied by masking
them — the same numbers as calling ``count_activity(..., steps=exit_steps)`` again (a test checks
field by field), for the cost of a few array sums. The threshold sweep relies on this.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.energy.counting import ActivityCounts, LayerActivity, count_activity


@dataclass
class FullActivity:
    """Counts over all T steps plus the per-step input events the masks need."""

    full: ActivityCounts
    input_events_t: np.ndarray      # (N, T) events on the network input per step

    @classmethod
    def count(cls, model, inputs, layers) -> "FullActivity":
        full = count_activity(model, inputs, layers)
        x = inputs.detach().cpu().numpy() if hasattr(inputs, "detach") else np.asarray(inputs)
        n, t = x.shape[0], x.shape[-1]
        ev_t = (x.reshape(n, -1, t) != 0).sum(1).astype(np.int64)
        return cls(full=full, input_events_t=ev_t)

    @property
    def steps(self) -> int:
        return int(self.full.recorded_steps)

    def at(self, steps=None, pipeline_steps: int = 0) -> ActivityCounts:
        """The counts ``count_activity(model, inputs, layers, steps, pipeline_steps)`` would give."""
        n, t = self.input_events_t.shape
        if steps is None:
            s = np.full(n, t, dtype=np.int64)
        else:
            s = np.minimum(np.asarray(steps, dtype=np.int64).reshape(-1), t)
            if s.size == 1:
                s = np.full(n, int(s[0]), dtype=np.int64)
            if s.size != n or np.any(s < 0):
                raise ValueError(f"steps must be {n} values >= 0")
        mask = np.arange(t)[None, :] < s[:, None]
        in_t = np.where(mask, self.input_events_t, 0)
        layers = []
        for layer in self.full.layers:
            syn_t = np.where(mask, layer.synops_t, 0.0)
            nz_t = np.where(mask, layer.synops_effective_t, 0.0)
            spk_t = np.where(mask, layer.spikes_t, 0)
            layers.append(LayerActivity(
                index=layer.index, kind=layer.kind, neurons=layer.neurons, synapses=layer.synapses,
                input_binary=layer.input_binary, input_events=in_t.sum(1).astype(np.int64),
                synops=np.rint(syn_t.sum(1)).astype(np.int64),
                synops_effective=np.rint(nz_t.sum(1)).astype(np.int64),
                spikes=spk_t.sum(1), neuron_updates=layer.neurons * (s + int(pipeline_steps)),
                synops_t=syn_t, synops_effective_t=nz_t, spikes_t=spk_t))
            in_t = spk_t
        return ActivityCounts(layers=layers, steps=s, input_events=np.where(mask, self.input_events_t, 0).sum(1),
                              input_size=self.full.input_size, recorded_steps=t,
                              pipeline_steps=int(pipeline_steps))
