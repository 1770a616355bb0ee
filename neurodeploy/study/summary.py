"""``neurodeploy study DIR --summarize``: ``DIR/summary/`` with ``study.md``, ``study.json`` and two plots
from the cells' results.

* ``study.json``: the grid (``plan.json``) and every cell's ``result.json`` (cells not finished
  yet are listed with ``"status": "pending"``);
* ``study.md``: one table row per cell — clean accuracy, seed-style PGD-K at the main ε, the
  suite's robust accuracy at every ε, deployed (emu) robust accuracy at the main ε, mean exit step,
  modelled energy per inference on the target (dynamic; total with static power for the whole
  chip; total with static power for the cores the model uses);
* ``study_energy.png``: suite robust accuracy at the main ε against modelled dynamic energy, one
  line per row joining its full-T and early-exit cells (colour: encoding; marker: recipe; rows
  with no NetX form, hence no energy, as dotted horizontal lines);
* ``study_eps.png``: suite robust accuracy against ε, one panel per recipe (grid order), the ANN
  rows faint in every SNN panel for reference;
* the seed claim as stated (when the grid has a standard ANN row): standard-trained SNN cells
  with early exit against the standard ANN twin, robust accuracy ratios at the main ε under the
  seed-style attack and under the suite;
* the aim: the SNN cell with the best suite robust accuracy at the main ε against the
  adversarially trained ANN twin, and their modelled dynamic energies. ANN rows have no NetX form;
  their energy is the ANN twin's of an SNN cell's report (same topology, one pass, on
  ``ANN_PROFILE``: MACs and per-MAC memory reads, see :func:`neurodeploy.energy.model.ann_energy`).

The main ε is 0.1 when the grid has it, else its middle value. Files are rendered in memory and
written into a temporary folder that replaces ``DIR/summary`` as a whole
(:func:`neurodeploy.atomic.atomic_dir`): a reader sees the old summary or the new one, never a mix.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from neurodeploy.atomic import atomic_dir
from neurodeploy.schemas.study_folder import check_error, check_plan, check_result
from neurodeploy.errors import BadInputError
from neurodeploy.files import read_json
from neurodeploy.schemas.metrics import check_metrics
from neurodeploy.study.cell import cell_dir, run_dir

ANN_PROFILE = "cmos45-int8"   # the ANN rows' energy: the twin's MACs on 45 nm CMOS, int8
FILES = ("study.md", "study.json", "study_energy.png", "study_eps.png")
SUMMARY_DIR = "summary"  # DIR/summary/: the files above, replaced as one folder


@dataclass
class Summary:
    """The collected results of a study folder."""

    out: str
    grid: dict
    rows: list        # one dict per cell: result.json, or a pending stub
    main_eps: float
    files: dict

    @property
    def finished(self) -> list:
        return [r for r in self.rows if r.get("status") == "done"]

    def line(self) -> str:
        return (f"{self.out}: {len(self.finished)} of {len(self.rows)} cells finished -> "
                f"{self.files.get('study.md', '(no files)')}")


def main_eps(eps: list) -> float:
    return 0.1 if any(abs(e - 0.1) < 1e-12 for e in eps) else sorted(eps)[len(eps) // 2]


def collect(out) -> tuple:
    """(plan grid dict, rows) from a study folder."""
    out = Path(out)
    if not (out / "plan.json").exists():
        raise BadInputError(f"{out}: not a study folder (no plan.json; run `neurodeploy study GRID.toml --out {out}`)")
    grid = check_plan(read_json(out / "plan.json"), out / "plan.json")
    rows = []
    for c in grid["cells"]:
        d = cell_dir(out, c["cell_id"])
        if (d / "result.json").exists():
            rows.append({**check_result(read_json(d / "result.json"), d / "result.json"), "status": "done"})
        else:
            err = d / "error.json"
            rows.append({"cell": c["name"], "cell_id": c["cell_id"], "row": c["row"], "exit": c["exit"],
                         "group": c.get("group", ""), "status": "failed" if err.exists() else "pending",
                         "error": check_error(read_json(err), err).get("error") if err.exists() else None})
    twin = ann_twin_energy(out, rows)
    for r in rows:
        if r.get("status") == "done" and r.get("kind") == "ann" and twin is not None and not r.get("energy"):
            r["energy"] = twin
    return grid, rows


def ann_twin_energy(out: Path, rows: list) -> dict | None:
    """The ANN twin's modelled energy per inference on :data:`ANN_PROFILE`, from the report of the
    first finished SNN cell that has one (every row of a grid shares the model)."""
    for r in rows:
        if r.get("status") != "done" or r.get("kind") != "snn" or not r.get("energy"):
            continue
        path = cell_dir(out, r["cell_id"]) / r["energy"].get("report", "energy/report.json")
        if not path.exists():
            continue
        twins = read_json(path).get("ann_twin")
        for t in twins if isinstance(twins, list) else []:
            if isinstance(t, dict) and t.get("profile") == ANN_PROFILE and isinstance(t.get("dynamic_J"), (int, float)):
                return {"status": "done", "target": ANN_PROFILE, "dynamic_J": float(t["dynamic_J"]),
                        "total_chip_J": None, "total_cores_J": None, "label": "modelled",
                        "source": f"ANN twin in {path.relative_to(out)}"}
    return None


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f}"


def _uj(v) -> str:
    return "—" if v is None else f"{v * 1e6:.3g}"


def job_seconds(out, rows: list) -> dict:
    """What the finished work cost, in the jobs' own seconds (each job on its own thread(s)): the
    training epochs of every run the finished cells used, and the cells' attacks. With ``--workers N``
    the wall time is about their sum / N."""
    runs = {r["run_id"] for r in rows if r.get("status") == "done" and isinstance(r.get("run_id"), str)}
    train = 0.0
    for run_id in sorted(runs):
        path = run_dir(out, run_id) / "metrics.json"
        if path.exists():
            train += sum(e.get("seconds", 0.0) for e in check_metrics(read_json(path), path)["epochs"])
    attack = sum(v for r in rows if r.get("status") == "done"   # checked by check_result: numbers >= 0 or null
                 for v in (r.get("attack_seconds") or {}).values() if v is not None)
    return {"runs": len(runs), "train_s": train, "attack_s": attack}


def markdown(grid: dict, rows: list, eps0: float, cost: dict | None = None) -> str:
    eps = grid["eps"]
    k = f"{eps0:g}"
    lines = [f"# Study `{grid['name']}`", "",
             f"Grid `{grid['path']}`: {len(rows)} cells, {len([r for r in rows if r.get('status') == 'done'])} "
             f"finished. {grid['limit']} test images per cell, seed {grid['seed']}, L∞ ε in "
             f"{', '.join(f'{e:g}' for e in eps)}; energy modelled on `{grid['target']}`.", "",
             "Columns: **clean** accuracy of the trained model under the cell's exit rule; **seed PGD** = "
             f"PGD-{grid['seed_pgd_steps']} through the seed code's spike-only encoder gradient at ε = {k} (what the "
             "seed paper's attack reports); **suite** = the per-sample worst case over `neurodeploy attack --attack "
             f"suite` at each ε; **emu** = the suite's images judged on the exported model (emulator) at ε = {k}; "
             "**exit** = mean exit step (of T); energy per inference in µJ, *modelled*: **dyn** dynamic, **chip** "
             "dynamic + static power of the whole chip × latency, **cores** dynamic + static power of the cores "
             "the model uses × latency.", ""]
    if cost:
        lines += [f"Compute of the finished cells, in the jobs' own time: training {cost['train_s'] / 3600:.2f} h "
                  f"({cost['runs']} runs), attacks {cost['attack_s'] / 3600:.2f} h (with `--workers N` the wall time "
                  "is about their sum / N; exports, emulation and energy reports add minutes).", ""]
    head = (["cell", "clean", f"seed PGD {k}"] + [f"suite {e:g}" for e in eps]
            + [f"emu {k}", "exit", "dyn µJ", "chip µJ", "cores µJ"])
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r.get("status") != "done":
            lines.append(f"| {r['cell']} | *{r['status']}*" + " |" * (len(head) - 1))
            continue
        en = r.get("energy") or {}
        flag = " ⚠" if r.get("masking_checks_failed") else ""
        cells = [r["cell"] + flag, _pct(r.get("clean")), _pct((r.get("seed_pgd") or {}).get(k))]
        cells += [_pct((r.get("suite") or {}).get(f"{e:g}")) for e in eps]
        cells += [_pct((r.get("deployed_suite") or {}).get(k)),
                  "—" if r.get("kind") == "ann" else f"{r['exit_step_mean']:.2f}/{r['steps']}",
                  _uj(en.get("dynamic_J")), _uj(en.get("total_chip_J")), _uj(en.get("total_cores_J"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += seed_claim(rows, grid, k)
    lines += aim(rows, k)
    failed = [r for r in rows if r.get("status") == "done" and r.get("masking_checks_failed")]
    if failed:
        lines += ["", "⚠ masking checks failed (robust accuracy may be overstated): "
                  + "; ".join(f"{r['cell']}: {', '.join(r['masking_checks_failed'])}" for r in failed)]
    errors = [r for r in rows if r.get("status") == "failed"]
    if errors:
        lines += ["", "Failed cells: " + "; ".join(f"{r['cell']}: {r['error']}" for r in errors)]
    lines += ["", "Energy and latency are modelled (activity counts × per-operation figures of the hardware "
              f"profile), never measured. ANN rows: the ANN twin's dynamic energy on `{ANN_PROFILE}` (same "
              "topology, one pass, MACs + per-MAC memory reads). Other rows without energy have no NetX form "
              "(analog direct coding)."]
    return "\n".join(lines) + "\n"


def _plain(train: dict) -> bool:
    """Standard training: no noise, no adversarial examples, no membrane penalty."""
    return not train.get("noise") and not train.get("adv") and train.get("mppd") is None


def claim_ratios(rows: list, k: str) -> list:
    """The seed claim as stated: every standard-trained SNN cell with early exit against the
    standard-trained ANN twin, robust accuracy ratios at ε = ``k`` under the seed-style attack and
    under the suite (None where the ANN's robust accuracy is 0)."""
    done = [r for r in rows if r.get("status") == "done" and r.get("train")]
    ann = next((r for r in done if r["kind"] == "ann" and _plain(r["train"])), None)
    if ann is None:
        return []
    out = []
    for r in done:
        if r["kind"] != "snn" or r["exit"] == "off" or not _plain(r["train"]):
            continue
        pair = {}
        for key in ("seed_pgd", "suite"):
            a, b = (r.get(key) or {}).get(k), (ann.get(key) or {}).get(k)
            pair[key] = (a, b, None if a is None or not b else a / b)
        out.append({"cell": r["cell"], "ann": ann["cell"], **pair})
    return out


SMALL_FIGURE = 0.05   # below this robust accuracy a ratio divides noise: say so, and give the points


def seed_claim(rows: list, grid: dict, k: str) -> list:
    ratios = claim_ratios(rows, k)
    if not ratios:
        return []

    def fmt(t):
        a, b, q = t
        gap = "" if a is None or b is None else f" ({100 * (a - b):+.1f} points)"
        return f"{_pct(a)} / {_pct(b)} = " + ("—" if q is None else f"**{q:.2f}×**") + gap

    lines = ["", f"## The seed claim at ε = {k}", "",
             f"Standard-trained SNN with early exit against the standard ANN twin (`{ratios[0]['ann']}`): "
             "robust accuracy SNN / ANN (the claim: up to 2×). The seed-style attack alone can overstate the "
             "SNN (its gradient masks); the suite is the figure to trust.", "",
             "| cell | seed-style PGD | suite |", "|---|---|---|"]
    lines += [f"| {r['cell']} | {fmt(r['seed_pgd'])} | {fmt(r['suite'])} |" for r in ratios]
    small = [key for key in ("seed_pgd", "suite")
             if ratios[0][key][1] is not None and ratios[0][key][1] < SMALL_FIGURE]
    if small:
        names = {"seed_pgd": "seed-style PGD", "suite": "the suite"}
        lines += ["", f"The standard ANN keeps less than {100 * SMALL_FIGURE:g} % under "
                  + " and ".join(names[key] for key in small)
                  + f" at ε = {k}: those ratios divide small numbers; the difference in points says more."]
    return lines


def _dynamic(r: dict):
    return (r.get("energy") or {}).get("dynamic_J")


def aim_pair(rows: list, k: str) -> dict | None:
    """The best SNN cell by suite robust accuracy at ε = ``k`` (ties: the lower modelled dynamic
    energy), the best one with a NetX form (modelled energy; None when no such cell), the
    adversarially trained ANN twin (an ANN row trained with --adv on unquantised input) and the
    best SNN cell that reaches the ANN's robust accuracy at lower dynamic energy (None if none)."""
    done = [r for r in rows if r.get("status") == "done" and r.get("train")]
    ann = next((r for r in done if r["kind"] == "ann" and r["train"].get("adv")
                and not r["train"].get("input_quantisation")), None)
    snns = [r for r in done if r["kind"] == "snn" and (r.get("suite") or {}).get(k) is not None]
    if ann is None or not snns:
        return None

    def rank(r):
        return (r["suite"][k], -(_dynamic(r) or float("inf")))

    deployed = [r for r in snns if _dynamic(r) is not None]
    b, eb = (ann.get("suite") or {}).get(k), _dynamic(ann)
    meets = [r for r in deployed if b is not None and eb is not None and r["suite"][k] >= b and _dynamic(r) < eb]
    return {"snn": max(snns, key=rank), "deployed": max(deployed, key=rank) if deployed else None, "ann": ann,
            "meets": max(meets, key=rank) if meets else None}


def aim_verdict(pair: dict, k: str) -> str:
    """Whether some SNN cell reaches the ANN's suite robust accuracy at lower modelled dynamic
    energy, and the gap either way."""
    ann = pair["ann"]
    b, eb = (ann.get("suite") or {}).get(k), _dynamic(ann)
    if b is None:
        return "not comparable (the ANN row has no suite figure)"
    best, dep = pair["snn"], pair["deployed"]
    if pair["meets"] is not None:
        return f"holds ({pair['meets']['cell']})"
    parts = [f"the best SNN cell is {100 * (best['suite'][k] - b):+.1f} points from the ANN's robust accuracy"]
    if dep is not None and eb is not None:
        parts.append(f"the best deployable one {100 * (dep['suite'][k] - b):+.1f} points "
                     f"at {_dynamic(dep) / eb:.2f}× its modelled dynamic energy")
    robust = best["suite"][k] >= b
    head = "holds for robustness; energy not comparable" if robust and dep is not best else "does not hold"
    return f"{head}: " + "; ".join(parts)


def aim(rows: list, k: str) -> list:
    pair = aim_pair(rows, k)
    if pair is None:
        return []
    cells = []
    for r in (pair["snn"], pair["deployed"], pair["meets"]):
        if r is not None and all(r is not c for c in cells):
            cells.append(r)
    cells.append(pair["ann"])

    def line(r):
        target = (r.get("energy") or {}).get("target", "—")
        return f"| {r['cell']} (`{target}`) | {_pct((r.get('suite') or {}).get(k))} | {_uj(_dynamic(r))} |"

    return (["", f"## The aim at ε = {k}: best SNN cell against the adversarially trained ANN twin", "",
             "| cell | suite | dynamic µJ (modelled) |", "|---|---|---|"]
            + [line(r) for r in cells]
            + ["", f"Aim (suite robust accuracy at least the ANN's, at lower modelled dynamic energy): "
                   f"**{aim_verdict(pair, k)}**."])


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


MARKERS = "osD^v<>ph*"


def _styles(done: list) -> tuple:
    """One colour per encoding (ANN rows: greys) and one marker per group (recipe), in grid order,
    so a row is recognisable across both plots."""
    encodings = list(dict.fromkeys(r.get("encoding") or "" for r in done if r.get("kind") == "snn"))
    groups = list(dict.fromkeys(r.get("group", "") for r in done))
    anns = list(dict.fromkeys(r["row"] for r in done if r.get("kind") == "ann"))

    def colour(r):
        if r.get("kind") == "ann":
            return str(0.15 + 0.5 * anns.index(r["row"]) / max(1, len(anns)))   # grey levels
        return f"C{encodings.index(r.get('encoding') or '') % 10}"

    def marker(r):
        return MARKERS[groups.index(r.get("group", "")) % len(MARKERS)]

    return colour, marker, groups


def plots(rows: list, eps: list, eps0: float) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = f"{eps0:g}"
    done = [r for r in rows if r.get("status") == "done"]
    colour, marker, groups = _styles(done)
    by_row: dict = {}
    for r in done:
        by_row.setdefault(r["row"], []).append(r)
    fig, ax = plt.subplots(figsize=(11, 5.5))
    for name, cells in by_row.items():
        pts = sorted([(_dynamic(c), (c.get("suite") or {}).get(k)) for c in cells],
                     key=lambda p: p[0] or 0)
        acc = [p[1] for p in pts if p[1] is not None]
        style = {"color": colour(cells[0]), "marker": marker(cells[0])}
        if all(p[0] is not None for p in pts) and acc:
            ax.plot([p[0] * 1e6 for p in pts], [100 * p[1] for p in pts], "-", ms=5, lw=1, label=name, **style)
        elif acc:
            ax.axhline(100 * max(acc), ls=":", lw=1, color=style["color"], label=f"{name} (no NetX: no energy)")
    ax.set_xlabel("modelled dynamic energy per inference (µJ)")
    ax.set_ylabel(f"suite robust accuracy at ε = {k} (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.set_title("robust accuracy vs modelled energy (colour: encoding, marker: recipe; "
                 "a line joins a row's full-T and early-exit cells)", fontsize=9)
    if by_row:
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    energy_png = _png(fig)
    plt.close(fig)

    ncols = min(3, len(groups) or 1)
    nrows = -(-(len(groups) or 1) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.2 * nrows), squeeze=False, sharey=True)
    refs = [r for r in done if r.get("kind") == "ann"]   # the ANN rows, faint, in every other panel

    def curve(ax, r, **kw):
        ys = [r.get("clean")] + [(r.get("suite") or {}).get(f"{e:g}") for e in eps]
        xy = [(x, 100 * y) for x, y in zip([0.0] + list(eps), ys) if y is not None]
        ax.plot([x for x, _ in xy], [y for _, y in xy], **kw)

    for ax, g in zip(axes.flat, groups or [""]):
        mine = [r for r in done if r.get("group", "") == g]
        for r in mine:
            curve(ax, r, ls="--" if r["exit"] != "off" else "-", marker=marker(r), ms=3, lw=1,
                  color=colour(r), label=r["cell"])
        for r in refs if not any(m.get("kind") == "ann" for m in mine) else []:
            curve(ax, r, ls=":", lw=1, color=colour(r), label=f"{r['cell']} (reference)")
        ax.set_title(g or "rows", fontsize=9)
        ax.set_xlabel("ε (L∞)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=5)
    for ax in axes.flat[len(groups or [""]):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel("suite robust accuracy (%)")
    axes[0][0].set_ylim(-2, 102)
    fig.tight_layout()
    eps_png = _png(fig)
    plt.close(fig)
    return {"study_energy.png": energy_png, "study_eps.png": eps_png}


def summarize(out) -> Summary:
    """Write study.md, study.json and the plots into ``out/summary`` (swapped in as one folder)."""
    out = Path(out)
    grid, rows = collect(out)
    eps0 = main_eps(grid["eps"])
    pair = aim_pair(rows, f"{eps0:g}")
    cost = job_seconds(out, rows)
    data = {"study.json": (json.dumps({"format": "neurodeploy-study-summary/1", "grid": grid, "main_eps": eps0,
                                       "seed_claim": claim_ratios(rows, f"{eps0:g}"),
                                       "aim": None if pair is None else {
                                           "snn": pair["snn"]["cell"], "ann": pair["ann"]["cell"],
                                           "deployed": pair["deployed"] and pair["deployed"]["cell"],
                                           "meets": pair["meets"] and pair["meets"]["cell"],
                                           "verdict": aim_verdict(pair, f"{eps0:g}")},
                                       "job_seconds": cost, "cells": rows},
                                      indent=1) + "\n").encode(),
            "study.md": markdown(grid, rows, eps0, cost).encode()}
    data.update(plots(rows, grid["eps"], eps0))
    folder = out / SUMMARY_DIR
    with atomic_dir(folder) as tmp:   # the whole set appears at once
        for name, blob in data.items():
            (tmp / name).write_bytes(blob)
    return Summary(str(out), grid, rows, eps0, {name: str(folder / name) for name in data})
