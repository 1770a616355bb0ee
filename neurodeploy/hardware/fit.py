"""Does a NetX model fit a target? ``fit(model, profile) -> FitReport`` (sinabs-like ``.fits()``).

The report holds the per-layer resource table (:mod:`neurodeploy.hardware.resources`), its totals,
every design-rule violation (:mod:`neurodeploy.hardware.rules`, never just the first), the rules the
profile could not check, and notes on what the memory and placement model assume.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neurodeploy.netx import NetxModel
from neurodeploy.hardware.profiles import Profile, load_profile
from neurodeploy.hardware.resources import Totals, layer_resources, totals
from neurodeploy.hardware.rules import check_all, reset_interval_remark

NOTES = (
    "synaptic memory is modelled (nengo-loihi's Loihi 1 accounting; conv expanded, no weight sharing)",
    "cores: fewest per layer that satisfy neurons and memory per core; one layer per core at least",
    "input spikes arrive from outside the cores; output axons and routing are not checked",
)


@dataclass
class FitReport:
    """Result of :func:`fit`: the table, totals, all violations, unchecked rules and notes."""

    profile: str
    layers: list
    totals: Totals
    violations: list
    unchecked: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    remarks: list = field(default_factory=list)  # about this model: fits, but at a cost
    model_path: str | None = None
    limits: dict = field(default_factory=dict)

    def fits(self) -> bool:
        """True when no checked rule is violated (unchecked rules are listed, not assumed broken)."""
        return not self.violations

    def summary(self) -> str:
        """One line: does it fit, with how many cores/neurons/synapses."""
        t = self.totals
        name = Path(self.model_path).name if self.model_path else "model"
        verdict = "fits" if self.fits() else f"does NOT fit ({len(self.violations)} violation" \
                                             f"{'s' if len(self.violations) != 1 else ''})"
        return (f"{name} {verdict} on {self.profile}: {t.neurons:,} neurons, "
                f"{t.synapses_stored:,} stored synapses, {t.cores:,} cores")

    def format_table(self) -> str:
        """The resource table, totals and violations as fixed-width text."""
        head = ("layer", "type", "shape", "neurons", "synapses", "nonzero", "fan-in", "fan-out",
                "w bits", "state b", "mem/core B", "cores")
        rows = []
        for r in self.layers:
            wf = r.weights
            wbits = "float" if not wf.integer else f"{wf.mantissa_bits}@2^{wf.exponent}"
            rows.append((str(r.index), r.kind, "x".join(map(str, r.shape)), f"{r.neurons:,}",
                         f"{r.synapses:,}", f"{r.synapses_nonzero:,}", f"{r.fan_in:,}", f"{r.fan_out:,}",
                         wbits, str(r.state_bits_needed), f"{r.synmem_bytes_per_core:,}", f"{r.cores:,}"))
        t = self.totals
        rows.append(("total", "", "", f"{t.neurons:,}", f"{t.synapses:,}", f"{t.synapses_nonzero:,}",
                     "", "", "", "", f"{t.synmem_bytes:,}", f"{t.cores:,}"))
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
        fmt = lambda cells: "  ".join(c.rjust(w) if i > 2 else c.ljust(w)  # noqa: E731
                                      for i, (c, w) in enumerate(zip(cells, widths)))
        lines = [fmt(head), fmt(["-" * w for w in widths])]
        lines += [fmt(row) for row in rows[:-1]] + [fmt(["-" * w for w in widths]), fmt(rows[-1])]
        if self.limits:
            lines.append("limits: " + ", ".join(f"{k} {v}" for k, v in self.limits.items()))
        lines.append("w bits = mantissa bits @ exponent; state b = signed bits of the worst one-step "
                     "input; mem/core = modelled synaptic memory (last row: all cores)")
        if self.violations:
            lines.append(f"violations ({len(self.violations)}):")
            lines += [f"  {v}" for v in self.violations]
        if self.unchecked:
            lines.append(f"not checked ({len(self.unchecked)}, profile or model card lacks the figure): "
                         + ", ".join(u.split(" (")[0] for u in self.unchecked))
        lines += [f"note: {r}" for r in self.remarks]
        lines.append(self.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"profile": self.profile, "model_path": self.model_path, "fits": self.fits(),
                "layers": [r.to_dict() for r in self.layers], "totals": vars(self.totals),
                "violations": [v.to_dict() for v in self.violations],
                "unchecked": list(self.unchecked), "notes": list(self.notes), "remarks": list(self.remarks)}


_SHOWN_LIMITS = ("neurons_per_core", "synaptic_memory_per_core", "cores_per_chip", "weight_bits")


def fit(model: NetxModel, profile, cores: dict | None = None, model_path=None) -> FitReport:
    """Check ``model`` against ``profile`` (a :class:`Profile`, a name or a ``.toml`` path).

    ``cores`` optionally pins ``{layer index: cores}``; by default each layer gets the fewest cores
    that satisfy the per-core limits.
    """
    prof: Profile = load_profile(profile)
    table = layer_resources(model, prof, cores=cores)
    violations, unchecked = check_all(model, table, prof)
    limits = {k: prof.limits[k].describe() for k in _SHOWN_LIMITS if k in prof.limits}
    remarks = [r for r in (reset_interval_remark(model, prof),) if r]
    return FitReport(profile=prof.name, layers=table, totals=totals(table), violations=violations,
                     unchecked=unchecked, notes=list(NOTES), remarks=remarks, limits=limits,
                     model_path=str(model_path) if model_path else None)
