"""Perturbed training inputs: Gaussian noise and FGSM/PGD adversarial training.

* ``gaussian:σ``      x' = clip(x + σ·N(0, 1), 0, 1)
* ``fgsm:ε``          x' = clip(x + ε·sign(∇ₓL), 0, 1)
* ``pgd:ε,K``         K steps of size 2.5ε/K from a uniform start, projected to ‖x'−x‖∞ ≤ ε

Gradients of spiking models flow through the encoder's straight-through surrogate, the one
that does not mask (docs/attacks.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from neurodeploy.errors import UsageError

MAX_PGD_STEPS = 10_000


@dataclass(frozen=True)
class Adv:
    kind: str
    eps: float
    steps: int = 1


def parse_noise(text: str | None) -> float | None:
    """``gaussian:SIGMA`` -> σ, a finite number in [0, 1] (pixel units)."""
    if not text:
        return None
    kind, _, val = str(text).partition(":")
    try:
        sigma = float(val)
    except ValueError:
        sigma = math.nan
    if kind != "gaussian" or not (0.0 <= sigma <= 1.0):
        raise UsageError(f"bad --noise '{text}' (expected gaussian:SIGMA, SIGMA a finite number in [0, 1])")
    return sigma


def parse_adv(text: str | None) -> Adv | None:
    """``fgsm:EPS`` or ``pgd:EPS,K``: ε a finite number in [0, 1], K an integer in 1..MAX_PGD_STEPS."""
    if not text:
        return None
    kind, _, val = str(text).partition(":")
    form = f"bad --adv '{text}' (expected fgsm:EPS or pgd:EPS,K with EPS in [0, 1], K in 1..{MAX_PGD_STEPS})"
    parts = [v.strip() for v in val.split(",")]
    try:
        eps = float(parts[0])
    except ValueError:
        raise UsageError(form) from None
    if not (0.0 <= eps <= 1.0):
        raise UsageError(form)
    if kind == "fgsm" and len(parts) == 1:
        return Adv("fgsm", eps)
    if kind == "pgd" and len(parts) == 2 and parts[1].isdigit() and 1 <= int(parts[1]) <= MAX_PGD_STEPS:
        return Adv("pgd", eps, int(parts[1]))
    raise UsageError(form)


def perturb_batch(clf, x: torch.Tensor, y: torch.Tensor, noise: float | None, adv: Adv | None, lossf) -> torch.Tensor:
    """Return the training input: ``x`` itself, or its noisy / adversarial version."""
    if noise:
        x = (x + noise * torch.randn_like(x)).clamp_(0, 1)
    if adv is None:
        return x
    was_training, old = clf.training, getattr(clf, "surrogate", None)
    clf.eval()
    if hasattr(clf, "surrogate"):
        clf.surrogate = "ste"
    x0 = x.detach()
    if adv.kind == "fgsm":
        xa, step = x0.clone(), adv.eps
    else:
        xa, step = (x0 + torch.empty_like(x0).uniform_(-adv.eps, adv.eps)).clamp(0, 1), 2.5 * adv.eps / adv.steps
    for _ in range(adv.steps):
        xa.requires_grad_(True)
        loss = lossf(clf.cumulative(xa), y)
        (g,) = torch.autograd.grad(loss, xa)
        xa = torch.min(torch.max(xa.detach() + step * g.sign(), x0 - adv.eps), x0 + adv.eps).clamp(0, 1)
    clf.train(was_training)
    if hasattr(clf, "surrogate"):
        clf.surrogate = old
    return xa.detach()


def mppd_penalty(clf, x_clean: torch.Tensor, x_pert: torch.Tensor, y: torch.Tensor, lossf, rho: float):
    """Membrane-potential-perturbation regularised loss (Ding et al., ICML 2024, "MS-MPPD").

    With I the input current of the last spiking layer, the membrane perturbation between a clean
    and a perturbed input follows reset-free leaky dynamics ``Y[t] = λ Y[t-1] + (I_clean[t] −
    I_pert[t])``, λ = 1 − voltage_decay. The loss is
    ``0.5 CE(clean) + 0.5 CE(perturbed) + ρ · mean(Y²)``. Returns (loss, cumulative clean output).
    """
    net = clf.net
    out_c, trace_c = net(clf.encode(x_clean), record=True)
    out_p, trace_p = net(clf.encode(x_pert), record=True)
    last = net.blocks[-1]
    inp_c = trace_c[-2].reshape(trace_c[-2].shape[0], -1, trace_c[-2].shape[-1])
    inp_p = trace_p[-2].reshape(inp_c.shape)
    diff = last.synapse(inp_c) - last.synapse(inp_p)  # (N, classes, T)
    lam = 1.0 - float(net.neuron.voltage_decay)
    y_t, acc = torch.zeros_like(diff[..., 0]), []
    for t in range(diff.shape[-1]):
        y_t = lam * y_t + diff[..., t]
        acc.append(y_t)
    penalty = torch.stack(acc, -1).pow(2).mean()
    cum_c, cum_p = out_c.cumsum(-1), out_p.cumsum(-1)
    return 0.5 * lossf(cum_c, y) + 0.5 * lossf(cum_p, y) + rho * penalty, cum_c
