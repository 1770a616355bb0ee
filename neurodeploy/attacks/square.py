"""Square attack (Andriushchenko et al. 2020; black box, score based) through ``torchattacks.Square``.

It queries only the target's decision logits (:class:`~neurodeploy.attacks.view.LogitsView`,
no gradient), so it cannot be fooled by masked gradients: if it beats the white-box attacks, the
gradients are masked (REFERENCE §4). Restarts run on the samples still correct; results are
judged with the target's exact decision.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from neurodeploy.attacks.apgd import _torchattacks
from neurodeploy.attacks.pgd import AttackResult
from neurodeploy.attacks.projection import check_norm
from neurodeploy.attacks.target import Target
from neurodeploy.attacks.view import LogitsView
from neurodeploy.errors import UsageError


@dataclass(frozen=True)
class SquareConfig:
    """Square budget: ``queries`` per restart, initial square fraction ``p_init``."""

    eps: float
    queries: int = 1000
    restarts: int = 1
    norm: str = "linf"
    p_init: float = 0.8
    seed: int = 0

    def __post_init__(self):
        check_norm(self.norm)
        if self.queries < 1 or self.restarts < 1:
            raise UsageError("Square needs queries >= 1 and restarts >= 1")


def square(target: Target, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, cfg: SquareConfig,
           at: str = "exit", progress=None) -> AttackResult:
    ta = _torchattacks()
    t0 = time.perf_counter()
    view = LogitsView(target, None, at, seed=cfg.seed)
    atk = ta.Square(view, norm="Linf" if cfg.norm == "linf" else "L2", eps=float(cfg.eps),
                    n_queries=int(cfg.queries), n_restarts=1, p_init=cfg.p_init, loss="margin",
                    resc_schedule=True, seed=cfg.seed)
    atk.init_hyperparam(x)
    x_out = x.clone()
    broken = ~target.correct(x, y, idx)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed((int(cfg.seed) * 1_000_037 + 11) % (1 << 63))
        for _ in range(cfg.restarts):
            act = (~broken).nonzero().squeeze(1)
            if act.numel() == 0 or cfg.eps == 0:
                break
            _, cand = atk.attack_single_run(x[act], y[act])
            hit = ~target.correct(cand, y[act], idx[act])
            x_out[act] = cand
            broken[act[hit]] = True
            if progress is not None:
                progress(cfg.queries)
    return AttackResult(x_out, broken, time.perf_counter() - t0, view.calls)
