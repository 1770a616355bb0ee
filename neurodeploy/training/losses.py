"""Training losses on cumulative outputs c[t] (N, classes, T); pure functions.

* ``rate``:     L = CE(c[T-1], y), cross-entropy of the spike counts at the end.
* ``temporal``: L = (1/T) Σ_t CE(c[t], y), cross-entropy of the cumulative output at every
  step, so the network is right early — what early exit relies on.

For the ANN twin T = 1 and both reduce to the ordinary cross-entropy of its logits.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("rate", "temporal")


def rate_loss(cumulative: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(cumulative[..., -1], labels)


def temporal_loss(cumulative: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    n, c, t = cumulative.shape
    per_step = cumulative.permute(0, 2, 1).reshape(n * t, c)
    return F.cross_entropy(per_step, labels.repeat_interleave(t))


def loss_fn(name: str):
    return {"rate": rate_loss, "temporal": temporal_loss}[name]


def accuracy_per_step(cumulative: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Number correct at each step (ties -> lowest class index), shape (T,)."""
    return (cumulative.argmax(1) == labels[:, None]).sum(0)
