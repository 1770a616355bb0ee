"""The report's PNG plots, rendered to bytes (Agg, no pyplot state): written by :mod:`.output`.

* ``energy_per_layer.png`` — modelled energy per inference per layer, stacked by cost component,
  without and with early exit side by side (plus a "chip" bar: input spikes, barriers, static);
* ``exit_steps.png`` — histogram of the exit step under the chosen rule;
* ``accuracy_vs_energy.png`` — accuracy against mean modelled energy per inference over the swept
  exit thresholds, with the ANN twin's modelled energies on the CMOS profiles as reference lines.
"""
from __future__ import annotations

import io

import numpy as np

COMPONENTS = (("synop_J", "synaptic ops", "#4C72B0"), ("neuron_J", "neuron updates", "#55A868"),
              ("spike_J", "spikes", "#C44E52"), ("memory_J", "memory", "#8172B2"),
              ("mac_J", "MACs", "#937860"))
CHIP = (("input_J", "input spikes", "#DD8452"), ("sync_J", "barrier sync", "#64B5CD"),
        ("static_J", "static power", "#8C8C8C"))
FILES = ("energy_per_layer.png", "exit_steps.png", "accuracy_vs_energy.png")


def _figure(w=7.0, h=4.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=110)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def energy_per_layer(rep) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 4.2), dpi=110)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [max(2, len(rep.no_exit.energy.layers)), 1.3]})
    scen = ((rep.no_exit, None), (rep.early_exit, "//"))
    names = [f"L{l.index} {l.kind}" for l in rep.no_exit.energy.layers]
    x = np.arange(len(names))
    width = 0.38
    labelled = set()
    for j, (s, hatch) in enumerate(scen):
        pos = x + (j - 0.5) * width
        bottom = np.zeros(len(names))
        for key, label, color in COMPONENTS:
            vals = np.array([getattr(l, key) for l in s.energy.layers]) * 1e6
            if not vals.any():
                continue
            ax.bar(pos, vals, width, bottom=bottom, color=color, hatch=hatch, edgecolor="white",
                   label=None if label in labelled else label)
            labelled.add(label)
            bottom += vals
    ax.set_xticks(x, names)
    ax.set_ylabel("modelled energy per inference (µJ)")
    ax.set_title("per layer (dynamic)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    # whole inference: the layers' dynamic energy plus the chip-level terms
    labelled = set()
    for j, (s, hatch) in enumerate(scen):
        bottom = 0.0
        parts = [("layers_J", "layers (dynamic)", "#4C72B0", sum(l.total_J for l in s.energy.layers))]
        parts += [(key, label, color, getattr(s.energy, key)) for key, label, color in CHIP]
        for key, label, color, v in parts:
            if v <= 0:
                continue
            ax2.bar([j], [v * 1e6], 0.6, bottom=bottom, color=color, hatch=hatch, edgecolor="white",
                    label=None if label in labelled else label)
            labelled.add(label)
            bottom += v * 1e6
    ax2.set_xticks([0, 1], ["no exit", "exit"])
    ax2.set_title("whole inference", fontsize=9)
    ax2.legend(fontsize=7)
    ax2.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{rep.target}: modelled energy per inference — plain: all {rep.steps} steps, "
                 f"hatched: exit {rep.exit_rule}", fontsize=9)
    return _png(fig)


def exit_steps(rep) -> bytes:
    fig, ax = _figure(6.0, 3.8)
    hist = np.bincount(np.asarray(rep.early_exit.exit_steps, dtype=np.int64), minlength=rep.steps + 1)[1:]
    steps = np.arange(1, rep.steps + 1)
    ax.bar(steps, hist[:rep.steps], color="#4C72B0")
    ax.axvline(rep.early_exit.mean_steps, color="k", ls="--", lw=1,
               label=f"mean {rep.early_exit.mean_steps:.2f} input steps")
    ax.set_xticks(steps)
    ax.set_xlabel(f"exit step (input steps used; Lava runs + {rep.pipeline_steps} pipeline steps)")
    ax.set_ylabel("samples")
    ax.set_title(f"exit steps under {rep.exit_rule} (n={rep.samples}, {rep.backend})", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def accuracy_vs_energy(rep) -> bytes:
    fig, ax = _figure(9.0, 4.2)
    styles = {"margin": ("o-", "#4C72B0"), "confidence": ("s-", "#55A868")}
    for fam, (marker, color) in styles.items():
        pts = [p for p in rep.sweep if p.family == fam]
        if not pts:
            continue
        ax.plot([p.energy_J * 1e6 for p in pts], [100 * p.accuracy for p in pts], marker, color=color,
                ms=4, lw=1.2, label=f"{fam} threshold sweep")
    off = next((p for p in rep.sweep if p.family == "off"), None)
    e_off = off.energy_J if off else rep.no_exit.energy_J
    a_off = off.accuracy if off else rep.no_exit.accuracy
    ax.plot([e_off * 1e6], [100 * a_off], "kD", ms=6, label=f"no exit (all {rep.steps} steps)")
    ax.plot([rep.early_exit.energy_J * 1e6], [100 * rep.early_exit.accuracy], "r*", ms=12,
            label=f"chosen: {rep.exit_rule}")
    for a, ls in zip(rep.ann, ("--", ":")):
        ax.axvline(a.total_J * 1e6, color="#937860", ls=ls, lw=1,
                   label=f"ANN twin on {a.profile} (accuracy not run)")
    ax.set_xscale("log")
    ax.set_xlabel(f"mean modelled energy per inference on {rep.target} (µJ, log)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"accuracy vs modelled energy over exit thresholds (n={rep.samples})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3, which="both")
    return _png(fig)


def render_all(rep) -> dict:
    """``{file name: PNG bytes}`` for every plot."""
    return {"energy_per_layer.png": energy_per_layer(rep), "exit_steps.png": exit_steps(rep),
            "accuracy_vs_energy.png": accuracy_vs_energy(rep)}
