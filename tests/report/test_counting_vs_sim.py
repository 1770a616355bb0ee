"""Activity counted from the emulator's spike trains equals what Lava's simulator did.

Lava hands back, per synaptic layer, spike totals per input step and per neuron (over the steps a
sample used). From those the synaptic operations follow exactly: every spike of source ``i``
reaches ``fanout[i]`` synapses, so ``synops = sum_i totals[i] * fanout[i]``. Both are compared with
:func:`count_activity` on the emulator's per-neuron trains, without and with early exit.
(Hand-computed counts on hand-made trains live in tests/energy/test_counting.py.)
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodeploy.energy.counting import count_activity
from neurodeploy import netx
from neurodeploy.hardware.geometry import geometry, synaptic_inputs
from neurodeploy.report.activity import FullActivity
from neurodeploy.report.backends import compare_with_sim
from neurodeploy.runtime.emu import emulate
from neurodeploy.runtime.exit_rules import apply_exit_rule

from report_helpers import random_conv_model, random_spikes

N, T = 6, 8


def synops_from_totals(model, x, steps, layer_neurons):
    """Per layer (synops, effective synops) per sample from per-neuron spike totals."""
    n = x.shape[0]
    mask = (torch.arange(x.shape[-1])[None, :] < torch.as_tensor(steps)[:, None]).numpy()
    x_tot = (x.numpy().reshape(n, -1, x.shape[-1]) * mask[:, None, :]).sum(-1)
    out = []
    for k, (_, layer, in_shape) in enumerate(synaptic_inputs(model)):
        src = x_tot if k == 0 else np.asarray(layer_neurons[k - 1]).reshape(n, -1)
        g = geometry(layer, in_shape)
        out.append((src @ g.fanout.astype(np.int64), src @ g.fanout_nonzero.astype(np.int64)))
    return out


@pytest.mark.parametrize("rule", ["off", "margin:1,min=2"])
def test_emu_counts_equal_lava_sim(tmp_path, rule):
    from neurodeploy.runtime.sim import simulate

    model = random_conv_model()
    path = netx.write(model, tmp_path / "conv.net")
    x = random_spikes(model, N, T)
    emu = emulate(model, x, record=True)
    sim = simulate(path, x, exit_rule=rule, record=True, model=model)  # always stops its runtime
    exit_steps, pred = apply_exit_rule(emu.spikes.numpy(), rule)
    assert sim.exit_step.tolist() == exit_steps.tolist()
    assert sim.prediction.tolist() == pred.tolist()
    if rule != "off":
        assert exit_steps.min() < T, "the rule should fire early on some sample"
    counts = count_activity(model, x, emu.layers, steps=exit_steps)
    total_spikes = 0
    for k, (layer, ls, ln) in enumerate(zip(counts.layers, sim.layer_steps, sim.layer_neurons)):
        used = np.arange(T)[None, :] < exit_steps[:, None]
        # per-step totals within the steps each sample used
        assert np.array_equal(np.where(used, ls, 0), layer.spikes_t), f"layer {k} per-step spikes"
        # per-neuron totals over the used steps, and the per-sample totals
        e = emu.layers[k].to(torch.int64).numpy()
        e_used = (e * used.reshape(N, *([1] * (e.ndim - 2)), T)).sum(-1)
        assert np.array_equal(e_used, ln), f"layer {k} per-neuron spikes"
        assert np.array_equal(layer.spikes, np.asarray(ln).reshape(N, -1).sum(1))
        total_spikes += int(layer.spikes.sum())
    assert total_spikes > 50, "the random net should be active"
    for k, ((syn, eff), layer) in enumerate(zip(synops_from_totals(model, x, exit_steps, sim.layer_neurons),
                                                counts.layers)):
        assert layer.synops.tolist() == syn.tolist(), f"layer {k} synops"
        assert layer.synops_effective.tolist() == eff.tolist(), f"layer {k} effective synops"
    if rule == "off":
        assert compare_with_sim(emu.spikes, emu.layers, sim)["identical"]


def test_truncated_counts_equal_a_fresh_count():
    model = random_conv_model(seed=3)
    x = random_spikes(model, 5, T, seed=4)
    emu = emulate(model, x, record=True)
    full = FullActivity.count(model, x, emu.layers)
    steps = np.array([1, 3, 8, 5, 0])
    got, ref = full.at(steps, pipeline_steps=4), count_activity(model, x, emu.layers, steps=steps, pipeline_steps=4)
    assert got.steps.tolist() == ref.steps.tolist() and got.input_events.tolist() == ref.input_events.tolist()
    assert got.pipeline_steps == ref.pipeline_steps and got.recorded_steps == ref.recorded_steps
    for a, b in zip(got.layers, ref.layers):
        for name in ("input_events", "synops", "synops_effective", "spikes", "neuron_updates",
                     "synops_t", "synops_effective_t", "spikes_t"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert (a.index, a.kind, a.neurons, a.synapses, a.input_binary) == \
               (b.index, b.kind, b.neurons, b.synapses, b.input_binary)
    assert full.at(None).mean() == count_activity(model, x, emu.layers).mean()
