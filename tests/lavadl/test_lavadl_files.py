"""NetX files lava-dl itself writes (its blocks, its export_hdf5): read, and emu == Lava sim at
every step of every layer, graded values included, with and without early exit, in every input mode."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodeploy import netx
from neurodeploy.runtime.emu import emulate
from neurodeploy.runtime.sim import simulate


def _x(shape, T, seed, lo=0, hi=2):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(lo, hi, (*shape, T), generator=g)


def _same(sim, emu, exit_step=None):
    assert torch.equal(sim.spikes, emu.spikes)
    assert np.array_equal(sim.exit_step, emu.exit_step.numpy())
    assert np.array_equal(sim.prediction, emu.prediction.numpy())
    if sim.layer_steps is not None:
        for k, l in enumerate(emu.layers):
            n = l.shape[0]
            assert np.array_equal(sim.layer_steps[k], l.reshape(n, -1, l.shape[-1]).sum(1).numpy()), k
            assert np.array_equal(sim.layer_neurons[k], l.sum(-1).numpy()), k


def test_netx_reads_what_lava_dl_writes(lavadl_files):
    kinds = {name: [type(l).__name__ for l in netx.read(p).layers] for name, p in lavadl_files.items()}
    assert kinds["dense"] == ["InputLayer", "DenseLayer", "RecurrentDenseLayer", "DenseLayer"]
    assert kinds["conv"] == ["InputLayer", "ConvLayer", "ConvLayer", "FlattenLayer", "DenseLayer", "DenseLayer"]
    m = netx.read(lavadl_files["dense"])
    assert isinstance(m.input_neuron, netx.CubaNeuron)
    assert m.layers[1].bias is not None and m.layers[1].delay.max() > 0        # real biases and delays
    sd = netx.read(lavadl_files["sdnn"])
    assert isinstance(sd.input_neuron, netx.SigmaDeltaNeuron) and sd.graded_output
    assert sd.layers[-1].neuron.sigma_output and sd.layers[2].bias is not None


def test_cuba_input_neuron_recurrent_delays_a_in(lavadl_files):
    """Values per step into the input neuron's a_in; recorded layers; early exit."""
    p = lavadl_files["dense"]
    x = _x((6, 20), 10, 0, 0, 300)
    full = emulate(netx.read(p), x, record=True)
    assert full.spikes.sum() > 0 and all(l.float().mean() > 0.02 for l in full.layers)
    _same(simulate(p, x, record=True), full)
    rule = "margin:1,min=2"
    e = emulate(netx.read(p), x, record=True, exit_rule=rule)
    assert (e.exit_step < 10).any()
    _same(simulate(p, x, rule, record=True), e)


def test_cuba_input_neuron_bias_frames(lavadl_files):
    """One frame per sample held as the input neuron's bias_mant for all T steps."""
    p = lavadl_files["dense"]
    frames = _x((5,), 20, 1, -20, 60)
    e = emulate(netx.read(p), frames, input_mode="bias", steps=8, exit_rule="margin:2,min=3")
    assert e.spikes.sum() > 0
    _same(simulate(p, frames, "margin:2,min=3", input_mode="bias", steps=8), e)


def test_conv_bias_delays_spikes_with_and_without_exit(lavadl_files):
    p = lavadl_files["conv"]
    x = _x((6, 2, 8, 8), 10, 2)
    full = emulate(netx.read(p), x, record=True)
    assert full.spikes.sum() > 0
    _same(simulate(p, x, record=True), full)
    rule = "margin:2,min=2"
    e = emulate(netx.read(p), x, exit_rule=rule)
    assert (e.exit_step < 10).any() and (e.exit_step == 10).any()
    _same(simulate(p, x, rule), e)


def test_sigma_delta_graded_values_and_bias(lavadl_files):
    p = lavadl_files["sdnn"]
    x = _x((4, 12), 8, 3, -60, 120)
    e = emulate(netx.read(p), x, record=True)
    assert e.spikes.dtype == torch.int64 and e.spikes.abs().sum() > 0
    assert len(torch.unique(e.spikes)) > 5                                      # graded, not 0/1
    _same(simulate(p, x, record=True), e)


def test_sigma_delta_conv_image_input(lavadl_files):
    """A (C, H, W) input neuron (Lava's W, H, C order) feeding strided convs with graded values."""
    p = lavadl_files["sdnn_conv"]
    x = _x((3, 2, 16, 16), 8, 5, -50, 200)
    e = emulate(netx.read(p), x, record=True)
    assert all(l.abs().sum() > 0 for l in e.layers) and len(torch.unique(e.spikes)) > 5
    _same(simulate(p, x, record=True), e)


def test_input_neuron_skipped_in_spikes_mode(lavadl_files):
    """``spikes`` into a file with an input neuron feeds the first synapse (NetX skip_layers=1)."""
    p = lavadl_files["dense"]
    x = _x((4, 20), 8, 4)
    e = emulate(netx.read(p), x, input_mode="spikes")
    assert not torch.equal(e.spikes, emulate(netx.read(p), x).spikes)          # a different path
    _same(simulate(p, x, input_mode="spikes"), e)
