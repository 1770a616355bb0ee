"""Loss gradients for white-box attacks: a source model, a :class:`GradientSpec`, a loss, EOT.

``Oracle(x, y)`` returns the input gradient of the per-sample attack loss averaged over ``eot``
encoder draws (Athalye et al. 2018: expectation over transformation; only stochastic encoders
draw, deterministic ones use one pass). Draw k of call n uses a generator seeded by
``(seed, n, k)``, so a run is reproducible and never uses the evaluation draws.
``objective`` (optional) replaces the attack loss by any per-sample function ``f(cum, y) -> (N,)``
(adversarial training maximises its own loss, e.g. TRADES' KL divergence to the clean output).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from neurodeploy.attacks.gradients import GradientSpec, gradient_mode
from neurodeploy.attacks.losses import attack_loss
from neurodeploy.attacks.target import Target
from neurodeploy.seeding import stream


@dataclass
class OracleOutput:
    """``grad`` (like x), ``loss`` (N,) mean over draws, ``cum`` detached output of the first draw."""

    grad: torch.Tensor
    loss: torch.Tensor
    cum: torch.Tensor


@dataclass
class Oracle:
    """Input gradient of ``attack_loss(kind, at)`` on ``source`` under gradient ``spec``."""

    source: Target
    spec: GradientSpec = field(default_factory=GradientSpec)
    kind: str = "ce"
    at: str = "exit"
    eot: int = 1
    seed: int = 0
    calls: int = 0
    objective: Callable | None = None

    @property
    def draws(self) -> int:
        return max(1, int(self.eot)) if self.source.stochastic else 1

    def generator(self, k: int) -> torch.Generator:
        return stream(self.seed, "attack/eot", self.calls, k)

    def exact_for(self, target: Target) -> bool:
        """True when the first draw's output *is* ``target``'s decision (same model, deterministic)."""
        return (target is self.source and not self.source.stochastic and self.objective is None
                and getattr(target, "judge", None) is None)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> OracleOutput:
        grad = torch.zeros_like(x)
        loss_sum = torch.zeros(x.shape[0], dtype=x.dtype)
        first = None
        rule = self.source.rule_in_force
        for k in range(self.draws):
            xr = x.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                with gradient_mode(self.source.clf, self.spec):
                    cum = self.source.cumulative(xr, self.generator(k))
                loss = (self.objective(cum, y) if self.objective is not None
                        else attack_loss(cum, y, self.kind, self.at, rule))
                (g,) = torch.autograd.grad(loss.sum(), xr)
            grad += g
            loss_sum += loss.detach()
            if first is None:
                first = cum.detach()
        self.calls += 1
        n = float(self.draws)
        return OracleOutput(grad / n, loss_sum / n, first)
