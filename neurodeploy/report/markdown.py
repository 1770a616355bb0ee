"""``report.md``: the energy report as Markdown (every energy and latency labelled modelled)."""
from __future__ import annotations

from pathlib import Path

from neurodeploy.energy.model import LABEL
from neurodeploy.tables import markdown_rows


def _uj(j) -> str:
    return "n/a" if j is None else f"{j * 1e6:.4g}"


def _us(s) -> str:
    return "not modelled" if s is None else f"{s * 1e6:.4g}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def _num(x) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def _table(head, rows) -> list:
    return [markdown_rows(head, rows), ""]


def _header(rep) -> list:
    """Title, the modelled-not-measured warning, and what was run on what."""
    name = Path(rep.model_path).name
    card = rep.model
    enc = (card.get("encoding") or {}).get("name", "?")
    return [f"# Energy and latency report: `{name}` on `{rep.target}` ({LABEL})", "",
            f"> **All energies and latencies below are {LABEL}**: counted activity × per-operation figures "
            f"from the `{rep.target}` profile, whose sources and qualities are listed at the end. "
            "Nothing here was measured on hardware.", "",
            f"- model: `{rep.model_path}` ({card.get('model') or 'model'}, {enc} encoding, T = {rep.steps}, "
            f"{rep.pipeline_steps} synaptic layers = {rep.pipeline_steps} pipeline steps on Lava)",
            f"- data: {rep.samples} test images of `{rep.dataset}` ({rep.data_source}), encoder seed {rep.seed}",
            f"- backend: `{rep.backend}` — {rep.backend_check.get('method', '')}",
            f"- early-exit rule: `{rep.exit_rule}`; without exit every sample uses all {rep.steps} input steps",
            f"- hardware fit on `{rep.target}`: **{'fits' if rep.fit.fits() else 'does NOT fit'}** — {rep.fit.summary()}",
            f"- made {rep.created} in {rep.seconds:.1f} s; neurodeploy {rep.versions.get('neurodeploy') or '?'}", ""]


def _per_inference(rep) -> list:
    """Energy, latency and accuracy per inference, with and without exit, and the ANN twin."""
    n, e = rep.no_exit, rep.early_exit
    L = ["## Per inference, with and without early exit", ""]
    rows = []
    for s, label in ((n, "SNN, no exit"), (e, f"SNN, exit `{rep.exit_rule}`")):
        rows.append((label, rep.target, _pct(s.accuracy), f"{s.mean_steps:.2f}", f"{s.lava_steps:.2f}",
                     _uj(s.energy_J), _uj(s.energy.dynamic_J), _uj(s.energy.static_J), _us(s.latency_s)))
    for a in rep.ann:
        rows.append(("ANN twin (one pass)", a.profile, "not run", "—", "—", _uj(a.total_J), _uj(a.dynamic_J),
                     "excluded", _us(a.latency_s)))
    L += _table(("network", "profile", "accuracy", "input steps", "Lava steps", f"energy µJ ({LABEL})",
                 "dynamic µJ", "static µJ", f"latency µs ({LABEL})"), rows)
    lat = "" if rep.latency_saving is None else f" and {rep.latency_saving:.1%} of the {LABEL} latency"
    verb = "saves" if rep.energy_saving >= 0 else "costs more than running all steps: saves"
    L += [f"Early exit {verb} **{rep.energy_saving:.1%} of the {LABEL} energy**{lat} per inference, "
          f"accuracy change {100 * (e.accuracy - n.accuracy):+.2f} points. Per-sample counts, energies "
          "and exit steps are in report.json. The ANN twin's accuracy is not "
          "measured by this report (train it with `neurodeploy train --ann`); its energy covers MACs and "
          "SRAM traffic on 45 nm CMOS, not the same costs as the SNN's.", ""]
    return L


def _per_layer(rep) -> list:
    """Activity and energy per layer, no exit / with exit, and the chip-level terms."""
    n, e = rep.no_exit, rep.early_exit
    L = ["## Per layer (mean per inference)", ""]
    rows = []
    for ln, le, lm_n, lm_e in zip(n.energy.layers, e.energy.layers, n.activity["layers"], e.activity["layers"]):
        rows.append((f"{ln.index}", ln.kind, f"{lm_n['neurons']:,}", f"{lm_n['synapses']:,}",
                     f"{_num(lm_n['spikes'])} / {_num(lm_e['spikes'])}",
                     f"{_num(lm_n['synops_effective'])} / {_num(lm_e['synops_effective'])}",
                     f"{_num(lm_n['neuron_updates'])} / {_num(lm_e['neuron_updates'])}",
                     f"{_uj(ln.total_J)} / {_uj(le.total_J)}", f"{ln.cores}"))
    L += _table(("layer", "type", "neurons", "synapses", "spikes", "synaptic ops (effective)",
                 "neuron updates", f"energy µJ ({LABEL})", "cores"), rows)

    def chip(key, attr):
        if key not in e.energy.figures:
            return "excluded (no figure)"
        return f"{_uj(getattr(n.energy, attr))} / {_uj(getattr(e.energy, attr))} µJ"

    L += ["Cells read *no exit / with exit*; layer = index in the NetX file. "
          f"Chip-level terms ({LABEL}, no exit / with exit): input spikes {chip('energy.spike', 'input_J')}, "
          f"barrier sync {chip('energy.step_sync', 'sync_J')}, static {chip('energy.static_power', 'static_J')}.", "",
          "![modelled energy per layer](energy_per_layer.png)", ""]
    return L


def _neurobench(rep) -> list:
    nb = rep.neurobench
    so = nb["SynapticOperations"]
    rows = [("Footprint", f"{nb['Footprint']['value']:,} bytes", "", nb["Footprint"]["note"]),
            ("ConnectionSparsity", f"{nb['ConnectionSparsity']:.4f}", "", "fraction of zero weights"),
            ("ActivationSparsity", f"{nb['ActivationSparsity']['no_exit']:.4f}",
             f"{nb['ActivationSparsity']['early_exit']:.4f}", "fraction of neuron-steps without a spike"),
            ("SynapticOperations: Effective_ACs", _num(so["no_exit"]["effective_acs"]),
             _num(so["early_exit"]["effective_acs"]), "per inference, binary inputs, zero weights skipped"),
            ("SynapticOperations: Effective_MACs", _num(so["no_exit"]["effective_macs"]),
             _num(so["early_exit"]["effective_macs"]), "per inference, analog inputs"),
            ("SynapticOperations: Dense", _num(so["no_exit"]["dense"]), _num(so["early_exit"]["dense"]),
             "every synapse at every counted step"),
            ("ANN twin SynapticOperations: Effective_MACs / Dense", _num(so["ann_twin"]["effective_macs"]),
             _num(so["ann_twin"]["dense"]), "one pass; effective skips zero weights")]
    return ["## NeuroBench metrics", ""] + _table(("metric", "no exit", "with exit", "meaning"), rows)


def _exit_steps(rep) -> list:
    L = ["## Exit steps", "", f"Mean exit step {rep.early_exit.mean_steps:.2f} of {rep.steps} under "
         f"`{rep.exit_rule}`; each exit costs the exit step + {rep.pipeline_steps} Lava steps.", "",
         "![exit-step histogram](exit_steps.png)", ""]
    if rep.sweep:
        L += ["## Accuracy against modelled energy over exit thresholds", ""]
        rows = [(f"`{p.rule}`", _pct(p.accuracy), f"{p.mean_steps:.2f}", _uj(p.energy_J), _us(p.latency_s))
                for p in rep.sweep]
        L += _table(("exit rule", "accuracy", "mean input steps", f"energy µJ ({LABEL})",
                     f"latency µs ({LABEL})"), rows)
        L += ["![accuracy vs modelled energy](accuracy_vs_energy.png)", ""]
    return L


def _fit(rep) -> list:
    L = [f"## Hardware fit on `{rep.target}`", "", rep.fit.summary() + ".", ""]
    if rep.fit.violations:
        L += [f"- {v}" for v in rep.fit.violations] + [""]
    if getattr(rep.fit, "remarks", None):
        L += [f"- note: {r}" for r in rep.fit.remarks] + [""]
    if rep.fit.unchecked:
        L += ["Not checked (the profile or model card lacks the figure): "
              + "; ".join(rep.fit.unchecked), ""]
    return L


def _scope(rep) -> list:
    """What the energy model includes, leaves out and assumes."""
    L = ["## What the model includes and leaves out", "", "Included:", ""]
    L += [f"- {i}" for i in rep.included] + ["", "Excluded:", ""]
    L += [f"- {x}" for x in rep.excluded] + ["", "Assumptions:", ""]
    L += [f"- {a}" for a in rep.assumptions] + [""]
    for a in rep.ann:
        L += [f"ANN twin on `{a.profile}` excludes: " + "; ".join(a.excluded) + "; assumes: "
              + "; ".join(a.assumptions) + "."]
    return L + [""]


def _figures(rep) -> list:
    """Every per-operation figure used, with its source and quality, per profile."""
    L = ["## Figures used, with source and quality", "",
         "Quality: *primary* = the originator's own document or code; *secondary* = quoted elsewhere, not "
         "re-checked; *proxy* = a stand-in (another chip's figure, an assumption, a derivation). "
         "How the figures are combined: docs/energy.md.", ""]
    for pname, info in rep.profiles.items():
        L += [f"### `{pname}` ({info['kind']}): {info['description']}", ""]
        rows = [(f"`{k}`", f"{v['value']:g}" if isinstance(v["value"], (int, float)) and not isinstance(v["value"], bool)
                 else str(v["value"]), v["unit"], v["quality"], v["source"])
                for k, v in info["figures_used"].items()]
        L += _table(("figure", "value", "unit", "quality", "source"), rows)
        if info["notes"]:
            L += [f"- {note}" for note in info["notes"]] + [""]
    return L


def _backend_check(rep) -> list:
    if rep.backend != "sim":
        return []
    c = rep.backend_check
    return ["## Backend check", "", f"Lava sim ran {c.get('lava_steps')} steps in {c.get('wall_time_s', 0):.1f} s; "
            f"emulator trains identical to Lava's totals on all {c.get('samples')} samples.", ""]


SECTIONS = (_header, _per_inference, _per_layer, _neurobench, _exit_steps, _fit, _scope, _figures, _backend_check)


def render(rep) -> str:
    """The whole Markdown text of ``rep`` (an :class:`~neurodeploy.report.energy_report.EnergyReport`)."""
    return "\n".join(line for section in SECTIONS for line in section(rep)).rstrip() + "\n"
