"""Square attack (Andriushchenko et al. 2020; black box, score based).

It queries only the target's decision logits (:class:`~neurodeploy.attacks.view.LogitsView`,
no gradient), so it cannot be fooled by masked gradients: if it beats the white-box attacks, the
gradients are masked (docs/attacks.md). Restarts run on the samples still correct; results are
judged with the target's exact decision.

L∞ (implemented here, per sample): start from vertical stripes x + ε·(±1 per channel and
column); at query i every sample still standing (margin z_y − max_{k≠y} z_k > 0) gets a square
window of side s_i = round(√(p_i·H·W)) (p_i: p_init halved at fractions 0.001, 0.005, 0.02,
0.05, 0.1, 0.2, 0.4, 0.6, 0.8 of the budget) at a random position, set to ±ε per channel around
x; the change is kept if the margin falls. Window positions and signs come from a generator per
``(seed, sample index)``, so a sample's result does not depend on its batch (the suite's
cheap-first order relies on it). L2 runs ``torchattacks.Square`` (batch-dependent draws).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from neurodeploy.attacks.apgd import _torchattacks
from neurodeploy.attacks.pgd import AttackResult, sample_generator
from neurodeploy.attacks.projection import check_norm
from neurodeploy.attacks.target import Target
from neurodeploy.attacks.view import LogitsView
from neurodeploy.errors import UsageError
from neurodeploy.seeding import derive


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


P_HALVINGS = (0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8)  # budget fractions where p halves


def p_at(p_init: float, i: int, queries: int) -> float:
    """Fraction of the image a window covers at query ``i`` of ``queries``."""
    frac = i / max(queries, 1)
    return p_init / 2 ** sum(frac > h for h in P_HALVINGS)


def margin(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """z_y − max_{k≠y} z_k per sample (> 0: correct)."""
    zy = z.gather(1, y[:, None]).squeeze(1)
    other = z.scatter(1, y[:, None], -float("inf")).max(1).values
    return zy - other


def square(target: Target, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, cfg: SquareConfig,
           at: str = "exit", progress=None) -> AttackResult:
    if cfg.norm == "linf":
        return _square_linf(target, x, y, idx, cfg, at, progress)
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
        torch.manual_seed(derive(cfg.seed, "attack/square"))
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


def _square_linf(target: Target, x, y, idx, cfg: SquareConfig, at: str, progress) -> AttackResult:
    t0 = time.perf_counter()
    view = LogitsView(target, None, at, seed=cfg.seed)
    N, C, H, W = x.shape
    Q = int(cfg.queries)
    x_out = x.clone()
    broken = ~target.correct(x, y, idx)
    with torch.no_grad():
        for restart in range(cfg.restarts):
            act = (~broken).nonzero().squeeze(1)
            if act.numel() == 0 or cfg.eps == 0:
                break
            gens = [sample_generator(derive(cfg.seed, "attack/square", restart), int(j)) for j in idx[act].tolist()]
            stripes = torch.stack([torch.randint(0, 2, (C, 1, W), generator=g) for g in gens]).to(x.dtype) * 2 - 1
            pos = torch.stack([torch.rand(Q, 2, generator=g, dtype=torch.float64) for g in gens])  # (n, Q, 2)
            signs = torch.stack([torch.randint(0, 2, (Q, C), generator=g) for g in gens]).to(x.dtype) * 2 - 1
            x0 = x[act]
            xb = (x0 + cfg.eps * stripes).clamp(0, 1)
            m_best = margin(view(xb), y[act])
            live = torch.arange(act.numel())
            rows, cols = torch.arange(H), torch.arange(W)
            for i in range(1, Q):
                live = live[m_best[live] > 0]
                if live.numel() == 0:
                    break
                s = min(max(int(round((p_at(cfg.p_init, i, Q) * H * W) ** 0.5)), 1), H - 1)
                vh = (pos[live, i, 0] * (H - s + 1)).floor().long().clamp(max=H - s)
                vw = (pos[live, i, 1] * (W - s + 1)).floor().long().clamp(max=W - s)
                rmask = (rows[None] >= vh[:, None]) & (rows[None] < vh[:, None] + s)
                cmask = (cols[None] >= vw[:, None]) & (cols[None] < vw[:, None] + s)
                window = (rmask[:, :, None] & cmask[:, None, :])[:, None]  # (n, 1, H, W)
                delta = torch.where(window, cfg.eps * signs[live, i][:, :, None, None], xb[live] - x0[live])
                cand = (x0[live] + delta).clamp(0, 1)
                m = margin(view(cand), y[act[live]])
                better = m < m_best[live]
                xb[live[better]], m_best[live[better]] = cand[better], m[better]
                if progress is not None:
                    progress(1)
            hit = ~target.correct(xb, y[act], idx[act])
            x_out[act] = xb
            broken[act[hit]] = True
    return AttackResult(x_out, broken, time.perf_counter() - t0, view.calls)
