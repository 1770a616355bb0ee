"""Perturbed training inputs: Gaussian noise, and adversarial examples made by
:func:`neurodeploy.attacks.pgd.pgd` (the package's one PGD).

* ``gaussian:σ``  x' = clip(x + σ·N(0, 1), 0, 1)
* ``fgsm:ε``      FGSM with a random start (Wong et al. 2020): x₀ uniform in the ε-ball, one step
                  x' = Π(x₀ + 1.25ε·sign(∇ₓL))
* ``pgd:ε,K``     PGD-K (Madry et al. 2018): x₀ uniform in the ε-ball, K steps of α = 2.5ε/K,
                  each projected to ‖x'−x‖∞ ≤ ε and [0, 1]

Gradients of spiking models flow through the encoder's straight-through surrogate, the one
that does not mask (docs/attacks.md). The attack runs on the model in eval mode without early stopping (every sample takes all K
steps) and maximises the run's own loss per sample (or, for TRADES, the KL divergence to the
clean output). Its surrogate gradient is a :class:`~neurodeploy.attacks.gradients.GradientSpec`
— fixed, or ``random``: drawn per batch from the attack suite's family
(:func:`~neurodeploy.attacks.gradients.random_spec`), so the model cannot harden against one
gradient only. ε warm-up: batch b of B in epoch e (0-based) uses ε·min(1, (e + (b+1)/B)/W) over
the first W epochs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from neurodeploy.attacks.gradients import GradientSpec, random_spec
from neurodeploy.attacks.oracle import Oracle
from neurodeploy.attacks.pgd import PGDConfig, pgd
from neurodeploy.attacks.target import Target
from neurodeploy.errors import UsageError
from neurodeploy.seeding import stream

MAX_PGD_STEPS = 10_000
RANDOM_GRADIENT = "random"
FGSM_RS_STEP = 1.25  # FGSM step in units of ε after the random start (Wong et al. 2020)


@dataclass(frozen=True)
class Adv:
    """A training attack: ``kind`` fgsm | pgd, budget ``eps`` (L∞), ``steps`` K."""

    kind: str
    eps: float
    steps: int = 1

    def pgd_config(self, eps: float, seed: int) -> PGDConfig:
        if self.kind == "fgsm":
            return PGDConfig(eps, steps=1, step_size=FGSM_RS_STEP * eps, random_start=True, seed=seed,
                             early_stop=False)
        return PGDConfig(eps, steps=self.steps, random_start=True, seed=seed, early_stop=False)


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


def parse_adv_grad(text: str) -> str:
    """``random`` or a fixed :class:`GradientSpec` (``ste``, ``ste+slayer:0.5``, ...); returns it normalised."""
    if str(text).strip().lower() == RANDOM_GRADIENT:
        return RANDOM_GRADIENT
    return str(GradientSpec.parse(text))


def warmup_eps(eps: float, warmup_epochs: float, epoch: int, batch: int, batches: int) -> float:
    """ε of batch ``batch`` (0-based) of ``batches`` in ``epoch`` (0-based): linear from 0 over the warm-up."""
    if warmup_epochs <= 0:
        return float(eps)
    return float(eps) * min(1.0, (epoch + (batch + 1) / max(batches, 1)) / warmup_epochs)


def batch_gradient(adv_grad: str, seed: int) -> GradientSpec:
    """The training attack's gradient for one batch (``seed`` identifies the batch)."""
    if adv_grad == RANDOM_GRADIENT:
        return random_spec(stream(seed, "train/adv-gradient"))
    return GradientSpec.parse(adv_grad)


def noisy(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    return (x + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)).clamp_(0, 1)


def adversarial_batch(clf, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, adv: Adv, eps: float,
                      spec: GradientSpec, objective, seed: int) -> torch.Tensor:
    """Adversarial version of ``x`` (in the ε-ball and [0, 1]) maximising ``objective(cum, y)`` (N,).

    The model is put in eval mode for the attack and back in its previous mode afterwards.
    """
    x = x.detach()
    if eps <= 0:
        return x.clone()
    was_training = clf.training
    try:
        target = Target(clf)  # eval mode; exit rule off
        oracle = Oracle(target, spec, seed=seed, objective=objective)
        return pgd(oracle, target, x, y, idx, adv.pgd_config(eps, seed)).x_adv.detach()
    finally:
        clf.train(was_training)


def mppd_penalty(clf, x_clean: torch.Tensor, x_pert: torch.Tensor, y: torch.Tensor, lossf, rho: float,
                 adv_weight: float = 0.5):
    """Membrane-potential-perturbation regularised loss (Ding et al., ICML 2024, "MS-MPPD").

    With I the input current of the last spiking layer, the membrane perturbation between a clean
    and a perturbed input follows reset-free leaky dynamics ``Y[t] = λ Y[t-1] + (I_clean[t] −
    I_pert[t])``, λ = 1 − voltage_decay. The loss is
    ``(1 − w) ℓ(clean) + w ℓ(perturbed) + ρ · mean(Y²)`` (w = 0.5 in the paper). Returns
    (loss, cumulative clean output, cumulative perturbed output).
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
    return (1 - adv_weight) * lossf(cum_c, y) + adv_weight * lossf(cum_p, y) + rho * penalty, cum_c, cum_p
