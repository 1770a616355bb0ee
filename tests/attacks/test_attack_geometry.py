"""Projection keeps every adversarial image in the ε-ball and in [0, 1], for every attack."""
import pytest
import torch

from neurodeploy.attacks.apgd import APGDConfig, apgd
from neurodeploy.attacks.oracle import Oracle
from neurodeploy.attacks.pgd import PGDConfig, fgsm_config, pgd, random_noise
from neurodeploy.attacks.projection import ascent_step, distance, project, random_corner, random_start
from neurodeploy.attacks.square import SquareConfig, square
from neurodeploy.attacks.target import Target

TOL = 1e-6


def _inside(xa, x, eps, norm):
    assert float(xa.min()) >= 0.0 and float(xa.max()) <= 1.0
    assert float(distance(xa, x, norm).max()) <= eps + TOL


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_projection_primitives(norm, eps):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 1, 28, 28, generator=g)
    far = x + 3 * torch.randn(x.shape, generator=g)
    _inside(project(far, x, eps, norm), x, eps, norm)
    _inside(random_start(x, eps, norm, g), x, eps, norm)
    _inside(random_corner(x, eps, norm, g), x, eps, norm)
    step = ascent_step(x, torch.randn(x.shape, generator=g), eps, norm)
    assert torch.allclose(distance(step, x, norm), torch.full((8,), eps), atol=1e-4)  # a step of length ε
    inside = x + 0.5 * (project(far, x, eps, norm) - x)
    assert torch.allclose(project(inside, x, eps, norm), inside.clamp(0, 1))  # points inside stay put


def test_projection_l2_is_radial_and_clipped():
    x = torch.full((1, 1, 2, 2), 0.5)
    xa = x + torch.tensor([3.0, 4.0, 0.0, 0.0]).view(1, 1, 2, 2)
    p = project(xa, x, 1.0, "l2")
    # scaled to norm 1: (+0.6, +0.8), then clipped to 1: (1.0, 1.0) — norm 0.707 <= 1
    assert torch.allclose(p.flatten(), torch.tensor([1.0, 1.0, 0.5, 0.5]))
    assert float(distance(p, x, "l2")) <= 1.0


@pytest.mark.parametrize("norm,eps", [("linf", 0.05), ("l2", 1.0)])
def test_every_attack_stays_in_the_ball(snn, ann, data, norm, eps):
    x, y, idx = (t[:40] for t in data)
    for clf in (snn, ann):
        tg = Target(clf, "off")
        results = [pgd(Oracle(tg), tg, x, y, idx, PGDConfig(eps, steps=5, restarts=2, norm=norm)),
                   pgd(Oracle(tg), tg, x, y, idx, fgsm_config(eps, norm)),
                   apgd(tg, x, y, idx, APGDConfig(eps, steps=5, norm=norm)),
                   square(tg, x, y, idx, SquareConfig(eps, queries=20, norm=norm)),
                   random_noise(tg, x, y, idx, eps, norm)]
        for r in results:
            _inside(r.x_adv, x, eps, norm)
            # ``broken`` is the target's own verdict on the returned images
            assert torch.equal(r.broken, ~tg.correct(r.x_adv, y, idx))
