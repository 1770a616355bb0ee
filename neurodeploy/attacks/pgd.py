"""FGSM and PGD (L∞ / L2) with random restarts, early stopping per sample and EOT gradients.

PGD (Madry et al. 2018): from a random point of the ball (or from x for FGSM), ``x ← Π(x + α·
dir(∇L))`` for K steps, α = 2.5 ε / K by default (FGSM: one step of α = ε, no random start).
Every iterate is judged with the *target's exact decision* (its evaluation draw and exit rule);
a sample counts as broken at the first iterate that the target gets wrong, and is then dropped
from the batch. Unbroken samples return their highest-loss iterate. The gradient may come from
another model (transfer attack): the oracle's source differs from the judged target.
With ``early_stop=False`` (adversarial training) nothing is judged: every sample takes all K
steps and the last iterate is returned (``broken`` is then all False: not measured).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from neurodeploy.attacks.oracle import Oracle
from neurodeploy.attacks.projection import ascent_step, check_norm, project, random_corner, random_start
from neurodeploy.attacks.target import Target
from neurodeploy.errors import UsageError
from neurodeploy.seeding import derive, stream


@dataclass
class AttackResult:
    """Adversarial images of one attack run and the samples they break.

    ``x_adv`` (N, C, H, W) in the ε-ball and [0, 1]; ``broken`` bool (N,): the target's exact
    decision on ``x_adv`` is wrong; ``seconds`` wall time; ``calls`` gradient or forward passes
    of (sub-)batches.
    """

    x_adv: torch.Tensor
    broken: torch.Tensor
    seconds: float = 0.0
    calls: int = 0


@dataclass(frozen=True)
class PGDConfig:
    """Budget and schedule of FGSM/PGD; ``step_size`` None = 2.5 ε / steps (ε for one step)."""

    eps: float
    steps: int = 10
    restarts: int = 1
    norm: str = "linf"
    step_size: float | None = None
    random_start: bool = True
    seed: int = 0
    early_stop: bool = True

    def __post_init__(self):
        check_norm(self.norm)
        if self.eps < 0 or self.steps < 1 or self.restarts < 1:
            raise UsageError("attack needs eps >= 0, steps >= 1 and restarts >= 1")

    @property
    def alpha(self) -> float:
        if self.step_size is not None:
            return float(self.step_size)
        return float(self.eps) if self.steps == 1 else 2.5 * float(self.eps) / self.steps


class Judge:
    """The target's exact decision on an iterate (True: still correct), for the samples ``act``.

    When the oracle's first draw *is* the target's decision (``oracle.exact_for(target)``), the
    oracle's own output ``out`` is reused; otherwise one extra forward pass, counted in ``calls``.
    """

    def __init__(self, oracle: Oracle, target: Target, y: torch.Tensor, idx: torch.Tensor):
        self.exact, self.target, self.y, self.idx, self.calls = oracle.exact_for(target), target, y, idx, 0

    def __call__(self, xa: torch.Tensor, act: torch.Tensor, out=None) -> torch.Tensor:
        if self.exact and out is not None:
            return self.target.decide_cumulative(out.cum) == self.y[act]
        self.calls += 1
        return self.target.correct(xa, self.y[act], self.idx[act])


def fgsm_config(eps: float, norm: str = "linf", seed: int = 0) -> PGDConfig:
    return PGDConfig(eps=eps, steps=1, restarts=1, norm=norm, random_start=False, seed=seed)


def pgd(oracle: Oracle, target: Target, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor,
        cfg: PGDConfig, progress=None) -> AttackResult:
    """Run PGD on ``target`` with gradients from ``oracle``; ``progress(k)`` after every k passes."""
    t0 = time.perf_counter()
    if not cfg.early_stop:
        return _pgd_all_steps(oracle, x, y, idx, cfg, t0, progress)
    N = x.shape[0]
    x_out = x.clone()
    broken = torch.zeros(N, dtype=torch.bool)
    best_loss = torch.full((N,), -float("inf"), dtype=x.dtype)
    judge = Judge(oracle, target, y, idx)
    calls = 0

    for restart in range(cfg.restarts):
        act = (~broken).nonzero().squeeze(1)
        if act.numel() == 0:
            break
        x0 = x[act]
        if cfg.random_start and cfg.eps > 0:
            xa = per_sample(random_start, x0, idx[act], cfg.eps, cfg.norm, derive(cfg.seed, "attack/start", restart))
        else:
            xa = x0.clone()
        for _k in range(cfg.steps):
            out = oracle(xa, y[act])
            calls += 1
            ok = judge(xa, act, out)
            better = out.loss > best_loss[act]
            upd = act[better]
            x_out[upd], best_loss[upd] = xa[better], out.loss[better]
            hit = ~ok
            x_out[act[hit]] = xa[hit]
            broken[act[hit]] = True
            keep = ok
            act, xa, x0, g = act[keep], xa[keep], x0[keep], out.grad[keep]
            if progress is not None:
                progress(1)
            if act.numel() == 0:
                break
            xa = project(ascent_step(xa, g, cfg.alpha, cfg.norm), x0, cfg.eps, cfg.norm)
        if act.numel():
            ok = judge(xa, act, None)
            hit = ~ok
            x_out[act[hit]] = xa[hit]
            broken[act[hit]] = True
    return AttackResult(x_out, broken, time.perf_counter() - t0, calls + judge.calls)


def _pgd_all_steps(oracle: Oracle, x, y, idx, cfg: PGDConfig, t0: float, progress) -> AttackResult:
    """K steps on every sample, no judging; the last iterate of the last restart."""
    x0 = x.detach()
    xa = x0.clone()
    for restart in range(cfg.restarts):
        if cfg.random_start and cfg.eps > 0:
            xa = per_sample(random_start, x0, idx, cfg.eps, cfg.norm, derive(cfg.seed, "attack/pgd", restart))
        for _k in range(cfg.steps):
            out = oracle(xa, y)
            xa = project(ascent_step(xa, out.grad, cfg.alpha, cfg.norm), x0, cfg.eps, cfg.norm)
            if progress is not None:
                progress(1)
    return AttackResult(xa.detach(), torch.zeros(x.shape[0], dtype=torch.bool), time.perf_counter() - t0,
                        cfg.restarts * cfg.steps)


def sample_generator(seed: int, index: int) -> torch.Generator:
    """Randomness of one sample, independent of the batch it is attacked in."""
    return stream(seed, "attack/sample", int(index))


def per_sample(fn, x: torch.Tensor, idx: torch.Tensor, eps: float, norm: str, seed: int) -> torch.Tensor:
    """Apply a random ``fn(x_i, eps, norm, generator)`` sample by sample with per-sample generators."""
    return torch.cat([fn(x[i:i + 1], eps, norm, sample_generator(seed, int(j))) for i, j in enumerate(idx.tolist())])


def random_noise(target: Target, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, eps: float,
                 norm: str = "linf", seed: int = 0) -> AttackResult:
    """Baseline for the masking check: one draw of full-budget random noise (L∞: ±ε per pixel)."""
    t0 = time.perf_counter()
    xa = per_sample(random_corner, x, idx, eps, norm, derive(seed, "attack/noise")) if eps > 0 else x.clone()
    broken = ~target.correct(xa, y, idx)
    return AttackResult(xa, broken, time.perf_counter() - t0, 1)
