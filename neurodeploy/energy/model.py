"""Modelled energy and latency per inference, from activity counts and a hardware profile.

Every number this module returns is **modelled** (counts x per-operation figures), never measured;
:class:`EnergyEstimate` carries ``label = "modelled"``, the figures used with their source and
quality, and the terms it left out because the profile has no figure for them.

SNN energy of one inference (sample ``n``), summed over dense/conv layers ``l``::

    E = sum_l [ synops_l * E_synop                              (effective synops by default)
              + silent_l * E_update_inactive + spiking_l * E_update_active
              + spikes_l * E_spike
              + memory_l ]                                      (CMOS profiles only, see below)
        + input_events * E_spike                                (spikes sent into the cores)
        + (steps + pipeline_steps) * E_sync
        + P_static * latency                                    ("chip": the whole chip leaks;
                                                                 "cores": scaled by cores used)

SNN latency: layers sit on separate cores and work in parallel within a step; a layer's work is
spread evenly over its cores; every step ends with a barrier::

    step_time[n, t] = max(step_min, max_l (synops_l[n,t] * t_synop + silent_l[n,t] * t_inactive
                                           + spiking_l[n,t] * t_active) / cores_l + t_sync)
    latency[n]      = sum over counted steps t < steps[n] of step_time[n, t]
                      + pipeline_steps * max(step_min, max_l neurons_l * t_inactive / cores_l + t_sync)

(``pipeline_steps`` from :func:`~neurodeploy.energy.counting.count_activity`: input-free steps,
e.g. one per synaptic layer on Lava, where every neuron still updates and every step synchronises).

ANN energy on a CMOS profile: ``MACs * E_mac + memory``. Memory (``memory="per-op"``, the default):
every MAC reads its weight and its input activation, every output is written once; ``"per-layer"``:
every weight and input read once, outputs written once (ideal reuse); ``"none"``: arithmetic only.
SNN memory on a CMOS profile (``"per-op"``): per synaptic op one weight read plus a read and a write
of the target's state; per neuron update a read and a write of ``u`` and ``v``. Access energy: the
profile's figure for the smallest SRAM (8 KB / 32 KB / 1 MB) holding the layer's weights (or state),
scaled linearly from ``mem_access_bits`` to the word width; writes cost as much as reads (proxy);
beyond 1 MB the 1 MB figure is used and DRAM is not modelled. Neuromorphic per-op figures already
include their on-core memory traffic, so no memory term is added for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodeploy.energy.counting import ActivityCounts, ann_macs
from neurodeploy.errors import UsageError
from neurodeploy.netx import NetxModel
from neurodeploy.hardware.profiles import Profile, load_profile
from neurodeploy.hardware.resources import layer_resources

LABEL = "modelled"
_SRAM = ((8 * 1024, "mem_read_8kb"), (32 * 1024, "mem_read_32kb"), (1024 * 1024, "mem_read_1mb"))


@dataclass
class LayerEnergy:
    """One layer's modelled energy per inference (mean over samples, joules) and busy time."""

    index: int
    kind: str
    ops: float
    synop_J: float = 0.0
    neuron_J: float = 0.0
    spike_J: float = 0.0
    memory_J: float = 0.0
    mac_J: float = 0.0
    busy_s: float | None = None
    cores: int = 1

    @property
    def total_J(self) -> float:
        return self.synop_J + self.neuron_J + self.spike_J + self.memory_J + self.mac_J

    def to_dict(self) -> dict:
        return {**{k: getattr(self, k) for k in ("index", "kind", "ops", "synop_J", "neuron_J", "spike_J",
                                                 "memory_J", "mac_J", "busy_s", "cores")},
                "total_J": self.total_J}


@dataclass
class EnergyEstimate:
    """Modelled energy (J) and latency (s) per inference, means over the samples counted."""

    profile: str
    network: str
    layers: list
    input_J: float
    sync_J: float
    static_J: float
    latency_s: float | None
    per_sample_J: np.ndarray = field(repr=False)
    per_sample_latency_s: np.ndarray | None = field(repr=False, default=None)
    steps: float | None = None
    figures: dict = field(default_factory=dict)
    excluded: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)
    label: str = LABEL

    @property
    def dynamic_J(self) -> float:
        return sum(l.total_J for l in self.layers) + self.input_J + self.sync_J

    @property
    def total_J(self) -> float:
        return self.dynamic_J + self.static_J

    def summary(self) -> str:
        lat = "latency not modelled" if self.latency_s is None else f"{self.latency_s * 1e6:.3g} us"
        return (f"{self.label} on {self.profile} ({self.network.upper()}): {self.total_J * 1e6:.4g} uJ "
                f"per inference ({self.dynamic_J * 1e6:.4g} uJ dynamic, {self.static_J * 1e6:.4g} uJ "
                f"static), {lat}")

    def to_dict(self) -> dict:
        return {"label": self.label, "profile": self.profile, "network": self.network,
                "total_J": self.total_J, "dynamic_J": self.dynamic_J, "static_J": self.static_J,
                "input_J": self.input_J, "sync_J": self.sync_J, "latency_s": self.latency_s,
                "steps": self.steps, "layers": [l.to_dict() for l in self.layers],
                "figures": self.figures, "excluded": list(self.excluded),
                "assumptions": list(self.assumptions)}


def _figure(profile: Profile, dotted: str, figures: dict):
    """SI value of ``energy.x``/``latency.x``, recording it (with source and quality) in ``figures``."""
    q = profile.quantity(dotted)
    if q is None:
        return None
    figures[dotted] = {"value": q.value, "unit": q.unit, "source": q.source, "quality": q.quality}
    return float(q.si)


def _access_J(profile: Profile, nbytes: float, word_bits: int, figures: dict) -> float:
    """Energy of one access of ``word_bits`` to the smallest SRAM holding ``nbytes`` (see module doc)."""
    key = next((k for size, k in _SRAM if nbytes <= size), _SRAM[-1][1])
    e = _figure(profile, "energy." + key, figures)
    width = _figure(profile, "energy.mem_access_bits", figures) or 64
    return e * word_bits / width


def _cores(model: NetxModel, profile: Profile, counts_layers: list, cores) -> list:
    if cores is None:
        table = {r.index: r.cores for r in layer_resources(model, profile)}
        return [table.get(l.index, 1) for l in counts_layers]
    if isinstance(cores, dict):
        return [int(cores.get(l.index, 1)) for l in counts_layers]
    return [int(c) for c in cores]


@dataclass
class _SnnFigures:
    """The per-operation figures an SNN estimate uses (SI units; None: not in the profile)."""

    e_syn: float | None
    e_in: float | None
    e_act: float | None
    e_spk: float | None
    e_sync: float | None
    p_static: float | None
    t_syn: float | None
    t_in: float | None
    t_act: float | None
    t_sync: float | None
    t_min: float | None
    mem_on: bool = False
    w_bits: int = 0
    s_bits: int = 0

    @property
    def has_latency(self) -> bool:
        return any(v is not None for v in (self.t_syn, self.t_in, self.t_sync, self.t_min))


def _check_snn_options(synops: str, static: str, memory: str) -> None:
    if synops not in ("effective", "all"):
        raise UsageError(f"synops must be 'effective' or 'all', got {synops!r}")
    if static not in ("chip", "cores"):
        raise UsageError(f"static must be 'chip' or 'cores', got {static!r}")
    if memory not in ("per-op", "none"):
        raise UsageError(f"memory must be 'per-op' or 'none' for an SNN, got {memory!r}")


def _snn_figures(prof: Profile, memory: str, fig: dict, excluded: list, assumptions: list) -> _SnnFigures:
    """Read the figures (recording them in ``fig``) and note what is left out or assumed."""
    e_syn = _figure(prof, "energy.synop", fig)
    e_in = _figure(prof, "energy.neuron_update_inactive", fig)
    e_act = _figure(prof, "energy.neuron_update_active", fig)
    if e_act is None and e_in is not None:
        e_act = e_in
        assumptions.append("spiking neuron updates costed as inactive ones (no active figure)")
    if e_in is None and e_act is not None:
        e_in = e_act
        assumptions.append("silent neuron updates costed as active ones (no inactive figure)")
    e_spk = _figure(prof, "energy.spike", fig)
    e_sync = _figure(prof, "energy.step_sync", fig)
    p_static = _figure(prof, "energy.static_power", fig)
    for name, val in (("synaptic ops", e_syn), ("neuron updates", e_in), ("spikes", e_spk),
                      ("per-step sync", e_sync), ("static power", p_static)):
        if val is None:
            excluded.append(f"{name} energy (no figure in profile {prof.name})")

    t_syn = _figure(prof, "latency.synop", fig)
    t_in = _figure(prof, "latency.neuron_update_inactive", fig)
    t_act = _figure(prof, "latency.neuron_update_active", fig)
    t_act = t_in if t_act is None else t_act
    t_in = t_act if t_in is None else t_in
    f = _SnnFigures(e_syn, e_in, e_act, e_spk, e_sync, p_static, t_syn, t_in, t_act,
                    _figure(prof, "latency.step_sync", fig), _figure(prof, "latency.step_min", fig))
    if not f.has_latency:
        excluded.append(f"latency (no time figures in profile {prof.name})")
        if p_static is not None:
            excluded.append("static energy (needs a latency)")

    f.mem_on = memory == "per-op" and prof.kind == "cmos"
    if memory == "per-op" and prof.kind != "cmos":
        assumptions.append("memory traffic is inside the neuromorphic per-op figures (no extra term)")
    if f.mem_on:
        f.w_bits = int(_figure(prof, "energy.weight_word_bits", fig))
        f.s_bits = int(_figure(prof, "energy.state_word_bits", fig) or f.w_bits)
        assumptions.append("CMOS memory: per synop 1 weight read + state read and write; per neuron "
                           "update read and write of u and v; writes cost as reads")
    return f


def _snn_layer_cost(model: NetxModel, prof: Profile, f: _SnnFigures, layer, n_cores: int, synops: str,
                    steps: np.ndarray, fig: dict) -> tuple:
    """One layer: ``(LayerEnergy, energy per sample (N,), busy time per sample and step (N, T) or None)``."""
    ops = layer.synops_effective if synops == "effective" else layer.synops
    ops_t = layer.synops_effective_t if synops == "effective" else layer.synops_t
    le = LayerEnergy(index=layer.index, kind=layer.kind, ops=float(ops.mean()), cores=n_cores)
    sample = np.zeros(len(steps))
    if f.e_syn is not None:
        sample += ops * f.e_syn
        le.synop_J = float((ops * f.e_syn).mean())
    if f.e_in is not None:
        ne = layer.silent_updates * f.e_in + layer.spiking_updates * f.e_act
        sample += ne
        le.neuron_J = float(ne.mean())
    if f.e_spk is not None:
        sample += layer.spikes * f.e_spk
        le.spike_J = float((layer.spikes * f.e_spk).mean())
    if f.mem_on:
        w = model.layers[layer.index].weight
        e_w = _access_J(prof, np.asarray(w).size * f.w_bits / 8, f.w_bits, fig)
        e_s = _access_J(prof, layer.neurons * 2 * f.s_bits / 8, f.s_bits, fig)
        me = ops * (e_w + 2 * e_s) + layer.neuron_updates * 4 * e_s
        sample += me
        le.memory_J = float(me.mean())
    busy = None
    if f.has_latency:
        spk_t = layer.spikes_t
        t_counted = np.arange(spk_t.shape[1])[None, :] < steps[:, None]
        busy = (ops_t * (f.t_syn or 0.0) + (layer.neurons - spk_t) * (f.t_in or 0.0)
                + spk_t * (f.t_act or 0.0)) / n_cores
        busy = np.where(t_counted, busy, 0.0)
        le.busy_s = float(busy.sum(1).mean())
    return le, sample, busy


def _snn_latency(counts: ActivityCounts, f: _SnnFigures, step_busy, per_layer_cores: list) -> np.ndarray:
    """Latency per sample: the busiest layer of each counted step plus the barrier, then pipeline steps."""
    n, steps, t_rec = counts.num_samples, counts.steps, counts.recorded_steps
    counted = np.arange(t_rec)[None, :] < steps[:, None]
    step_time = (step_busy if step_busy is not None else np.zeros((n, t_rec))) + (f.t_sync or 0.0)
    if f.t_min is not None:
        step_time = np.maximum(step_time, f.t_min)
    latency = np.where(counted, step_time, 0.0).sum(1)
    if counts.pipeline_steps:
        idle = max((l.neurons * (f.t_in or 0.0) / c for l, c in zip(counts.layers, per_layer_cores)),
                   default=0.0) + (f.t_sync or 0.0)
        idle = max(idle, f.t_min) if f.t_min is not None else idle
        latency = latency + counts.pipeline_steps * idle
    return latency


def _static_share(prof: Profile, static: str, per_layer_cores: list, assumptions: list) -> float:
    """The share of the chip whose static power is charged (1: the whole chip)."""
    if static != "cores":
        return 1.0
    chip = prof.limit("cores_per_chip")
    if not chip:
        assumptions.append("static='cores' needs cores_per_chip: whole chip used")
        return 1.0
    return min(1.0, sum(per_layer_cores) / chip)


def snn_energy(model: NetxModel, counts: ActivityCounts, profile, *, synops: str = "effective",
               static: str = "chip", memory: str = "per-op", cores=None) -> EnergyEstimate:
    """Modelled SNN energy and latency per inference (formulae in the module docstring).

    ``synops``: ``"effective"`` (skip zero weights) or ``"all"``; ``static``: ``"chip"`` or ``"cores"``;
    ``memory``: ``"per-op"`` or ``"none"`` (CMOS profiles only); ``cores``: per-layer cores (list, or
    dict by layer index), default the fewest that fit (:func:`~neurodeploy.hardware.resources.layer_resources`).
    """
    _check_snn_options(synops, static, memory)
    prof = load_profile(profile)
    fig: dict = {}
    excluded, assumptions = [], []
    f = _snn_figures(prof, memory, fig, excluded, assumptions)

    per_layer_cores = _cores(model, prof, counts.layers, cores)
    per_sample = np.zeros(counts.num_samples)
    layers, step_busy = [], None
    for layer, n_cores in zip(counts.layers, per_layer_cores):
        le, sample, busy = _snn_layer_cost(model, prof, f, layer, n_cores, synops, counts.steps, fig)
        if busy is not None:
            step_busy = busy if step_busy is None else np.maximum(step_busy, busy)
        per_sample += sample
        layers.append(le)

    input_J = 0.0
    if f.e_spk is not None:
        per_sample += counts.input_events * f.e_spk
        input_J = float((counts.input_events * f.e_spk).mean())
    hw_steps = counts.steps + counts.pipeline_steps
    sync_J = 0.0
    if f.e_sync is not None:
        per_sample += hw_steps * f.e_sync
        sync_J = float((hw_steps * f.e_sync).mean())

    latency, per_sample_latency, static_J = None, None, 0.0
    if f.has_latency:
        per_sample_latency = _snn_latency(counts, f, step_busy, per_layer_cores)
        latency = float(per_sample_latency.mean())
        if f.p_static is not None:
            scale = _static_share(prof, static, per_layer_cores, assumptions)
            per_sample += f.p_static * scale * per_sample_latency
            static_J = float((f.p_static * scale * per_sample_latency).mean())
            assumptions.append(f"static power x latency, {'whole chip' if scale == 1.0 else f'{scale:.3g} of the chip'}")
    assumptions.append(f"synaptic ops counted: {synops}")
    return EnergyEstimate(profile=prof.name, network="snn", layers=layers, input_J=input_J,
                          sync_J=sync_J, static_J=static_J, latency_s=latency, per_sample_J=per_sample,
                          per_sample_latency_s=per_sample_latency, steps=float(hw_steps.mean()),
                          figures=fig, excluded=excluded, assumptions=assumptions)


def ann_energy(model: NetxModel, profile, *, memory: str = "per-op",
               skip_zero_weights: bool = False) -> EnergyEstimate:
    """Modelled energy of the ANN twin (same topology, one pass) on a profile with MAC energy.

    ``memory``: ``"per-op"``, ``"per-layer"`` or ``"none"`` (module docstring). ``skip_zero_weights``
    counts only MACs with a nonzero weight. Latency is not modelled (no CMOS timing figures).
    """
    if memory not in ("per-op", "per-layer", "none"):
        raise UsageError(f"memory must be 'per-op', 'per-layer' or 'none', got {memory!r}")
    prof = load_profile(profile)
    fig: dict = {}
    e_mac = _figure(prof, "energy.mac", fig)
    if e_mac is None:
        raise UsageError(f"profile {prof.name} has no MAC energy: ANN energy needs a cmos profile "
                         f"(e.g. cmos45-fp32, cmos45-int8)")
    excluded = ["latency (no time figures for the ANN)", "static power", "DRAM traffic"]
    assumptions = [f"memory: {memory}"]
    mem_on = memory != "none"
    if mem_on:
        if prof.quantity("energy.mem_read_8kb") is None:
            raise UsageError(f"profile {prof.name} has no SRAM figures: use memory='none'")
        bits = int(_figure(prof, "energy.weight_word_bits", fig) or 32)
        assumptions.append("writes cost as reads; access energy scaled linearly to the word width")
    else:
        excluded.append("memory access")
    layers, total = [], 0.0
    for lm in ann_macs(model):
        macs = lm.macs_nonzero if skip_zero_weights else lm.macs
        le = LayerEnergy(index=lm.index, kind=lm.kind, ops=float(macs), mac_J=macs * e_mac)
        if mem_on:
            e_w = _access_J(prof, lm.params * bits / 8, bits, fig)
            e_a = _access_J(prof, max(lm.inputs, lm.outputs) * bits / 8, bits, fig)
            if memory == "per-op":
                le.memory_J = macs * (e_w + e_a) + lm.outputs * e_a
            else:
                le.memory_J = lm.params * e_w + lm.inputs * e_a + lm.outputs * e_a
        total += le.total_J
        layers.append(le)
    return EnergyEstimate(profile=prof.name, network="ann", layers=layers, input_J=0.0, sync_J=0.0,
                          static_J=0.0, latency_s=None, per_sample_J=np.array([total]), steps=None,
                          figures=fig, excluded=excluded, assumptions=assumptions)


def format_estimate(est: EnergyEstimate) -> str:
    """A small fixed-width table of one estimate (every number labelled modelled)."""
    lines = [f"{est.label} energy per inference on {est.profile} ({est.network.upper()})",
             f"{'layer':>5}  {'type':<5}  {'ops':>12}  {'energy uJ':>10}  {'cores':>5}"]
    for l in est.layers:
        lines.append(f"{l.index:>5}  {l.kind:<5}  {l.ops:>12,.0f}  {l.total_J * 1e6:>10.4g}  {l.cores:>5}")
    if est.network == "snn":
        lines.append(f"input spikes {est.input_J * 1e6:.4g} uJ, sync {est.sync_J * 1e6:.4g} uJ, "
                     f"static {est.static_J * 1e6:.4g} uJ")
    lines.append(est.summary())
    if est.excluded:
        lines.append("not included: " + "; ".join(est.excluded))
    qualities = sorted({f["quality"] for f in est.figures.values()})
    lines.append("figures used: " + ", ".join(f"{k} {v['value']} {v['unit']} ({v['quality']})"
                                               for k, v in est.figures.items())
                 + (f" — qualities: {', '.join(qualities)}" if qualities else ""))
    return "\n".join(lines)
