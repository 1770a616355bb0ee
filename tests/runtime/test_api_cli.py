"""run_model, RunResult JSON, the `run` command, and the error paths users hit."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.errors import BadInputError, UnavailableError
from neurodeploy import netx
from neurodeploy.runtime import loihi2
from neurodeploy.runtime.api import RunResult, encode_dataset_for_model, run_model
from rt_helpers import even_weights, random_spikes


@pytest.fixture(scope="module")
def fmnist_net(tmp_path_factory):
    """A random 784-32-10 net with a full model card, runnable on the shipped Fashion-MNIST sample."""
    rng = np.random.default_rng(5)
    model = netx.NetxModel(layers=[
        netx.InputLayer((1, 28, 28)), netx.FlattenLayer((784,)),
        netx.DenseLayer(even_weights(rng, 32, 784), netx.CubaNeuron(1024, 128, 80)),
        netx.DenseLayer(even_weights(rng, 10, 32), netx.CubaNeuron(1024, 128, 400))],
        card={"encoding": {"name": "early_burst"}, "steps": 8, "dataset": "fashion-mnist",
              "input_shape": [1, 28, 28], "classes": [str(i) for i in range(10)], "seed": 0})
    return netx.write(model, tmp_path_factory.mktemp("rt_cli") / "fm.net")


def test_run_model_emu_result_and_json(dense_net, tmp_path):
    path, model = dense_net
    x = random_spikes((40, 1, 10, 10), 12, 0.25, seed=4)
    labels = np.arange(40) % 10
    r = run_model(model, x, labels, backend="emu", exit_rule="margin:2,min=3", progress=False)
    assert isinstance(r, RunResult) and r.num_samples == 40 and r.steps == 12
    assert np.array_equal(r.counts, r.step_counts.astype(int).sum(2))
    for i in range(40):   # nothing counted after the exit step
        assert r.step_counts[i, :, r.exit_step[i]:].sum() == 0
    s = r.summary()
    e = np.sort(r.exit_step)
    assert s["exit_step_p50"] == e[19] and s["exit_step_p90"] == e[35] and s["exit_step_p99"] == e[39]
    assert s["accuracy"] == pytest.approx(np.mean(r.prediction == labels))
    out = r.write_json(tmp_path / "sub" / "r.json")
    data = json.loads(out.read_text())
    assert data["summary"]["samples"] == 40 and len(data["samples"]) == 40
    row = data["samples"][7]
    assert row["exit_step"] == r.exit_step[7] and row["label"] == 7 and len(row["counts"]) == 10
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]      # no temp file left
    assert "accuracy" in r.summary_line()


def test_run_model_sim_from_model_without_path(conv_net):
    _, model = conv_net
    x = random_spikes((5, 2, 9, 7), 10, 0.3, seed=5)
    a = run_model(model, x, backend="emu", exit_rule="margin:1", progress=False)
    b = run_model(model, x, backend="sim", exit_rule="margin:1", progress=False)
    assert np.array_equal(a.step_counts, b.step_counts)
    assert np.array_equal(a.exit_step, b.exit_step) and np.array_equal(a.prediction, b.prediction)
    assert b.lava_steps == int(b.exit_step.sum()) + 3 * 5


def test_loihi2_missing_is_one_clear_line(dense_net):
    path, model = dense_net
    assert not loihi2.available()
    with pytest.raises(UnavailableError) as e:
        run_model(path, random_spikes((2, 1, 10, 10), 4, 0.2, 0), backend="loihi2", progress=False)
    msg = str(e.value)
    assert "\n" not in msg and "lava-loihi" in msg and "--backend sim" in msg
    res = CliRunner().invoke(main, ["run", str(path), "--backend", "loihi2"])
    assert res.exit_code == 2 and "--backend sim" in res.output


def test_corrupt_and_truncated_files_name_the_file(dense_net, tmp_path):
    path, _ = dense_net
    junk = tmp_path / "junk.net"
    junk.write_bytes(b"not an hdf5 file at all" * 10)
    cut = tmp_path / "cut.net"
    data = path.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    for bad in (junk, cut):
        with pytest.raises(netx.NetxFormatError) as e:
            run_model(bad, random_spikes((1, 1, 10, 10), 3, 0.2, 0), progress=False)
        assert str(bad) in str(e.value)
        res = CliRunner().invoke(main, ["run", str(bad)])
        assert res.exit_code == 3 and str(bad) in res.output and len(res.output.strip().splitlines()) == 1


def test_unsupported_layer_type_is_named(dense_net, tmp_path):
    path, _ = dense_net
    bad = tmp_path / "pool.net"
    bad.write_bytes(path.read_bytes())
    with h5py.File(bad, "r+") as f:
        del f["layer/2/type"]
        f["layer/2"].create_dataset("type", (1,), "S10", [b"pool"])
    with pytest.raises(netx.NetxFormatError, match="'pool'") as e:
        run_model(bad, random_spikes((1, 1, 10, 10), 3, 0.2, 0), backend="sim", progress=False)
    assert str(bad) in str(e.value)


def test_cli_run_emu_and_sim_on_sample_data(fmnist_net, tmp_path):
    out = tmp_path / "res.json"
    res = CliRunner().invoke(main, ["run", str(fmnist_net), "--backend", "emu", "--limit", "60",
                                    "--exit", "margin:2,min=2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("emu: accuracy") and "p90" in res.output and "samples/s" in res.output
    data = json.loads(out.read_text())
    assert data["summary"]["samples"] == 60 and data["meta"]["dataset"] == "fashion-mnist"
    res2 = CliRunner().invoke(main, ["run", str(fmnist_net), "--backend", "sim", "--limit", "6",
                                     "--exit", "margin:2,min=2", "--out", str(tmp_path / "s.json")])
    assert res2.exit_code == 0, res2.output
    sim_rows = json.loads((tmp_path / "s.json").read_text())["samples"]
    assert [(r["prediction"], r["exit_step"], r["counts"]) for r in sim_rows] == \
        [(r["prediction"], r["exit_step"], r["counts"]) for r in data["samples"][:6]]


def test_dataset_shape_mismatch_is_bad_input(dense_net):
    path, model = dense_net           # takes (1, 10, 10); Fashion-MNIST is (1, 28, 28)
    with pytest.raises(BadInputError, match=r"\(1, 10, 10\)"):
        encode_dataset_for_model(model, "fashion-mnist", "test", 5)
    res = CliRunner().invoke(main, ["run", str(path), "--limit", "5"])
    assert res.exit_code == 3 and len(res.output.strip().splitlines()) == 1


def test_encode_dataset_for_model(fmnist_net):
    model = netx.read(fmnist_net)
    spikes, labels = encode_dataset_for_model(model, None, "test", 12, None, None)
    assert spikes.shape == (12, 1, 28, 28, 8) and spikes.dtype.is_floating_point is False
    assert labels.shape == (12,) and spikes.max() == 1
    from neurodeploy.data import load_dataset
    ds = load_dataset("fashion-mnist", "test", None, limit=12)
    assert np.array_equal(labels, ds.labels)
    # early burst: a pixel x fires for ceil(x T) steps from t = 0
    x = ds.images[:, 0].astype(np.float64) / 255
    assert np.array_equal(spikes.sum(-1)[:, 0].numpy(), np.ceil(x * 8 - 1e-9).clip(0, 8))
