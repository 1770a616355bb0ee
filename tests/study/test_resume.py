"""A study stopped mid-cell resumes: finished epochs, steps and cells are not redone."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from study_helpers import tiny_grid

ROOT = Path(__file__).resolve().parents[2]


def _mtimes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_stopped_after_training_resumes_without_retraining(tiny_study):
    stop, run = tiny_study["at_stop"], tiny_study["run"]
    # the stop: training finished (2 epochs checkpointed), the export step failed, no cell ran
    assert "stopped after training" in stop["error"]
    assert len(stop["metrics"]["epochs"]) == 2 and not stop["run_done"] and stop["error_json"]
    assert stop["cells"] == []
    # the resume: the same checkpoint and epochs (not retrained), then export and both cells
    after = json.loads((run / "metrics.json").read_text())
    assert after["epochs"] == stop["metrics"]["epochs"]
    assert (run / "checkpoint.pt").stat().st_mtime_ns == stop["checkpoint_mtime"]
    assert (run / "model.net").exists() and (run / "run.json").exists() and not (run / "error.json").exists()
    res = tiny_study["resumed"]
    assert res.cells == 3 and res.already_done == 0 and len(res.outcome.ids("done")) == 5  # 2 runs + 3 cells
    for c in (tiny_study["out"] / "cells").iterdir():
        r = json.loads((c / "result.json").read_text())
        assert set(r["suite"]) == {"0.1"} and 0 <= r["suite"]["0.1"] <= r["clean"] <= 1
        suite = json.loads((c / "suite" / "attack.json").read_text())
        names = [m["name"] for m in suite["results"][0]["attacks"]]
        if r["kind"] == "snn":   # exported: emu, deployed robust accuracy, energy; transfer from the ANN
            assert r["epochs"] == 2 and r["energy"]["dynamic_J"] > 0 and r["exit_step_source"] == "emu"
            assert r["deployed_suite"]["0.1"] is not None and any(n.startswith("transfer") for n in names)
        else:                    # the ANN twin: no NetX form, so no emu/energy; it is the transfer source
            assert r["energy"] is None and r["deployed_suite"] is None and r["exit"] == "off"
            assert not any(n.startswith("transfer") for n in names)


def test_finished_study_reruns_nothing(study_copy):
    from neurodeploy.study.runner import run_study

    grid, out = study_copy
    before = _mtimes(out / "cells") | _mtimes(out / "runs")
    res = run_study(grid, out, workers=1, progress=False)
    assert res.already_done == 3 and res.outcome.results == {}
    assert (_mtimes(out / "cells") | _mtimes(out / "runs")) == before


def test_cell_stopped_mid_way_resumes_at_its_step(study_copy):
    """Remove the last steps of one cell: only they run again; the other cell is untouched."""
    from neurodeploy.study.runner import run_study

    grid, out = study_copy
    victim, other = sorted((out / "cells").glob("snn-*"))
    for name in ("result.json", "energy.json"):
        (victim / name).unlink()
    kept = {k: v for k, v in _mtimes(victim).items() if not k.startswith("energy")}
    other_before = _mtimes(other)
    res = run_study(grid, out, workers=1, progress=False)
    assert res.already_done == 2 and res.outcome.ids("done") == [f"cell:{victim.name}"]
    after = _mtimes(victim)
    assert all(after[k] == v for k, v in kept.items())           # model/emu/attacks not redone
    assert (victim / "result.json").exists() and (victim / "energy.json").exists()
    assert _mtimes(other) == other_before


def test_killed_during_training_resumes_at_the_epoch(tmp_path):
    """SIGKILL the study process once epoch 1 of 3 is checkpointed; the rerun keeps epoch 1."""
    from neurodeploy.study.runner import run_study

    grid = tiny_grid(tmp_path, epochs=3)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), NEURODEPLOY_DATA="")
    proc = subprocess.Popen([sys.executable, "-m", "neurodeploy.cli", "study", str(grid), "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 300
        metrics = None
        while time.time() < deadline and proc.poll() is None:
            found = list(out.glob("runs/*/metrics.json"))
            if found:
                metrics = json.loads(found[0].read_text())
                if metrics.get("epochs"):
                    break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert metrics is not None and 1 <= len(metrics["epochs"]) < 3, "the kill came too late to test a resume"
    (run,) = (out / "runs").iterdir()
    at_kill = json.loads((run / "metrics.json").read_text())["epochs"]
    assert not (run / "run.json").exists() and not list(out.glob("cells/*/result.json"))
    res = run_study(grid, out, workers=1, progress=False, limit=8)
    final = json.loads((run / "metrics.json").read_text())["epochs"]
    assert len(final) == 3 and final[:len(at_kill)] == at_kill     # finished epochs were not redone
    assert res.cells == 2 and len(list(out.glob("cells/*/result.json"))) == 2


def test_two_cells_in_a_local_process_pool(study_copy):
    """--workers 2: the cells run in two spawned worker processes, each with cores // 2 torch threads."""
    from neurodeploy.study.pool import PoolBackend, threads_per_worker
    from neurodeploy.study.runner import run_study

    grid, out = study_copy
    for c in (out / "cells").glob("snn-*"):
        for name in ("result.json", "energy.json"):
            (c / name).unlink()
    backend = PoolBackend(2)
    assert backend.threads == threads_per_worker(2) >= 1
    try:
        res = run_study(grid, out, progress=False, backend=backend)
    finally:
        backend.close()
    assert len(res.outcome.ids("done")) == 2 and len(list(out.glob("cells/*/result.json"))) == 3
    results = list(res.outcome.results.values())
    assert all(r["threads"] == backend.threads for r in results)
    assert all(r["pid"] != os.getpid() for r in results)


def test_resume_on_other_data_refused(study_copy, tmp_path):
    from neurodeploy.errors import UsageError
    from neurodeploy.study.runner import run_study

    grid, out = study_copy
    with __import__("pytest").raises(UsageError, match="data root"):
        run_study(grid, out, workers=1, progress=False, data_dir=str(tmp_path))
