"""Cells whose run has no NetX form still get every column that applies."""
from __future__ import annotations

import json

from study_helpers import TINY


def test_direct_coding_cell_without_netx(tmp_path):
    """Direct coding feeds analog currents: no export, so no emu/deployed/energy; the rest is measured."""
    from neurodeploy.study.runner import run_study

    text = (TINY.replace("{epochs}", "1").replace("limit = 16", "limit = 8").replace("limit = 256", "limit = 64")
            .replace('exits = ["off", "margin:2"]', 'exits = ["margin:2"]').replace('encoding = "early_burst"',
                                                                                  'encoding = "direct"'))
    grid = tmp_path / "direct.toml"
    grid.write_text(text.replace('name = "SNN early_burst"', 'name = "SNN direct"'))
    out = tmp_path / "out"
    res = run_study(grid, out, workers=1, progress=False)
    assert res.cells == 1 and res.outcome.ids("failed") == []
    (run,) = (out / "runs").iterdir()
    export = json.loads((run / "export.json").read_text())
    assert export["status"] == "n/a" and "analog" in export["reason"] and not (run / "model.net").exists()
    (cell,) = (out / "cells").iterdir()
    r = json.loads((cell / "result.json").read_text())
    assert r["energy"] is None and r["deployed_suite"] is None and r["emu_accuracy"] is None
    assert r["exit_step_source"] == "trained model" and 1 <= r["exit_step_mean"] <= 4
    assert set(r["suite"]) == set(r["seed_pgd"]) == {"0.1"} and r["clean"] == r["clean_trained"]
    assert json.loads((cell / "emu.json").read_text())["status"] == "n/a"
