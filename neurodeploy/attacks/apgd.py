"""APGD-CE / APGD-DLR (Croce & Hein 2020) through ``torchattacks.APGD``.

torchattacks provides the algorithm (step-size halving at checkpoints, momentum 0.75, EOT loop);
this module feeds it the target as a :class:`~neurodeploy.attacks.view.LogitsView` (the exit-step
decision logits under a chosen surrogate gradient), runs the restarts itself on the samples the
target still classifies correctly, seeds it without touching the global RNG, and judges every
result with the target's exact decision. Unbroken samples return APGD's highest-loss point.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from neurodeploy.attacks.gradients import GradientSpec
from neurodeploy.attacks.pgd import AttackResult
from neurodeploy.attacks.projection import check_norm
from neurodeploy.attacks.target import Target
from neurodeploy.attacks.view import LogitsView
from neurodeploy.errors import UnavailableError, UsageError


def _torchattacks():
    try:
        import torchattacks
    except ImportError as e:  # pragma: no cover - listed in requirements.txt
        raise UnavailableError(f"APGD and Square need torchattacks (pip install --no-deps torchattacks): {e}") from None
    return torchattacks


@dataclass(frozen=True)
class APGDConfig:
    """APGD budget: ``loss`` ce | dlr, ``steps`` iterations per restart, EOT draws per step."""

    eps: float
    loss: str = "ce"
    steps: int = 100
    restarts: int = 1
    norm: str = "linf"
    eot: int = 1
    seed: int = 0
    rho: float = 0.75

    def __post_init__(self):
        check_norm(self.norm)
        if self.loss not in ("ce", "dlr"):
            raise UsageError(f"APGD loss must be ce or dlr, not '{self.loss}'")
        if self.steps < 1 or self.restarts < 1:
            raise UsageError("APGD needs steps >= 1 and restarts >= 1")


def apgd(target: Target, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, cfg: APGDConfig,
         spec: GradientSpec | str | None = None, at: str = "exit", progress=None) -> AttackResult:
    """Run APGD on ``target``; ``progress(k)`` after each restart with its number of steps."""
    ta = _torchattacks()
    t0 = time.perf_counter()
    view = LogitsView(target, spec, at, seed=cfg.seed)
    eot = max(1, cfg.eot) if target.stochastic else 1
    atk = ta.APGD(view, norm="Linf" if cfg.norm == "linf" else "L2", eps=float(cfg.eps), steps=int(cfg.steps),
                  n_restarts=1, seed=cfg.seed, loss=cfg.loss, eot_iter=eot, rho=cfg.rho)
    x_out = x.clone()
    broken = ~target.correct(x, y, idx)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed((int(cfg.seed) * 1_000_033 + 5) % (1 << 63))
        for _ in range(cfg.restarts):
            act = (~broken).nonzero().squeeze(1)
            if act.numel() == 0 or cfg.eps == 0:
                break
            best, acc, _loss, best_adv = atk.attack_single_run(x[act], y[act])
            cand = torch.where((acc == 0).view(-1, *([1] * (x.ndim - 1))), best_adv, best).detach()
            hit = ~target.correct(cand, y[act], idx[act])
            x_out[act] = cand  # highest-loss (or breaking) point of the latest restart
            broken[act[hit]] = True
            if progress is not None:
                progress(cfg.steps)
    return AttackResult(x_out, broken, time.perf_counter() - t0, view.calls)
