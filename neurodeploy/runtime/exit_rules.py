"""Early-exit rules on cumulative output spike counts (pure numpy / torch, no Lava).

A rule is written ``margin:M[,min=S]``, ``confidence:P[,min=S]`` or ``off`` (docs/steps.md).
At output step t (0-based) let ``c = sum_{t' <= t} counts[:, t']`` be the cumulative spike count
of every class, and ``n = t + 1`` the number of steps used so far.

* ``margin:M[,min=S]`` passes when ``top(c) - second(c) >= M`` and ``n >= S`` (S defaults to 1).
  With a single class ``second(c)`` is 0.
* ``confidence:P[,min=S]`` passes when the largest softmax probability of the raw cumulative
  counts (temperature 1, i.e. ``softmax(c)``) is at least P, and ``n >= S``. It is evaluated
  without ``exp`` of large numbers and with a fixed summation order, so every backend takes
  bit-identical decisions: ``max softmax(c) >= P  <=>  sum_j exp(c_j - max c) <= 1 / P``,
  the sum taken class by class in index order in float64, ``exp`` of the integer differences
  looked up in a table built with :func:`math.exp`.
* ``off`` never passes.

A sample exits at the first step whose rule passes, else after all T steps. ``exit_step`` is the
number of steps used (1..T). The prediction is ``argmax c`` at the exit step; ties go to the
lowest class index (so a sample with no output spike at all predicts class 0).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from neurodeploy.errors import UsageError

KINDS = ("off", "margin", "confidence")
_FORMS = "margin:M[,min=S] | confidence:P[,min=S] | off"
MAX_NUMBER = 2 ** 31 - 1  # M and S before T is known; ExitRule.check_steps bounds them by T


@dataclass(frozen=True)
class ExitRule:
    """A parsed early-exit rule; see the module docstring for the semantics."""

    kind: str = "off"
    margin: int = 0
    confidence: float = 0.0
    min_steps: int = 1

    # ------------------------------------------------------------------ parsing / printing
    @classmethod
    def parse(cls, text) -> "ExitRule":
        """Parse ``margin:M[,min=S]``, ``confidence:P[,min=S]`` or ``off``; UsageError if malformed."""
        if isinstance(text, ExitRule):
            return text
        if text is None:
            return cls()
        s = str(text).strip().lower()
        if s in ("off", "none", ""):
            return cls()
        kind, sep, rest = s.partition(":")
        kind = kind.strip()
        if kind not in ("margin", "confidence") or not sep:
            raise UsageError(f"bad --exit rule '{text}' (expected {_FORMS})")
        parts = [p.strip() for p in rest.split(",")]
        value, options = parts[0], parts[1:]
        min_steps = 1
        for opt in options:
            m = re.fullmatch(r"min\s*=\s*(\d+)", opt)
            if not m:
                raise UsageError(f"bad --exit rule option '{opt}' in '{text}' (only min=S, S >= 1)")
            min_steps = int(m.group(1))
            if not 1 <= min_steps <= MAX_NUMBER:
                raise UsageError(f"bad --exit rule '{text}': min must be in 1..{MAX_NUMBER}")
        if kind == "margin":
            if not re.fullmatch(r"\d+", value) or not 1 <= int(value) <= MAX_NUMBER:
                raise UsageError(f"bad --exit rule '{text}': margin M must be an integer in 1..{MAX_NUMBER} spikes")
            return cls(kind="margin", margin=int(value), min_steps=min_steps)
        try:
            p = float(value)
        except ValueError:
            raise UsageError(f"bad --exit rule '{text}': confidence P must be a number in (0, 1]") from None
        if not (0.0 < p <= 1.0):
            raise UsageError(f"bad --exit rule '{text}': confidence P must be in (0, 1]")
        return cls(kind="confidence", confidence=p, min_steps=min_steps)

    def check_steps(self, steps: int, option: str = "--exit") -> "ExitRule":
        """Refuse numbers no run of ``steps`` time steps can reach (one output spike per class per step)."""
        if self.kind == "margin" and self.margin > steps:
            raise UsageError(f"{option} '{self}': margin {self.margin} exceeds T={steps} (at most one spike per step)")
        if self.min_steps > steps:
            raise UsageError(f"{option} '{self}': min={self.min_steps} exceeds T={steps} steps")
        return self

    def __str__(self) -> str:
        if self.kind == "off":
            return "off"
        head = f"margin:{self.margin}" if self.kind == "margin" else f"confidence:{self.confidence:g}"
        return head + (f",min={self.min_steps}" if self.min_steps > 1 else "")

    def to_dict(self) -> dict:
        return {"rule": str(self), "kind": self.kind, "margin": self.margin,
                "confidence": self.confidence, "min_steps": self.min_steps}

    @property
    def is_off(self) -> bool:
        return self.kind == "off"

    # ------------------------------------------------------------------ evaluation
    def passes(self, cum: np.ndarray, steps_used: int) -> np.ndarray:
        """Rule value for cumulative counts ``cum`` (B, C) after ``steps_used`` steps: bool (B,).

        numpy version, used step by step inside the Lava simulation; bit-identical to
        :meth:`passes_torch`.
        """
        cum = np.asarray(cum, dtype=np.int64)
        if cum.ndim == 1:
            cum = cum[None]
        if self.kind == "off" or steps_used < self.min_steps:
            return np.zeros(cum.shape[0], dtype=bool)
        if self.kind == "margin":
            if cum.shape[1] == 1:
                return cum[:, 0] >= self.margin
            top2 = np.sort(cum, axis=1)[:, -2:]
            return (top2[:, 1] - top2[:, 0]) >= self.margin
        table = _exp_table(min(EXP_ZERO, int(cum.max(initial=0) - cum.min(initial=0))))
        d = np.minimum(cum.max(axis=1, keepdims=True) - cum, len(table) - 1)
        e = table[d]
        total = e[:, 0].copy()
        for j in range(1, e.shape[1]):
            total = total + e[:, j]
        return total <= 1.0 / self.confidence

    def passes_torch(self, cum: torch.Tensor, steps_used: int) -> torch.Tensor:
        """Torch version of :meth:`passes` for (B, C) integer counts; bool (B,)."""
        B = cum.shape[0]
        if self.kind == "off" or steps_used < self.min_steps:
            return torch.zeros(B, dtype=torch.bool, device=cum.device)
        cum = cum.to(torch.int64)
        if self.kind == "margin":
            if cum.shape[1] == 1:
                return cum[:, 0] >= self.margin
            top2 = torch.topk(cum, 2, dim=1).values
            return (top2[:, 0] - top2[:, 1]) >= self.margin
        span = int((cum.max() - cum.min()).item()) if cum.numel() else 0
        table = torch.from_numpy(_exp_table(min(EXP_ZERO, span))).to(cum.device)
        d = (cum.max(dim=1, keepdim=True).values - cum).clamp_max(len(table) - 1)
        e = table[d]
        total = e[:, 0].clone()
        for j in range(1, e.shape[1]):
            total = total + e[:, j]
        return total <= 1.0 / self.confidence


_EXP_CACHE: dict = {}
EXP_ZERO = 1100   # exp(-d) is exactly 0.0 in float64 for d >= 746: larger gaps (graded outputs) share it


def _exp_table(span: int) -> np.ndarray:
    """``exp(-d)`` for d = 0..span in float64, from :func:`math.exp` (deterministic)."""
    n = max(64, 1 << max(0, int(span)).bit_length())
    t = _EXP_CACHE.get(n)
    if t is None:
        t = np.array([math.exp(-d) for d in range(n + 1)], dtype=np.float64)
        _EXP_CACHE[n] = t
    return t


def predict(cum):
    """Argmax of cumulative counts (B, C) with ties to the lowest index (numpy or torch)."""
    if isinstance(cum, torch.Tensor):
        # torch.argmax returns the first maximal index; make it explicit and device-independent.
        C = cum.shape[1]
        best = cum.max(dim=1, keepdim=True).values
        idx = torch.arange(C, device=cum.device).expand_as(cum)
        return torch.where(cum == best, idx, torch.full_like(idx, C)).min(dim=1).values
    cum = np.asarray(cum)
    return np.argmax(cum, axis=1)  # numpy: first occurrence


def apply_exit_rule(counts, rule) -> tuple:
    """Vectorised early exit over a batch.

    ``counts``: per-step output spike counts (N, C, T), numpy or torch, integer-valued.
    Returns ``(exit_step, prediction)``, both int64 of shape (N,) and of the input's kind:
    ``exit_step`` is the number of steps used (1..T), ``prediction`` the argmax (lowest index on
    ties) of the cumulative counts at that step. No gradients are kept.
    """
    rule = ExitRule.parse(rule)
    as_numpy = not isinstance(counts, torch.Tensor)
    with torch.no_grad():
        c = torch.as_tensor(np.asarray(counts)) if as_numpy else counts.detach()
        if c.ndim != 3:
            raise UsageError(f"counts must be (N, C, T), got shape {tuple(c.shape)}")
        c = c.to(torch.int64)
        N, C, T = c.shape
        if T == 0:
            raise UsageError("counts have no time steps")
        cum = c.cumsum(dim=2)
        exit_step = torch.full((N,), T, dtype=torch.int64, device=c.device)
        if not rule.is_off:
            done = torch.zeros(N, dtype=torch.bool, device=c.device)
            for t in range(rule.min_steps - 1, T):
                hit = rule.passes_torch(cum[:, :, t], t + 1) & ~done
                exit_step[hit] = t + 1
                done |= hit
                if bool(done.all()):
                    break
        final = cum.gather(2, (exit_step - 1).view(N, 1, 1).expand(N, C, 1)).squeeze(2)
        pred = predict(final)
    if as_numpy:
        return exit_step.cpu().numpy(), pred.cpu().numpy().astype(np.int64)
    return exit_step, pred.to(torch.int64)
