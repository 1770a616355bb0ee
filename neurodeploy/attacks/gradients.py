"""How gradients pass through an SNN's non-differentiable parts at attack time (BPDA surrogates).

A :class:`GradientSpec` names one choice for each of the two places a spike is made:

* the **encoder** (``ste`` straight-through or ``spike`` spike-only, docs/attacks.md; the analog
  ``direct`` code is differentiable as it is);
* the **neurons** of every SLAYER block:

  ==========  =================================================================================
  ``slayer``  SLAYER's own surrogate ``scale/(2τ)·exp(−|v−θ|/τ)``, its width τ (``tau_rho``)
              multiplied by ``width`` (1 = as trained)
  ``rect``    ``1/(2w)`` for ``|v−θ| < w``, else 0; ``w = width·θ``
  ``triangle``  ``max(0, 1 − |v−θ|/w)/w``
  ``sigmoid`` fast-sigmoid derivative ``1/(w (1 + |v−θ|/w)²)``
  ``bptr``    rate gradient (BPTR): the block's spikes are treated as a function of its mean
              input current; ``dL/dz[t] = mean_τ dL/ds[τ]`` where the neuron fired at least once,
              0 where it never fired (straight-through on the rate)
  ==========  =================================================================================

The forward pass is never changed (spikes are exactly the model's). Patches are applied by
:func:`gradient_mode` to the neuron *instances* during a forward pass and removed after it; the
autograd graph built inside keeps the chosen backward.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from neurodeploy.encoding.encoders import SURROGATES
from neurodeploy.errors import UsageError

NEURON_SURROGATES = ("slayer", "rect", "triangle", "sigmoid", "bptr")


@dataclass(frozen=True)
class GradientSpec:
    """Attack-time gradient of an SNN: encoder surrogate, neuron surrogate and its width."""

    encoder: str = "ste"
    neuron: str = "slayer"
    width: float = 1.0

    def __post_init__(self):
        if self.encoder not in SURROGATES:
            raise UsageError(f"unknown encoder surrogate '{self.encoder}' (known: {', '.join(SURROGATES)})")
        if self.neuron not in NEURON_SURROGATES:
            raise UsageError(f"unknown neuron surrogate '{self.neuron}' (known: {', '.join(NEURON_SURROGATES)})")
        if not self.width > 0:
            raise UsageError(f"surrogate width must be > 0, got {self.width}")

    @classmethod
    def parse(cls, text: "str | GradientSpec | None") -> "GradientSpec":
        """``ENC[+NEURON[:WIDTH]]``, e.g. ``ste``, ``spike``, ``ste+bptr``, ``ste+slayer:0.2``, ``ste+rect:0.5``."""
        if isinstance(text, GradientSpec):
            return text
        if not text:
            return cls()
        m = re.fullmatch(r"\s*(\w+)\s*(?:\+\s*(\w+)\s*(?::\s*([0-9.eE+-]+))?)?\s*", str(text))
        if not m:
            raise UsageError(f"bad gradient '{text}' (expected ENC[+NEURON[:WIDTH]], e.g. ste+slayer:0.5)")
        enc, neuron, width = m.group(1).lower(), (m.group(2) or "slayer").lower(), m.group(3)
        try:
            w = float(width) if width is not None else 1.0
        except ValueError:
            raise UsageError(f"bad gradient '{text}': width must be a number") from None
        return cls(enc, neuron, w)

    def __str__(self) -> str:
        if self.neuron == "bptr":
            return f"{self.encoder}+bptr"
        return f"{self.encoder}+{self.neuron}:{self.width:g}"


# The family the suite draws its surrogates from (``SUITE_SURROGATES`` in suite.py) as ranges:
# training attacks draw one member per batch so a model cannot harden against one gradient only.
FAMILY_WIDTHS = {"slayer": (0.2, 5.0), "rect": (0.1, 1.0), "triangle": (0.1, 1.0), "sigmoid": (0.1, 1.0)}
FAMILY_SPIKE_ONLY = 0.25  # probability of the spike-only encoder surrogate in a draw


def random_spec(generator: torch.Generator) -> GradientSpec:
    """One random gradient from the suite's family: encoder ``ste`` (p = 0.75) or ``spike``, a neuron
    surrogate shape uniform over :data:`NEURON_SURROGATES`, its width log-uniform in
    :data:`FAMILY_WIDTHS` (``bptr`` has none)."""
    u = torch.rand(3, generator=generator, dtype=torch.float64).tolist()
    encoder = "spike" if u[0] < FAMILY_SPIKE_ONLY else "ste"
    neuron = NEURON_SURROGATES[min(int(u[1] * len(NEURON_SURROGATES)), len(NEURON_SURROGATES) - 1)]
    if neuron == "bptr":
        return GradientSpec(encoder, neuron, 1.0)
    lo, hi = FAMILY_WIDTHS[neuron]
    return GradientSpec(encoder, neuron, float(lo * (hi / lo) ** u[2]))


# ---------------------------------------------------------------------------------- autograd
class _ShapedSpike(torch.autograd.Function):
    """Forward: Heaviside ``v ≥ θ`` (bit-identical to SLAYER's). Backward: a chosen surrogate shape."""

    @staticmethod
    def forward(ctx, voltage, theta: float, shape: str, w: float):
        ctx.save_for_backward(voltage)
        ctx.theta, ctx.shape, ctx.w = theta, shape, w
        return (voltage >= theta).to(voltage.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        u, w = (v - ctx.theta).abs(), ctx.w
        if ctx.shape == "rect":
            d = (u < w).to(v.dtype) / (2 * w)
        elif ctx.shape == "triangle":
            d = torch.clamp(1 - u / w, min=0) / w
        else:  # sigmoid
            d = 1.0 / (w * (1 + u / w) ** 2)
        return grad * d, None, None, None


class _RateGradient(torch.autograd.Function):
    """BPTR: forward the given spikes; backward ``mean_t dL/ds[t]`` on every step where the neuron fired."""

    @staticmethod
    def forward(ctx, current, spikes):
        fired = spikes.sum(-1, keepdim=True) > 0
        ctx.save_for_backward(fired)
        return spikes

    @staticmethod
    def backward(ctx, grad):
        (fired,) = ctx.saved_tensors
        g = grad.mean(-1, keepdim=True) * fired.to(grad.dtype)
        return g.expand_as(grad), None


# ---------------------------------------------------------------------------------- patching
def _neurons(clf):
    net = getattr(clf, "net", None)
    for block in getattr(net, "blocks", []):
        neuron = getattr(block, "neuron", None)
        if neuron is not None:
            yield neuron


def _shaped_spike(neuron, shape: str, width: float):
    theta = float(neuron.threshold + neuron.threshold_eps)
    w = width * float(neuron.threshold)

    def spike(voltage):
        s = _ShapedSpike.apply(voltage, theta, shape, w)
        return neuron.drop(s) if neuron.drop is not None else s

    return spike


def _rate_forward(neuron):
    cls_forward = type(neuron).forward

    def forward(current):
        with torch.no_grad():
            s = cls_forward(neuron, current.detach())
        return _RateGradient.apply(current, s)

    return forward


@contextmanager
def gradient_mode(clf, spec: GradientSpec | str | None):
    """Within the block, forward passes of ``clf`` build the backward that ``spec`` names.

    A no-op for the ANN twin (its gradient is exact; with a quantised input only the encoder
    surrogate applies). Restores every attribute on exit.
    """
    spec = GradientSpec.parse(spec)
    if getattr(clf, "kind", "") != "snn":
        if getattr(clf, "encoder", None) is None:
            yield
            return
        saved = clf.surrogate  # the quantised-input ANN: only its encoder has a surrogate
        try:
            clf.surrogate = spec.encoder
            yield
        finally:
            clf.surrogate = saved
        return
    saved_surrogate = clf.surrogate
    patched = []
    try:
        clf.surrogate = spec.encoder
        for n in _neurons(clf):
            if getattr(n, "persistent_state", False):
                raise UsageError("attacks need neurons without persistent state")
            if spec.neuron == "slayer":
                patched.append((n, "tau_rho", n.tau_rho))
                n.tau_rho = n.tau_rho * spec.width
            elif spec.neuron == "bptr":
                patched.append((n, "forward", None))
                n.forward = _rate_forward(n)
            else:
                patched.append((n, "spike", None))
                n.spike = _shaped_spike(n, spec.neuron, spec.width)
        yield
    finally:
        clf.surrogate = saved_surrogate
        for n, attr, old in reversed(patched):
            if old is None:
                n.__dict__.pop(attr, None)
            else:
                setattr(n, attr, old)
