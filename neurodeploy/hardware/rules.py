"""Design rules: one small named function per hardware rule, each returning its violations.

Every rule has the signature ``rule(model, table, profile) -> list[Violation]`` where ``table`` is
the resource table of :func:`neurodeploy.hardware.resources.layer_resources`. A rule that needs a
limit the profile does not give is not run; :func:`check_all` reports it as unchecked instead.
Rules never stop at the first problem: every layer is checked and every violation returned.

The neuron mapping checked is NetX's CUBA -> Lava LIF: ``du = iDecay - 1``, ``dv = vDecay``,
``vth = vThMant`` (``<< 6`` in hardware), ``bias_mant = bias`` (see ``lava/lib/dl/netx/hdf5.py``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from neurodeploy.netx import CubaNeuron, NetxModel, neuron_of


@dataclass
class Violation:
    """One broken rule: ``rule`` name, ``layer`` index in ``model.layers`` (None: whole model)."""

    rule: str
    layer: int | None
    message: str

    def __str__(self) -> str:
        where = "model" if self.layer is None else f"layer {self.layer}"
        return f"[{self.rule}] {where}: {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


RULES: list = []  # (name, function, needed limits), in the order they are reported


def rule(name: str, needs: tuple = ()):
    """Register a rule function under ``name``; it runs only when the profile has all ``needs``."""

    def deco(fn):
        fn.rule_name = name
        fn.needs = tuple(needs)
        RULES.append(fn)
        return fn

    return deco


def _layers(model: NetxModel, table: list):
    """Pairs (resource row, layer object)."""
    return [(row, model.layers[row.index]) for row in table]


def _uint_max(bits: int) -> int:
    return (1 << bits) - 1


# --------------------------------------------------------------------------------- precision
@rule("weight_precision", needs=("weight_bits",))
def weight_precision(model, table, profile) -> list:
    """Weights must be integers whose mantissa fits ``weight_bits`` at their best exponent."""
    bits = int(profile.limit("weight_bits"))
    out = []
    for row, _ in _layers(model, table):
        wf = row.weights
        if not wf.integer:
            out.append(Violation("weight_precision", row.index,
                                 f"weights are not integers (range {wf.w_min:g}..{wf.w_max:g}); "
                                 "quantise before export"))
        elif wf.mantissa_bits > bits:
            out.append(Violation("weight_precision", row.index,
                                 f"weights need a {wf.mantissa_bits}-bit {wf.sign_mode} mantissa "
                                 f"(x 2^{wf.exponent}), target has {bits} bits"))
    return out


@rule("weight_exponent", needs=("weight_bits", "weight_exp_min", "weight_exp_max"))
def weight_exponent(model, table, profile) -> list:
    """Some exponent in [weight_exp_min, weight_exp_max] must hold the weights in ``weight_bits``.

    Convention (Lava ``Dense``): weight = mantissa * 2**(weight_exp + is_mixed).
    """
    bits = int(profile.limit("weight_bits"))
    lo, hi = int(profile.limit("weight_exp_min")), int(profile.limit("weight_exp_max"))
    out = []
    for row, _ in _layers(model, table):
        wf = row.weights
        if not wf.integer or wf.sign_mode == "zero" or wf.mantissa_bits > bits:
            continue  # non-integer / too many mantissa bits: reported by weight_precision
        # exact shifts s (weight = m * 2**s, m within `bits`) run from tz + mantissa - bits up to tz
        need_lo = wf.exponent + wf.mantissa_bits - bits - wf.mixed
        need_hi = wf.exponent - wf.mixed
        if need_lo > hi:
            out.append(Violation("weight_exponent", row.index,
                                 f"largest weight {max(abs(wf.w_min), abs(wf.w_max)):g} needs exponent >= "
                                 f"{need_lo} for a {bits}-bit mantissa, above the maximum {hi}"))
        elif need_hi < lo:
            out.append(Violation("weight_exponent", row.index,
                                 f"weights need exponent <= {need_hi} to stay exact, below the minimum {lo}"))
    return out


@rule("netx_weight_range", needs=("weight_bits",))
def netx_weight_range(model, table, profile) -> list:
    """Dense weights must reach Lava unchanged through NetX's loader (what ``run`` executes).

    NetX casts weights to int, picks a per-layer exponent (``optimize_weight_bits``: scales the
    weights toward the 8-bit range and records the shift), then Lava's fixed-point ``Dense``
    clips to 8 bits and truncates the low bits it cannot hold
    (:func:`neurodeploy.runtime.cuba_fixed.lava_dense_weights`, bit-exact to Lava). Odd or small
    weights survive; weights beyond the 8-bit range at the chosen exponent (mixed signs: outside
    [-256, 254]) are clipped. Conv layers load their integer kernels as stored (no exponent): the
    chip's weight width is :func:`weight_precision`'s rule.
    """
    from neurodeploy.errors import BadInputError
    from neurodeploy.runtime.cuba_fixed import lava_dense_weights

    out = []
    for row, layer in _layers(model, table):
        if row.kind != "dense" or not row.weights.integer:
            continue  # non-integer weights: reported by weight_precision
        w = np.asarray(layer.weight, dtype=np.float64)
        try:
            w_eff, wexp = lava_dense_weights(w)
        except BadInputError:
            out.append(Violation("netx_weight_range", row.index, "all weights are zero: NetX cannot load the layer"))
            continue
        loaded = w_eff.astype(np.float64) * 2.0 ** wexp
        bad = loaded != w
        if bad.any():
            k = tuple(int(i) for i in np.argwhere(bad)[0])
            out.append(Violation("netx_weight_range", row.index,
                                 f"{int(bad.sum()):,} weights change when NetX loads them (e.g. weight{list(k)} "
                                 f"{w[k]:g} becomes {loaded[k]:g}; range {w.min():g}..{w.max():g}, "
                                 f"mixed signs must lie in [-256, 254])"))
    return out


# ----------------------------------------------------------------------------- neuron fields
@rule("threshold_range", needs=("vth_bits",))
def threshold_range(model, table, profile) -> list:
    """``vThMant`` must be an unsigned ``vth_bits``-bit integer (Loihi: 17 bits, 0..131071)."""
    bits = int(profile.limit("vth_bits"))
    out = []
    for row, layer in _layers(model, table):
        v = int(neuron_of(layer).v_th_mant)
        if not 0 <= v <= _uint_max(bits):
            out.append(Violation("threshold_range", row.index,
                                 f"vThMant = {v} outside [0, {_uint_max(bits)}] ({bits}-bit unsigned)"))
    return out


@rule("current_decay_range", needs=("du_bits",))
def current_decay_range(model, table, profile) -> list:
    """``du = iDecay - 1`` must be an unsigned ``du_bits``-bit integer (iDecay 1..4096 for 12 bits)."""
    bits = int(profile.limit("du_bits"))
    out = []
    for row, layer in _layers(model, table):
        if not isinstance(neuron_of(layer), CubaNeuron):
            continue                                   # sigma-delta neurons have no decays
        du = int(neuron_of(layer).i_decay) - 1
        if not 0 <= du <= _uint_max(bits):
            out.append(Violation("current_decay_range", row.index,
                                 f"du = iDecay - 1 = {du} outside [0, {_uint_max(bits)}] ({bits}-bit)"))
    return out


@rule("voltage_decay_range", needs=("dv_bits",))
def voltage_decay_range(model, table, profile) -> list:
    """``dv = vDecay`` must be an unsigned ``dv_bits``-bit integer (vDecay 0..4095 for 12 bits)."""
    bits = int(profile.limit("dv_bits"))
    out = []
    for row, layer in _layers(model, table):
        if not isinstance(neuron_of(layer), CubaNeuron):
            continue
        dv = int(neuron_of(layer).v_decay)
        if not 0 <= dv <= _uint_max(bits):
            out.append(Violation("voltage_decay_range", row.index,
                                 f"dv = vDecay = {dv} outside [0, {_uint_max(bits)}] ({bits}-bit)"))
    return out


@rule("bias_range", needs=("bias_mant_bits",))
def bias_range(model, table, profile) -> list:
    """A bias (NetX ``bias`` -> Lava ``bias_mant``) must be a signed ``bias_mant_bits``-bit integer."""
    bits = int(profile.limit("bias_mant_bits"))
    lo, hi = -(1 << (bits - 1)), _uint_max(bits - 1)
    out = []
    for row, layer in _layers(model, table):
        if layer.bias is None:
            continue
        b = np.asarray(layer.bias, dtype=np.float64)
        if not np.all(b == np.round(b)):
            out.append(Violation("bias_range", row.index, "bias is not integer"))
        elif b.size and (b.min() < lo or b.max() > hi):
            out.append(Violation("bias_range", row.index,
                                 f"bias {b.min():g}..{b.max():g} outside [{lo}, {hi}] ({bits}-bit signed)"))
    return out


@rule("state_headroom", needs=("state_bits", "act_shift"))
def state_headroom(model, table, profile) -> list:
    """The worst one-step input (and the threshold), after ``<< act_shift``, must fit the state.

    Loihi's ``u``/``v`` are 24-bit signed; a larger input wraps ``u`` (Lava models the wrap).
    """
    bits = int(profile.limit("state_bits"))
    out = []
    for row, _ in _layers(model, table):
        if row.state_bits_needed > bits:
            out.append(Violation("state_headroom", row.index,
                                 f"worst-case one-step input or threshold needs {row.state_bits_needed} "
                                 f"signed state bits, target state is {bits}-bit (u would wrap)"))
    return out


@rule("delay_range", needs=("delay_max",))
def delay_range(model, table, profile) -> list:
    """Synaptic delays (a ``delay`` array on the layer, if any) must be integers in [0, delay_max]."""
    dmax = int(profile.limit("delay_max"))
    out = []
    for row, layer in _layers(model, table):
        delay = getattr(layer, "delay", None)
        if delay is None:
            continue
        d = np.asarray(delay, dtype=np.float64)
        if d.size and (not np.all(d == np.round(d)) or d.min() < 0 or d.max() > dmax):
            out.append(Violation("delay_range", row.index,
                                 f"delays {d.min():g}..{d.max():g} outside integers 0..{dmax}"))
    return out


@rule("graded_spikes", needs=("graded_spike_bits",))
def graded_spikes(model, table, profile) -> list:
    """Graded-spike neurons need a target with graded-spike payloads (Loihi 2, not Loihi 1)."""
    if int(profile.limit("graded_spike_bits")) > 0:
        return []
    return [Violation("graded_spikes", row.index, "neuron emits graded spikes; the target has binary spikes only")
            for row, layer in _layers(model, table) if getattr(neuron_of(layer), "graded_spike", True)]


@rule("graded_input", needs=("graded_spike_bits",))
def graded_input(model, table, profile) -> list:
    """Graded input (model card ``input_message_bits``) needs payloads at least that wide."""
    bits, limit = model.input_message_bits, int(profile.limit("graded_spike_bits"))
    if bits <= limit:
        return []
    first = next((row.index for row in table), None)
    return [Violation("graded_input", first, f"input spikes carry {bits}-bit payloads; the target's graded "
                                             f"spikes carry at most {limit} bits")]


# ------------------------------------------------------------------------------------ per core
@rule("neurons_per_core", needs=("neurons_per_core",))
def neurons_per_core(model, table, profile) -> list:
    """Each core of a layer's placement holds at most ``neurons_per_core`` neurons."""
    limit = int(profile.limit("neurons_per_core"))
    return [Violation("neurons_per_core", r.index,
                      f"{r.neurons_per_core:,} neurons on a core ({r.neurons:,} over {r.cores} cores), "
                      f"limit {limit:,}")
            for r in table if r.neurons_per_core > limit]


@rule("synaptic_memory_per_core", needs=("synaptic_memory_per_core",))
def synaptic_memory_per_core(model, table, profile) -> list:
    """Each core's synaptic memory (model in resources.py) fits ``synaptic_memory_per_core``."""
    limit = int(profile.limit("synaptic_memory_per_core"))
    out = []
    for r in table:
        if r.synmem_bytes_per_core > limit:
            why = " even at one neuron per core (fan-in too large)" if not r.memory_fits and r.neurons_per_core == 1 else ""
            out.append(Violation("synaptic_memory_per_core", r.index,
                                 f"{r.synmem_bytes_per_core:,} B of synaptic memory on a core{why}, "
                                 f"limit {limit:,} B"))
    return out


@rule("axons_in_per_core", needs=("axons_in_per_core",))
def axons_in_per_core(model, table, profile) -> list:
    """A core receives at most ``axons_in_per_core`` distinct inputs (dense: all inputs; conv: at
    least one neuron's receptive field)."""
    limit = int(profile.limit("axons_in_per_core"))
    out = []
    for r in table:
        if r.axons_in_per_core > limit:
            what = "inputs, all needed on every core" if r.kind == "dense" else "inputs into one neuron"
            out.append(Violation("axons_in_per_core", r.index,
                                 f"{r.axons_in_per_core:,} {what}; limit {limit:,} input axons per core"))
    return out


# ---------------------------------------------------------------------------------- chip totals
@rule("chip_neurons", needs=("neurons_per_chip",))
def chip_neurons(model, table, profile) -> list:
    """All neurons together fit one chip."""
    n, limit = sum(r.neurons for r in table), int(profile.limit("neurons_per_chip"))
    return [Violation("chip_neurons", None, f"{n:,} neurons, chip has {limit:,}")] if n > limit else []


@rule("chip_synapses", needs=("synapses_per_chip",))
def chip_synapses(model, table, profile) -> list:
    """All stored synapses together fit one chip."""
    n, limit = sum(r.synapses_stored for r in table), int(profile.limit("synapses_per_chip"))
    return [Violation("chip_synapses", None, f"{n:,} stored synapses, chip has {limit:,}")] if n > limit else []


@rule("chip_cores", needs=("cores_per_chip",))
def chip_cores(model, table, profile) -> list:
    """All layers' cores together fit one chip (one layer per core at least)."""
    n, limit = sum(r.cores for r in table), int(profile.limit("cores_per_chip"))
    return [Violation("chip_cores", None, f"needs {n:,} cores, chip has {limit:,}")] if n > limit else []


# ------------------------------------------------------------------------------------- timing
def padded_reset_interval(steps: int) -> int:
    """The reset interval R the chip runs a T-step model with: the smallest power of two >= T."""
    return 1 << max(0, (int(steps) - 1).bit_length())


@rule("reset_interval_pow2", needs=("reset_interval_pow2",))
def reset_interval_pow2(model, table, profile) -> list:
    """The model card's ``steps`` T must be a positive integer. The hardware's reset interval must be
    a power of two, but T need not be: the runtime pads each sample to R = the next power of two
    (``run --backend loihi2``), which :func:`reset_interval_remark` reports with its cost."""
    steps = model.card.get("steps")
    if steps is None:
        return []  # reported as unchecked by check_all
    try:
        t = int(steps)
    except (TypeError, ValueError):
        return [Violation("reset_interval_pow2", None, f"model card 'steps' = {steps!r} is not an integer")]
    if t < 1:
        return [Violation("reset_interval_pow2", None, f"model card 'steps' = {t} is not a positive integer")]
    return []


def reset_interval_remark(model, profile) -> str | None:
    """What a non-power-of-two T costs on a target whose reset interval must be a power of two."""
    if not profile.limit("reset_interval_pow2") or reset_interval_pow2(model, [], profile):
        return None
    steps = model.card.get("steps")
    if steps is None:
        return None
    t = int(steps)
    r = padded_reset_interval(t)
    if r == t:
        return None
    return (f"reset interval: T = {t} is not a power of two; the runtime pads each sample to R = {r} "
            f"Lava steps on the chip ({r - t} idle steps, {r / t - 1:.0%} more time steps per sample "
            f"than T; early exit cannot shorten a sample there)")


def check_all(model: NetxModel, table: list, profile) -> tuple:
    """Run every rule the profile can check: ``(violations, unchecked rule descriptions)``."""
    violations, unchecked = [], []
    for fn in RULES:
        missing = [k for k in fn.needs if profile.limit(k) is None]
        if missing:
            unchecked.append(f"{fn.rule_name} (profile has no {', '.join(missing)})")
            continue
        if fn.rule_name == "reset_interval_pow2" and model.card.get("steps") is None:
            unchecked.append("reset_interval_pow2 (model card has no 'steps')")
            continue
        violations.extend(fn(model, table, profile))
    return violations, unchecked
