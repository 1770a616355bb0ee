"""APGD-CE / APGD-DLR (Croce & Hein 2020), per sample, on the package's own gradient oracle.

The algorithm (their Alg. 1): from a random point of the ball, step size η = 2ε;
``z = Π(x_k + η·dir(∇L(x_k)))``, ``x_{k+1} = Π(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1}))`` with
momentum α = 0.75 (α = 1 on the first step). At checkpoints w_j = ⌈p_j N⌉, p_0 = 0, p_1 = 0.22,
p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), a sample's η is halved and it restarts from its
best point when (1) the loss rose in fewer than ρ = 0.75 of the steps since the last checkpoint,
or (2) η was not halved at the last checkpoint and the best loss has not improved since.

Every iterate is judged with the target's exact decision; a sample is broken at its first wrong
iterate (kept) and leaves the batch. Everything random is drawn per sample from
``(seed, sample index)``, and every quantity is per sample, so a sample's result does not depend
on which other samples share its batch — the suite can run it on the survivors of cheaper attacks
and get the same per-sample worst case as running it on everything.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from neurodeploy.attacks.gradients import GradientSpec
from neurodeploy.attacks.oracle import Oracle
from neurodeploy.attacks.pgd import AttackResult, Judge, per_sample
from neurodeploy.attacks.projection import ascent_step, check_norm, project, random_start
from neurodeploy.attacks.target import Target
from neurodeploy.errors import UnavailableError, UsageError
from neurodeploy.seeding import derive

MOMENTUM = 0.75


def _torchattacks():
    try:
        import torchattacks
    except ImportError as e:  # pragma: no cover - listed in requirements.txt
        raise UnavailableError(f"this attack needs torchattacks (pip install --no-deps torchattacks): {e}") from None
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


def checkpoints(steps: int) -> list:
    """Iterations at which step sizes are reconsidered: ⌈p_j · steps⌉ for p_j ≤ 1 (j ≥ 1)."""
    p = [0.0, 0.22]
    while p[-1] + max(p[-1] - p[-2] - 0.03, 0.06) <= 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    return sorted({int(math.ceil(q * steps)) for q in p[1:] if 0 < math.ceil(q * steps) < steps})


def apgd(target: Target, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, cfg: APGDConfig,
         spec: GradientSpec | str | None = None, at: str = "exit", progress=None) -> AttackResult:
    """Run APGD on ``target``; ``progress(k)`` after every k gradient steps."""
    t0 = time.perf_counter()
    spec = GradientSpec.parse(spec)
    oracle = Oracle(target, spec, kind=cfg.loss, at=at, eot=cfg.eot, seed=cfg.seed)
    N = x.shape[0]
    x_out = x.clone()
    broken = torch.zeros(N, dtype=torch.bool)
    best_overall = torch.full((N,), -float("inf"), dtype=x.dtype)
    marks = set(checkpoints(cfg.steps))
    calls = 0
    judge = Judge(oracle, target, y, idx)

    for restart in range(cfg.restarts):
        act = (~broken).nonzero().squeeze(1)
        if act.numel() == 0 or cfg.eps == 0:
            break
        x0 = x[act]
        xk = per_sample(random_start, x0, idx[act], cfg.eps, cfg.norm, derive(cfg.seed, "attack/apgd", restart))
        x_prev = xk.clone()
        eta = torch.full((act.numel(),), 2.0 * cfg.eps, dtype=x.dtype)
        x_best, loss_best = xk.clone(), torch.full((act.numel(),), -float("inf"), dtype=x.dtype)
        grad_best = torch.zeros_like(xk)
        loss_prev = torch.full_like(loss_best, -float("inf"))
        rises = torch.zeros(act.numel(), dtype=torch.int64)
        last_mark, halved_last, best_at_mark = 0, torch.ones(act.numel(), dtype=torch.bool), loss_best.clone()
        for k in range(cfg.steps):
            out = oracle(xk, y[act])
            calls += 1
            ok = judge(xk, act, out)
            rises += (out.loss > loss_prev).to(torch.int64)
            loss_prev = out.loss
            better = out.loss > loss_best
            x_best[better], loss_best[better], grad_best[better] = xk[better], out.loss[better], out.grad[better]
            upd = out.loss > best_overall[act]
            x_out[act[upd]], best_overall[act[upd]] = xk[upd], out.loss[upd]
            hit = ~ok
            x_out[act[hit]] = xk[hit]
            broken[act[hit]] = True
            grad = out.grad
            if k in marks:  # reconsider the step size of every sample
                cond1 = rises < cfg.rho * (k - last_mark)
                cond2 = ~halved_last & (loss_best <= best_at_mark)
                halve = cond1 | cond2
                eta = torch.where(halve, eta / 2, eta)
                xk = torch.where(halve.view(-1, *[1] * (x.ndim - 1)), x_best, xk)
                grad = torch.where(halve.view(-1, *[1] * (x.ndim - 1)), grad_best, grad)
                halved_last, best_at_mark, rises, last_mark = halve, loss_best.clone(), torch.zeros_like(rises), k
            keep = ok
            act, xk, x_prev, x0, grad = act[keep], xk[keep], x_prev[keep], x0[keep], grad[keep]
            eta, x_best, loss_best, grad_best = eta[keep], x_best[keep], loss_best[keep], grad_best[keep]
            loss_prev, rises, halved_last, best_at_mark = loss_prev[keep], rises[keep], halved_last[keep], best_at_mark[keep]
            if progress is not None:
                progress(1)
            if act.numel() == 0:
                break
            shape = (-1, *[1] * (x.ndim - 1))
            z = project(_step(xk, grad, eta.view(shape), cfg.norm), x0, cfg.eps, cfg.norm)
            a = 1.0 if k == 0 else MOMENTUM
            x_next = project(xk + a * (z - xk) + (1 - a) * (xk - x_prev), x0, cfg.eps, cfg.norm)
            x_prev, xk = xk, x_next
        if act.numel():
            ok = judge(xk, act, None)
            x_out[act[~ok]] = xk[~ok]
            broken[act[~ok]] = True
    return AttackResult(x_out, broken, time.perf_counter() - t0, calls + judge.calls)


def _step(x: torch.Tensor, grad: torch.Tensor, eta: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-sample step of length η (a tensor broadcasting over x)."""
    return x + eta * ascent_step(torch.zeros_like(x), grad, 1.0, norm)
