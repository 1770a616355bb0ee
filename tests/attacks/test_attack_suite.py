"""The suite (per-sample worst case), masking checks, deployed evaluation, reports and the CLI."""
import json

import pytest
import torch
from click.testing import CliRunner

from neurodeploy.attacks import AttackConfig, Target, evaluate, parse_eps
from neurodeploy.attacks import checks as chk
from neurodeploy.attacks.report import write_report
from neurodeploy.errors import UsageError

FAST = dict(steps=10, queries=60, limit=None)


def test_parse_eps():
    assert parse_eps("0.05, 0.1") == (0.05, 0.1)
    assert parse_eps("8/255") == (8 / 255,)
    with pytest.raises(UsageError):
        parse_eps("a")


@pytest.fixture(scope="module")
def suite_report(snn, ann, data):
    x, y, _ = (t[:60] for t in data)
    cfg = AttackConfig(attack="suite", eps=(0.02, 0.05), exit="margin:2", **FAST)
    return evaluate(Target(snn, "margin:2"), x, y, cfg, transfer=Target(ann, "off"), progress=False)


def test_suite_is_the_per_sample_worst_case(suite_report):
    rep = suite_report
    for r in rep.results:
        names = [m.name for m in r.members]
        assert any("spike+slayer" in n for n in names), "the spike-only encoder gradient must have its own row"
        assert any("bptr" in n for n in names) and any(n.startswith("apgd-dlr") for n in names)
        assert any(n.startswith("transfer") for n in names) and any(n.startswith("square") for n in names)
        assert any("final" in n for n in names), "non-adaptive row when an exit rule is in force"
        attack_rows = [m for m in r.members if m.role == "attack" and m.standalone]
        # suite ≤ every single attack, in aggregate ...
        assert all(r.robust_accuracy <= m.robust_accuracy + 1e-12 for m in attack_rows)
        # ... and per sample: a sample robust in the suite is broken by nobody
        robust = [b is None for b in r.broken_by]
        assert sum(robust) / rep.n == pytest.approx(r.robust_accuracy)
        assert sum(m.new for m in r.members) + sum(b == "clean" for b in r.broken_by) == rep.n - sum(robust)
        assert all(b is None or b == "clean" or b in names for b in r.broken_by)
    assert [c.name for c in rep.checks] == ["eps-monotone", "steps-monotone", "large-eps",
                                            "square-vs-whitebox", "noise-vs-attack"]


def test_suite_per_sample_against_single_attacks(snn, data):
    """Run each single attack separately; the suite must break every sample any of them breaks."""
    x, y, _ = (t[:60] for t in data)
    tg = Target(snn, "off")
    suite = evaluate(tg, x, y, AttackConfig(attack="suite", eps=(0.02,), full=True, **FAST), progress=False)
    robust = torch.tensor([b is None for b in suite.results[0].broken_by])
    for method in ("fgsm", "pgd"):
        steps = 10 if method == "pgd" else None
        single = evaluate(tg, x, y, AttackConfig(attack=method, eps=(0.02,), steps=steps, queries=60, limit=None),
                          progress=False)
        single_robust = torch.tensor([b is None for b in single.results[0].broken_by])
        assert not (robust & ~single_robust).any(), f"suite keeps samples that {method} breaks"


def test_reports_are_written(suite_report, tmp_path):
    files = write_report(suite_report, tmp_path)
    data = json.loads((tmp_path / "attack.json").read_text())
    assert data["results"][0]["per_sample"]["broken_by"] and data["checks"]
    assert {a["name"] for a in data["results"][0]["attacks"]} >= {"fgsm [ste+slayer:1]"}
    assert all("seconds" in a for a in data["results"][0]["attacks"])
    md = (tmp_path / "attack.md").read_text()
    assert "Masking checks" in md and "worst case" in md
    assert (tmp_path / "attack.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob("*.tmp"))
    assert set(files) == {"json", "md", "png"}


class QuantisedInput(torch.nn.Module):
    """A gradient-masking model: a hard-quantised input layer (zero gradient) in front of the ANN."""

    kind = "ann"

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(torch.round(x * 4) / 4)

    def cumulative(self, x):
        return self.forward(x).unsqueeze(-1)


def test_masking_checks_fire_on_a_masked_model(ann, data):
    x, y, _ = data
    masked = Target(QuantisedInput(ann), "off")
    rep = evaluate(masked, x, y, AttackConfig(attack="pgd", eps=(0.1, 0.2), steps=10, queries=200, limit=None),
                   progress=False)
    failed = {c.name for c in rep.failed_checks}
    assert failed & {"square-vs-whitebox", "noise-vs-attack"}, rep.checks
    from neurodeploy.attacks.report import to_markdown

    assert "**FAILED**" in to_markdown(rep)
    assert "FAILED" in rep.summary()
    # the same evaluation of the honest model passes those checks
    honest = evaluate(Target(ann, "off"), x, y, AttackConfig(attack="pgd", eps=(0.1, 0.2), steps=10, queries=200,
                                                             limit=None), progress=False)
    assert not {c.name for c in honest.failed_checks} & {"square-vs-whitebox", "noise-vs-attack"}, honest.checks


def test_check_functions():
    assert chk.eps_monotone({"a": [(0, 0.9), (0.1, 0.5), (0.2, 0.6)]}, 0.01).status == chk.FAILED
    assert chk.eps_monotone({"a": [(0, 0.9), (0.1, 0.5), (0.2, 0.505)]}, 0.01).status == chk.PASS
    assert chk.steps_monotone([(0.1, "pgd2", 0.3, "pgd10", 0.4)], 0.01).status == chk.FAILED
    assert chk.steps_monotone([], 0.01).status == chk.SKIPPED
    assert chk.large_eps(0.5, "pgd", 0.2).status == chk.FAILED
    assert chk.large_eps(0.5, "pgd", 0.0).status == chk.PASS
    assert chk.square_vs_whitebox([(0.1, 0.2, 0.4, 20)], 0.01).status == chk.FAILED
    assert chk.square_vs_whitebox([(0.1, 0.4, 0.2, 0)], 0.01).status == chk.PASS
    assert chk.noise_vs_attack([(0.1, 0.9, 0.5, 0.6)], 0.01).status == chk.FAILED
    assert chk.noise_vs_attack([(0.1, 0.9, 0.5, 0.1)], 0.01).status == chk.PASS
    assert chk.noise_vs_attack([(0.5, 0.9, 0.0, 0.0)], 0.01).status == chk.PASS  # both at zero: nothing to win


def test_deployed_and_cli(snn_run, tmp_path):
    from neurodeploy.cli import main
    from neurodeploy.export.exporter import export_run

    net = tmp_path / "model.net"
    export_run(snn_run, net)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["attack", str(snn_run), "--attack", "pgd", "--eps", "0.02,0.05", "--steps", "5",
                                    "--limit", "40", "--exit", "margin:2", "--queries", "30",
                                    "--deployed", str(net), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "robust accuracy" in res.output
    data = json.loads((out / "attack.json").read_text())
    assert data["clean_deployed_accuracy"] == pytest.approx(data["clean_accuracy"])
    for r in data["results"]:
        assert r["deployed_robust_accuracy"] is not None
        # the emulator is integer-exact: the deployed model agrees with the trained one here
        assert r["deployed_robust_accuracy"] == pytest.approx(r["robust_accuracy"])
        assert r["per_sample"]["deployed_broken"] is not None
    assert "deployed" in (out / "attack.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.net", "out"]  # the per-ε partials are gone
    bad = CliRunner().invoke(main, ["attack", str(snn_run), "--eps", "0.1", "--exit", "sometimes"])
    assert bad.exit_code == 2 and "exit rule" in bad.output


def test_square_check_on_survivors_counts_square_only_breaks():
    # Square ran last, on the white-box survivors of 200 samples (robust accuracy n/a)
    ok = chk.square_vs_whitebox([(0.1, None, 0.5, 1, 200)], 0.01)
    assert ok.status == chk.PASS and "breaks 1 sample" in ok.detail
    assert chk.square_vs_whitebox([(0.1, None, 0.5, 9, 200)], 0.01).status == chk.FAILED


def test_interrupted_attack_keeps_finished_eps(snn, ann, data, suite_report, tmp_path, monkeypatch):
    """Each finished ε is kept in the partial folder; a rerun skips it and gives the same report
    as the uninterrupted run; other settings do not reuse it."""
    from neurodeploy.attacks import api

    x, y, _ = (t[:60] for t in data)
    cfg = AttackConfig(attack="suite", eps=(0.02, 0.05), exit="margin:2", **FAST)
    real, calls = api.run_eps, []

    def dies_on_second(members, target, x_, y_, idx, clean_ok, eps, *a, **k):
        if eps == 0.05:
            raise KeyboardInterrupt
        return real(members, target, x_, y_, idx, clean_ok, eps, *a, **k)

    monkeypatch.setattr(api, "run_eps", dies_on_second)
    part = tmp_path / "out.partial"
    with pytest.raises(KeyboardInterrupt):
        evaluate(Target(snn, "margin:2"), x, y, cfg, transfer=Target(ann, "off"), progress=False, partial_dir=part)
    assert [p.name for p in part.iterdir()] == ["eps-0.02.json"]

    def counting(members, target, x_, y_, idx, clean_ok, eps, *a, **k):
        calls.append(eps)
        return real(members, target, x_, y_, idx, clean_ok, eps, *a, **k)

    monkeypatch.setattr(api, "run_eps", counting)
    rep = evaluate(Target(snn, "margin:2"), x, y, cfg, transfer=Target(ann, "off"), progress=False, partial_dir=part)
    assert calls == [0.05]
    for a, b in zip(rep.results, suite_report.results):
        assert a.broken_by == b.broken_by and a.robust_accuracy == b.robust_accuracy
        assert [m.name for m in a.members] == [m.name for m in b.members]
    other = AttackConfig(attack="suite", eps=(0.02,), exit="margin:2", steps=5, queries=60, limit=None)
    evaluate(Target(snn, "margin:2"), x, y, other, transfer=Target(ann, "off"), progress=False, partial_dir=part)
    assert calls == [0.05, 0.02]  # other settings: the kept 0.02 is not theirs
