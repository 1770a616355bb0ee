"""Gradient-masking checks (docs/attacks.md), as pure functions of measured accuracies.

Every report prints all of them; a failure is flagged ``FAILED`` (the run still succeeds — a
masking warning is information about the evaluation, not an error). ``tol`` absorbs sampling
noise between runs with different random starts: ``max(2 samples, 0.5 %)``.

* ``eps-monotone``: robust accuracy must not rise with ε (ε = 0 is the clean accuracy).
* ``steps-monotone``: more steps must not leave more accuracy (FGSM ≥ short PGD ≥ long PGD).
* ``large-eps``: at a large ε (L∞ 0.5: every image can be moved to a grey field) the attack must
  bring accuracy to ~0 (≤ 5 %).
* ``square-vs-whitebox``: the black-box Square attack must not beat the white-box attacks.
* ``noise-vs-attack``: random noise of the same ε must hurt less than the attack.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

PASS, FAILED, SKIPPED = "PASS", "FAILED", "SKIPPED"
LARGE_EPS_MAX_ACCURACY = 0.05
CHECK_NAMES = ("eps-monotone", "steps-monotone", "large-eps", "square-vs-whitebox", "noise-vs-attack")


@dataclass
class Check:
    """One masking check: ``status`` PASS | FAILED | SKIPPED and a one-line ``detail``."""

    name: str
    status: str
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def tolerance(n: int) -> float:
    return max(2.0 / max(n, 1), 0.005)


def _pct(a) -> str:
    return "n/a" if a is None else f"{100 * a:.1f}%"


def eps_monotone(curves: dict, tol: float) -> Check:
    """``curves``: name -> [(eps, accuracy), ...] (any order); fails where accuracy rises with ε."""
    bad = []
    for name, pts in curves.items():
        pts = sorted((e, a) for e, a in pts if a is not None)
        for (e0, a0), (e1, a1) in zip(pts, pts[1:]):
            if a1 > a0 + tol:
                bad.append(f"{name}: {_pct(a0)} at ε={e0:g} -> {_pct(a1)} at ε={e1:g}")
    if not curves:
        return Check("eps-monotone", SKIPPED, "no curves")
    if bad:
        return Check("eps-monotone", FAILED, "accuracy rises with ε: " + "; ".join(bad))
    return Check("eps-monotone", PASS, f"accuracy falls with ε for {len(curves)} attack(s) (tol {_pct(tol)})")


def steps_monotone(pairs: list, tol: float) -> Check:
    """``pairs``: [(eps, fewer_name, fewer_acc, more_name, more_acc)]; fails if more steps leave more."""
    if not pairs:
        return Check("steps-monotone", SKIPPED, "no attack was run at two step counts")
    bad = [f"ε={e:g}: {mn} {_pct(ma)} > {fn} {_pct(fa)}" for e, fn, fa, mn, ma in pairs
           if fa is not None and ma is not None and ma > fa + tol]
    if bad:
        return Check("steps-monotone", FAILED, "more steps leave more accuracy: " + "; ".join(bad))
    return Check("steps-monotone", PASS, f"more steps never helped the model ({len(pairs)} comparison(s))")


def large_eps(eps: float | None, name: str, acc: float | None,
              threshold: float = LARGE_EPS_MAX_ACCURACY) -> Check:
    if eps is None or acc is None:
        return Check("large-eps", SKIPPED, "not run")
    if acc > threshold:
        return Check("large-eps", FAILED, f"{name} at ε={eps:g} leaves {_pct(acc)} (> {_pct(threshold)}): "
                                          "the attack cannot even win with a huge budget")
    return Check("large-eps", PASS, f"{name} at ε={eps:g} leaves {_pct(acc)} (≤ {_pct(threshold)})")


def square_vs_whitebox(rows: list, tol: float) -> Check:
    """``rows``: [(eps, square_acc, whitebox_acc, samples_only_square_breaks[, n])].

    With ``square_acc`` None (Square ran only on the white-box survivors of ``n`` samples) it
    fails when the samples only Square breaks exceed ``tol·n``."""
    if not rows:
        return Check("square-vs-whitebox", SKIPPED, "Square or white-box attack not run")
    bad = []
    for row in rows:
        e, s, w, k = row[:4]
        n = row[4] if len(row) > 4 else None
        if s is not None and w is not None and s < w - tol:
            bad.append(f"ε={e:g}: Square {_pct(s)} < white-box {_pct(w)} ({k} samples only Square breaks)")
        elif s is None and n and k > tol * n:
            bad.append(f"ε={e:g}: Square broke {k} of {n} samples the white-box attacks left standing")
    if bad:
        return Check("square-vs-whitebox", FAILED, "black box beats white box (masked gradients): " + "; ".join(bad))
    extra = sum(row[3] for row in rows)
    return Check("square-vs-whitebox", PASS, "Square never beats the white-box attacks"
                 + (f" (it alone breaks {extra} sample(s) in all)" if extra else ""))


def noise_vs_attack(rows: list, tol: float) -> Check:
    """``rows``: [(eps, clean_acc, noise_acc, attack_acc)]; noise must hurt less than the attack."""
    if not rows:
        return Check("noise-vs-attack", SKIPPED, "not run")
    bad = []
    for e, clean, noise, attack in rows:
        if None in (clean, noise, attack) or e == 0:
            continue
        noise_hurts = noise < clean - tol
        if noise_hurts and attack > tol and attack > noise - tol:
            bad.append(f"ε={e:g}: noise {_pct(noise)} vs attack {_pct(attack)} (clean {_pct(clean)})")
    if bad:
        return Check("noise-vs-attack", FAILED, "random noise hurts as much as the attack: " + "; ".join(bad))
    return Check("noise-vs-attack", PASS, "the attack always hurts more than random noise of the same ε")
