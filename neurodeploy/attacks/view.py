"""The target as a plain ``nn.Module`` images -> logits, for attack libraries (torchattacks).

The logits are the cumulative output counts at the output the attack aims at (``exit``: the
step the model exits on, ``final``: step T), minus a tie-break of ``1e-3 × class index`` for
spiking models so that "argmax of the logits" equals the model's own rule (ties to the lowest
class index) and a zero margin is not mistaken for a misclassification. Each forward pass of a
stochastic encoder takes a fresh, seeded draw (EOT inside the library's loops).
"""
from __future__ import annotations

import torch

from neurodeploy.attacks.gradients import GradientSpec, gradient_mode
from neurodeploy.attacks.losses import exit_outputs
from neurodeploy.attacks.target import Target

TIE_BREAK = 1e-3


class LogitsView(torch.nn.Module):
    """``forward(x)`` = the decision logits of ``target`` with gradients under ``spec``."""

    def __init__(self, target: Target, spec: GradientSpec | str | None = None, at: str = "exit", seed: int = 0):
        super().__init__()
        self.clf = target.clf  # registered so libraries find parameters/device
        self.target = target
        self.spec = GradientSpec.parse(spec)
        self.at = at
        self.seed = int(seed)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gen = torch.Generator().manual_seed((self.seed * 9_973 + self.calls + 1) % (1 << 63))
        self.calls += 1
        with gradient_mode(self.target.clf, self.spec):
            cum = self.target.cumulative(x, gen)
        if not self.target.is_snn:
            return cum[..., -1]
        z = exit_outputs(cum, self.target.rule_in_force) if self.at == "exit" else cum[..., -1]
        return z - TIE_BREAK * torch.arange(z.shape[1], dtype=z.dtype)
