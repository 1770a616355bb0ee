"""Kill tests (issue 12): SIGINT and SIGKILL at several points of train, export and report.

Promises checked: Ctrl-C ends a command with the one line ``interrupted`` and exit 130; outputs
are all or nothing (a NetX file is whole or absent, a report folder holds the old set or the new
set); a later run removes the temporaries a killed one left; a run killed at any point resumes
to exactly the metrics (and weights) of the uninterrupted run.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from neurodeploy import netx
from neurodeploy.training.config import TrainConfig
from neurodeploy.training.run import train

ROOT = Path(__file__).resolve().parents[2]
TRAIN3 = dict(model="mlp", encoding={"name": "early_burst"}, steps=4, epochs=3, seed=1, batch_size=32,
              limit=64, test_limit=32, noise="gaussian:0.1")  # noise: the global RNG matters on resume
TRAIN3_ARGS = ["train", "--model", "mlp", "--encoding", "early_burst", "-T", "4", "--epochs", "3", "--seed", "1",
               "--batch-size", "32", "--limit", "64", "--test-limit", "32", "--noise", "gaussian:0.1"]
TEMP_SUFFIXES = (".tmp", ".tmpdir", ".old")


def cli(args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "neurodeploy.cli", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(proc: subprocess.Popen, condition, timeout: float = 180.0, poll: float = 0.005) -> bool:
    """Poll until ``condition()`` holds (True) or the process ended (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(poll)
    proc.kill()
    pytest.fail("timed out waiting for the process")


def kill(proc: subprocess.Popen, sig) -> tuple:
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out, err


def inside_command(proc: subprocess.Popen) -> bool:
    """The command body runs: it has loaded torch (imported only inside the commands)."""
    try:
        return "torch" in Path(f"/proc/{proc.pid}/maps").read_text()
    except OSError:
        return False


def temporaries(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIXES))


def comparable(metrics: dict) -> list:
    """Every metric except the wall time."""
    return [{k: v for k, v in e.items() if k != "seconds"} for e in metrics["epochs"]]


def weights(run: Path) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted 3-epoch run."""
    out = tmp_path_factory.mktemp("reference") / "run"
    m = train(TrainConfig(**TRAIN3), out, progress=False)
    assert len(m["epochs"]) == 3
    return out, comparable(m)


def assert_same_as_reference(run: Path, reference):
    ref_dir, ref_metrics = reference
    m = train(TrainConfig(**TRAIN3), run, resume=True, progress=False)
    assert comparable(m) == ref_metrics
    assert comparable(json.loads((run / "metrics.json").read_text())) == ref_metrics
    a, b = weights(run), weights(ref_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert temporaries(run) == []


def test_crash_between_checkpoint_and_metrics_resumes_exactly(tmp_path, reference, monkeypatch):
    """The exact window of the issue: epoch 2's checkpoint written, its metrics.json not."""
    import neurodeploy.training.run as run_mod

    real = run_mod.write_json
    seen = {"metrics": 0}

    def crash_on_second_metrics(path, obj):
        if Path(path).name == "metrics.json":
            seen["metrics"] += 1
            if seen["metrics"] == 2:
                raise KeyboardInterrupt
        return real(path, obj)

    monkeypatch.setattr(run_mod, "write_json", crash_on_second_metrics)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(**TRAIN3), run, progress=False)
    monkeypatch.setattr(run_mod, "write_json", real)
    assert torch.load(run / "checkpoint.pt", weights_only=True)["epoch"] == 1          # after epoch 2
    assert len(json.loads((run / "metrics.json").read_text())["epochs"]) == 1          # metrics of epoch 1
    assert_same_as_reference(run, reference)


@pytest.mark.parametrize("point", ["config-written", "first-checkpoint", "second-metrics"])
def test_sigkill_during_train_resumes_exactly(point, tmp_path, reference):
    run = tmp_path / "run"
    condition = {
        "config-written": lambda: (run / "config.json").exists(),
        "first-checkpoint": lambda: (run / "checkpoint.pt").exists(),
        "second-metrics": lambda: (run / "metrics.json").exists()
        and '"epoch": 2' in (run / "metrics.json").read_text(),
    }[point]
    proc = cli([*TRAIN3_ARGS, "--out", run])
    wait_for(proc, condition)
    kill(proc, signal.SIGKILL)
    assert_same_as_reference(run, reference)


def test_sigint_during_train_is_one_line_130_and_resumes_exactly(tmp_path, reference):
    run = tmp_path / "run"
    proc = cli([*TRAIN3_ARGS, "--out", run])
    finished_early = not wait_for(proc, lambda: (run / "checkpoint.pt").exists())
    code, out, err = kill(proc, signal.SIGINT)
    if not finished_early and code != 0:  # the signal landed while the command ran
        assert code == 130, err
        assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert_same_as_reference(run, reference)


# ------------------------------------------------------------------------------ export
@pytest.fixture
def trained(tmp_path, tiny_valid):
    import shutil

    shutil.copytree(tiny_valid[0], tmp_path / "run")
    return tmp_path / "run"


def test_sigkill_during_export_leaves_whole_or_nothing_then_cleaned(trained, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = out_dir / f".m.net.p{gone.pid}.abcd1234.tmp"  # what an earlier killed export left behind
    stale.write_bytes(b"partial")
    proc = cli(["export", trained, "--out", out_dir / "m.net", "--check-samples", "8"])
    wait_for(proc, lambda: any(p.name != stale.name for p in out_dir.iterdir()))  # its own temp file
    kill(proc, signal.SIGKILL)
    assert not stale.exists()  # removed by the killed export's own first write
    if (out_dir / "m.net").exists():
        netx.read(out_dir / "m.net")  # whole, never partial
    # the next export removes whatever the killed one left, and writes a whole file
    proc = cli(["export", trained, "--out", out_dir / "m.net", "--check-samples", "2"])
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["m.net"]
    assert netx.read(out_dir / "m.net").card["steps"] == 4


def test_sigint_during_export_is_one_line_130_and_no_file(trained, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = cli(["export", trained, "--out", out_dir / "m.net", "--check-samples", "8"])
    ran = wait_for(proc, lambda: len(list(out_dir.iterdir())) > 0)
    code, out, err = kill(proc, signal.SIGINT)
    if ran and code != 0:
        assert code == 130 and err.strip() == "interrupted", err
        assert list(out_dir.iterdir()) == []


# ------------------------------------------------------------------------------ report
@pytest.fixture
def old_report(tmp_path, tiny_valid):
    from click.testing import CliRunner

    from neurodeploy.cli import main

    rep = tmp_path / "rep"
    r = CliRunner().invoke(main, ["report", str(tiny_valid[1]), "--target", "loihi2", "--limit", "4",
                                  "--out", str(rep)])
    assert r.exit_code == 0, r.stderr
    return rep, {p.name: p.read_bytes() for p in rep.iterdir()}


def _assert_old_or_new(rep: Path, old: dict):
    now = {p.name: p.read_bytes() for p in rep.iterdir()}
    assert set(now) == set(old)
    same = {name: now[name] == old[name] for name in ("report.json", "report.md")}
    assert same["report.json"] == same["report.md"], "a mix of the old and the new report"
    json.loads(now["report.json"])


@pytest.mark.parametrize("point", ["temp-folder-filled"])
def test_sigkill_during_report_keeps_old_or_new_set(point, old_report, tiny_valid):
    rep, old = old_report
    parent = rep.parent

    def temp_dirs():
        return [p for p in parent.iterdir() if p.name.startswith(".rep.") and p.is_dir()]

    condition = {"temp-folder-made": lambda: bool(temp_dirs()),
                 "temp-folder-filled": lambda: any(len(list(d.iterdir())) >= 3 for d in temp_dirs())}[point]
    proc = cli(["report", tiny_valid[1], "--target", "loihi2", "--limit", "8", "--out", rep])
    wait_for(proc, condition, poll=0.001)
    kill(proc, signal.SIGKILL)
    _assert_old_or_new(rep, old)
    # the next report removes the killed one's temporary folder
    proc = cli(["report", tiny_valid[1], "--target", "loihi2", "--limit", "4", "--out", rep])
    assert proc.wait(timeout=300) == 0, proc.communicate()[1]
    assert temporaries(parent) == []
    _assert_old_or_new(rep, old)


def test_sigint_during_report_is_one_line_130_and_old_set_kept(old_report, tiny_valid):
    rep, old = old_report
    proc = cli(["report", tiny_valid[1], "--target", "loihi2", "--limit", "8", "--out", rep])
    wait_for(proc, lambda: inside_command(proc))
    code, out, err = kill(proc, signal.SIGINT)
    if code != 0:
        assert code == 130 and err.strip() == "interrupted" and "Traceback" not in err, err
        assert {p.name: p.read_bytes() for p in rep.iterdir()} == old
    assert temporaries(rep.parent) == []
