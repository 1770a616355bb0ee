"""`make_report` / `neurodeploy report`: content, labels, atomic files and exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.energy.model import ann_energy
from neurodeploy.report import make_report
from neurodeploy.report import output as report_output
from neurodeploy.report import plots

LIMIT = 60
FILES = {"report.json", "report.md", *plots.FILES}


@pytest.fixture(scope="module")
def report(tiny_model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("report_out") / "rep"
    return make_report(tiny_model_path, "loihi2", limit=LIMIT, exit_rule="margin:1", out=out), out


def labels_in(obj, found):
    """Every 'label' value anywhere in a JSON tree."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "label":
                found.append(v)
            labels_in(v, found)
    elif isinstance(obj, list):
        for v in obj:
            labels_in(v, found)
    return found


def test_report_files_and_json_sanity(report):
    rep, out = report
    assert {p.name for p in out.iterdir()} == FILES            # nothing else, no temp files
    data = json.loads((out / "report.json").read_text())
    assert data["label"] == "modelled" and "never measured" in data["note"]
    labels = labels_in(data, [])
    assert len(labels) >= 4 and set(labels) == {"modelled"}
    no, ex = data["scenarios"]["no_exit"], data["scenarios"]["early_exit"]
    assert data["samples"] == LIMIT and data["target"] == "loihi2" and data["backend"] == "emu"
    assert no["mean_input_steps"] == data["steps"] == 8
    assert ex["mean_input_steps"] < 8, "margin:1 should fire before T on this model"
    assert ex["energy_J"] <= no["energy_J"] and ex["latency_s"] <= no["latency_s"]
    assert data["early_exit_saving"]["energy"] > 0
    assert sum(ex["exit_step_histogram"]) == LIMIT
    # per-sample counts behind the means
    ps = ex["per_sample"]
    assert len(ps["exit_step"]) == len(data["labels"]) == LIMIT
    assert sum(ps["energy_J"]) / LIMIT == pytest.approx(ex["energy_J"])
    assert sum(ps["exit_step"]) / LIMIT == pytest.approx(ex["mean_input_steps"])
    assert sum(p == y for p, y in zip(ps["prediction"], data["labels"])) / LIMIT == pytest.approx(ex["accuracy"])
    assert all(e <= f for e, f in zip(ps["energy_J"], no["per_sample"]["energy_J"]))
    # the counts behind the energies
    a_no, a_ex = no["activity_per_inference"], ex["activity_per_inference"]
    assert a_ex["synops_effective"] <= a_no["synops_effective"] and a_ex["spikes"] <= a_no["spikes"]
    assert a_no["neuron_updates"] == sum(l["neurons"] for l in a_no["layers"]) * (8 + data["pipeline_steps"])
    # ANN twin on both CMOS profiles, equal to a direct call
    anns = {a["profile"]: a for a in data["ann_twin"]}
    assert set(anns) == {"cmos45-fp32", "cmos45-int8"}
    from neurodeploy import netx
    direct = ann_energy(netx.read(rep.model_path), "cmos45-int8").total_J
    assert anns["cmos45-int8"]["energy_J"] == pytest.approx(direct)
    nb = data["neurobench"]
    assert {"Footprint", "ConnectionSparsity", "ActivationSparsity", "SynapticOperations"} <= set(nb)
    assert nb["SynapticOperations"]["early_exit"]["effective_acs"] == pytest.approx(
        sum(l["synops_effective"] for l in a_ex["layers"]))
    assert data["fit"]["fits"] is True and data["fit"]["profile"] == "loihi2"
    # the sweep: "off" is the no-exit scenario, every point labelled
    off = [p for p in data["sweep"] if p["family"] == "off"]
    assert len(off) == 1 and off[0]["energy_J"] == pytest.approx(no["energy_J"])
    assert off[0]["accuracy"] == pytest.approx(no["accuracy"])
    chosen = [p for p in data["sweep"] if p["exit_rule"] == "margin:1"]
    assert chosen and chosen[0]["energy_J"] == pytest.approx(ex["energy_J"])
    # every figure used names its source and quality
    for prof in data["profiles"].values():
        for fig in prof["figures_used"].values():
            assert fig["source"] and fig["quality"] in ("primary", "secondary", "proxy")
    assert any("pipeline drain" in x for x in data["excluded"])


def test_markdown_labels_and_sources(report):
    rep, out = report
    md = (out / "report.md").read_text()
    assert md.startswith("# Energy and latency report") and "(modelled)" in md.splitlines()[0]
    for text in ("Nothing here was measured", "Included:", "Excluded:", "Assumptions:", "quality",
                 "Davies et al.", "Horowitz", "cmos45-fp32", "cmos45-int8", "NeuroBench", "fits on loihi2",
                 "energy_per_layer.png", "exit_steps.png", "accuracy_vs_energy.png"):
        assert text in md, text
    for png in plots.FILES:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    line = rep.summary()
    assert "\n" not in line and "modelled" in line and str(out / "report.md") in line


def test_exit_off_gives_identical_scenarios(tiny_model_path):
    rep = make_report(tiny_model_path, "loihi1", limit=20, exit_rule="off", sweep=False)
    assert rep.early_exit.energy_J == rep.no_exit.energy_J and rep.files == {} and rep.sweep == []
    assert rep.early_exit.mean_steps == 8


def test_plot_failure_leaves_nothing(tiny_model_path, tmp_path, monkeypatch):
    def boom(rep):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr(plots, "accuracy_vs_energy", boom)
    out = tmp_path / "rep"
    with pytest.raises(RuntimeError, match="plotting failed"):
        make_report(tiny_model_path, "loihi2", limit=20, out=out, sweep=False)
    assert not out.exists() or list(out.iterdir()) == []


def test_write_failure_keeps_old_report_and_leaves_no_temp(tiny_model_path, tmp_path, monkeypatch):
    out = tmp_path / "rep"
    rep = make_report(tiny_model_path, "loihi2", limit=20, out=out, sweep=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == FILES

    real = Path.write_bytes
    calls = {"n": 0}

    def flaky(self, data):
        calls["n"] += 1
        if calls["n"] == 3:       # the third file fails after two were staged
            raise OSError("disk full")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    rep.exit_rule = "changed"     # would change report.md and report.json if written
    with pytest.raises(OSError, match="disk full"):
        report_output.write_report(rep, out)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before        # old set intact, no temp files
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]
    assert rep.files == {}


def test_sim_backend_agrees_with_emu(tiny_model_path):
    rep = make_report(tiny_model_path, "loihi2", backend="sim", limit=4, exit_rule="margin:1", sweep=False)
    emu = make_report(tiny_model_path, "loihi2", backend="emu", limit=4, exit_rule="margin:1", sweep=False)
    assert rep.backend == "sim" and rep.backend_check["identical"]
    assert rep.early_exit.exit_steps.tolist() == emu.early_exit.exit_steps.tolist()
    assert rep.early_exit.energy_J == pytest.approx(emu.early_exit.energy_J)


# ------------------------------------------------------------------------------------------- CLI
def test_cli_success_prints_one_line(tiny_model_path, tmp_path):
    out = tmp_path / "cli"
    r = CliRunner().invoke(main, ["report", str(tiny_model_path), "--target", "loihi2", "--limit", "20",
                                  "--exit", "margin:2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert len(lines) == 1 and "modelled" in lines[0] and "uJ/inference" in lines[0]
    assert {p.name for p in out.iterdir()} == FILES


def test_cli_bad_target_exits_2(tiny_model_path, tmp_path):
    r = CliRunner().invoke(main, ["report", str(tiny_model_path), "--target", "loihi9", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "unknown target 'loihi9'" in r.output
    assert not (tmp_path / "o").exists()


def test_cli_bad_exit_rule_and_backend_exit_2(tiny_model_path):
    r = CliRunner().invoke(main, ["report", str(tiny_model_path), "--target", "loihi2", "--exit", "margin:x"])
    assert r.exit_code == 2 and "bad --exit rule" in r.output
    r = CliRunner().invoke(main, ["report", str(tiny_model_path), "--target", "loihi2", "--backend", "loihi2"])
    assert r.exit_code == 2


def test_cli_corrupt_model_exits_3(tmp_path):
    junk = tmp_path / "junk.net"
    junk.write_bytes(b"\x89HDF\r\n garbage")
    r = CliRunner().invoke(main, ["report", str(junk), "--target", "loihi2", "--out", str(tmp_path / "o")])
    assert r.exit_code == 3 and str(junk) in r.output
    assert len([l for l in r.output.splitlines() if l.strip()]) == 1
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(main, ["report", str(tmp_path / "missing.net"), "--target", "loihi2"])
    assert r.exit_code == 3 and "no such file" in r.output
