"""Honest defaults: load() back-propagates straight through the encoder, load(MODEL.net) is a
float twin whose spikes are the emulator's, `attack MODEL.net` is judged on emu, and a library
attack (torchattacks APGD-CE) on load() lands where the suite does."""
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import neurodeploy
from neurodeploy import netx
from neurodeploy.attacks import AttackConfig, Target, evaluate
from neurodeploy.cli import main
from neurodeploy.runtime.emu import emulate

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "netx_models").glob("*.net"))


def test_load_defaults_to_the_straight_through_gradient(snn_run, data):
    x = data[0][:8].clone()
    grads = {}
    for g in ("ste", "spike"):
        xr = x.clone().requires_grad_(True)
        neurodeploy.load(snn_run, gradient=g)(xr).sum().backward()
        grads[g] = xr.grad
    default = x.clone().requires_grad_(True)
    neurodeploy.load(snn_run)(default).sum().backward()
    assert torch.equal(default.grad, grads["ste"])
    black = x == 0  # a pixel that never fires passes no spike-only gradient
    assert grads["spike"][black].abs().sum() == 0 and grads["ste"][black].abs().sum() > 0


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_load_netx_twin_spikes_equal_the_emulator(path, data):
    twin = neurodeploy.load(path)
    x = data[0] if "mlp" in path.name else data[0][:30]  # the conv twin is slower
    if tuple(x.shape[1:]) != tuple(twin.card["input_shape"]):  # another data set's model: its shape, seeded
        x = torch.rand(30, *twin.card["input_shape"], generator=torch.Generator().manual_seed(0))
    assert isinstance(twin, torch.nn.Module) and not twin.training
    with torch.no_grad():
        out = twin.output_spikes(x)
    emu = emulate(netx.read(path), twin.encoder.to_deployed(twin.encoder.spikes(x, twin.steps)))
    assert torch.equal(out.round().to(torch.uint8), emu.spikes)  # every output spike, every step
    xr = x[:4].clone().requires_grad_(True)
    twin(xr).sum().backward()
    assert xr.grad.abs().sum() > 0


def test_attack_model_net_is_judged_on_emu(tmp_path):
    path = next(p for p in SHIPPED if "mlp" in p.name)
    r = CliRunner().invoke(main, ["attack", str(path), "--attack", "pgd", "--steps", "5", "--eps", "0.05",
                                  "--limit", "30", "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "a" / "attack.md").read_text()
    assert "judged on the emulator" in text
    assert "robust accuracy ε=0.05: 0.0%" in r.output or "robust accuracy ε=0.05: 3.3%" in r.output
    bad = tmp_path / "bad.net"
    bad.write_bytes(b"not hdf5")
    r = CliRunner().invoke(main, ["attack", str(bad), "--eps", "0.1"])
    assert r.exit_code == 3 and "bad.net" in r.output


def test_torchattacks_apgd_on_load_lands_near_the_suite(snn_run, data):
    torchattacks = pytest.importorskip("torchattacks")
    x, y, idx = (t[:60] for t in data)
    eps = 0.03
    model = neurodeploy.load(snn_run)
    torch.manual_seed(0)
    adv = torchattacks.APGD(model, norm="Linf", eps=eps, steps=50, n_restarts=1, loss="ce", seed=0)(x, y)
    lib = float((model(adv).argmax(1) == y).float().mean())
    rep = evaluate(Target(model), x, y, AttackConfig(attack="suite", eps=(eps,), steps=20, queries=100, limit=None,
                                                     checks=False), progress=False)
    suite = rep.results[0].robust_accuracy
    masked = neurodeploy.load(snn_run, gradient="spike")
    adv_s = torchattacks.APGD(masked, norm="Linf", eps=eps, steps=50, n_restarts=1, loss="ce", seed=0)(x, y)
    spike_only = float((masked(adv_s).argmax(1) == y).float().mean())
    assert abs(lib - suite) <= 0.03 + 1e-9, (lib, suite)
    assert spike_only >= lib  # the spike-only gradient never does better than the honest default
