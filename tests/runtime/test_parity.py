"""emu and Lava sim must agree exactly: output spikes at every step, predictions, exit steps and,
with recording, every layer's spike counts per step and per neuron."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodeploy import netx
from neurodeploy.runtime.emu import emulate
from neurodeploy.runtime.exit_rules import apply_exit_rule
from neurodeploy.runtime.sim import simulate
from rt_helpers import random_spikes


def _expected(model, x, rule):
    e = emulate(model, x, record=True)
    exit_step, pred = apply_exit_rule(e.spikes, rule)
    T = x.shape[-1]
    keep = torch.arange(T)[None, :] < exit_step[:, None]                      # (N, T)
    out = e.spikes * keep[:, None, :]
    layers = [l * keep.view(keep.shape[0], *([1] * (l.ndim - 2)), T) for l in e.layers]
    return out, exit_step.numpy(), pred.numpy(), layers


def _check(sim, out, exit_step, pred, layers):
    assert torch.equal(sim.spikes, out)
    assert np.array_equal(sim.exit_step, exit_step)
    assert np.array_equal(sim.prediction, pred)
    assert sim.lava_steps == int(exit_step.sum()) + len(layers) * len(exit_step)
    if sim.layer_steps is not None:
        for k, l in enumerate(layers):
            n = l.shape[0]
            assert np.array_equal(sim.layer_steps[k], l.reshape(n, -1, l.shape[-1]).sum(1).numpy()), k
            assert np.array_equal(sim.layer_neurons[k], l.sum(-1).numpy()), k


def test_dense_all_steps_recorded(dense_net):
    path, model = dense_net
    x = random_spikes((16, 1, 10, 10), 12, 0.25, seed=0)
    want = _expected(model, x, "off")
    assert want[0].sum() > 0 and all(l.float().mean() > 0.02 for l in want[3])
    sim = simulate(path, x, "off", record=True)
    _check(sim, *want)


def test_dense_early_exit(dense_net):
    path, model = dense_net
    x = random_spikes((24, 1, 10, 10), 12, 0.25, seed=1)
    rule = "margin:2,min=3"
    want = _expected(model, x, rule)
    exits = want[1]
    assert (exits < 12).sum() >= 3 and (exits == 12).sum() >= 1 and exits.min() >= 3
    sim = simulate(path, x, rule)
    assert sim.layer_steps is None
    _check(sim, *want)


def test_conv_with_bias_confidence_exit_recorded(conv_net):
    path, model = conv_net
    x = random_spikes((14, 2, 9, 7), 10, 0.3, seed=2)
    rule = "confidence:0.5"
    want = _expected(model, x, rule)
    assert (want[1] < 10).sum() >= 2 and want[0].sum() > 0
    sim = simulate(path, x, rule, record=True)
    _check(sim, *want)


def test_edge_cases_decays_signs_fractions(tmp_path, capsys):
    """iDecay 0 (NetX du = -1), vDecay 4096, all-inhibitory weights with -256, odd fractional
    weights (NetX truncates and rescales them), and a bias: still bit-exact."""
    rng = np.random.default_rng(3)
    w1 = rng.integers(-21, 22, size=(24, 30)).astype(np.float32) + 0.7
    w2 = -(rng.integers(1, 40, size=(12, 24)) * 2).astype(np.float32)
    w2[0, 0] = -256
    w3 = (rng.integers(0, 128, size=(5, 12)) * 2).astype(np.float32)
    model = netx.NetxModel(layers=[
        netx.InputLayer((30,)),
        netx.DenseLayer(w1, netx.CubaNeuron(0, 4096, 10)),
        netx.DenseLayer(w2, netx.CubaNeuron(4096, 0, 10), bias=np.full(12, 300, np.float32)),
        netx.DenseLayer(w3, netx.CubaNeuron(2000, 100, 200))])
    path = netx.write(model, tmp_path / "edge.net")
    model = netx.read(path)
    x = random_spikes((10, 30), 9, 0.4, seed=3)
    want = _expected(model, x, "off")
    assert all(l.sum() > 0 for l in want[3])
    sim = simulate(path, x, "off", record=True)
    _check(sim, *want)
    capsys.readouterr()
