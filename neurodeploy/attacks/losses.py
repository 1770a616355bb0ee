"""Attack objectives on the cumulative output c[t] (N, C, T); per-sample, to be maximised.

``at`` says which output the loss reads — the early-exit adaptive attack of docs/attacks.md:

* ``final``:  c[T−1], the full-length decision (non-adaptive when an exit rule is in force);
* ``exit``:   c[e−1] where e is the step the model actually exits on *this* input under its
  exit rule (computed without gradient; equals ``final`` with the rule off);
* ``prefix``: the sum of the loss over all prefixes c[0..T−1] (the same perturbation is present
  at every step of a static image, so this attacks every possible exit at once).

``kind``: ``ce`` (cross-entropy of the counts as logits) or ``dlr`` (Croce & Hein 2020's
difference of logits ratio, ``−(z_y − max_{i≠y} z_i)/(z_π1 − z_π3)``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from neurodeploy.errors import UsageError
from neurodeploy.runtime.exit_rules import ExitRule, apply_exit_rule

AT = ("exit", "prefix", "final")
KINDS = ("ce", "dlr")


def dlr(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample DLR loss of logits z (N, C), C ≥ 3."""
    zs, order = z.sort(dim=1)
    top_is_y = (order[:, -1] == y).to(z.dtype)
    zy = z.gather(1, y[:, None]).squeeze(1)
    other = zs[:, -2] * top_is_y + zs[:, -1] * (1 - top_is_y)
    return -(zy - other) / (zs[:, -1] - zs[:, -3] + 1e-12)


def _per_sample(z: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    return F.cross_entropy(z, y, reduction="none") if kind == "ce" else dlr(z, y)


def exit_outputs(cum: torch.Tensor, rule: ExitRule) -> torch.Tensor:
    """c at each sample's exit step (N, C), differentiable in ``cum``."""
    rule = ExitRule.parse(rule)
    N, C, T = cum.shape
    if rule.is_off or T == 1:
        return cum[..., -1]
    c = cum.detach()
    counts = torch.diff(c, dim=-1, prepend=torch.zeros_like(c[..., :1])).round().to(torch.int64)
    exit_step, _ = apply_exit_rule(counts, rule)
    return cum.gather(2, (exit_step - 1).view(N, 1, 1).expand(N, C, 1)).squeeze(2)


def attack_loss(cum: torch.Tensor, y: torch.Tensor, kind: str = "ce", at: str = "exit",
                rule: ExitRule | str | None = None) -> torch.Tensor:
    """Per-sample loss (N,) of the cumulative output ``cum`` (N, C, T) for labels ``y``."""
    if kind not in KINDS:
        raise UsageError(f"unknown attack loss '{kind}' (known: {', '.join(KINDS)})")
    if at not in AT:
        raise UsageError(f"unknown loss position '{at}' (known: {', '.join(AT)})")
    if at == "prefix":
        N, C, T = cum.shape
        z = cum.permute(0, 2, 1).reshape(N * T, C)
        return _per_sample(z, y.repeat_interleave(T), kind).view(N, T).sum(1)
    z = exit_outputs(cum, rule) if at == "exit" else cum[..., -1]
    return _per_sample(z, y, kind)
