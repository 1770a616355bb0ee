"""Threat-model geometry: L∞ / L2 balls around clean images in [0, 1] (pure tensor functions).

Every adversarial image ``x'`` satisfies ``‖x' − x‖ ≤ ε`` in the chosen norm and ``0 ≤ x' ≤ 1``;
ε is in pixel units (normalisation lives inside the model, docs/attacks.md).
"""
from __future__ import annotations

import torch

from neurodeploy.errors import UsageError

NORMS = ("linf", "l2")


def check_norm(norm: str) -> str:
    n = str(norm).lower()
    if n not in NORMS:
        raise UsageError(f"unknown norm '{norm}' (linf | l2)")
    return n


def _flat_norm(d: torch.Tensor) -> torch.Tensor:
    """Per-sample L2 norm, shaped to broadcast against ``d``."""
    n = d.reshape(d.shape[0], -1).norm(dim=1)
    return n.view(-1, *([1] * (d.ndim - 1)))


def distance(x_adv: torch.Tensor, x: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-sample ``‖x_adv − x‖`` (N,)."""
    d = (x_adv - x).reshape(x.shape[0], -1)
    return d.abs().max(dim=1).values if check_norm(norm) == "linf" else d.norm(dim=1)


def project(x_adv: torch.Tensor, x: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """Nearest point (L∞: exact; L2: radial) of the ε-ball around ``x`` intersected with [0, 1].

    L2: the difference is first scaled to norm ≤ ε, then clipped to [0, 1]; clipping moves every
    coordinate towards ``x`` (x itself lies in [0, 1]), so the norm stays ≤ ε.
    """
    if check_norm(norm) == "linf":
        x_adv = torch.max(torch.min(x_adv, x + eps), x - eps)
    else:
        d = x_adv - x
        n = _flat_norm(d)
        d = d * torch.clamp(eps / n.clamp_min(1e-12), max=1.0)
        x_adv = x + d
    return x_adv.clamp(0.0, 1.0)


def ascent_step(x_adv: torch.Tensor, grad: torch.Tensor, alpha: float, norm: str) -> torch.Tensor:
    """One steepest-ascent step of length α: L∞ ``α·sign(g)``, L2 ``α·g/‖g‖`` (zero gradient: no move)."""
    if check_norm(norm) == "linf":
        return x_adv + alpha * grad.sign()
    return x_adv + alpha * grad / _flat_norm(grad).clamp_min(1e-12)


def random_start(x: torch.Tensor, eps: float, norm: str, generator: torch.Generator) -> torch.Tensor:
    """A random point of the ball (L∞: uniform per pixel; L2: uniform direction, radius ε·u^(1/d))."""
    if check_norm(norm) == "linf":
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype) * 2 - 1
        return project(x + eps * u, x, eps, norm)
    g = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    d = g[0].numel()
    r = torch.rand((x.shape[0],), generator=generator, dtype=x.dtype) ** (1.0 / d)
    g = g / _flat_norm(g).clamp_min(1e-12) * (eps * r).view(-1, *([1] * (x.ndim - 1)))
    return project(x + g, x, eps, norm)


def random_corner(x: torch.Tensor, eps: float, norm: str, generator: torch.Generator) -> torch.Tensor:
    """Random noise at full budget: L∞ ``ε·sign(u)`` per pixel; L2 a random direction of norm ε."""
    if check_norm(norm) == "linf":
        s = (torch.rand(x.shape, generator=generator, dtype=x.dtype) < 0.5).to(x.dtype) * 2 - 1
        return project(x + eps * s, x, eps, norm)
    g = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return project(x + eps * g / _flat_norm(g).clamp_min(1e-12), x, eps, norm)
