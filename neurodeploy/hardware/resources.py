"""Per-layer resource table of a NetX model on a target: neurons, synapses, bits, memory, cores.

Counting rules (exact unless marked *model*):

- **neurons**: the layer's output size (CUBA neurons). Input and flatten layers hold none here
  (the input arrives as spikes from outside the cores).
- **synapses**: dense ``in x out``; conv the exact number of (input, output) pairs joined by an
  in-bounds kernel tap, borders, padding, stride, dilation and groups included (taps over padding
  are not synapses). ``synapses_nonzero`` counts only those with a nonzero weight.
- **fan_in** (most synapses into one neuron) and **fan_out** (most synapses out of one input).
- **weights**: see :func:`weight_format`: SLAYER's even integers in [-256, 254] are an 8-bit signed
  mantissa at exponent 1.
- **state_bits_needed**: signed bits of the worst one-step synaptic input ``max(sum of positive
  weights, sum of |negative weights|)`` into one neuron, shifted by the target's ``act_shift``
  (Lava MSB-aligns input by 6 bits), and of the threshold ``vth << act_shift``; binary input spikes
  assumed.
- **synaptic memory** (*model*, after nengo-loihi's Loihi 1 accounting in ``nengo_loihi/block.py``):
  a core stores, for every input axon, the list of synapses to its own neurons. Dense format: every
  entry, ``weight_bits`` each. Sparse format: nonzero entries only, ``weight_bits + idx_bits`` each,
  ``idx_bits = ceil(log2(neurons on the core))``. Dense layers take the smaller format; conv layers
  are expanded (no weight sharing, an upper bound for chips that share kernels) in sparse format.
  When the profile gives ``synmem_block_synapses``, ``synmem_block_header_bits`` and
  ``synmem_word_bits``, an axon's entries are cut into blocks of that many synapses, each block
  costing its entries plus the header, rounded up to whole words. Without them: entries x bits.
- **cores**: the fewest cores, splitting the layer's neurons evenly in contiguous chunks, such that
  each core holds at most ``neurons_per_core`` neurons and at most ``synaptic_memory_per_core``
  bytes. A conv axon's nonzero fan-out is assumed to split evenly across the layer's cores. If the
  memory cannot fit even at one neuron per core, ``memory_fits`` is False and cores = neurons.
- **axons_in_per_core**: dense: every core needs all ``in`` inputs; conv: at least ``fan_in`` (a
  single neuron's receptive field) and at most the input size, depending on the placement.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from neurodeploy.netx import ConvLayer, NetxModel, RecurrentDenseLayer, neuron_of
from neurodeploy.hardware.geometry import Geometry, geometry, recurrent_geometry, synaptic_inputs

DEFAULT_WEIGHT_BITS = 8  # when the profile gives no weight_bits (SLAYER's 8-bit mantissa)


# ------------------------------------------------------------------------------------- weights
@dataclass
class WeightFormat:
    """How a layer's weights can be stored as ``mantissa * 2**exponent``.

    ``integer``: all weights are whole numbers (required by fixed-point hardware).
    ``sign_mode``: ``mixed``, ``excitatory`` (all >= 0), ``inhibitory`` (all <= 0) or ``zero``.
    ``exponent``: the largest ``e`` with every weight a multiple of ``2**e`` (trailing zero bits).
    ``mantissa_bits``: bits of ``w / 2**exponent``: two's-complement bits for mixed signs, magnitude
    bits for a single sign (Lava's sign modes keep the sign out of the mantissa then).
    """

    integer: bool
    sign_mode: str
    exponent: int | None
    mantissa_bits: int | None
    w_min: float
    w_max: float

    @property
    def mixed(self) -> int:
        return int(self.sign_mode == "mixed")

    def bits_at(self, exponent: int) -> int | None:
        """Mantissa bits needed at a given ``exponent``; None if that exponent would drop bits."""
        if not self.integer or self.exponent is None:
            return None
        if self.sign_mode == "zero":
            return 0
        if exponent > self.exponent:
            return None
        return self.mantissa_bits + (self.exponent - exponent)


def _signed_bits(values: np.ndarray) -> int:
    lo, hi = int(values.min()), int(values.max())
    return max((hi).bit_length() + 1 if hi >= 0 else 1, (-lo - 1).bit_length() + 1 if lo < 0 else 1)


def weight_format(weight) -> WeightFormat:
    """Analyse a weight array (see :class:`WeightFormat`)."""
    w = np.asarray(weight, dtype=np.float64)
    w_min = float(w.min()) if w.size else 0.0
    w_max = float(w.max()) if w.size else 0.0
    integer = bool(np.all(np.isfinite(w)) and np.all(w == np.round(w)))
    if w.size == 0 or (w_min == 0 and w_max == 0):
        return WeightFormat(integer, "zero", 0, 0, w_min, w_max)
    mode = "mixed" if (w_min < 0 < w_max) else ("excitatory" if w_min >= 0 else "inhibitory")
    if not integer:
        return WeightFormat(False, mode, None, None, w_min, w_max)
    iw = w.astype(np.int64)
    nz = np.abs(iw[iw != 0])
    exponent = int((nz & -nz).min()).bit_length() - 1
    m = iw >> exponent  # exact: every weight is a multiple of 2**exponent
    bits = _signed_bits(m) if mode == "mixed" else int(np.abs(m).max()).bit_length()
    return WeightFormat(True, mode, exponent, bits, w_min, w_max)


def max_step_input(layer) -> int:
    """Worst one-step synaptic input into one neuron for binary spikes: max over neurons of
    ``max(sum of its positive weights, sum of |its negative weights|)``; conv uses the full kernel."""
    return max_step_input_of(layer.weight)


def max_step_input_of(weight) -> int:
    """:func:`max_step_input` of a weight array (out, ...)."""
    w = np.asarray(weight, dtype=np.float64)
    rows = w.reshape(w.shape[0], -1)
    pos = np.where(rows > 0, rows, 0).sum(1)
    neg = np.where(rows < 0, -rows, 0).sum(1)
    return int(math.ceil(max(pos.max(initial=0), neg.max(initial=0))))


# ------------------------------------------------------------------------------------- memory
@dataclass
class MemoryFormat:
    """Synaptic-memory accounting parameters (see the module docstring)."""

    weight_bits: int = DEFAULT_WEIGHT_BITS
    block_synapses: int | None = None
    header_bits: int = 0
    word_bits: int | None = None

    @classmethod
    def from_profile(cls, profile) -> "MemoryFormat":
        if profile is None:
            return cls()
        get = profile.limit
        return cls(weight_bits=int(get("weight_bits") or DEFAULT_WEIGHT_BITS),
                   block_synapses=get("synmem_block_synapses"),
                   header_bits=int(get("synmem_block_header_bits") or 0),
                   word_bits=get("synmem_word_bits"))

    def axon_bits(self, entries: np.ndarray, entry_bits: int) -> np.ndarray:
        """Bits to store ``entries`` synapses of ``entry_bits`` each, per axon (array in, array out)."""
        e = np.asarray(entries, dtype=np.int64)
        if not self.block_synapses:
            return e * entry_bits
        word = self.word_bits or 1
        b = int(self.block_synapses)

        def block(n):
            raw = n * entry_bits + self.header_bits
            return -(-raw // word) * word

        full, rem = e // b, e % b
        return full * block(b) + np.where(rem > 0, block(rem), 0)


def _idx_bits(neurons_on_core: int) -> int:
    return max(1, math.ceil(math.log2(max(2, neurons_on_core))))


def _memory_bits_per_core(kind: str, geo: Geometry, neurons: int, cores: int, fmt: MemoryFormat):
    """(bits per core, format name, stored synapses) for a layer split over ``cores``."""
    per_core = -(-neurons // cores)
    idx = _idx_bits(per_core)
    nz = geo.fanout_nonzero[geo.fanout_nonzero > 0]
    sparse_entries = -(-nz // cores)
    sparse = int(fmt.axon_bits(sparse_entries, fmt.weight_bits + idx).sum())
    if kind == "dense":
        n_in = geo.fanout.size
        dense = int(n_in * fmt.axon_bits(np.array([per_core]), fmt.weight_bits)[0])
        if dense <= sparse:
            return dense, "dense", geo.synapses
    return sparse, "sparse", geo.synapses_nonzero


# ------------------------------------------------------------------------------------- table
@dataclass
class LayerResources:
    """One synaptic layer's row of the resource table (see the module docstring for the rules)."""

    index: int
    kind: str
    shape: tuple
    in_shape: tuple
    neurons: int
    synapses: int
    synapses_nonzero: int
    synapses_stored: int
    fan_in: int
    fan_out: int
    params: int
    weights: WeightFormat
    state_bits_needed: int
    memory_format: str
    synmem_bytes: int
    synmem_bytes_per_core: int
    cores: int
    neurons_per_core: int
    axons_in_per_core: int
    memory_fits: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _cores_needed(kind, geo, neurons, fmt, npc, mem_limit_bits):
    lo = max(1, -(-neurons // npc)) if npc else 1
    if not mem_limit_bits:
        return lo, True
    fits = lambda c: _memory_bits_per_core(kind, geo, neurons, c, fmt)[0] <= mem_limit_bits  # noqa: E731
    if fits(lo):
        return lo, True
    if not fits(neurons):
        return neurons, False
    hi = neurons  # fits(hi) is True, fits(lo) is False; memory is non-increasing in cores
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi, True


def layer_resources(model: NetxModel, profile=None, cores: dict | None = None) -> list:
    """The resource table: one :class:`LayerResources` per dense/conv layer, in order.

    ``profile`` (a :class:`~neurodeploy.hardware.profiles.Profile`, optional) supplies the per-core
    limits and memory format; ``cores`` optionally pins ``{layer index: cores}`` instead of the
    fewest cores that fit (a pinned placement is then checked by the rules as given).
    """
    fmt = MemoryFormat.from_profile(profile)
    npc = profile.limit("neurons_per_core") if profile else None
    mem_bytes = profile.limit("synaptic_memory_per_core") if profile else None
    mem_bits = int(mem_bytes * 8) if mem_bytes else None
    shift = int(profile.limit("act_shift") or 0) if profile else 0
    table = []
    for index, layer, in_shape in synaptic_inputs(model):
        kind = "conv" if isinstance(layer, ConvLayer) else "dense"
        rec = isinstance(layer, RecurrentDenseLayer)
        geo = recurrent_geometry(layer) if rec else geometry(layer, in_shape)
        neurons = int(np.prod(layer.shape))
        if cores and index in cores:
            n_cores = max(1, int(cores[index]))
            fits = mem_bits is None or _memory_bits_per_core(kind, geo, neurons, n_cores, fmt)[0] <= mem_bits
        else:
            n_cores, fits = _cores_needed(kind, geo, neurons, fmt, npc, mem_bits)
        bits, mformat, stored = _memory_bits_per_core(kind, geo, neurons, n_cores, fmt)
        weights = np.hstack([layer.weight, layer.weight_rec]) if rec else layer.weight
        step_in = max_step_input_of(weights) << shift
        vth = int(neuron_of(layer).v_th_mant) << shift
        state_bits = _signed_bits(np.array([step_in, vth]))
        params = int(np.asarray(weights).size) + (int(np.asarray(layer.bias).size) if layer.bias is not None else 0)
        table.append(LayerResources(
            index=index, kind=kind, shape=tuple(int(x) for x in layer.shape), in_shape=in_shape,
            neurons=neurons, synapses=geo.synapses, synapses_nonzero=geo.synapses_nonzero,
            synapses_stored=int(stored), fan_in=geo.fan_in_max, fan_out=geo.fan_out_max, params=params,
            weights=weight_format(weights), state_bits_needed=state_bits, memory_format=mformat,
            synmem_bytes=int(-(-bits // 8)) * n_cores, synmem_bytes_per_core=int(-(-bits // 8)),
            cores=n_cores, neurons_per_core=-(-neurons // n_cores),
            axons_in_per_core=geo.fanout.size if kind == "dense" else geo.fan_in_max,
            memory_fits=bool(fits)))
    return table


@dataclass
class Totals:
    """Sums over the resource table."""

    neurons: int
    synapses: int
    synapses_nonzero: int
    synapses_stored: int
    cores: int
    synmem_bytes: int
    params: int


def totals(table: list) -> Totals:
    """Sum the rows of a resource table."""
    return Totals(**{k: int(sum(getattr(r, k) for r in table))
                     for k in ("neurons", "synapses", "synapses_nonzero", "synapses_stored", "cores",
                               "synmem_bytes", "params")})
