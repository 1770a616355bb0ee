"""Robust-training recipes: each objective on hand-made outputs, the ε warm-up, the training
attack (neurodeploy.attacks' PGD) staying in the ε-ball, the per-batch surrogate draw, and the
output-silence flag."""
import math

import pytest
import torch
import torch.nn.functional as F

from neurodeploy.attacks.gradients import NEURON_SURROGATES, GradientSpec, random_spec
from neurodeploy.errors import UsageError
from neurodeploy.runfolder import build_classifier
from neurodeploy.training.config import TrainConfig
from neurodeploy.training.losses import kl_per_sample, mixed_loss, per_sample_loss, trades_loss
from neurodeploy.training.perturb import adversarial_batch, batch_gradient, parse_adv, warmup_eps
from neurodeploy.training.run import train

Y = torch.tensor([0])
CLEAN = torch.tensor([[[2.0, 3.0], [0.0, 1.0]]])   # (N=1, C=2, T=2): class 0 ahead at both steps
ADV = torch.tensor([[[0.0, 1.0], [1.0, 3.0]]])     # class 1 ahead at both steps


def ce(z0, z1, y=0):
    """Cross-entropy of two logits by hand."""
    z = [z0, z1]
    return math.log(math.exp(z0) + math.exp(z1)) - z[y]


def test_mixed_loss_is_the_weighted_sum_of_clean_and_adversarial_loss():
    clean_t = (ce(2, 0) + ce(3, 1)) / 2   # temporal: mean over steps
    adv_t = (ce(0, 1) + ce(1, 3)) / 2
    for w in (0.0, 0.5, 0.8, 1.0):
        assert mixed_loss("temporal", CLEAN, ADV, Y, w).item() == pytest.approx((1 - w) * clean_t + w * adv_t, rel=1e-6)
    # rate reads the last step only
    assert mixed_loss("rate", CLEAN, ADV, Y, 0.5).item() == pytest.approx(0.5 * ce(3, 1) + 0.5 * ce(1, 3), rel=1e-6)


def test_trades_loss_is_clean_loss_plus_beta_kl():
    def kl(zp, zq):
        p = torch.softmax(torch.tensor(zp), 0)
        q = torch.softmax(torch.tensor(zq), 0)
        return float((p * (p / q).log()).sum())
    clean_t = (ce(2, 0) + ce(3, 1)) / 2
    kl_t = (kl([2.0, 0.0], [0.0, 1.0]) + kl([3.0, 1.0], [1.0, 3.0])) / 2
    assert trades_loss("temporal", CLEAN, ADV, Y, 6.0).item() == pytest.approx(clean_t + 6 * kl_t, rel=1e-6)
    # no perturbation effect -> the KL term vanishes, whatever β
    assert trades_loss("temporal", CLEAN, CLEAN, Y, 6.0).item() == pytest.approx(clean_t, rel=1e-6)
    assert kl_per_sample("rate", CLEAN, ADV).item() == pytest.approx(kl([3.0, 1.0], [1.0, 3.0]), rel=1e-6)


def test_per_sample_loss_averages_to_the_run_loss():
    cum = torch.randn(5, 10, 4)
    y = torch.randint(0, 10, (5,))
    from neurodeploy.training.losses import temporal_loss, rate_loss
    assert per_sample_loss("temporal", cum, y).mean().item() == pytest.approx(temporal_loss(cum, y).item(), rel=1e-6)
    assert per_sample_loss("rate", cum, y).mean().item() == pytest.approx(rate_loss(cum, y).item(), rel=1e-6)


def test_eps_warmup_rises_linearly_then_holds():
    assert warmup_eps(0.1, 2, 0, 0, 10) == pytest.approx(0.1 * 1 / 20)
    assert warmup_eps(0.1, 2, 0, 9, 10) == pytest.approx(0.05)
    assert warmup_eps(0.1, 2, 1, 4, 10) == pytest.approx(0.1 * 15 / 20)
    assert warmup_eps(0.1, 2, 2, 0, 10) == pytest.approx(0.1)
    assert warmup_eps(0.1, 0, 0, 0, 10) == pytest.approx(0.1)


def test_random_surrogate_draws_span_the_suite_family_and_are_seeded():
    draws = [random_spec(torch.Generator().manual_seed(s)) for s in range(200)]
    assert {d.neuron for d in draws} == set(NEURON_SURROGATES)
    assert {d.encoder for d in draws} == {"ste", "spike"}
    widths = [d.width for d in draws if d.neuron == "slayer"]
    assert min(widths) >= 0.2 and max(widths) <= 5.0 and max(widths) / min(widths) > 5
    assert batch_gradient("random", 7) == batch_gradient("random", 7)
    assert batch_gradient("ste+rect:0.5", 7) == GradientSpec("ste", "rect", 0.5)


@pytest.mark.parametrize("ann,adv_text", [(False, "pgd:0.1,3"), (True, "fgsm:0.1")])
def test_training_attack_stays_in_the_eps_ball_and_raises_the_loss(ann, adv_text):
    torch.manual_seed(0)
    clf = build_classifier(TrainConfig(ann=ann, encoding={"name": "early_burst_floor"}))
    x = torch.rand(16, 1, 28, 28)
    y = torch.randint(0, 10, (16,))
    adv = parse_adv(adv_text)
    obj = lambda cum, yy: per_sample_loss("temporal", cum, yy)  # noqa: E731
    for spec in ("ste", "spike+sigmoid:0.3", "ste+bptr"):
        clf.train()
        xa = adversarial_batch(clf, x, y, torch.arange(16), adv, 0.1, GradientSpec.parse(spec), obj, seed=1)
        assert clf.training, "the attack must hand the model back in training mode"
        assert (xa - x).abs().max() <= 0.1 + 1e-6 and xa.min() >= 0 and xa.max() <= 1
        assert (xa - x).abs().max() > 0.05  # it moved
    with torch.no_grad():
        clf.eval()
        xa = adversarial_batch(clf, x, y, torch.arange(16), adv, 0.1, GradientSpec(), obj, seed=1)
        noise = (x + 0.1 * torch.sign(torch.randn_like(x))).clamp(0, 1)
        l_adv, l_noise = obj(clf.cumulative(xa), y).mean(), obj(clf.cumulative(noise), y).mean()
    assert l_adv > l_noise  # the attack found a worse point than random noise of the same budget


def test_adversarial_run_trains_and_records_eps(tmp_path):
    m = train(TrainConfig(epochs=1, limit=256, test_limit=64, batch_size=64, adv="fgsm:0.1", trades=3.0,
                          eps_warmup=2.0), tmp_path / "r", progress=False)
    ep = m["epochs"][0]
    assert ep["adv_eps"] == pytest.approx(0.05)  # half-way through a 2-epoch warm-up
    assert "output_silent" in m and "silent_output_fraction" in ep
    with pytest.raises(UsageError, match="--trades"):
        TrainConfig(trades=3.0).validate()  # TRADES needs the attack that maximises its KL
    with pytest.raises(UsageError, match="adv.weight"):  # the schema names the field
        TrainConfig(adv="fgsm:0.1", adv_weight=1.5).validate()
    with pytest.raises(UsageError, match="surrogate 'nonsense'"):
        TrainConfig(adv="fgsm:0.1", adv_grad="ste+nonsense").validate()


def test_a_dead_output_layer_is_flagged(tmp_path, capsys):
    # a threshold no neuron can reach: the output never spikes
    neuron = {"threshold": 60.0, "current_decay": 0.25, "voltage_decay": 0.03, "tau_grad": 0.03, "scale_grad": 3.0}
    m = train(TrainConfig(epochs=1, limit=64, test_limit=32, batch_size=64, neuron=neuron, lr=1e-9),
              tmp_path / "dead", progress=False)
    assert m["output_silent"] is True and m["epochs"][0]["silent_output_fraction"] == 1.0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "output layer stopped spiking" in err[0]
