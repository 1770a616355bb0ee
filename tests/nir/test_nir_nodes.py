"""Each node type both ways: NetX -> NIR (which node, which parameters) and NIR -> NetX (folding, values),
checked against the float reference simulation where the mapping is exact."""
import nir
import numpy as np
import pytest
import torch

from neurodeploy import netx
from neurodeploy.nir import Convention, from_nir, read_graph, to_nir, write_graph
from neurodeploy.nir.reference import simulate
from neurodeploy.runtime.emu import emulate
from nir_helpers import (DT, assert_same_model, cuba_node, graph, grid_weights, if_node, lif_node,
                         netx_conv, netx_dense, random_spikes)


def emu_layers(model, x):
    r = emulate(model, x, record=True)
    return r.spikes.to(torch.float64), [l.to(torch.float64) for l in r.layers]


# ------------------------------------------------------------------------------ NetX -> NIR -> NetX
@pytest.mark.parametrize("neuron, kind", [
    (netx.CubaNeuron(1024, 128, 80), "CubaLIF"),
    (netx.CubaNeuron(4096, 300, 100), "LIF"),
    (netx.CubaNeuron(4096, 0, 64), "IF"),
    (netx.CubaNeuron(0, 200, 90), "CubaLIF"),          # no current decay: τ_syn = 2**20 dt
])
def test_neuron_kinds_out_and_back(neuron, kind, tmp_path):
    m = netx_dense(neuron)
    g = read_graph(write_graph(to_nir(m), tmp_path / "m.nir"))
    names = [type(n).__name__ for n in g.nodes.values()]
    assert names.count(kind) == 2 and names.count("Linear") == 2
    node = g.nodes["lif1"]
    np.testing.assert_allclose(node.v_threshold, neuron.v_th_mant / 64)
    if kind == "CubaLIF":
        np.testing.assert_allclose(DT / node.tau_mem, neuron.v_decay / 4096, rtol=1e-12)
        np.testing.assert_allclose(node.r, node.tau_mem / DT) and np.testing.assert_allclose(node.w_in, node.tau_syn / DT)
    if kind == "LIF":
        np.testing.assert_allclose(DT / node.tau, neuron.v_decay / 4096, rtol=1e-12)
    if kind == "IF":
        np.testing.assert_allclose(node.r, 1 / DT)
    np.testing.assert_array_equal(g.nodes["fc1"].weight, m.layers[1].weight / 64)
    imp = from_nir(g)
    assert_same_model(m, imp.model)
    assert all(l.lossless for l in imp.layers)


def test_if_network_reference_equals_emu_exactly(tmp_path):
    # no decay, no bias: Lava's integers and the float reference must give the same spikes everywhere
    m = netx_dense(netx.CubaNeuron(4096, 0, 150), n_in=30)
    g = to_nir(m)
    x = random_spikes((30,), T=16, n=128)
    ref = simulate(g, x)
    out, layers = emu_layers(m, x)
    assert torch.equal(ref.spikes, out) and out.sum() > 0
    assert torch.equal(ref.layers["lif1"], layers[0]) and torch.equal(ref.layers["lif2"], layers[1])


def test_cuba_reference_matches_emu_up_to_truncation():
    m = netx_dense(netx.CubaNeuron(1024, 512, 120), n_in=30)
    x = random_spikes((30,), T=16, n=128)
    ref = simulate(to_nir(m), x)
    out, _ = emu_layers(m, x)
    assert out.sum() > 0 and (ref.spikes != out).double().mean() < 0.01   # Lava truncates decays toward 0


@pytest.mark.parametrize("neuron, where", [(netx.CubaNeuron(4096, 300, 100), "Affine"),
                                           (netx.CubaNeuron(1024, 256, 100), "v_leak")])
def test_bias_out_and_back(neuron, where):
    bias = np.array([30, -20, 0, 5, 12, -7, 1, 2, 3, 4, 5, 6], dtype=np.float32)
    m = netx_dense(neuron, bias=bias)
    g = to_nir(m)
    if where == "Affine":
        assert isinstance(g.nodes["fc1"], nir.Affine)
        np.testing.assert_array_equal(g.nodes["fc1"].bias, bias / 64)
    else:
        assert isinstance(g.nodes["fc1"], nir.Linear)
        np.testing.assert_allclose(g.nodes["lif1"].v_leak, (bias / 64) / (256 / 4096))
    assert_same_model(m, from_nir(g).model)


def test_conv_and_flatten_out_and_back(tmp_path):
    m = netx_conv(netx.CubaNeuron(4096, 0, 100))
    g = read_graph(write_graph(to_nir(m), tmp_path / "c.nir"))
    c = g.nodes["conv1"]
    assert isinstance(c, nir.Conv2d) and tuple(c.stride) == (2, 2) and tuple(c.padding) == (1, 1)
    assert isinstance(g.nodes["flatten2"], nir.Flatten) and g.nodes["flatten2"].start_dim == 0
    assert list(g.nodes["output"].output_type["output"]) == [5]
    assert_same_model(m, from_nir(g).model)
    x = random_spikes((2, 8, 8), T=10, n=64)
    out, _ = emu_layers(m, x)
    assert torch.equal(simulate(g, x).spikes, out) and out.sum() > 0


def test_convention_metadata_round_trips():
    c = Convention(dt=1e-3)
    m = netx_dense(netx.CubaNeuron(1024, 128, 80))
    g = to_nir(m, c)
    assert Convention.from_metadata(g.metadata).dt == 1e-3
    np.testing.assert_allclose(g.nodes["lif1"].tau_syn, 1e-3 * 4)
    assert_same_model(m, from_nir(g).model)
    assert Convention.from_metadata({}).dt == 1e-4


# ------------------------------------------------------------------------------ NIR -> NetX
def test_affine_lif_with_gain_and_per_neuron_threshold():
    rng = np.random.default_rng(1)
    w = grid_weights(rng, (6, 20))
    theta = np.array([1, 2, 0.5, 1, 4, 1.0])
    g = graph((20,), [("fc", nir.Linear(weight=w)), ("lif", lif_node((6,), decay=0.125, theta=theta, gain=2.0))])
    imp = from_nir(g)
    layer = imp.model.layers[1]
    assert isinstance(layer, netx.DenseLayer) and layer.neuron.v_decay == 512 and layer.neuron.i_decay == 4096
    # rows scaled by gain / θ, threshold 1: w_file / vThMant == 2 W / θ
    np.testing.assert_allclose(layer.weight / layer.neuron.v_th_mant, 2 * w / theta[:, None], atol=1e-12)
    assert imp.layers[0].lossless


def test_if_import_is_exact_on_a_grid():
    rng = np.random.default_rng(2)
    g = graph((16,), [("fc1", nir.Affine(weight=grid_weights(rng, (8, 16)), bias=np.zeros(8))),
                      ("if1", if_node((8,), theta=1.5)),
                      ("fc2", nir.Linear(weight=grid_weights(rng, (4, 8)))), ("if2", if_node((4,), theta=1.0))])
    imp = from_nir(g)
    assert all(l.lossless for l in imp.layers)
    x = random_spikes((16,), T=16, n=128)
    out, layers = emu_layers(imp.model, x)
    ref = simulate(g, x)
    assert out.sum() > 0 and torch.equal(ref.spikes, out) and torch.equal(ref.layers["if1"], layers[0])


def test_cuba_import_like_snntorch_synaptic():
    rng = np.random.default_rng(3)
    g = graph((24,), [("fc", nir.Linear(weight=grid_weights(rng, (10, 24), step=1 / 128, lo=-40, hi=60))),
                      ("lif", cuba_node((10,), di=0.25, dv=0.125, theta=1.0))])
    imp = from_nir(g)
    n = imp.model.layers[1].neuron
    assert (n.i_decay, n.v_decay) == (1024, 512) and imp.layers[0].lossless and imp.layers[0].v_th_mant >= 256
    x = random_spikes((24,), T=16, n=128, rate=0.4)
    out, _ = emu_layers(imp.model, x)
    assert out.sum() > 0 and (simulate(g, x).spikes != out).double().mean() < 0.01


def test_float_weights_are_quantised_to_8_bits():
    rng = np.random.default_rng(4)
    w = rng.normal(0, 0.3, (10, 40))
    g = graph((40,), [("fc", nir.Linear(weight=w)), ("lif", lif_node((10,), decay=0.1, theta=1.3))])
    imp = from_nir(g)
    layer, info = imp.model.layers[1], imp.layers[0]
    assert not info.lossless and info.v_decay == 410          # round(0.1 * 4096)
    q = np.asarray(layer.weight)
    assert np.all(q % 2 == 0) and q.min() >= -256 and q.max() <= 254 and np.abs(q).max() >= 250
    assert layer.neuron.v_th_mant == np.floor(254 / np.abs(w / 1.3).max())
    np.testing.assert_allclose(q / layer.neuron.v_th_mant, w / 1.3, atol=1.0 / layer.neuron.v_th_mant + 1e-12)
    assert info.max_weight_error <= 1.0 / layer.neuron.v_th_mant + 1e-12


def test_lif_v_leak_becomes_bias():
    w = np.full((3, 4), 0.25)
    g = graph((4,), [("fc", nir.Linear(weight=w)), ("lif", lif_node((3,), decay=0.25, theta=1.0, v_leak=0.5))])
    layer = from_nir(g).model.layers[1]
    # Lava adds dv * v_leak = 0.125 (threshold 1) to v every step: bias / vThMant
    np.testing.assert_allclose(np.asarray(layer.bias) / layer.neuron.v_th_mant, 0.125)


def test_conv2d_import_exact():
    rng = np.random.default_rng(5)
    conv = nir.Conv2d(input_shape=(8, 8), weight=grid_weights(rng, (3, 2, 3, 3), step=1 / 16), stride=2,
                      padding=1, dilation=1, groups=1, bias=np.zeros(3))
    g = graph((2, 8, 8), [("conv", conv), ("if", if_node((3, 4, 4), theta=1.0)), ("flat", nir.Flatten(
        input_type={"input": np.array([3, 4, 4])}, start_dim=0)), ("fc", nir.Linear(weight=grid_weights(rng, (4, 48)))),
        ("if2", if_node((4,), theta=1.0))])
    imp = from_nir(g)
    kinds = [type(l).__name__ for l in imp.model.layers]
    assert kinds == ["InputLayer", "ConvLayer", "FlattenLayer", "DenseLayer"]
    assert imp.model.layers[1].stride == (2, 2) and imp.model.layers[1].shape == (3, 4, 4)
    x = random_spikes((2, 8, 8), T=10, n=64, rate=0.4)
    out, layers = emu_layers(imp.model, x)
    ref = simulate(g, x)
    assert layers[0].sum() > 0 and torch.equal(ref.layers["if"], layers[0]) and torch.equal(ref.spikes, out)


@pytest.mark.parametrize("pool", ["SumPool2d", "AvgPool2d"])
def test_pool_becomes_fixed_weight_conv(pool):
    node = getattr(nir, pool)(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
    theta = 2.0 if pool == "SumPool2d" else 0.5      # fires when >= 3 of the 4 inputs spike
    g = graph((3, 6, 6), [("pool", node), ("if", if_node((3, 3, 3), theta=theta)),
                          ("flat", nir.Flatten(input_type={"input": np.array([3, 3, 3])}, start_dim=0)),
                          ("fc", nir.Linear(weight=np.eye(27)[:5] * 2.0)), ("out", if_node((5,), theta=1.0))])
    imp = from_nir(g)
    c = imp.model.layers[1]
    assert isinstance(c, netx.ConvLayer) and c.stride == (2, 2) and c.shape == (3, 3, 3)
    w = np.asarray(c.weight)
    assert np.all(w[[0, 1, 2], [0, 1, 2]] == w[0, 0, 0, 0]) and w[0, 0, 0, 0] > 0
    assert np.count_nonzero(w) == 3 * 4
    x = random_spikes((3, 6, 6), T=8, n=64, rate=0.6)
    out, layers = emu_layers(imp.model, x)
    ref = simulate(g, x)
    assert layers[0].sum() > 0 and torch.equal(ref.layers["if"], layers[0]) and torch.equal(ref.spikes, out)


def test_sumpool_then_conv_folds_into_one_conv():
    rng = np.random.default_rng(6)
    pool = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
    conv = nir.Conv2d(input_shape=(4, 4), weight=grid_weights(rng, (2, 2, 3, 3), step=1 / 16), stride=1, padding=1,
                      dilation=1, groups=1, bias=np.zeros(2))
    g = graph((2, 8, 8), [("pool", pool), ("conv", conv), ("if", if_node((2, 4, 4), theta=1.0)),
                          ("flat", nir.Flatten(input_type={"input": np.array([2, 4, 4])}, start_dim=0)),
                          ("fc", nir.Linear(weight=np.eye(32)[:4] * 2.0)), ("out", if_node((4,), theta=1.0))])
    imp = from_nir(g)
    c = imp.model.layers[1]
    assert isinstance(c, netx.ConvLayer) and c.weight.shape == (2, 2, 6, 6) and c.stride == (2, 2) and c.padding == (2, 2)
    assert imp.layers[0].nodes == ["pool", "conv"]
    x = random_spikes((2, 8, 8), T=8, n=64, rate=0.4)
    _, layers = emu_layers(imp.model, x)
    assert layers[0].sum() > 0 and torch.equal(simulate(g, x).layers["if"], layers[0])


def test_conv_flatten_affine_without_neuron_folds_into_dense():
    rng = np.random.default_rng(7)
    conv = nir.Conv2d(input_shape=(4, 4), weight=grid_weights(rng, (2, 1, 2, 2), step=1 / 4, lo=-2, hi=3), stride=2,
                      padding=0, dilation=1, groups=1, bias=np.zeros(2))
    g = graph((1, 4, 4), [("conv", conv), ("flat", nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=0)),
                          ("fc", nir.Linear(weight=grid_weights(rng, (3, 8), step=1 / 4, lo=-3, hi=4))),
                          ("if", if_node((3,), theta=1.0))])
    imp = from_nir(g)
    kinds = [type(l).__name__ for l in imp.model.layers]
    assert kinds == ["InputLayer", "FlattenLayer", "DenseLayer"] and imp.layers[0].nodes == ["conv", "flat", "fc"]
    assert imp.model.layers[2].weight.shape == (3, 16)
    x = random_spikes((1, 4, 4), T=8, n=64, rate=0.5)
    out, _ = emu_layers(imp.model, x)
    assert out.sum() > 0 and torch.equal(simulate(g, x).spikes, out)
