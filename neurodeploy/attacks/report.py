"""The result of an attack run and its files: ``attack.json``, ``attack.md``, ``attack.png``.

Every file is written to a temporary name in the output folder and renamed into place.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from neurodeploy.atomic import atomic_dir, write_with
from neurodeploy.attacks.checks import FAILED
from neurodeploy.attacks.suite import EpsResult, MemberResult
from neurodeploy.tables import markdown_rows

GRADIENT_NOTES = (
    "Gradient names `ENC+NEURON:WIDTH`: ENC is the encoder surrogate — `ste` straight-through "
    "(ds[t]/dx = 1) or `spike` spike-only (ds[t]/dx = s[t], masks gradients, docs/attacks.md); NEURON "
    "the spiking-neuron surrogate — `slayer` SLAYER's exponential with its width × WIDTH, `rect`/"
    "`sigmoid` with width WIDTH × threshold, `bptr` the rate gradient (straight-through where the "
    "neuron fired at least once). Loss position: `exit` (default) = cumulative output at the step the "
    "model exits on under its exit rule, `prefix` = sum over all prefixes, `final` = step T "
    "(non-adaptive when an exit rule is in force).")


@dataclass
class AttackReport:
    """Everything an attack run measured; ``to_dict`` is ``attack.json``."""

    run: str
    model: dict
    config: dict
    n: int
    clean_accuracy: float
    results: list = field(default_factory=list)          # [EpsResult]
    checks: list = field(default_factory=list)           # [Check]
    large_eps: MemberResult | None = None
    clean_deployed_accuracy: float | None = None
    deployed: str | None = None
    labels: list = field(default_factory=list)
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    def at(self, eps: float) -> EpsResult | None:
        return next((r for r in self.results if abs(r.eps - eps) < 1e-12), None)

    @property
    def failed_checks(self) -> list:
        return [c for c in self.checks if c.status == FAILED]

    def summary(self) -> str:
        """The one-line stdout summary."""
        parts = []
        for r in self.results:
            dep = f", deployed {100 * r.deployed_robust_accuracy:.1f}%" if r.deployed_robust_accuracy is not None else ""
            parts.append(f"ε={r.eps:g}: {100 * r.robust_accuracy:.1f}%{dep}")
        failed = self.failed_checks
        passed = sum(c.status == "PASS" for c in self.checks)
        if failed:
            check = f"masking checks FAILED: {', '.join(c.name for c in failed)}"
        elif passed:
            check = f"masking checks passed ({passed}/{len(self.checks)}, the rest skipped)" \
                if passed < len(self.checks) else f"masking checks passed ({passed}/{len(self.checks)})"
        else:
            check = "masking checks skipped"
        what = "worst case over the suite" if self.config.get("attack") == "suite" else self.config.get("attack")
        return (f"{self.run}: {what}, robust accuracy {'; '.join(parts)} (clean {100 * self.clean_accuracy:.1f}%, "
                f"n={self.n}); {check}")

    def to_dict(self) -> dict:
        res = []
        for r in self.results:
            d = {k: v for k, v in asdict(r).items() if k not in ("broken_by", "deployed_broken", "members")}
            d["clean_accuracy"] = self.clean_accuracy
            d["attacks"] = [asdict(m) for m in r.members]
            d["per_sample"] = {"broken_by": r.broken_by, "deployed_broken": r.deployed_broken}
            res.append(d)
        return {
            "format": "neurodeploy-attack/1", "run": self.run, "model": self.model, "config": self.config,
            "n": self.n, "labels": self.labels, "clean_accuracy": self.clean_accuracy,
            "deployed": self.deployed, "clean_deployed_accuracy": self.clean_deployed_accuracy,
            "results": res, "large_eps": asdict(self.large_eps) if self.large_eps else None,
            "checks": [c.to_dict() for c in self.checks], "notes": self.notes,
            "seconds": self.seconds, "versions": self.versions,
        }


def _pct(a) -> str:
    return "—" if a is None else f"{100 * a:.1f} %"


def to_markdown(rep: AttackReport) -> str:
    m, c = rep.model, rep.config
    lines = [f"# Adversarial robustness of `{rep.run}`", ""]
    enc = f", {m.get('encoding')} T={m.get('steps')}" if m.get("kind") == "snn" else ""
    lines.append(f"Model: {m.get('kind', '').upper()} `{m.get('model')}` on {m.get('dataset')}{enc}; "
                 f"exit rule `{m.get('exit_rule')}`. {rep.n} test images, seed {c.get('seed')}, "
                 f"{'L∞' if c.get('norm') == 'linf' else 'L2'} threat model, attack `{c.get('attack')}`"
                 + (f", EOT {m.get('eot')} draws" if m.get("stochastic") else "") + ".")
    lines.append("")
    lines.append(f"Clean accuracy: **{_pct(rep.clean_accuracy)}**"
                 + (f" (deployed `{rep.deployed}` on the emulator: {_pct(rep.clean_deployed_accuracy)})"
                    if rep.deployed else "") + ".")
    failed = rep.failed_checks
    lines += ["", "## Masking checks", ""]
    if failed:
        lines.append(f"**{len(failed)} check(s) FAILED — the robust accuracies below may be overstated.**")
        lines.append("")
    for ch in rep.checks:
        flag = f"**{ch.status}**" if ch.status == FAILED else ch.status
        lines.append(f"- {flag} `{ch.name}`: {ch.detail}")
    dep = rep.deployed is not None
    for r in rep.results:
        lines += ["", f"## ε = {r.eps:g}", ""]
        head = ["attack", "gradient", "loss at", "runs on", "robust acc"] + (["deployed"] if dep else []) + \
            ["broke (new)", "time s"]
        rows = []
        for x in r.members:
            runs = ("all" if x.accuracy_on in (None, rep.n) else f"survivors + first {x.accuracy_on}") \
                if x.standalone else "survivors"
            role = " (check)" if x.role == "check" else ""
            grad = x.gradient or ("none" if x.method in ("square", "noise") else "exact")
            grad = "source's exact" if x.method == "transfer" else grad
            at = "—" if x.method == "noise" else x.at
            rows.append([f"{x.name}{role}", grad, at, f"{runs} ({x.attacked})", _pct(x.robust_accuracy)]
                        + ([_pct(x.deployed_robust_accuracy)] if dep else []) + [f"{x.broke} ({x.new})", f"{x.seconds:.1f}"])
        rows.append(["**worst case**", "", "", "", f"**{_pct(r.robust_accuracy)}**"]
                    + ([f"**{_pct(r.deployed_robust_accuracy)}**"] if dep else []) + ["", f"{r.seconds:.1f}"])
        lines.append(markdown_rows(head, rows))
        if r.whitebox_robust_accuracy is not None:
            lines.append(f"\nWhite-box attacks alone: {_pct(r.whitebox_robust_accuracy)}"
                         + (f"; Square alone breaks {r.square_only} sample(s) they miss." if r.square_only else "."))
        if r.sim:
            s = r.sim
            lines.append(f"\nLava `sim` cross-check on the main attack's images of the first {s.get('samples')} samples: predictions "
                         f"{'agree' if s.get('agree_prediction') else 'DISAGREE'} with the emulator"
                         + (f" ({s['error']})" if s.get("error") else "") + ".")
    if rep.large_eps is not None:
        le = rep.large_eps
        lines += ["", f"Large-ε check: {le.name} at ε = {le.eps:g} leaves {_pct(le.robust_accuracy)}."]
    lines += ["", "## Notes", "", f"- {GRADIENT_NOTES}",
              "- Robust accuracy = fraction of the test images still classified correctly; images the model "
              "gets wrong clean count as broken. `worst case` = per-sample worst case over every attack row "
              "not marked (check). `runs on survivors` rows only attack what earlier rows left.",
              "- Predictions use the model's own decision: its evaluation draw of the encoder (seeded per "
              "sample) and its exit rule."]
    if dep:
        lines.append("- Deployed: the adversarial images crafted on the trained model, encoded with the model "
                     "card's encoder (same seeds) and run on the integer-exact emulator of the exported file.")
    lines += [f"- {n}" for n in rep.notes]
    lines.append(f"- Total time {rep.seconds:.1f} s.")
    return "\n".join(lines) + "\n"


def plot(rep: AttackReport, path: Path) -> None:
    """Accuracy vs ε, one line per standalone attack, the worst case in bold (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eps = [0.0] + [r.eps for r in rep.results]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = []
    for r in rep.results:
        for x in r.members:
            if x.standalone and x.name not in names:
                names.append(x.name)
    for name in names:
        ys = [rep.clean_accuracy]
        for r in rep.results:
            mr = r.member(name)
            ys.append(mr.robust_accuracy if mr is not None else float("nan"))
        style = ":" if name == "random noise" else "-"
        ax.plot(eps, [100 * v for v in ys], style, marker="o", ms=3, lw=1, label=name)
    ax.plot(eps, [100 * rep.clean_accuracy] + [100 * r.robust_accuracy for r in rep.results], "k-", lw=2.5,
            marker="s", label="worst case")
    if rep.deployed:
        ax.plot(eps, [100 * (rep.clean_deployed_accuracy or 0)] +
                [100 * (r.deployed_robust_accuracy or 0) for r in rep.results], "k--", lw=1.5, label="worst case, deployed")
    ax.set_xlabel("ε (" + ("L∞" if rep.config.get("norm") == "linf" else "L2") + ")")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(f"{Path(rep.run).name}: accuracy under attack (n={rep.n})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    _atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def _atomic(path: Path, write) -> None:
    write_with(path, write)


FILES = ("attack.json", "attack.md", "attack.png")


def write_report(rep: AttackReport, out_dir) -> dict:
    """Write attack.json, attack.md and attack.png as one folder ``out_dir``, swapped into place whole."""
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        plot(rep, tmp / FILES[2])
        (tmp / FILES[1]).write_text(to_markdown(rep))
        (tmp / FILES[0]).write_text(json.dumps(rep.to_dict(), indent=1) + "\n")
    rep.files = {"json": str(out / FILES[0]), "md": str(out / FILES[1]), "png": str(out / FILES[2])}
    return rep.files
