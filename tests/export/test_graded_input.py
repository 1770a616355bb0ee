"""Graded input (encoding ``graded:b``): trained model, NetX file, emulator and Lava agree exactly."""
import numpy as np
import pytest
import torch

from neurodeploy import netx
from neurodeploy.encoding import make_encoder
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.export.exporter import to_netx
from neurodeploy.models.classifier import SpikingClassifier
from neurodeploy.models.netx_twin import float_twin
from neurodeploy.models.snn import NeuronConfig, SpikingNet
from neurodeploy.runtime.emu import emulate

BITS = 6


def _graded_clf(model="conv28", seed=0, gain=6.0, current_decay=1.0):
    """A graded-input SNN with random weights scaled so that every layer fires."""
    torch.manual_seed(seed)
    enc = make_encoder(f"graded:{BITS}")
    channels = 1 if model != "conv32" else 3
    net = SpikingNet(model, 10, channels, NeuronConfig(current_decay=current_decay), input_bits=enc.message_bits)
    with torch.no_grad():
        for b in net.blocks:
            if getattr(b, "synapse", None) is not None:
                b.synapse.weight.mul_(gain)
    return SpikingClassifier(net, enc, 8).eval()


def _card(clf):
    return {"model": "conv28", "encoding": clf.encoder.config(), "steps": clf.steps, "classes": [str(i) for i in range(10)],
            "input_message_bits": clf.encoder.message_bits, "seed": 0}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    clf = _graded_clf()
    path = tmp_path_factory.mktemp("graded") / "g.net"
    netx.write(to_netx(clf, _card(clf)), path)
    images = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    return clf, path, images


def test_encoder_levels_payload_and_config():
    enc = make_encoder("graded:6")
    x = torch.tensor([[[[0.0, 1.0, 0.5, 1 / 255]]]])
    s = enc.spikes(x, 3)
    assert s.shape == (1, 1, 1, 4, 3) and torch.equal(s[..., 0], s[..., 2])
    q = enc.to_deployed(s)
    assert q.dtype == torch.uint8 and q[0, 0, 0, :, 0].tolist() == [0, 63, 32, 0]
    assert torch.equal(q.float() / 64, s)
    assert enc.config() == {"name": "graded", "bits": 6} and make_encoder(enc.config()) == enc
    assert make_encoder("early_burst").message_bits == 0
    with pytest.raises(UsageError, match="bits"):
        make_encoder("graded:9")
    with pytest.raises(UsageError, match="graded"):
        make_encoder("fusion:graded+ttfs")


def test_straight_through_gradient_is_not_masked():
    enc = make_encoder("graded:6")
    x = torch.full((1, 1, 2, 2), 0.3, requires_grad=True)
    enc.encode(x, 4).sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, 4.0))


def test_export_scales_the_first_threshold_only(graded):
    clf, path, _ = graded
    m = netx.read(path)
    th = [l.neuron.v_th_mant for l in m.synaptic_layers]
    assert th[0] == th[1] << BITS and len(set(th[1:])) == 1
    assert m.input_message_bits == BITS


def test_emulator_equals_the_trained_model_spike_for_spike(graded):
    clf, path, images = graded
    with torch.no_grad():
        spikes = clf.encode(images)
        ref, trace = clf.net(spikes, record=True)
    assert trace[0].sum() > 0 and ref.sum() > 0  # the layers fire: the comparison says something
    out = emulate(netx.read(path), clf.encoder.to_deployed(spikes)).spikes
    assert torch.equal(out.to(ref.dtype), ref)


def test_float_twin_of_the_file_is_the_trained_model(graded):
    clf, path, images = graded
    twin = float_twin(netx.read(path), str(path))
    assert twin.net.input_bits == BITS
    with torch.no_grad():
        assert torch.equal(twin.output_spikes(images), clf.output_spikes(images))


def test_lava_sim_equals_the_emulator(graded):
    from neurodeploy.runtime.sim import simulate

    clf, path, images = graded
    with torch.no_grad():
        q = clf.encoder.to_deployed(clf.encode(images[:3]))
    emu = emulate(netx.read(path), q)
    sim = simulate(path, q)
    assert sim.spikes.sum() > 0
    assert torch.equal(sim.spikes.to(torch.int64), emu.spikes.to(torch.int64))


def test_out_of_range_payload_is_refused(graded):
    _, path, _ = graded
    q = torch.full((1, 1, 28, 28, 2), 64, dtype=torch.uint8)
    with pytest.raises(BadInputError, match=r"\[0, 63\].*6-bit graded"):
        emulate(netx.read(path), q)


def test_loihi1_refuses_graded_input(graded):
    from neurodeploy.hardware.fit import fit

    _, path, _ = graded
    m = netx.read(path)
    names = lambda target: {v.rule for v in fit(m, target).violations}  # noqa: E731
    assert "graded_input" in names("loihi1") and "graded_input" not in names("loihi2")


def test_train_export_run_and_attack_a_graded_model(tmp_path):
    """The whole way on the shipped sample images: the export's own check (trained vs emu on every
    sample) passes, and `run` and `attack --deployed` take the graded file."""
    import json

    from click.testing import CliRunner

    from neurodeploy.cli import main

    run, net = tmp_path / "run", tmp_path / "g.net"
    cli = CliRunner()
    r = cli.invoke(main, ["train", "--model", "mlp", "--encoding", "graded:5", "--epochs", "1", "--limit", "300",
                          "--test-limit", "100", "--out", str(run)])
    assert r.exit_code == 0, r.output
    r = cli.invoke(main, ["export", str(run), "--out", str(net), "--check-samples", "64"])
    assert r.exit_code == 0, r.output
    card = netx.read(net).card
    assert card["input_message_bits"] == 5 and card["encoding"] == {"name": "graded", "bits": 5}
    assert card["verified"]["identical_spike_trains"] == 1.0
    r = cli.invoke(main, ["run", str(net), "--backend", "emu", "--limit", "100", "--out", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert summary["samples"] == 100 and summary["accuracy"] > 0.3
    r = cli.invoke(main, ["attack", str(run), "--attack", "pgd", "--eps", "0.1", "--steps", "5", "--limit", "50",
                          "--deployed", str(net), "--out", str(tmp_path / "atk")])
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "atk" / "attack.json").read_text())
    assert res["model"]["encoder"] == {"name": "graded", "bits": 5} and res["clean_accuracy"] > 0.3
    assert res["clean_deployed_accuracy"] == res["clean_accuracy"]  # the export decides as the trained model
    assert res["results"][0]["deployed_robust_accuracy"] < res["clean_deployed_accuracy"]


def test_loihi2_backend_refuses_graded_input_in_one_line(graded):
    from neurodeploy.runtime.loihi2 import run_loihi2

    _, path, _ = graded
    with pytest.raises(UsageError, match="graded input.*--backend emu or sim"):
        run_loihi2(path, torch.zeros(1, 1, 28, 28, 8, dtype=torch.uint8))
