"""Hardware profiles: one TOML file per target, every figure with its source and quality.

A profile file (see ``neurodeploy/hardware/builtin_profiles/loihi1.toml``) has four tables::

    [profile]  name, kind ("neuromorphic" | "cmos"), description, notes (list of strings)
    [energy]   per-operation energies (and static power) -> neurodeploy.energy.model
    [latency]  per-operation times (optional)            -> neurodeploy.energy.model
    [limits]   resource limits                            -> neurodeploy.hardware.rules

Every figure is an inline table ``{value, unit, source, quality[, note]}`` where ``quality`` is
``primary`` (read from the originating organisation's own document or code), ``secondary`` (a
published figure quoted elsewhere, not re-checked) or ``proxy`` (a stand-in: another chip's figure,
an assumption, a derivation). Fields are optional unless listed in :data:`REQUIRED`; a missing
energy or time drops that term from the model (and the estimate says so), a missing limit leaves
its rule unchecked (and the fit report says so). Unknown fields are errors, so typos surface.

Profiles are found in the package's ``builtin_profiles/`` folder (shipped in the wheel), then in each folder of the
``NEURODEPLOY_PROFILES`` environment variable (``os.pathsep``-separated); a later folder's profile
replaces an earlier one of the same name. Nothing here imports Lava.
"""
from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from neurodeploy.errors import BadInputError, UsageError

QUALITIES = ("primary", "secondary", "proxy")
KINDS = ("neuromorphic", "cmos")
ENV_VAR = "NEURODEPLOY_PROFILES"

# unit -> factor to the canonical unit of its dimension
_UNITS = {
    "energy": {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6, "nJ": 1e-9, "pJ": 1e-12, "fJ": 1e-15},
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12},
    "power": {"W": 1.0, "mW": 1e-3, "uW": 1e-6},
    "bytes": {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "KB": 1024, "MB": 1024 ** 2, "bit": 1 / 8},
}
_CANONICAL = {"energy": "J", "time": "s", "power": "W", "bytes": "B"}

# field -> (dimension or None for a plain count/number, allowed python types)
_NUM = (int, float)
_INT = (int,)
_BOOL = (bool,)
ENERGY_FIELDS = {
    "synop": ("energy", _NUM),                   # per synaptic operation (one event at one synapse)
    "neuron_update_inactive": ("energy", _NUM),  # per neuron update without a spike
    "neuron_update_active": ("energy", _NUM),    # per neuron update that emits a spike
    "spike": ("energy", _NUM),                   # per spike sent (routing)
    "step_sync": ("energy", _NUM),               # per time step (barrier / synchronisation)
    "static_power": ("power", _NUM),             # chip static (leakage) power
    "mac": ("energy", _NUM),                     # per multiply-accumulate (ANN)
    "ac": ("energy", _NUM),                      # per accumulate
    "mem_read_8kb": ("energy", _NUM),            # per access of mem_access_bits from an 8 KB SRAM
    "mem_read_32kb": ("energy", _NUM),
    "mem_read_1mb": ("energy", _NUM),
    "mem_access_bits": (None, _INT),             # the access width the mem_read figures refer to
    "weight_word_bits": (None, _INT),            # word width of weights/activations in memory
    "state_word_bits": (None, _INT),             # word width of neuron state in memory
}
LATENCY_FIELDS = {
    "synop": ("time", _NUM),
    "neuron_update_inactive": ("time", _NUM),
    "neuron_update_active": ("time", _NUM),
    "step_sync": ("time", _NUM),
    "step_min": ("time", _NUM),                  # minimum time per step (e.g. a real-time tick)
}
LIMIT_FIELDS = {
    "neurons_per_core": (None, _INT),
    "cores_per_chip": (None, _INT),
    "neurons_per_chip": (None, _INT),
    "synapses_per_chip": (None, _INT),
    "synaptic_memory_per_core": ("bytes", _NUM),
    "synmem_word_bits": (None, _INT),
    "synmem_block_synapses": (None, _INT),
    "synmem_block_header_bits": (None, _INT),
    "axons_in_per_core": (None, _INT),
    "axons_out_per_core": (None, _INT),
    "weight_bits": (None, _INT),
    "weight_exp_min": (None, _INT),
    "weight_exp_max": (None, _INT),
    "netx_weight_exp": (None, _INT),  # no longer read (NetX picks each layer's exponent); old profiles load
    "state_bits": (None, _INT),
    "act_shift": (None, _INT),
    "du_bits": (None, _INT),
    "dv_bits": (None, _INT),
    "vth_bits": (None, _INT),
    "bias_mant_bits": (None, _INT),
    "delay_max": (None, _INT),
    "graded_spike_bits": (None, _INT),
    "reset_interval_pow2": (None, _BOOL),
}
SIGNED_FIELDS = {"weight_exp_min", "weight_exp_max", "netx_weight_exp"}  # may be negative
SECTIONS = {"energy": ENERGY_FIELDS, "latency": LATENCY_FIELDS, "limits": LIMIT_FIELDS}
REQUIRED = {
    "neuromorphic": ("energy.synop",),
    "cmos": ("energy.mac", "energy.ac", "energy.mem_read_8kb", "energy.mem_read_32kb",
             "energy.mem_read_1mb", "energy.mem_access_bits", "energy.weight_word_bits"),
}


@dataclass(frozen=True)
class Quantity:
    """One figure of a profile: ``value`` in ``unit``, where it comes from and how good it is."""

    value: float | int | bool
    unit: str
    source: str
    quality: str
    note: str = ""
    dimension: str | None = None

    @property
    def si(self) -> float | int | bool:
        """The value in the canonical unit of its dimension (J, s, W, B); plain values unchanged."""
        if self.dimension is None:
            return self.value
        return self.value * _UNITS[self.dimension][self.unit]

    def describe(self) -> str:
        """``23.6 pJ (secondary)`` — value, unit and quality for tables."""
        v = self.value
        txt = f"{v:g}" if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else f"{v:,}"
        unit = "" if self.unit in ("1", "") else f" {self.unit}"
        return f"{txt}{unit} ({self.quality})"


@dataclass
class Profile:
    """A hardware target: energy/time per operation and resource limits, each a :class:`Quantity`."""

    name: str
    kind: str
    description: str
    path: Path
    energy: dict = field(default_factory=dict)
    latency: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def joules(self, key: str) -> float | None:
        """Energy figure ``key`` in joules (static_power in watts), or None if the profile lacks it."""
        q = self.energy.get(key)
        return None if q is None else float(q.si)

    def seconds(self, key: str) -> float | None:
        """Time figure ``key`` in seconds, or None if the profile lacks it."""
        q = self.latency.get(key)
        return None if q is None else float(q.si)

    def limit(self, key: str):
        """Limit ``key`` (bytes for memory, else its plain value), or None if the profile lacks it."""
        q = self.limits.get(key)
        return None if q is None else q.si

    def quantity(self, dotted: str) -> Quantity | None:
        """The :class:`Quantity` behind ``"energy.synop"``-style names."""
        section, _, key = dotted.partition(".")
        return getattr(self, section, {}).get(key)


# ------------------------------------------------------------------------------------ loading
def _fail(path: Path, what: str) -> BadInputError:
    return BadInputError(f"{path}: {what}")


def _quantity(path: Path, where: str, raw, dimension, types) -> Quantity:
    if not isinstance(raw, dict):
        raise _fail(path, f"field '{where}' must be an inline table {{value, unit, source, quality}}, "
                          f"got {type(raw).__name__}")
    for key in ("value", "unit", "source", "quality"):
        if key not in raw:
            raise _fail(path, f"field '{where}' is missing '{key}'")
    extra = set(raw) - {"value", "unit", "source", "quality", "note"}
    if extra:
        raise _fail(path, f"field '{where}' has unknown key(s) {', '.join(sorted(extra))}")
    value = raw["value"]
    ok = isinstance(value, types) and (bool in types or not isinstance(value, bool))
    if not ok:
        want = " or ".join(t.__name__ for t in types)
        raise _fail(path, f"field '{where}.value' must be {want}, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(path, f"field '{where}.value' must be finite, got {value!r}")
    if not isinstance(value, bool) and value < 0 and where.split(".")[-1] not in SIGNED_FIELDS:
        raise _fail(path, f"field '{where}.value' must not be negative, got {value!r}")
    for key in ("unit", "source", "quality", "note"):
        if key in raw and not isinstance(raw[key], str):
            raise _fail(path, f"field '{where}.{key}' must be a string, got {type(raw[key]).__name__}")
    if not raw["source"].strip():
        raise _fail(path, f"field '{where}.source' is empty: every figure needs its source")
    if raw["quality"] not in QUALITIES:
        raise _fail(path, f"field '{where}.quality' must be one of {', '.join(QUALITIES)}, "
                          f"got {raw['quality']!r}")
    if dimension is not None and raw["unit"] not in _UNITS[dimension]:
        raise _fail(path, f"field '{where}.unit' must be one of {', '.join(_UNITS[dimension])}, "
                          f"got {raw['unit']!r}")
    return Quantity(value=value, unit=raw["unit"], source=raw["source"], quality=raw["quality"],
                    note=raw.get("note", ""), dimension=dimension)


def parse_profile(path: Path, data: dict) -> Profile:
    """Schema-check the parsed TOML ``data`` of ``path``; raise :class:`BadInputError` on a fault."""
    extra = set(data) - {"profile", *SECTIONS}
    if extra:
        raise _fail(path, f"unknown table(s) {', '.join(sorted(extra))} "
                          f"(expected profile, {', '.join(SECTIONS)})")
    head = data.get("profile")
    if not isinstance(head, dict):
        raise _fail(path, "missing table '[profile]'")
    name = head.get("name", path.stem)
    kind = head.get("kind")
    if not isinstance(name, str) or not name.strip():
        raise _fail(path, "field 'profile.name' must be a non-empty string")
    if kind is None:
        raise _fail(path, "missing field 'profile.kind'")
    if kind not in KINDS:
        raise _fail(path, f"field 'profile.kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    description = head.get("description", "")
    if not isinstance(description, str):
        raise _fail(path, "field 'profile.description' must be a string")
    notes = head.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise _fail(path, "field 'profile.notes' must be a list of strings")
    extra = set(head) - {"name", "kind", "description", "notes"}
    if extra:
        raise _fail(path, f"unknown field(s) {', '.join('profile.' + e for e in sorted(extra))}")

    parsed = {}
    for section, spec in SECTIONS.items():
        raw = data.get(section, {})
        if not isinstance(raw, dict):
            raise _fail(path, f"'{section}' must be a table")
        out = {}
        for key, value in raw.items():
            if key not in spec:
                raise _fail(path, f"unknown field '{section}.{key}' (known: {', '.join(spec)})")
            dimension, types = spec[key]
            out[key] = _quantity(path, f"{section}.{key}", value, dimension, types)
        parsed[section] = out
    for dotted in REQUIRED[kind]:
        section, _, key = dotted.partition(".")
        if key not in parsed[section]:
            raise _fail(path, f"missing field '{dotted}' (required for kind '{kind}')")
    lim = parsed["limits"]
    if "weight_exp_min" in lim and "weight_exp_max" in lim \
            and lim["weight_exp_min"].value > lim["weight_exp_max"].value:
        raise _fail(path, "field 'limits.weight_exp_min' is greater than 'limits.weight_exp_max'")
    return Profile(name=name, kind=kind, description=description, path=path,
                   energy=parsed["energy"], latency=parsed["latency"], limits=lim, notes=list(notes))


def read_profile(path) -> Profile:
    """Read and schema-check one profile file."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: no such profile file")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise _fail(path, f"not valid TOML ({e})") from None
    except OSError as e:
        raise _fail(path, f"cannot read ({e.strerror})") from None
    return parse_profile(path, data)


def builtin_dir() -> Path:
    """The built-in profiles: ``neurodeploy/hardware/builtin_profiles/`` (package data)."""
    return Path(__file__).resolve().with_name("builtin_profiles")


def profile_dirs() -> list:
    """Folders searched for profiles, in order: built-in, then ``$NEURODEPLOY_PROFILES`` entries."""
    dirs = [builtin_dir()]
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            dirs.append(Path(entry).expanduser())
    return dirs


def list_profiles() -> list:
    """Every known profile, sorted by name; a later folder's profile overrides an earlier one."""
    found: dict = {}
    for d in profile_dirs():
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.toml")):
            prof = read_profile(p)
            found[prof.name] = prof
    return [found[k] for k in sorted(found)]


def format_profiles(profiles: list) -> str:
    """A table of profiles: name, kind, key figures with their quality, and the source file."""
    def fig(p: Profile, dotted: str) -> str:
        q = p.quantity(dotted)
        return "-" if q is None else q.describe()

    head = ("name", "kind", "synop", "neuron update (inactive)", "MAC", "static", "neurons/core",
            "cores/chip", "file")
    rows = [(p.name, p.kind, fig(p, "energy.synop"), fig(p, "energy.neuron_update_inactive"),
             fig(p, "energy.mac"),
             fig(p, "energy.static_power"), fig(p, "limits.neurons_per_core"),
             fig(p, "limits.cores_per_chip"), str(p.path)) for p in profiles]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]
    out.append("quality: primary = originator's own document/code; secondary = quoted, not re-checked; "
               "proxy = stand-in. Energies computed from these are modelled, not measured.")
    return "\n".join(out)


def load_profile(name_or_path) -> Profile:
    """A profile by name (``"loihi2"``) or by path to a ``.toml`` file.

    Unknown names raise :class:`UsageError` (exit code 2) listing the known ones; a broken file
    raises :class:`BadInputError` (exit code 3) naming the file and the field.
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    text = str(name_or_path)
    p = Path(text)
    if text.endswith(".toml") or os.sep in text or (os.altsep and os.altsep in text):
        return read_profile(p)
    profiles = {prof.name: prof for prof in list_profiles()}
    if text in profiles:
        return profiles[text]
    known = ", ".join(sorted(profiles)) or "none"
    raise UsageError(f"unknown target '{text}' (known: {known}; or give a path to a .toml profile)")
