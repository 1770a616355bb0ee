"""Every refusal: one line naming the node and the reason; --approximate only where the card can record it."""
import nir
import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy import netx
from neurodeploy.cli import main
from neurodeploy.errors import BadInputError
from neurodeploy.nir import NirExportError, NirImportError, from_nir, to_nir, write_graph
from nir_helpers import DT, cuba_node, full, graph, if_node, lif_node

W = np.full((3, 4), 0.25)


def lin():
    return ("fc", nir.Linear(weight=W))


def cases():
    per_neuron = lif_node((3,), decay=0.125)
    per_neuron.tau = np.array([DT / 0.125, DT / 0.25, DT / 0.125])
    per_neuron.r = per_neuron.tau / DT
    conv_gain = nir.Conv2d(input_shape=(2, 2), weight=np.ones((2, 1, 1, 1)), stride=1, padding=0, dilation=1, groups=1,
                           bias=np.zeros(2))
    vary = if_node((2, 2, 2), theta=np.array([[[1, 2], [1, 1]], [[1, 1], [1, 1]]], dtype=float))
    rec = nir.NIRGraph(nodes={"input": nir.Input(np.array([3])), "lif": lif_node((3,)), "w_rec": nir.Linear(np.eye(3)),
                              "output": nir.Output(np.array([3]))},
                       edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")], type_check=False)
    return {
        "v_reset": (graph((4,), [lin(), ("lif", nir.LIF(tau=full(3, 1e-3), r=full(3, 10), v_leak=full(3, 0),
                                                       v_threshold=full(3, 1), v_reset=full(3, 0.2)))]),
                    "node 'lif': v_reset"),
        "tau_below_dt": (graph((4,), [lin(), ("lif", lif_node((3,), decay=2.0))]), "node 'lif': tau"),
        "threshold": (graph((4,), [lin(), ("lif", lif_node((3,), theta=np.array([1.0, 0.0, 1.0])))]),
                      "node 'lif': v_threshold must be positive"),
        "gain": (graph((4,), [lin(), ("lif", lif_node((3,), gain=-1.0))]), "node 'lif': the input gain"),
        "leak_without_decay": (graph((4,), [lin(), ("lif", lif_node((3,), decay=1e-5, v_leak=0.3))]),
                               "node 'lif': v_leak"),
        "per_neuron_tau": (graph((4,), [lin(), ("lif", per_neuron)]), "node 'lif': per-neuron voltage decay"),
        "current_bias": (graph((4,), [("fc", nir.Affine(weight=W, bias=np.full(3, 0.1))), ("lif", cuba_node((3,)))]),
                         "node 'fc': a bias feeding the synaptic current of 'lif'"),
        "conv_channel": (graph((1, 2, 2), [("conv", conv_gain), ("if", vary)]), "node 'if': gain or threshold varies"),
        "weights_after_last_neuron": (graph((4,), [lin(), ("lif", lif_node((3,))), ("ro", nir.Linear(np.ones((2, 3))))],
                                            out_shape=[2]), "node 'ro': weights after the last neuron"),
        "no_weights": (graph((3,), [("lif", lif_node((3,)))]), "node 'lif': a neuron with no weight node"),
        "unknown_node": (graph((4,), [lin(), ("li", nir.LI(tau=full(3, 1e-3), r=full(3, 10), v_leak=full(3, 0)))],
                               out_shape=[3]), "node 'li': node type LI is not supported"),
        "zero_weights": (graph((4,), [("fc", nir.Linear(weight=np.zeros((3, 4)) + 1e-300 * 0)), ("lif", lif_node((3,)))]),
                         "node 'lif': all weights are zero"),
        "partial_flatten": (graph((2, 3, 3), [("flat", nir.Flatten(input_type={"input": np.array([2, 3, 3])},
                                                                  start_dim=1, end_dim=2)),
                                              ("fc", nir.Linear(np.ones((3, 18)))), ("lif", lif_node((3,)))]),
                            "node 'flat': Flatten of dims 1..2"),
        "recurrent_subgraph": (graph((3,), [("fc", nir.Linear(np.eye(3))), ("rlif", rec)], out_shape=[3]),
                               "node 'rlif.lif': recurrent weight 'rlif.w_rec' needs NetX's dense_rec layer"),
        "map_output": (graph((1, 4, 4), [("conv", nir.Conv2d(input_shape=(4, 4), weight=np.ones((2, 1, 3, 3)), stride=1,
                                                             padding=0, dilation=1, groups=1, bias=np.zeros(2))),
                                         ("if", if_node((2, 2, 2)))]), "node 'if': the last neuron layer gives a"),
    }


@pytest.mark.parametrize("case", list(cases()))
def test_refusal_names_the_node(case):
    g, expected = cases()[case]
    with pytest.raises(NirImportError) as e:
        from_nir(g)
    msg = str(e.value)
    assert expected in msg and "\n" not in msg
    assert isinstance(e.value, BadInputError) and e.value.exit_code == 3


def test_top_level_cycle_and_branch_are_refused():
    g = graph((4,), [lin(), ("lif", lif_node((3,)))])
    g.edges.append(("lif", "fc"))
    with pytest.raises(NirImportError, match="recurrent connection .* other than a neuron's own weight"):
        from_nir(g)
    g = graph((4,), [lin(), ("lif", lif_node((3,)))])
    g.nodes["extra"] = nir.Linear(np.ones((2, 3)))
    g.edges.append(("lif", "extra"))
    with pytest.raises(NirImportError, match="node 'lif': branches to output, extra"):
        from_nir(g)


@pytest.mark.parametrize("case, note", [("per_neuron_tau", "median"), ("current_bias", "steady state")])
def test_approximate_is_recorded(case, note):
    g, _ = cases()[case]
    imp = from_nir(g, approximate=True)
    assert len(imp.approximations) == 1 and note in imp.approximations[0] and not imp.layers[0].lossless


def test_export_refuses_bias_without_any_decay():
    n = netx.CubaNeuron(1024, 0, 80)
    m = netx.NetxModel([netx.InputLayer((4,)), netx.DenseLayer(np.full((3, 4), 2.0), n, bias=np.ones(3))], {})
    with pytest.raises(NirExportError, match="layer 1: a bias"):
        to_nir(m)


# ------------------------------------------------------------------------------ via the command line
def test_cli_refusals_are_one_line_with_exit_codes(tmp_path):
    run = CliRunner()
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"not hdf5")
    r = run.invoke(main, ["import", str(bad), "--out", str(tmp_path / "o.net")])
    assert r.exit_code == 3 and "bad.nir: not a readable HDF5 file" in r.output
    g, _ = cases()["v_reset"]
    write_graph(g, tmp_path / "reset.nir")
    r = run.invoke(main, ["import", str(tmp_path / "reset.nir"), "--out", str(tmp_path / "o.net")])
    assert r.exit_code == 3 and "node 'lif': v_reset" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "o.net").exists()
    r = run.invoke(main, ["import", str(tmp_path / "missing.nir"), "--out", str(tmp_path / "o.net")])
    assert r.exit_code == 3 and "no such file" in r.output
    r = run.invoke(main, ["convert", str(bad), "--to", "nir", "--out", str(tmp_path / "o.nir")])
    assert r.exit_code == 3 and not (tmp_path / "o.nir").exists()


def test_cli_import_refuses_below_min_agreement(tmp_path):
    # per-neuron time constants approximated by their median: a real, measurable disagreement
    rng = np.random.default_rng(0)
    n = 10
    node = lif_node((n,), decay=0.5)
    node.tau = DT / np.linspace(0.02, 0.9, n)
    node.r = node.tau / DT
    g = graph((30,), [("fc", nir.Linear(rng.integers(-8, 16, (n, 30)) / 16)), ("lif", node)])
    write_graph(g, tmp_path / "g.nir")
    out = tmp_path / "g.net"
    r = CliRunner().invoke(main, ["import", str(tmp_path / "g.nir"), "--out", str(out), "--approximate",
                                  "--min-agreement", "1.0", "--steps", "16"])
    assert r.exit_code == 1 and "below --min-agreement" in r.output and not out.exists()
    r = CliRunner().invoke(main, ["import", str(tmp_path / "g.nir"), "--out", str(out), "--approximate",
                                  "--min-agreement", "0", "--steps", "16"])
    assert r.exit_code == 0, r.output
    card = netx.read(out).card
    assert card["approximate"] and "median" in card["approximations"][0]
    assert card["nir_verified"]["prediction_agreement"] < 1.0
