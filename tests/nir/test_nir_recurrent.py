"""Recurrence both ways: NetX ``dense_rec`` <-> a NIR neuron with its own recurrent weight.

Convention (neurodeploy.nir.convention): the neuron's spikes of step t-1 join its input of step t,
as Lava's one-step Dense buffer delivers them; the float reference and emu must agree on it.
"""
import nir
import numpy as np
import pytest
import torch

from neurodeploy import netx
from neurodeploy.nir import from_nir, to_nir, write_graph
from neurodeploy.nir.reference import simulate
from neurodeploy.nir.verify import verify
from neurodeploy.runtime.emu import emulate
from nir_helpers import assert_same_model, cuba_node, graph, grid_weights, if_node, lif_node, random_spikes


def netx_rec(neuron, bias=None, seed=0, n_in=20, hidden=12, n_out=6, rec_scale=60) -> netx.NetxModel:
    rng = np.random.default_rng(seed)
    return netx.NetxModel([netx.InputLayer((n_in,)),
                           netx.RecurrentDenseLayer(rng.integers(-100, 128, (hidden, n_in)) * 2.0,
                                                    rng.integers(-rec_scale, rec_scale, (hidden, hidden)) * 2.0,
                                                    neuron, bias=bias),
                           netx.DenseLayer(rng.integers(-100, 128, (n_out, hidden)) * 2.0, neuron)], {"note": "rec"})


def without_recurrence(g: nir.NIRGraph, weight: str) -> nir.NIRGraph:
    return nir.NIRGraph(nodes={k: v for k, v in g.nodes.items() if k != weight},
                        edges=[e for e in g.edges if weight not in e], metadata=g.metadata, type_check=False)


def recurrent_subgraph(neuron, w_rec) -> nir.NIRGraph:
    """snnTorch's RLeaky/RSynaptic form: input -> lif <-> w_rec, lif -> output."""
    n = np.asarray(neuron.v_threshold).shape
    return nir.NIRGraph(nodes={"input": nir.Input(np.array(n)), "lif": neuron, "w_rec": w_rec,
                               "output": nir.Output(np.array(n))},
                        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                        type_check=False)


def test_dense_rec_round_trip_is_bit_identical(tmp_path):
    bias = np.array([30, -20, 0, 5, 12, -7, 1, 2, 3, 4, 5, 6], dtype=np.float32)
    m = netx_rec(netx.CubaNeuron(1024, 512, 100), bias=bias)
    g = nir.read(write_graph(to_nir(m), tmp_path / "r.nir"))      # the stock reader, with its type check
    assert isinstance(g.nodes["rec1"], nir.Linear) and isinstance(g.nodes["lif1"], nir.CubaLIF)
    assert ("lif1", "rec1") in g.edges and ("rec1", "lif1") in g.edges
    np.testing.assert_array_equal(g.nodes["rec1"].weight, m.layers[1].weight_rec / 64)
    imp = from_nir(g)
    assert_same_model(m, imp.model)
    np.testing.assert_array_equal(imp.model.layers[1].weight_rec, m.layers[1].weight_rec)
    assert imp.layers[0].kind == "dense_rec" and imp.layers[0].nodes == ["fc1", "rec1"]
    assert all(l.lossless for l in imp.layers) and imp.approximations == []
    x = random_spikes((20,), T=16, n=64)
    a, b = emulate(m, x, record=True), emulate(imp.model, x, record=True)
    assert a.spikes.sum() > 0 and torch.equal(a.spikes, b.spikes)
    assert all(torch.equal(p, q) for p, q in zip(a.layers, b.layers))


def test_if_recurrence_reference_equals_emu_exactly():
    # no decay, no bias: Lava's integers and the float reference agree spike for spike only if the
    # recurrent spikes of step t-1 reach the neuron at step t on both sides
    m = netx_rec(netx.CubaNeuron(4096, 0, 150), n_in=30, rec_scale=120)
    g = to_nir(m)
    x = random_spikes((30,), T=16, n=128)
    ref = simulate(g, x)
    r = emulate(m, x, record=True)
    assert r.spikes.sum() > 0
    assert torch.equal(ref.layers["lif1"], r.layers[0].to(torch.float64))
    assert torch.equal(ref.spikes, r.spikes.to(torch.float64))
    assert not torch.equal(simulate(without_recurrence(g, "rec1"), x).layers["lif1"], ref.layers["lif1"])
    # the same step alignment the other way round: the imported graph runs the same spikes
    assert torch.equal(emulate(from_nir(g).model, x).spikes, r.spikes)


def test_hand_built_recurrent_cubalif_imports_and_agrees():
    rng = np.random.default_rng(7)
    theta = np.array([1.0, 2.0, 0.5, 1.0, 1.0, 4.0, 1.0, 1.0, 2.0, 1.0])     # per neuron: rows are rescaled
    lif = cuba_node((10,), di=0.25, dv=0.125, theta=theta)
    w_rec = nir.Linear(weight=grid_weights(rng, (10, 10), step=1 / 16, lo=-16, hi=16))
    g = graph((24,), [("fc", nir.Linear(weight=grid_weights(rng, (10, 24), step=1 / 16, lo=-12, hi=20))),
                      ("rlif", recurrent_subgraph(lif, w_rec)),
                      ("fc2", nir.Linear(weight=grid_weights(rng, (4, 10), step=1 / 8))),
                      ("out", lif_node((4,), decay=0.125, theta=1.0))])
    imp = from_nir(g)
    layer = imp.model.layers[1]
    assert isinstance(layer, netx.RecurrentDenseLayer) and imp.layers[0].kind == "dense_rec"
    assert imp.layers[0].nodes == ["fc", "rlif.w_rec"] and imp.layers[0].lossless
    assert (layer.neuron.i_decay, layer.neuron.v_decay) == (1024, 512)
    # the recurrent rows carry the same gain/threshold scale as the input rows
    np.testing.assert_allclose(np.asarray(layer.weight_rec) / layer.neuron.v_th_mant,
                               w_rec.weight / theta[:, None], atol=1e-12)
    x = random_spikes((24,), T=20, n=128, rate=0.4)
    v = verify(g, imp, x)
    ref = simulate(g, x)
    assert ref.layers["rlif.lif"].sum() > 0
    assert [l.netx_layer for l in v.layers] == [1, 2]
    assert v.prediction_agreement >= 0.97 and v.layers[0].mismatch < 0.01, v.summary()


def test_recurrent_weight_matters_in_the_import():
    rng = np.random.default_rng(8)
    lif = if_node((6,), theta=1.0)
    w_rec = nir.Affine(weight=grid_weights(rng, (6, 6), step=1 / 4, lo=-4, hi=4), bias=np.zeros(6))
    g = graph((8,), [("fc", nir.Linear(weight=grid_weights(rng, (6, 8), step=1 / 4, lo=-2, hi=4))),
                     ("rlif", recurrent_subgraph(lif, w_rec))], out_shape=[6])
    imp = from_nir(g)
    x = random_spikes((8,), T=16, n=64, rate=0.4)
    ref, out = simulate(g, x), emulate(imp.model, x).spikes.to(torch.float64)
    assert out.sum() > 0 and torch.equal(ref.spikes, out)
    plain = graph((8,), [("fc", g.nodes["fc"]), ("lif", lif)], out_shape=[6])
    assert not torch.equal(emulate(from_nir(plain).model, x).spikes.to(torch.float64), out)


@pytest.mark.parametrize("where", ["input", "recurrent"])
def test_bias_into_recurrent_synaptic_current_names_its_node(where):
    w = np.full((3, 4), 0.25)
    fc = nir.Affine(weight=w, bias=np.full(3, 0.1 if where == "input" else 0.0))
    w_rec = nir.Affine(weight=np.eye(3) * 0.5, bias=np.full(3, 0.1 if where == "recurrent" else 0.0))
    g = graph((4,), [("fc", fc), ("r", recurrent_subgraph(cuba_node((3,)), w_rec))], out_shape=[3])
    name = "fc" if where == "input" else "r.w_rec"
    with pytest.raises(Exception, match=f"node '{name}': a bias feeding the synaptic current of 'r.lif'"):
        from_nir(g)


def test_cli_convert_and_import_keep_dense_rec(tmp_path):
    from click.testing import CliRunner

    from neurodeploy.cli import main

    m = netx_rec(netx.CubaNeuron(4096, 300, 100))
    netx.write(m, tmp_path / "r.net")
    r = CliRunner().invoke(main, ["convert", str(tmp_path / "r.net"), "--to", "nir", "--out", str(tmp_path / "r.nir")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["import", str(tmp_path / "r.nir"), "--out", str(tmp_path / "b.net"), "--steps", "12",
                                  "--limit", "32"])
    assert r.exit_code == 0, r.output
    b = netx.read(tmp_path / "b.net")
    assert_same_model(m, b)
    np.testing.assert_array_equal(b.layers[1].weight_rec, m.layers[1].weight_rec)
    assert [l["kind"] for l in b.card["quantisation"]["layers"]] == ["dense_rec", "dense"]
    assert b.card["nir_verified"]["passed"]
