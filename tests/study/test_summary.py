"""`neurodeploy study DIR --summarize`: study.md, study.json and the two plots."""
from __future__ import annotations

import json
import shutil

import pytest


def test_summary_files(study_copy):
    from click.testing import CliRunner

    from neurodeploy.cli import main

    _, out = study_copy
    r = CliRunner().invoke(main, ["study", str(out), "--summarize"])
    assert r.exit_code == 0, r.output
    assert "3 of 3 cells finished" in r.output
    assert not any((out / name).exists() for name in ("study.md", "study.json"))  # only inside summary/
    out = out / "summary"
    for name in ("study.md", "study.json", "study_energy.png", "study_eps.png"):
        data = (out / name).read_bytes()
        assert len(data) > 200
    for name in ("study_energy.png", "study_eps.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = json.loads((out / "study.json").read_text())
    assert s["main_eps"] == 0.1 and len(s["cells"]) == 3
    cells = {c["cell"]: c for c in s["cells"]}
    assert set(cells) == {"SNN early_burst", "SNN early_burst + exit margin:2", "ANN"}
    assert cells["ANN"]["status"] == "done"
    # the ANN row's energy: the ANN twin (same topology, one pass) of an SNN cell's report, on int8 CMOS
    rep = json.loads((study_copy[1] / "cells" / cells["SNN early_burst"]["cell_id"] / "energy" / "report.json").read_text())
    twin = next(t for t in rep["ann_twin"] if t["profile"] == "cmos45-int8")
    assert cells["ANN"]["energy"]["target"] == "cmos45-int8"
    assert cells["ANN"]["energy"]["dynamic_J"] == twin["dynamic_J"] > 0
    for c in (cells["SNN early_burst"], cells["SNN early_burst + exit margin:2"]):
        assert c["status"] == "done" and c["kind"] == "snn"
        en = c["energy"]   # dynamic <= cores-only static total <= whole-chip static total
        assert 0 < en["dynamic_J"] <= en["total_cores_J"] <= en["total_chip_J"]
    full, early = cells["SNN early_burst"], cells["SNN early_burst + exit margin:2"]
    assert full["exit_step_mean"] == 4 and early["exit_step_mean"] <= 4
    assert early["energy"]["dynamic_J"] <= full["energy"]["dynamic_J"]
    md = (out / "study.md").read_text()
    for col in ("seed PGD 0.1", "suite 0.1", "emu 0.1", "dyn µJ", "chip µJ", "cores µJ", "SNN early_burst + exit"):
        assert col in md
    assert not list(out.glob(".*.tmp"))
    # the seed claim: the standard SNN with early exit against the standard ANN, seed attack and suite
    (claim,) = s["seed_claim"]
    assert claim["cell"] == "SNN early_burst + exit margin:2" and claim["ann"] == "ANN"
    for key in ("seed_pgd", "suite"):
        a, b, q = claim[key]
        assert a == early[key]["0.1"] and b == cells["ANN"][key]["0.1"]
        assert q == (None if not b else a / b)
    assert "## The seed claim at ε = 0.1" in md
    # compute: the epochs of the runs the cells used, and the cells' attacks, in the jobs' own seconds
    runs = {c["run_id"] for c in s["cells"]}
    train = sum(e["seconds"] for run_id in runs
                for e in json.loads((study_copy[1] / "runs" / run_id / "metrics.json").read_text())["epochs"])
    cost = s["job_seconds"]
    assert cost["runs"] == len(runs) == 2 and cost["train_s"] == pytest.approx(train) and train > 0
    attack = sum(sum(c["attack_seconds"].values()) for c in s["cells"])
    assert cost["attack_s"] == pytest.approx(attack) and attack > 0
    assert f"training {train / 3600:.2f} h (2 runs)" in md


def test_summary_aim_best_snn_against_adversarial_ann(study_copy):
    """With an adversarially trained ANN row, study.md says whether the best SNN cell (suite at the
    main ε) reaches the ANN's robust accuracy at lower modelled dynamic energy."""
    from neurodeploy.study.summary import summarize

    _, out = study_copy
    ann = next(p for p in (out / "cells").iterdir() if p.name.startswith("ann"))
    res = json.loads((ann / "result.json").read_text())
    res["train"]["adv"] = "pgd:0.1,5"
    res["suite"]["0.1"] = 0.0                      # any SNN cell then reaches the ANN's figure
    (ann / "result.json").write_text(json.dumps(res))
    s = summarize(out)
    data = json.loads((out / "summary" / "study.json").read_text())
    snn = max((c for c in data["cells"] if c["kind"] == "snn"), key=lambda c: c["suite"]["0.1"])
    assert (data["aim"]["snn"], data["aim"]["ann"]) == (snn["cell"], "ANN")
    md = (out / "summary" / "study.md").read_text()
    assert "## The aim at ε = 0.1" in md
    cheaper = snn["energy"]["dynamic_J"] < next(c for c in data["cells"] if c["kind"] == "ann")["energy"]["dynamic_J"]
    assert ("**holds (" in md) == cheaper and ("**does not hold: " in md) == (not cheaper)
    assert data["aim"]["meets"] == (snn["cell"] if cheaper else None)
    assert len(s.finished) == 3


def _cell(name, kind, suite, dyn=None, train=None):
    return {"cell": name, "kind": kind, "status": "done", "train": train or {"adv": "pgd:0.1,5"},
            "suite": {"0.1": suite}, "energy": None if dyn is None else {"dynamic_J": dyn, "target": "t"}}


def test_aim_verdict_names_a_cheaper_cell_that_reaches_the_ann_and_the_gap_otherwise():
    from neurodeploy.study.summary import aim, aim_pair, aim_verdict

    ann = _cell("ANN adv", "ann", 0.50, dyn=5e-6)
    analog = _cell("SNN direct", "snn", 0.60)                 # most robust, no NetX form: no energy
    costly = _cell("SNN costly", "snn", 0.55, dyn=9e-6)       # robust enough, dearer than the ANN
    cheap = _cell("SNN cheap", "snn", 0.52, dyn=2e-6)         # robust enough and cheaper
    pair = aim_pair([ann, analog, costly, cheap], "0.1")
    assert (pair["snn"], pair["deployed"], pair["meets"]) == (analog, costly, cheap)
    assert aim_verdict(pair, "0.1") == "holds (SNN cheap)"
    assert sum(line.startswith("| SNN") for line in aim([ann, analog, costly, cheap], "0.1")) == 3
    # without the cheap cell: robust only where energy cannot be compared, dearer where it can
    verdict = aim_verdict(aim_pair([ann, analog, costly], "0.1"), "0.1")
    assert verdict.startswith("holds for robustness; energy not comparable: the best SNN cell is +10.0 points")
    assert "+5.0 points at 1.80× its modelled dynamic energy" in verdict
    weak = _cell("SNN weak", "snn", 0.40, dyn=1e-6)
    assert aim_verdict(aim_pair([ann, weak], "0.1"), "0.1").startswith(
        "does not hold: the best SNN cell is -10.0 points")


def test_seed_claim_says_when_the_ann_figure_is_too_small_for_a_ratio():
    from neurodeploy.study.summary import seed_claim

    std = {"adv": None, "noise": None, "mppd": None}
    ann = {**_cell("ANN", "ann", 0.01, train=std), "seed_pgd": {"0.1": 0.2}}
    snn = {**_cell("SNN", "snn", 0.03, train=std), "seed_pgd": {"0.1": 0.3}, "exit": "margin:2"}
    text = "\n".join(seed_claim([ann, snn], {}, "0.1"))
    assert "3.0 / 1.0 = **3.00×** (+2.0 points)" in text and "30.0 / 20.0 = **1.50×** (+10.0 points)" in text
    assert "less than 5 % under the suite at ε = 0.1" in text and "seed-style PGD and" not in text


def test_summary_lists_unfinished_cells(study_copy):
    from neurodeploy.study.summary import summarize

    _, out = study_copy
    victim = sorted((out / "cells").iterdir())[0]
    shutil.rmtree(victim)
    s = summarize(out)
    assert len(s.finished) == 2
    md = (out / "summary" / "study.md").read_text()
    assert "*pending*" in md


def test_summary_of_a_non_study_folder(tmp_path):
    from neurodeploy.errors import BadInputError
    from neurodeploy.study.summary import summarize

    with pytest.raises(BadInputError, match="not a study folder"):
        summarize(tmp_path)
