"""Float reference simulation of a NIR graph: forward Euler in the convention of
:mod:`neurodeploy.nir.convention` (``dt`` from the graph's metadata, else 1e-4), float64.

Per step t, for every node of the chain in order: linear nodes map the input, neuron nodes step
(current first, the voltage from the new current)::

    CubaLIF  I = (1 − dt/τ_syn)·I + (dt·w_in/τ_syn)·x
             v = (1 − dt/τ_mem)·v + (dt/τ_mem)·v_leak + (dt·r/τ_mem)·I
    LIF      v = (1 − dt/τ)·v + (dt/τ)·v_leak + (dt·r/τ)·x
    IF       v = v + dt·r·x
    all      s = v > v_threshold ;  v = v_reset where s   (v within 1e-6·θ of θ counts as equal)

A neuron's own recurrent weight (a 2-cycle, as snnTorch's RLeaky/RSynaptic export) adds
``W_rec·s[t−1]`` to its input ``x[t]``. Every sample starts from zero state. This simulates the graph as NIR states it; it shares no
code with the importer's folding and quantisation, so comparing it with the emulated NetX
artifact (:mod:`neurodeploy.nir.verify`) checks them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from neurodeploy.nir.convention import Convention
from neurodeploy.nir.graph import NEURON_TYPES, NirImportError, input_shape, walk


TIE = 1e-6   # relative: |v − θ| ≤ TIE·|θ| counts as v == θ (no spike)


@dataclass
class ReferenceResult:
    """``spikes``: output (N, *out, T) float64 0/1; ``layers``: neuron node name -> (N, *shape, T) spikes."""

    spikes: torch.Tensor
    layers: dict


def _t(node, attr):
    return torch.as_tensor(np.asarray(getattr(node, attr), dtype=np.float64))


def _pair(v):
    a = np.asarray(v).reshape(-1)
    return (int(a[0]), int(a[0])) if a.size == 1 else (int(a[0]), int(a[1]))


def _linear(name: str, node, x: torch.Tensor) -> torch.Tensor:
    """x: (M, *shape) -> (M, *out) for one linear node."""
    t = type(node).__name__
    if t == "Flatten":
        start = int(getattr(node, "start_dim", 0))
        end = int(getattr(node, "end_dim", -1))
        nd = x.ndim - 1
        start = start + nd if start < 0 else start
        end = end + nd if end < 0 else end
        return x.flatten(start + 1, end + 1)
    if t in ("Affine", "Linear"):
        y = x.reshape(x.shape[0], -1) @ _t(node, "weight").t()
        return y + _t(node, "bias") if t == "Affine" else y
    if t == "Conv2d":
        pad = node.padding if isinstance(node.padding, str) else _pair(node.padding)
        b = getattr(node, "bias", None)
        bias = None if b is None or np.asarray(b).size == 0 else _t(node, "bias").reshape(-1)
        return F.conv2d(x, _t(node, "weight"), bias, _pair(node.stride), pad, _pair(node.dilation),
                        int(np.asarray(node.groups).reshape(-1)[0]))
    if t in ("SumPool2d", "AvgPool2d"):
        k, s, p = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
        y = F.avg_pool2d(x, k, s, p, count_include_pad=True)
        return y * (k[0] * k[1]) if t == "SumPool2d" else y
    raise NirImportError(f"node '{name}': the reference simulation has no model of {t}")


class _Neuron:
    """Per-neuron constants of a neuron node, broadcast to the layer shape."""

    def __init__(self, name, node, shape, dt):
        t = type(node).__name__
        full = lambda a: torch.broadcast_to(_t(node, a), shape).clone()  # noqa: E731
        self.synaptic = t == "CubaLIF"
        if t == "CubaLIF":
            self.a_i, self.g_i = 1 - dt / full("tau_syn"), dt * full("w_in") / full("tau_syn")
            self.a_v, self.leak = 1 - dt / full("tau_mem"), dt / full("tau_mem") * full("v_leak")
            self.g_v = dt * full("r") / full("tau_mem")
        elif t == "LIF":
            self.a_v, self.leak = 1 - dt / full("tau"), dt / full("tau") * full("v_leak")
            self.g_v = dt * full("r") / full("tau")
        elif t == "IF":
            self.a_v, self.leak, self.g_v = torch.ones(shape, dtype=torch.float64), 0.0, dt * full("r")
        else:
            raise NirImportError(f"node '{name}': the reference simulation has no model of {t}")
        self.theta = full("v_threshold")
        # Graphs carry float32 parameters (τ, w_in, r: ~6e-8 relative), so v can land a hair above θ
        # where exact arithmetic gives v == θ (common with weights on a grid): within TIE of θ is "equal".
        self.theta_tie = self.theta + TIE * self.theta.abs()
        reset = getattr(node, "v_reset", None)
        self.reset = torch.zeros(shape, dtype=torch.float64) if reset is None else full("v_reset")

    def run(self, x: torch.Tensor, recurrent=None) -> torch.Tensor:
        """x: (T, N, *shape) -> spikes (T, N, *shape); ``recurrent(s)`` adds W_rec·s[t−1] to the input."""
        i = torch.zeros_like(x[0])
        v = torch.zeros_like(x[0])
        s = torch.zeros_like(x[0])
        out = torch.empty_like(x)
        for t in range(x.shape[0]):
            xt = x[t] if recurrent is None else x[t] + recurrent(s).reshape(x[t].shape)
            if self.synaptic:
                i = self.a_i * i + self.g_i * xt
                drive = i
            else:
                drive = xt
            v = self.a_v * v + self.leak + self.g_v * drive
            fired = v > self.theta_tie
            v = torch.where(fired, self.reset, v)
            s = fired.to(x.dtype)
            out[t] = s
        return out


def simulate(graph, spikes, convention: Convention | None = None) -> ReferenceResult:
    """Run ``spikes`` (N, *input_shape, T) through the graph; returns output and per-neuron-node spikes."""
    conv = convention or Convention.from_metadata(getattr(graph, "metadata", {}) or {})
    walked = walk(graph)
    nodes = walked.nodes
    x = torch.as_tensor(np.asarray(spikes) if not isinstance(spikes, torch.Tensor) else spikes).to(torch.float64)
    in_shape = input_shape(*nodes[0])
    if tuple(x.shape[1:-1]) != in_shape:
        raise NirImportError(f"input of shape {tuple(x.shape)} does not match the graph's input (N, "
                             f"{', '.join(map(str, in_shape))}, T)")
    N, T = x.shape[0], x.shape[-1]
    seq = x.permute(x.ndim - 1, *range(x.ndim - 1))          # (T, N, *shape)
    layers = {}
    with torch.no_grad():
        for name, node in nodes[1:-1]:
            flat = seq.reshape(T * N, *seq.shape[2:])
            if type(node).__name__ in NEURON_TYPES:
                rec = walked.recurrent.get(name)
                feedback = None if rec is None else (lambda s, r=rec: _linear(r[0], r[1], s))
                seq = _Neuron(name, node, tuple(seq.shape[2:]), conv.dt).run(seq, feedback)
                layers[name] = seq.permute(*range(1, seq.ndim), 0)
            else:
                y = _linear(name, node, flat)
                seq = y.reshape(T, N, *y.shape[1:])
    out = seq.permute(*range(1, seq.ndim), 0).reshape(N, -1, T)
    return ReferenceResult(spikes=out, layers=layers)
