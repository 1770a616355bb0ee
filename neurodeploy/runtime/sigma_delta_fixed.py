"""Lava's fixed-point sigma-delta models for NetX ``SDNN`` neurons, as pure torch functions.

Mirrors ``lava/proc/sdn/models.py`` (lava-nc 0.10.0) as NetX 0.6 builds them (``spike_exp = 6``,
``state_exp = 6``, ReLU, no cumulative error; threshold and bias scaled by ``2**12``)::

    Sigma       sigma += a ;                               s = sigma
    SigmaDelta  sigma += a ;  new = max(sigma + bias, 0) ;  s, residue = delta(new)
    Delta       new = a << 12 ;                             s, residue = delta(new)

    delta(new):  d = new - act + residue
                 s_scaled = d if |d| >= vth else 0 ;  residue = d - s_scaled ;  act = new
                 s = s_scaled >> 6                      (arithmetic shift)

Lava keeps every state in int32 numpy arrays; the sums are wrapped to 32 bits here the same way.
Outputs are graded (int32) messages: the next synapse multiplies them by its weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from neurodeploy.runtime.cuba_fixed import wrap_int

SPIKE_EXP = 6
STATE_EXP = 6
SCALE_SHIFT = SPIKE_EXP + STATE_EXP      # 12
MODES = ("sigma", "sigma_delta", "delta")


@dataclass(frozen=True)
class SigmaDeltaFixed:
    """Integer parameters of one sigma-delta layer: ``mode`` (see module docstring), ``vth`` = vThMant << 12."""

    mode: str
    vth: int

    @classmethod
    def from_neuron(cls, neuron, is_input: bool = False) -> "SigmaDeltaFixed":
        mode = "delta" if is_input else ("sigma" if neuron.sigma_output else "sigma_delta")
        return cls(mode=mode, vth=int(neuron.v_th_mant) << SCALE_SHIFT)


def sd_bias(bias) -> torch.Tensor | None:
    """Effective SigmaDelta bias: ``int32(int(bias)) << 12`` wrapped to int32 (None if absent/zero)."""
    import numpy as np

    if bias is None:
        return None
    b = np.asarray(bias).astype(int).astype(np.int32).astype(np.int64)
    if not np.any(b):
        return None
    return wrap_int(torch.from_numpy(b) << SCALE_SHIFT, 32)


def sigma_delta_step(sigma: torch.Tensor, act: torch.Tensor, residue: torch.Tensor, a: torch.Tensor,
                     p: SigmaDeltaFixed, bias: torch.Tensor | None = None) -> tuple:
    """One Lava step on int64 tensors; returns ``(sigma, act, residue, s)``. Pure."""
    if p.mode == "sigma":
        sigma = wrap_int(sigma + a, 32)
        return sigma, act, residue, sigma
    if p.mode == "delta":
        new = wrap_int(a << SCALE_SHIFT, 32)
    else:
        sigma = wrap_int(sigma + a, 32)
        new = sigma if bias is None else wrap_int(sigma + bias, 32)
        new = new.clamp_min(0)
    d = wrap_int(new - act + residue, 32)
    s = torch.where(d.abs() >= p.vth, d, torch.zeros_like(d))
    return sigma, new, d - s, s >> STATE_EXP
