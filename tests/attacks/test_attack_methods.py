"""Every attack lowers accuracy on small trained models (SNN and its ANN twin)."""
import pytest
import torch

from neurodeploy.attacks.apgd import APGDConfig, apgd
from neurodeploy.attacks.gradients import GradientSpec
from neurodeploy.attacks.oracle import Oracle
from neurodeploy.attacks.pgd import PGDConfig, fgsm_config, pgd, random_noise
from neurodeploy.attacks.square import SquareConfig, square
from neurodeploy.attacks.target import Target

EPS = 0.05


def _acc(r):
    return 1 - float(r.broken.float().mean())


def _attacks(tg, x, y, idx, spec=None):
    spec = GradientSpec.parse(spec)
    return {
        "fgsm": pgd(Oracle(tg, spec), tg, x, y, idx, fgsm_config(EPS)),
        "pgd": pgd(Oracle(tg, spec), tg, x, y, idx, PGDConfig(EPS, steps=10)),
        "pgd-prefix": pgd(Oracle(tg, spec, at="prefix"), tg, x, y, idx, PGDConfig(EPS, steps=10)),
        "apgd-ce": apgd(tg, x, y, idx, APGDConfig(EPS, loss="ce", steps=10), spec),
        "apgd-dlr": apgd(tg, x, y, idx, APGDConfig(EPS, loss="dlr", steps=10), spec),
        "square": square(tg, x, y, idx, SquareConfig(EPS, queries=100)),
    }


@pytest.mark.parametrize("which", ["snn", "ann"])
def test_each_attack_lowers_accuracy(which, snn, ann, data):
    x, y, idx = data
    tg = Target(snn if which == "snn" else ann, "margin:2" if which == "snn" else "off")
    clean = float(tg.correct(x, y, idx).float().mean())
    assert clean > 0.3
    results = _attacks(tg, x, y, idx)
    for name, r in results.items():
        assert _acc(r) < clean - 0.05, f"{name}: {_acc(r)} vs clean {clean}"
    noise = _acc(random_noise(tg, x, y, idx, EPS))
    assert _acc(results["pgd"]) < noise  # the attack hurts more than random noise


@pytest.mark.parametrize("spec", ["spike", "ste+slayer:0.2", "ste+rect:0.5", "ste+sigmoid:0.25", "ste+bptr"])
def test_every_snn_gradient_attacks(spec, snn, data):
    x, y, idx = (t[:60] for t in data)
    tg = Target(snn, "off")
    clean = float(tg.correct(x, y, idx).float().mean())
    r = pgd(Oracle(tg, GradientSpec.parse(spec)), tg, x, y, idx, PGDConfig(EPS, steps=10))
    assert _acc(r) < clean - 0.05


def test_transfer_from_ann_twin(snn, ann, data):
    x, y, idx = data
    tg, src = Target(snn, "off"), Target(ann, "off")
    clean = float(tg.correct(x, y, idx).float().mean())
    r = pgd(Oracle(src, at="final"), tg, x, y, idx, PGDConfig(0.1, steps=10))
    assert _acc(r) < clean - 0.05
    assert torch.equal(r.broken, ~tg.correct(r.x_adv, y, idx))  # judged on the SNN, not the source


def test_pgd_is_batch_independent_and_seeded(snn, data):
    x, y, idx = (t[:30] for t in data)
    tg = Target(snn, "off")
    cfg = PGDConfig(0.03, steps=5, restarts=2, seed=4)
    full = pgd(Oracle(tg), tg, x, y, idx, cfg)
    part = pgd(Oracle(tg), tg, x[10:20], y[10:20], idx[10:20], cfg)
    assert torch.equal(full.broken[10:20], part.broken)
    assert torch.equal(pgd(Oracle(tg), tg, x, y, idx, cfg).x_adv, full.x_adv)


def test_stochastic_encoder_with_eot(poisson_run, data):
    import neurodeploy

    tg = Target(neurodeploy.load(poisson_run), "off", seed=1)
    x, y, idx = (t[:50] for t in data)
    clean = float(tg.correct(x, y, idx).float().mean())
    r = pgd(Oracle(tg, eot=4, seed=2), tg, x, y, idx, PGDConfig(0.1, steps=5))
    assert _acc(r) < clean - 0.05
    again = pgd(Oracle(tg, eot=4, seed=2), tg, x, y, idx, PGDConfig(0.1, steps=5))
    assert torch.equal(r.x_adv, again.x_adv)  # seeded end to end
