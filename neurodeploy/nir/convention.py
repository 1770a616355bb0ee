"""How NIR's continuous-time neurons map to NetX's discrete fixed-point CUBA neuron, and back.

NIR carries no time step. We use the common convention (snnTorch's export/import, the NIR
repository's NetX example): ``dt = 1e-4`` and one NIR time step is one Lava step.

NIR's ``CubaLIF`` (``τ_syn·dI/dt = −I + w_in·x``, ``τ_mem·dv/dt = (v_leak − v) + r·I``,
spike when ``v > v_threshold``, then ``v = v_reset``) stepped with forward Euler, the current
first and the voltage from the new current (as snnTorch and Lava order them)::

    I[t] = (1 − dt/τ_syn)·I[t−1] + (dt·w_in/τ_syn)·x[t]
    v[t] = (1 − dt/τ_mem)·v[t−1] + (dt/τ_mem)·v_leak + (dt·r/τ_mem)·I[t]
    s[t] = v[t] > v_threshold ;  v[t] = v_reset where s[t]

With ``w_in = τ_syn/dt`` and ``r = τ_mem/dt`` both input gains are 1 and this is exactly
Lava's CUBA neuron (``neurodeploy.netx.layers``) read in floats::

    current decay  iDecay  = 4096·dt/τ_syn        (12 bit)
    voltage decay  vDecay  = 4096·dt/τ_mem        (12 bit)
    weight         w_float = w_file / 64          (Lava adds w·2**6 to u)
    threshold      θ       = vThMant / 64         (Lava compares v > vThMant·2**6)
    bias           v_leak  = (bias / 64) / (dt/τ_mem)   (Lava adds bias·2**6 to v every step)

Both NIR and Lava fire on ``v > θ`` (strictly; SLAYER's training forward pass uses ``v ≥ θ``):
the converters reproduce Lava's and NIR's ``>``. ``LIF`` is the case ``iDecay = 4096`` (the
current lasts one step), ``IF`` the case ``iDecay = 4096, vDecay = 0``.

A decay of 0 (a perfect integrator, τ = ∞) cannot be written with a finite input gain in NIR's
continuous form; it is written as ``τ = 2**20·dt`` (decay 2**-20 per step, which quantises back
to 0).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

DECAY_UNITY = 4096
WEIGHT_SCALE = 64
THRESHOLD_SCALE = 64
INFINITE_TAU_STEPS = 2.0 ** 20          # "no decay" written as τ = 2**20·dt
METADATA_KEY = "neurodeploy_convention"   # graph metadata: JSON text
CARD_KEY = "neurodeploy_model_card"        # graph metadata: the NetX model card, JSON text


@dataclass(frozen=True)
class Convention:
    """The time step and the fixed <-> float scales of the NIR <-> NetX mapping (module docstring)."""

    dt: float = 1e-4
    decay_unity: int = DECAY_UNITY
    weight_scale: int = WEIGHT_SCALE
    threshold_scale: int = THRESHOLD_SCALE

    # ---------------------------------------------------------------- decays <-> time constants
    def tau(self, decay_int: int) -> float:
        """Time constant of a 12-bit decay: ``τ = dt / (decay/4096)`` (``2**20·dt`` for decay 0)."""
        d = int(decay_int) / self.decay_unity
        return self.dt * INFINITE_TAU_STEPS if d == 0 else self.dt / d

    def decay_fraction(self, tau) -> np.ndarray:
        """``dt/τ`` per neuron (float64); 0 for ``τ ≥ 2**20·dt``, this convention's "no decay"."""
        tau = np.asarray(tau, dtype=np.float64)
        return np.where(tau >= self.dt * INFINITE_TAU_STEPS * (1 - 1e-9), 0.0, self.dt / tau)

    def decay_int(self, fraction: float) -> int:
        """A decay fraction quantised to 12 bits (round to nearest)."""
        return int(np.rint(float(fraction) * self.decay_unity))

    # ---------------------------------------------------------------- fixed <-> float
    def weight_float(self, w_file) -> np.ndarray:
        return np.asarray(w_file, dtype=np.float64) / self.weight_scale

    def threshold_float(self, v_th_mant: int) -> float:
        return int(v_th_mant) / self.threshold_scale

    def metadata(self) -> dict:
        """What the exporter writes into the graph's metadata (strings, so every NIR reader keeps them)."""
        return {METADATA_KEY: json.dumps({**asdict(self),
                                          "euler": "current first; v uses the new current",
                                          "spike": "v > v_threshold, then v = v_reset",
                                          "w_float": "w_file / 64", "threshold": "vThMant / 64",
                                          "decay": "dt / tau = iDecay / 4096 (iDecay 0: tau = 2**20 dt)"},
                                         sort_keys=True)}

    @classmethod
    def from_metadata(cls, metadata) -> "Convention":
        """The convention a neurodeploy-written graph records; the default for any other graph."""
        text = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
        if isinstance(text, bytes):
            text = text.decode("utf8", "replace")
        try:
            d = json.loads(text) if text else {}
            dt = float(d.get("dt", cls.dt))
        except (ValueError, TypeError, AttributeError):
            return cls()
        return cls(dt=dt) if np.isfinite(dt) and dt > 0 else cls()
