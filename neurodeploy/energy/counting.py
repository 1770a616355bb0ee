"""Count what a spiking network did, per layer and per sample, from its recorded spike trains.

Inputs: the :class:`~neurodeploy.netx.NetxModel`, the input tensor ``(N, *input_shape, T)``
and one output tensor ``(N, *layer.shape, T)`` per dense/conv layer, in order (numpy arrays or torch
tensors; the emulator gives these with ``record=True``). An *event* is any nonzero entry (binary
spikes, or graded values such as a direct-coded input).

Counting rules (NeuroBench's, Nature Communications 2025, made exact):

- **steps**: step ``t`` of sample ``n`` is counted only if ``t < steps[n]`` (early exit: pass the
  step each sample exited at; default: every recorded step). The mask applies to every tensor.
- **input events** of a layer: events on its input (the network input, or the previous synaptic
  layer's spikes; flatten layers only reshape).
- **synaptic operations** (``synops``): one input event reaching one synapse (a recurrent layer's
  own spikes reaching its recurrent synapses count too, at the step they are emitted). Per event: the fan-out
  of its source, counted exactly at conv borders for any padding, stride, dilation and groups (taps
  over padding are not synapses) — the same number as summing ``conv2d(events, ones-kernel)`` over
  the output. ``synops_effective`` counts only synapses with a nonzero weight (zero weights do no
  work on event-driven hardware); this is NeuroBench's effective count.
- **spikes**: events emitted by the layer's neurons (one per neuron-step with a nonzero output).
- **neuron updates**: every neuron updates at every counted step (time-driven, as on Loihi):
  ``neurons x (steps[n] + pipeline_steps)``; ``spiking_updates`` are those that emitted a spike,
  ``silent_updates`` the rest (the active/inactive split of Loihi's energy table).
- **pipeline steps** (default 0): extra hardware steps per sample with no input, e.g. one per
  synaptic layer on Lava (each synapse buffers one step; ``runtime.emu`` indexes spikes by the input
  step that caused them, so an exit after ``e`` input steps costs ``e + L`` Lava steps). They add
  neuron updates here, and barriers and time in the energy model; no spikes or synaptic ops.
- **ANN twin** (:func:`ann_macs`): the same topology run once as an ANN: dense ``in x out`` MACs,
  conv ``output positions x kernel area x in_channels / groups`` per output channel (padding taps
  included, the usual convention); ``macs_nonzero`` skips zero weights.

NeuroBench-named metrics: :func:`footprint`, :func:`connection_sparsity`,
:func:`activation_sparsity`, :func:`synaptic_operations` (SNN) and
:func:`ann_synaptic_operations` (ANN). A layer whose input is not binary (e.g. direct coding) does
multiply-accumulates, not accumulates: its effective operations are reported as MACs.

Everything here is a count of the recorded activity; energies are in :mod:`neurodeploy.energy.model`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodeploy.netx import ConvLayer, NetxModel, RecurrentDenseLayer
from neurodeploy.hardware.geometry import geometry, recurrent_geometry, synaptic_inputs

BLOCK_VALUES = 2_000_000  # values per block of samples, bounding the memory of per-step products


def _chunk(per_sample: int) -> int:
    return max(1, BLOCK_VALUES // max(1, per_sample))


def _numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _steps(steps, n: int, t: int) -> np.ndarray:
    if steps is None:
        return np.full(n, t, dtype=np.int64)
    s = _numpy(steps).astype(np.int64).reshape(-1)
    if s.size == 1:
        s = np.full(n, int(s[0]), dtype=np.int64)
    if s.size != n:
        raise ValueError(f"steps has {s.size} entries for {n} samples")
    if np.any(s < 0):
        raise ValueError("steps must be >= 0")
    return np.minimum(s, t)


@dataclass
class LayerActivity:
    """Per-sample counts of one dense/conv layer; arrays are ``(N,)``, ``*_t`` are ``(N, T)``."""

    index: int
    kind: str
    neurons: int
    synapses: int
    input_binary: bool
    input_events: np.ndarray
    synops: np.ndarray
    synops_effective: np.ndarray
    spikes: np.ndarray
    neuron_updates: np.ndarray
    synops_t: np.ndarray = field(repr=False)
    synops_effective_t: np.ndarray = field(repr=False)
    spikes_t: np.ndarray = field(repr=False)

    @property
    def spiking_updates(self) -> np.ndarray:
        """Neuron updates that emitted a spike (Loihi's "active" updates)."""
        return self.spikes

    @property
    def silent_updates(self) -> np.ndarray:
        """Neuron updates without a spike (Loihi's "inactive" updates)."""
        return self.neuron_updates - self.spikes

    def mean(self) -> dict:
        """Mean per inference of every per-sample count."""
        return {"index": self.index, "kind": self.kind, "neurons": self.neurons,
                "synapses": self.synapses, "input_binary": self.input_binary,
                **{k: float(np.mean(getattr(self, k))) for k in
                   ("input_events", "synops", "synops_effective", "spikes", "neuron_updates",
                    "silent_updates")}}


@dataclass
class ActivityCounts:
    """Counts of a batch of inferences: one :class:`LayerActivity` per synaptic layer."""

    layers: list
    steps: np.ndarray
    input_events: np.ndarray
    input_size: int
    recorded_steps: int
    pipeline_steps: int = 0

    @property
    def num_samples(self) -> int:
        return int(self.steps.size)

    def total(self, name: str) -> np.ndarray:
        """Per-sample sum over layers of count ``name`` (e.g. ``"synops_effective"``)."""
        return np.sum([getattr(layer, name) for layer in self.layers], axis=0)

    def mean(self) -> dict:
        """Per-inference means: totals and per layer."""
        return {"samples": self.num_samples, "steps": float(self.steps.mean()),
                "input_events": float(self.input_events.mean()),
                **{k: float(self.total(k).mean()) for k in
                   ("synops", "synops_effective", "spikes", "neuron_updates", "silent_updates")},
                "layers": [layer.mean() for layer in self.layers]}


def _as_events(x, n_expected: int | None, size: int, t_expected: int | None, what: str):
    a = _numpy(x)
    if a.ndim < 2:
        raise ValueError(f"{what}: expected (N, ..., T), got shape {a.shape}")
    n, t = a.shape[0], a.shape[-1]
    if int(np.prod(a.shape[1:-1])) != size:
        raise ValueError(f"{what}: expected {size} values per step, got shape {a.shape}")
    if n_expected is not None and n != n_expected:
        raise ValueError(f"{what}: {n} samples, expected {n_expected}")
    if t_expected is not None and t != t_expected:
        raise ValueError(f"{what}: {t} steps, expected {t_expected}")
    return a.reshape(n, size, t)


def _events(a: np.ndarray, mask: np.ndarray, lo: int) -> np.ndarray:
    """Nonzero entries of block ``a`` (b, P, T) at counted steps (samples lo..lo+b-1)."""
    return (a != 0) & mask[lo:lo + a.shape[0], None, :]


def _layer_activity(index: int, layer, in_shape: tuple, src: np.ndarray, out: np.ndarray, mask: np.ndarray,
                    updates: np.ndarray) -> "LayerActivity":
    """One synaptic layer's counts from its input events ``src`` and its output ``out`` (N, ·, T).
    A recurrent layer's own spikes also reach its recurrent synapses: those synaptic operations are
    counted at the step the spike is emitted (it arrives one step later, as in Lava)."""
    geo = geometry(layer, in_shape)
    rec = recurrent_geometry(layer) if isinstance(layer, RecurrentDenseLayer) else None
    n, t_rec = src.shape[0], src.shape[-1]
    fan, fan_nz = geo.fanout.astype(np.float64), geo.fanout_nonzero.astype(np.float64)
    rec_fan = rec_nz = None
    if rec is not None:   # the recurrent columns of [input | own output]
        rec_fan, rec_nz = (f[geo.fanout.size:].astype(np.float64) for f in (rec.fanout, rec.fanout_nonzero))
    syn_t, syn_nz_t = np.zeros((n, t_rec)), np.zeros((n, t_rec))
    spk_t = np.zeros((n, t_rec), dtype=np.int64)
    ev_in = np.zeros(n, dtype=np.int64)
    binary = True
    c = _chunk(max(src.shape[1], out.shape[1]) * t_rec)
    for lo in range(0, n, c):
        blk = src[lo:lo + c]
        ev = _events(blk, mask, lo).astype(np.float64)                  # (b, P, T)
        ev_in[lo:lo + c] = ev.sum((1, 2)).astype(np.int64)
        syn_t[lo:lo + c] = np.einsum("bpt,p->bt", ev, fan)
        syn_nz_t[lo:lo + c] = np.einsum("bpt,p->bt", ev, fan_nz)
        own = _events(out[lo:lo + c], mask, lo)
        spk_t[lo:lo + c] = own.sum(1)
        if rec_fan is not None:
            own = own.astype(np.float64)
            syn_t[lo:lo + c] += np.einsum("bpt,p->bt", own, rec_fan)
            syn_nz_t[lo:lo + c] += np.einsum("bpt,p->bt", own, rec_nz)
        if binary:
            nzv = blk[blk != 0]
            binary = bool(np.all(nzv == 1))
    neurons = int(np.prod(layer.shape))
    return LayerActivity(
        index=index, kind="conv" if isinstance(layer, ConvLayer) else "dense", neurons=neurons,
        synapses=(rec or geo).synapses, input_binary=binary, input_events=ev_in,
        synops=np.rint(syn_t.sum(1)).astype(np.int64),
        synops_effective=np.rint(syn_nz_t.sum(1)).astype(np.int64),
        spikes=spk_t.sum(1), neuron_updates=neurons * updates,
        synops_t=syn_t, synops_effective_t=syn_nz_t, spikes_t=spk_t)


def count_activity(model: NetxModel, inputs, outputs: list, steps=None,
                   pipeline_steps: int = 0) -> ActivityCounts:
    """Count events, synaptic operations, spikes and neuron updates (rules in the module docstring).

    ``inputs`` ``(N, *input_shape, T)``; ``outputs`` one ``(N, *layer.shape, T)`` per dense/conv layer
    (``runtime.emu.emulate(..., record=True).layers``); ``steps`` None, an int, or ``(N,)`` input
    steps actually used per sample (early exit); ``pipeline_steps`` extra input-free steps per sample.
    """
    if pipeline_steps < 0:
        raise ValueError("pipeline_steps must be >= 0")
    syn = synaptic_inputs(model)
    outputs = list(outputs)
    if len(outputs) != len(syn):
        raise ValueError(f"got {len(outputs)} output spike tensors for {len(syn)} synaptic layers")
    x = _as_events(inputs, None, int(np.prod(model.input_shape)), None, "inputs")
    n, _, t_rec = x.shape
    s = _steps(steps, n, t_rec)
    mask = np.arange(t_rec)[None, :] < s[:, None]  # (N, T)
    outs = [_as_events(o, n, int(np.prod(layer.shape)), t_rec, f"outputs[{k}] (layer {i})")
            for k, ((i, layer, _), o) in enumerate(zip(syn, outputs))]

    input_events = np.zeros(n, dtype=np.int64)
    c = _chunk(x.shape[1] * t_rec)
    for lo in range(0, n, c):
        input_events[lo:lo + c] = _events(x[lo:lo + c], mask, lo).sum((1, 2))
    layers = [_layer_activity(index, layer, in_shape, x if k == 0 else outs[k - 1], outs[k], mask,
                              s + int(pipeline_steps))
              for k, (index, layer, in_shape) in enumerate(syn)]
    return ActivityCounts(layers=layers, steps=s, input_events=input_events,
                          input_size=int(np.prod(model.input_shape)), recorded_steps=int(t_rec),
                          pipeline_steps=int(pipeline_steps))


# ------------------------------------------------------------------------------------ ANN twin
@dataclass
class LayerMacs:
    """One layer of the ANN twin: MACs per inference (one pass), with nonzero weights, params."""

    index: int
    kind: str
    macs: int
    macs_nonzero: int
    params: int
    outputs: int
    inputs: int


def ann_macs(model: NetxModel) -> list:
    """MACs of the same topology run once as an ANN (rules in the module docstring)."""
    out = []
    for index, layer, in_shape in synaptic_inputs(model):
        w = np.asarray(layer.weight)
        params = int(w.size) + (int(np.asarray(layer.bias).size) if layer.bias is not None else 0)
        n_out = int(np.prod(layer.shape))
        if isinstance(layer, ConvLayer):
            positions = int(layer.shape[1]) * int(layer.shape[2])
            macs = positions * int(w.size)  # = positions * out * (in/groups) * kH * kW
            nz = positions * int(np.count_nonzero(w))
            kind = "conv"
        else:
            macs, nz, kind = int(w.size), int(np.count_nonzero(w)), "dense"
        out.append(LayerMacs(index=index, kind=kind, macs=macs, macs_nonzero=nz, params=params,
                             outputs=n_out, inputs=int(np.prod(in_shape))))
    return out


# ----------------------------------------------------------------------- NeuroBench-named metrics
def footprint(model: NetxModel, bytes_per_weight: float = 1, bytes_per_param: float = 4) -> int:
    """Footprint in bytes: weights at ``bytes_per_weight`` (1: SLAYER's 8-bit mantissa) plus biases
    and the three neuron parameters per layer (iDecay, vDecay, vThMant) at ``bytes_per_param``."""
    total = 0.0
    for _, layer, _ in synaptic_inputs(model):
        total += np.asarray(layer.weight).size * bytes_per_weight
        extra = 3 + (np.asarray(layer.bias).size if layer.bias is not None else 0)
        total += extra * bytes_per_param
    return int(np.ceil(total))


def connection_sparsity(model: NetxModel) -> float:
    """Fraction of zero weights over all dense/conv weights."""
    sizes = [(np.asarray(l.weight).size, np.count_nonzero(l.weight)) for _, l, _ in synaptic_inputs(model)]
    total = sum(s for s, _ in sizes)
    return 0.0 if total == 0 else 1.0 - sum(nz for _, nz in sizes) / total


def activation_sparsity(counts: ActivityCounts) -> float:
    """Fraction of neuron-steps (synaptic layers' neurons, counted steps) without a spike."""
    updates = float(counts.total("neuron_updates").sum())
    return 0.0 if updates == 0 else 1.0 - float(counts.total("spikes").sum()) / updates


@dataclass
class SynapticOperations:
    """NeuroBench SynapticOperations, mean per inference.

    ``effective_acs``: effective ops of layers with binary input; ``effective_macs``: of layers with
    non-binary input (SNN) or nonzero-weight MACs (ANN); ``dense``: every synapse at every step.
    """

    effective_macs: float
    effective_acs: float
    dense: float


def synaptic_operations(counts: ActivityCounts) -> SynapticOperations:
    """SNN synaptic operations from recorded activity (zero weights excluded from effective ops)."""
    macs = sum((float(l.synops_effective.mean()) for l in counts.layers if not l.input_binary), 0.0)
    acs = sum((float(l.synops_effective.mean()) for l in counts.layers if l.input_binary), 0.0)
    dense = sum((float((l.synapses * counts.steps).mean()) for l in counts.layers), 0.0)
    return SynapticOperations(effective_macs=macs, effective_acs=acs, dense=dense)


def ann_synaptic_operations(model: NetxModel) -> SynapticOperations:
    """ANN twin: effective MACs skip zero weights (activations are not known here); dense = all MACs."""
    layers = ann_macs(model)
    return SynapticOperations(effective_macs=float(sum(l.macs_nonzero for l in layers)),
                              effective_acs=0.0, dense=float(sum(l.macs for l in layers)))
