"""Export round trip: trained run -> NetX file (loads in stock NetX) -> same outputs; refusals."""
import json

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.errors import CheckFailedError
from neurodeploy import netx
from neurodeploy.export import exporter
from neurodeploy.export.verify import verifier


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    run, _ = tiny_run
    path = tmp_path_factory.mktemp("exp") / "tiny.net"
    r = CliRunner().invoke(main, ["export", str(run), "--out", str(path), "--check-samples", "32"])
    assert r.exit_code == 0, r.output
    return run, path


def test_export_writes_card_and_no_delays(exported):
    run, path = exported
    m = netx.read(path)
    card = m.card
    assert card["encoding"] == {"name": "early_burst"} and card["steps"] == 8 and card["seed"] == 0
    assert card["dataset"] == "fashion-mnist" and len(card["classes"]) == 10 and card["input_shape"] == [1, 28, 28]
    assert card["verified"]["prediction_agreement"] == 1.0 and card["verified"]["samples"] == 32
    assert card["versions"]["lava-nc"] == "0.10.0" and "weights" in card["quantisation"]
    with h5py.File(path) as f:
        groups = [f["layer"][k] for k in f["layer"]]
        assert not any("delay" in g for g in groups)
    for layer in m.synaptic_layers:
        w = np.asarray(layer.weight)
        assert np.all(w == np.round(w)) and np.all(w % 2 == 0) and w.min() >= -256 and w.max() <= 254


def test_write_read_round_trip_over_every_layer_type(tmp_path):
    rng = np.random.default_rng(0)
    n = netx.CubaNeuron(1024, 128, 80, 1, False)
    m = netx.NetxModel([netx.InputLayer((2, 8, 8)),
                        netx.ConvLayer(rng.integers(-128, 127, (4, 2, 3, 3)) * 2.0, n, (4, 4, 4), (2, 2), (1, 1)),
                        netx.FlattenLayer((64,)), netx.DenseLayer(rng.integers(-128, 127, (3, 64)) * 2.0, n)],
                       {"a": [1, 2]})
    netx.write(m, tmp_path / "m.net")
    back = netx.read(tmp_path / "m.net")
    assert back.card == {"a": [1, 2]}
    for a, b in zip(m.layers, back.layers):
        assert type(a) is type(b) and tuple(a.shape) == tuple(b.shape)
        if hasattr(a, "weight"):
            np.testing.assert_array_equal(a.weight, b.weight)
            assert a.neuron == b.neuron
    assert back.layers[1].stride == (2, 2) and back.layers[1].padding == (1, 1)


def test_stock_netx_loads_the_export(exported):
    from lava.lib.dl import netx as lava_netx

    _, path = exported
    net = lava_netx.hdf5.Network(net_config=str(path), reset_interval=16)
    assert len(net) == 2 and net.out.shape == (10,)


def test_info_prints_card_and_layers(exported):
    _, path = exported
    r = CliRunner().invoke(main, ["info", str(path)])
    assert r.exit_code == 0 and '"encoding"' in r.output and "| dense" in r.output and "vTh=" in r.output


def test_export_refuses_an_artifact_that_differs(tiny_run, tmp_path, monkeypatch):
    run, _ = tiny_run
    real = exporter.to_netx

    def broken(clf, card):
        m = real(clf, card)
        m.synaptic_layers[-1].weight = -m.synaptic_layers[-1].weight  # a sign flip in export
        return m

    monkeypatch.setattr(exporter, "to_netx", broken)
    out = tmp_path / "bad.net"
    with pytest.raises(CheckFailedError, match="disagrees with the trained model"):
        exporter.export_run(run, out, verify=verifier(16))
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


def test_export_refuses_ann_runs(tmp_path):
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train

    train(TrainConfig(ann=True, epochs=1, limit=64, test_limit=32), tmp_path / "ann", progress=False)
    r = CliRunner().invoke(main, ["export", str(tmp_path / "ann"), "--out", str(tmp_path / "a.net")])
    assert r.exit_code == 2 and "ANN twin has no NetX form" in r.output and not (tmp_path / "a.net").exists()


def test_corrupt_and_truncated_files_are_one_line_errors(exported, tmp_path):
    _, path = exported
    trunc = tmp_path / "trunc.net"
    trunc.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    junk = tmp_path / "junk.net"
    junk.write_bytes(b"\x89HDF\r\n" + b"\x00" * 100)
    for p in (trunc, junk, tmp_path / "missing.net"):
        r = CliRunner().invoke(main, ["info", str(p)])
        assert r.exit_code == 3, r.output
        assert r.output.count("\n") == 1 and str(p) in r.output and "Traceback" not in r.output


def test_unsupported_layer_type_is_named(exported, tmp_path):
    _, path = exported
    bad = tmp_path / "pool.net"
    bad.write_bytes(path.read_bytes())
    with h5py.File(bad, "r+") as f:
        del f["layer/2/type"]
        f["layer/2"].create_dataset("type", (1,), "S10", [b"pool"])
    r = CliRunner().invoke(main, ["info", str(bad)])
    assert r.exit_code == 3 and "layer 2: layer type 'pool' cannot be run" in r.output


def test_python_api_mirrors_the_cli(tiny_run, tmp_path):
    import neurodeploy

    run, _ = tiny_run
    m = neurodeploy.export_run(run, tmp_path / "api.net", check_samples=8)
    assert m.card["verified"]["samples"] == 8
    r = neurodeploy.run(tmp_path / "api.net", "emu", "margin:2,min=2", limit=50)
    assert r.num_samples == 50 and r.exit_step.max() <= 8 and 0.0 <= r.accuracy <= 1.0
