"""Activity counting on hand-made spike trains, against hand counts and brute-force loops."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodeploy.energy.counting import (activation_sparsity, ann_macs, ann_synaptic_operations,
                                         connection_sparsity, count_activity, footprint,
                                         synaptic_operations)
from neurodeploy.netx import (ConvLayer, DenseLayer, FlattenLayer, InputLayer,
                                     NetxModel)

from hand_cases import NEURON, hand_model, hand_spikes  # noqa: E402


def test_dense_hand_counts_with_early_exit():
    x, outs = hand_spikes()
    c = count_activity(hand_model(), x, outs, steps=[4, 2])
    l1, l2 = c.layers
    assert c.input_events.tolist() == [4, 2]
    assert l1.input_events.tolist() == [4, 2]
    assert l1.synops.tolist() == [8, 4]             # events x fan-out 2
    assert l1.synops_effective.tolist() == [6, 4]   # input 1 reaches only zero weights
    assert l1.spikes.tolist() == [1, 1]             # sample 1's spike at t=2 is after its exit
    assert l1.neuron_updates.tolist() == [8, 4] and l1.silent_updates.tolist() == [7, 3]
    assert l2.synops.tolist() == [2, 2] and l2.synops_effective.tolist() == [1, 2]
    assert l2.spikes.tolist() == [0, 0]             # t=3 is after sample 1's exit
    assert l1.synops_effective_t[0].tolist() == [2, 2, 0, 2]
    assert c.steps.tolist() == [4, 2]
    full = count_activity(hand_model(), x, outs)    # no early exit: every recorded step
    assert full.layers[0].spikes.tolist() == [1, 2] and full.layers[1].spikes.tolist() == [0, 1]


def test_neurobench_metrics_hand_case():
    x, outs = hand_spikes()
    m = hand_model()
    c = count_activity(m, x, outs, steps=[4, 2])
    assert connection_sparsity(m) == pytest.approx(0.3)
    assert activation_sparsity(c) == pytest.approx(1 - 2 / 24)
    ops = synaptic_operations(c)
    assert (ops.effective_acs, ops.effective_macs, ops.dense) == (6.5, 0.0, 30.0)
    assert footprint(m) == 10 * 1 + 2 * 3 * 4
    ann = ann_synaptic_operations(m)
    assert (ann.dense, ann.effective_macs) == (10.0, 7.0)


def test_graded_input_counts_as_macs():
    x, outs = hand_spikes()
    x = x * 0.5  # direct coding: analog values, not spikes
    c = count_activity(hand_model(), x, outs)
    assert not c.layers[0].input_binary and c.layers[1].input_binary
    ops = synaptic_operations(c)
    assert ops.effective_macs == pytest.approx(c.layers[0].synops_effective.mean())


def brute_force(x, w, stride, pad, dil, groups, out_hw):
    """Loop over samples, steps, outputs, taps and channels: synops and nonzero-weight synops."""
    n, c_in, h, wd, t = x.shape
    o, ipg = w.shape[:2]
    opg = o // groups
    syn = np.zeros(n)
    eff = np.zeros(n)
    for s in range(n):
        for step in range(t):
            for oc in range(o):
                g = oc // opg
                for oy in range(out_hw[0]):
                    for ox in range(out_hw[1]):
                        for ic in range(ipg):
                            for ky in range(w.shape[2]):
                                for kx in range(w.shape[3]):
                                    y = oy * stride[0] - pad[0] + ky * dil[0]
                                    xx = ox * stride[1] - pad[1] + kx * dil[1]
                                    if 0 <= y < h and 0 <= xx < wd:
                                        ev = x[s, g * ipg + ic, y, xx, step] != 0
                                        syn[s] += ev
                                        eff[s] += ev and w[oc, ic, ky, kx] != 0
    return syn, eff


@pytest.mark.parametrize("stride,pad,dil,groups", [((2, 2), (1, 1), (1, 1), 1),
                                                   ((2, 2), (1, 1), (1, 1), 2),
                                                   ((1, 2), (2, 0), (2, 1), 1)])
def test_conv_synops_exact_at_borders(stride, pad, dil, groups):
    rng = np.random.default_rng(1)
    c_in, c_out, h, wd, k, t, n = 2, 4, 7, 6, 3, 3, 2
    w = rng.integers(-2, 3, size=(c_out, c_in // groups, k, k)).astype(np.float32) * 2
    w[0] = 0  # a dead output channel, plus random zeros
    ho = (h + 2 * pad[0] - dil[0] * (k - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * pad[1] - dil[1] * (k - 1) - 1) // stride[1] + 1
    conv = ConvLayer(weight=w, neuron=NEURON, shape=(c_out, ho, wo), stride=stride, padding=pad,
                     dilation=dil, groups=groups)
    m = NetxModel([InputLayer((c_in, h, wd)), conv, FlattenLayer((c_out * ho * wo,)),
                   DenseLayer(np.full((2, c_out * ho * wo), 2, np.float32), NEURON)])
    x = torch.from_numpy(rng.random((n, c_in, h, wd, t)) < 0.4).float()
    outs = [torch.zeros(n, c_out, ho, wo, t), torch.zeros(n, 2, t)]
    c = count_activity(m, x, outs)
    syn, eff = brute_force(x.numpy(), w, stride, pad, dil, groups, (ho, wo))
    assert c.layers[0].synops.tolist() == syn.tolist()
    assert c.layers[0].synops_effective.tolist() == eff.tolist()
    # the same as summing conv2d(events, all-ones kernel) over the output
    ones = torch.ones(c_out, c_in // groups, k, k)
    ref = torch.nn.functional.conv2d(x.permute(0, 4, 1, 2, 3).reshape(n * t, c_in, h, wd), ones,
                                     stride=stride, padding=pad, dilation=dil, groups=groups)
    assert c.layers[0].synops.tolist() == ref.reshape(n, -1).sum(1).tolist()


def test_ann_macs_conv_and_dense():
    w = np.ones((4, 1, 3, 3), np.float32)
    w[0, 0, 0, 0] = 0
    conv = ConvLayer(weight=w, neuron=NEURON, shape=(4, 3, 3), stride=(2, 2), padding=(1, 1), groups=2)
    m = NetxModel([InputLayer((2, 5, 5)), conv, FlattenLayer((36,)),
                   DenseLayer(np.ones((10, 36), np.float32), NEURON)])
    conv_m, dense_m = ann_macs(m)
    assert conv_m.macs == 3 * 3 * 4 * (2 // 2) * 9      # positions x out x in/groups x kernel
    assert conv_m.macs_nonzero == conv_m.macs - 9        # one zero tap, at 9 positions
    assert dense_m.macs == 360 and dense_m.inputs == 36 and dense_m.outputs == 10


def test_shape_errors_are_clear():
    x, outs = hand_spikes()
    with pytest.raises(ValueError, match="3 output spike tensors for 2 synaptic layers"):
        count_activity(hand_model(), x, outs[:1] + outs)
    with pytest.raises(ValueError, match="outputs\\[1\\]"):
        count_activity(hand_model(), x, [outs[0], torch.zeros(2, 3, 4)])


def test_recurrent_layer_counts_its_own_spikes_on_its_recurrent_synapses():
    """dense_rec 3 -> 2 with W_rec having one zero: input events x 2 feed-forward synops, plus each
    own spike x 2 recurrent synapses (x nonzero recurrent weights for the effective count), at
    the steps counted; synapses = 3*2 + 2*2."""
    from neurodeploy.netx import RecurrentDenseLayer

    w = np.array([[2.0, 0.0, 4.0], [2.0, 2.0, 0.0]])
    w_rec = np.array([[0.0, 2.0], [4.0, 2.0]])                 # neuron 0 reaches 1 synapse, neuron 1 two
    model = NetxModel(layers=[InputLayer((3,)), RecurrentDenseLayer(w, w_rec, NEURON)])
    x = np.zeros((1, 3, 3), dtype=np.uint8)
    x[0, :, 0] = 1                                             # 3 input events at t = 0
    out = np.zeros((1, 2, 3), dtype=np.uint8)
    out[0, 0, 1] = out[0, 1, 1] = out[0, 1, 2] = 1             # own spikes: 2 at t = 1, 1 at t = 2
    (l,) = count_activity(model, x, [out]).layers
    assert l.synapses == 10
    assert l.synops.tolist() == [3 * 2 + 3 * 2]
    assert l.synops_effective.tolist() == [4 + (1 + 2) + 2]     # inputs: 2+1+1; own: t=1 1+2, t=2 2
    assert l.synops_t[0].tolist() == [6, 4, 2]
    early = count_activity(model, x, [out], steps=[2]).layers[0]
    assert early.synops.tolist() == [6 + 4]                     # the t = 2 spike is after the exit
