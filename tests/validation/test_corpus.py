"""The hostile-input corpus (issue 12): every command, every file kind, generated here.

Each case runs the CLI in-process (click's CliRunner) on a damaged copy of a valid tiny run /
NetX file / profile, or with an out-of-range option, and asserts: the exit code (2 bad usage or
over budget, 3 bad input file, 130 interrupted), exactly one line on stderr naming the file or
option, no traceback, and the work folder unchanged (no new, changed or removed file).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.errors import NeurodeployError

import hostile

TINY_TRAIN = ["--model", "mlp", "--encoding", "early_burst", "-T", "4", "--epochs", "1", "--seed", "0",
              "--batch-size", "32", "--limit", "64", "--test-limit", "32"]


def snapshot(folder: Path) -> dict:
    """Every file and folder below ``folder`` with its size and modification time."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            st = p.lstat()
            out[str(p.relative_to(folder))] = (p.is_dir(), st.st_size if not p.is_dir() else 0, st.st_mtime_ns)
    return out


def invoke(args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def assert_refused(r, code: int, needle: str):
    assert not isinstance(r.exception, BaseException) or isinstance(r.exception, SystemExit), \
        f"uncaught {type(r.exception).__name__}: {r.exception}"
    out = r.output + r.stderr
    assert "Traceback" not in out
    assert r.exit_code == code, f"exit {r.exit_code}, expected {code}: {r.stderr!r}"
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"stderr must be one line: {r.stderr!r}"
    assert needle in lines[0], f"{needle!r} not named in {lines[0]!r}"
    assert "code ran" not in out


def refuse_in(work: Path, args, code: int, needle: str, env=None):
    """Run ``args`` and assert the refusal and that ``work`` is unchanged."""
    before = snapshot(work)
    r = invoke(args, env)
    assert_refused(r, code, needle)
    assert snapshot(work) == before, "files were created, changed or removed"
    return r


# ------------------------------------------------------------------------------ option ranges
# (id, args with {run}/{model}/{out}, exit code, what the line must name)
OPTION_CASES = []


def _opt(cmd, opt, values, code=2, needle=None):
    for v in values:
        OPTION_CASES.append((f"{cmd[0]} {opt} {v}", [*cmd, opt, v], code, needle or opt))


_TRAIN = ["train", "--out", "{out}/newrun"]
_ATTACK = ["attack", "{run}", "--limit", "4"]
_RUN = ["run", "{model}", "--limit", "4"]
_REPORT = ["report", "{model}", "--target", "loihi2", "--limit", "4"]
_EXPORT = ["export", "{run}", "--out", "{out}/m.net"]
_NUMBERS = ["nan", "inf", "-inf", "abc", "1e999"]
_opt(_TRAIN, "--steps", ["0", "-1", "abc", "1.5", "99999999999999999999"])
_opt(_TRAIN, "--epochs", ["-1", "abc"])
_opt(_TRAIN, "--seed", ["-1", "abc", str(2 ** 63), "99999999999999999999999"])
_opt(_TRAIN, "--lr", ["-1", "0", *_NUMBERS])
_opt(_TRAIN, "--batch-size", ["0", "-3"])
_opt(_TRAIN, "--limit", ["0", "-5"])
_opt(_TRAIN, "--test-limit", ["0", "-5"])
_opt(_TRAIN, "--mppd", ["nan", "-1", "inf"])
_opt(_TRAIN, "--noise", ["gaussian:nan", "gaussian:-1", "gaussian:inf", "gaussian:2", "uniform:0.1", "gaussian:"])
_opt(_TRAIN, "--adv", ["fgsm:nan", "fgsm:inf", "fgsm:-0.1", "fgsm:1.5", "pgd:0.1", "pgd:0.1,0", "pgd:0.1,abc",
                       "pgd:nan,5", "pgd:0.1,99999999999999999999", "xyz:0.1"])
_opt(_TRAIN, "--dataset", ["bogus"], needle="bogus")
_opt(_TRAIN, "--model", ["bogus"], needle="bogus")
_opt(_TRAIN, "--encoding", ["bogus"], needle="bogus")
_opt(_TRAIN, "--loss", ["bogus"])
_opt(_EXPORT, "--check-samples", ["-5", "abc"])
_opt(_ATTACK, "--eps", ["nan", "inf", "-inf", "1.5", "-0.1", "abc", "1/0", ",", "0.1,nan", "8/255,2"])
_opt(["attack", "{run}", "--limit", "4", "--norm", "l2"], "--eps", ["60", "nan"])
_opt(["attack", "{run}", "--eps", "0.1"], "--steps", ["0", "-1"])
_opt(["attack", "{run}", "--eps", "0.1"], "--restarts", ["0"])
_opt(["attack", "{run}", "--eps", "0.1"], "--eot", ["0"])
_opt(["attack", "{run}", "--eps", "0.1"], "--limit", ["0", "-5"])
_opt(["attack", "{run}", "--eps", "0.1"], "--queries", ["0"])
_opt(["attack", "{run}", "--eps", "0.1"], "--sim-samples", ["-1"])
_opt(["attack", "{run}", "--eps", "0.1"], "--seed", ["-1", "99999999999999999999999"])
_opt(["attack", "{run}", "--eps", "0.1"], "--attack", ["bogus"])
_opt(["attack", "{run}", "--eps", "0.1"], "--grad", ["bogus"], needle="bogus")
_opt(["attack", "{run}", "--eps", "0.1", "--limit", "4"], "--exit",
     ["margin:99999999999999999999", "margin:5", "margin:2,min=5"], needle="--exit")
_EXITS = ["margin:99999999999999999999", "margin:0", "margin:abc", "margin:-1", "confidence:nan", "confidence:1.5",
          "confidence:0", "confidence:inf", "margin:2,min=0", "margin:2,min=99999999999999", "margin:5",
          "margin:1,min=5", "bogus:1", "margin:1,foo=2"]
_opt(_RUN, "--exit", _EXITS)
_opt(_REPORT, "--exit", _EXITS)
_opt(["run", "{model}"], "--limit", ["0", "-5", "nan"])
_opt(_RUN, "--seed", ["-1", "99999999999999999999999"])
_opt(_RUN, "--backend", ["bogus"])
_opt(_RUN, "--dataset", ["bogus"], needle="bogus")
_opt(["report", "{model}", "--target", "loihi2"], "--limit", ["0", "-5"])
_opt(_REPORT, "--seed", ["-1"])
_opt(["report", "{model}", "--limit", "4"], "--target", ["bogus"], needle="bogus")
_opt(["fit", "{model}"], "--target", ["bogus"], needle="bogus")
_opt(["fit", "{model}"], "--target", ["{out}/missing.toml"], code=3, needle="missing.toml")
_opt(["--memory-limit", "lots"], "info", ["{model}"], needle="--memory-limit")


@pytest.mark.parametrize("case", OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_option_out_of_range_is_refused(case, work):
    _, args, code, needle = case
    fill = {"run": work / "run", "model": work / "model.net", "out": work}
    args = [a.format(**fill) for a in args]
    refuse_in(work, args, code, needle.format(**fill) if needle else "")


# ------------------------------------------------------------------------------ run folders
def _commands_on_run(work: Path) -> dict:
    run = work / "run"
    return {
        "export": ["export", run, "--out", work / "m.net", "--check-samples", "0"],
        "attack": ["attack", run, "--eps", "0.1", "--limit", "4", "--out", work / "att"],
        "train-resume": ["train", *TINY_TRAIN, "--out", run, "--resume"],
    }


@pytest.mark.parametrize("command", ["export", "attack", "train-resume"])
@pytest.mark.parametrize("mutation", hostile.CONFIG_MUTATIONS, ids=[m[0] for m in hostile.CONFIG_MUTATIONS])
def test_hostile_config_json(mutation, command, work):
    import json

    cfg = work / "run" / "config.json"
    hostile.write_config(cfg, json.loads(cfg.read_text()), mutation[1])
    refuse_in(work, _commands_on_run(work)[command], 3, "config.json")


@pytest.mark.parametrize("command", ["export", "attack", "train-resume"])
@pytest.mark.parametrize("mutation", hostile.CHECKPOINT_MUTATIONS, ids=[m[0] for m in hostile.CHECKPOINT_MUTATIONS])
def test_hostile_checkpoint(mutation, command, work):
    import torch

    ckpt = work / "run" / "checkpoint.pt"
    valid = torch.load(ckpt, weights_only=True)
    mutation[1](ckpt, valid)
    refuse_in(work, _commands_on_run(work)[command], 3, "checkpoint.pt")


@pytest.mark.parametrize("mutation", hostile.METRICS_MUTATIONS, ids=[m[0] for m in hostile.METRICS_MUTATIONS])
def test_hostile_metrics_json(mutation, work):
    import json

    path = work / "run" / "metrics.json"
    path.write_text(mutation[1](json.loads(path.read_text())))
    refuse_in(work, _commands_on_run(work)["export"], 3, "metrics.json")


def test_missing_run_folder_and_missing_files(work):
    refuse_in(work, ["export", work / "nope", "--out", work / "m.net"], 3, "nope")
    refuse_in(work, ["attack", work / "nope", "--eps", "0.1"], 3, "nope")
    (work / "run" / "checkpoint.pt").unlink()
    refuse_in(work, ["export", work / "run", "--out", work / "m.net"], 3, "checkpoint.pt")
    refuse_in(work, ["train", *TINY_TRAIN, "--out", work / "run", "--init-from", work / "nope"], 3, "nope")


# ------------------------------------------------------------------------------ NetX files
def _commands_on_model(work: Path, model: Path) -> dict:
    return {
        "info": ["info", model],
        "run": ["run", model, "--limit", "4"],
        "fit": ["fit", model, "--target", "loihi2"],
        "report": ["report", model, "--target", "loihi2", "--limit", "4", "--out", work / "rep"],
    }


# info and fit need no card entry for data: a card without steps is valid for them (see
# test_card_fault_seen_when_needed)
NETX_CASES = [(m, cmd) for m in hostile.NETX_MUTATIONS for cmd in ("info", "run", "fit", "report")
              if not (m[0] in hostile.CARD_ONLY_NEEDED_TO_RUN and cmd in ("info", "fit"))]


@pytest.mark.parametrize("mutation,command", NETX_CASES, ids=[f"{m[0]}-{c}" for m, c in NETX_CASES])
def test_hostile_netx(mutation, command, work):
    name, make = mutation
    bad = work / "bad.net"
    make(bad, work / "model.net")
    code = 2 if name == "weight-100000x100000" else 3
    r = refuse_in(work, _commands_on_model(work, bad)[command], code, "bad.net")
    if code == 2:
        assert "memory limit" in r.stderr


def test_card_fault_seen_when_needed(work):
    """A card without steps is a valid NetX file (info works) but cannot be run on data."""
    bad = work / "bad.net"
    hostile.NETX_MUTATIONS[[m[0] for m in hostile.NETX_MUTATIONS].index("card-steps-null")][1](bad, work / "model.net")
    r = invoke(["info", bad])
    assert r.exit_code == 0, r.stderr
    refuse_in(work, ["run", bad, "--limit", "4"], 3, "steps")


def test_the_valid_inputs_are_accepted(work):
    """The corpus is not vacuous: the undamaged run and model pass the same commands."""
    r = invoke(["info", work / "model.net"])
    assert r.exit_code == 0 and "T=4" not in r.stderr, r.stderr
    r = invoke(["run", work / "model.net", "--limit", "4", "--exit", "margin:4,min=4"])
    assert r.exit_code == 0, r.stderr
    r = invoke(["export", work / "run", "--out", work / "again.net", "--check-samples", "2"])
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in work.iterdir()) == ["again.net", "model.net", "run"]  # no temp files


def test_largest_seed_is_usable(work):
    """Seeds up to 2^63-1 are accepted, and every seed derived from them stays in range."""
    big = str(2 ** 63 - 1)
    r = invoke(["train", *TINY_TRAIN[:-4], "--limit", "32", "--test-limit", "16", "--noise", "gaussian:0.1",
                "--seed", big, "--out", work / "big"])
    assert r.exit_code == 0, r.stderr
    r = invoke(["attack", work / "run", "--attack", "fgsm", "--eps", "0.1", "--limit", "4", "--seed", big, "--queries", "10"])
    assert r.exit_code == 0, r.stderr
    r = invoke(["run", work / "model.net", "--limit", "4", "--seed", big])
    assert r.exit_code == 0, r.stderr


# ------------------------------------------------------------------------------ hardware profiles
@pytest.mark.parametrize("command", ["fit", "report", "profiles"])
@pytest.mark.parametrize("mutation", hostile.PROFILE_MUTATIONS, ids=[m[0] for m in hostile.PROFILE_MUTATIONS])
def test_hostile_profile(mutation, command, work):
    folder = work / "profiles"
    folder.mkdir()
    prof = folder / "hostile.toml"
    prof.write_text(mutation[1])
    args = {"fit": ["fit", work / "model.net", "--target", prof],
            "report": ["report", work / "model.net", "--target", prof, "--limit", "4", "--out", work / "rep"],
            "profiles": ["profiles"]}[command]
    refuse_in(work, args, 3, "hostile.toml", env={"NEURODEPLOY_PROFILES": str(folder)})


# ------------------------------------------------------------------------------ outputs vs inputs
def test_export_never_overwrites_its_run(work):
    run = work / "run"
    for out in (run / "checkpoint.pt", run / "config.json", run / "metrics.json", run / "new.net", run):
        refuse_in(work, ["export", run, "--out", out, "--check-samples", "0"], 2, "--out")


def test_outputs_never_overwrite_inputs(work):
    model, run = work / "model.net", work / "run"
    (work / "keep").mkdir()
    (work / "keep" / "notes.txt").write_text("mine")
    cases = [
        ["run", model, "--limit", "4", "--out", model],
        ["run", model, "--limit", "4", "--out", run / "r.json"],
        ["run", model, "--limit", "4", "--out", work],
        ["report", model, "--target", "loihi2", "--limit", "4", "--out", work],          # holds the model
        ["report", model, "--target", "loihi2", "--limit", "4", "--out", model],         # a file
        ["report", model, "--target", "loihi2", "--limit", "4", "--out", run],
        ["report", model, "--target", "loihi2", "--limit", "4", "--out", work / "keep"],  # other files
        ["attack", run, "--eps", "0.1", "--limit", "4", "--out", run],
        ["attack", run, "--eps", "0.1", "--limit", "4", "--out", run / "sub"],
        ["attack", run, "--eps", "0.1", "--limit", "4", "--out", work],
        ["attack", run, "--eps", "0.1", "--limit", "4", "--deployed", model, "--out", model],
        ["train", *TINY_TRAIN, "--out", run],                                           # a trained run
        ["train", *TINY_TRAIN, "--out", work / "new", "--init-from", work / "new"],
        ["train", *TINY_TRAIN, "--out", model],                                         # a file
        ["train", *TINY_TRAIN, "--out", run / "nested"],                                # inside a run
    ]
    for args in cases:
        refuse_in(work, args, 2, "--out" if "--init-from" not in args else "--init-from")


# ------------------------------------------------------------------------------ data
def _empty_data(root: Path) -> Path:
    from neurodeploy.data.idx import write_idx

    d = root / "fashion-mnist"
    d.mkdir(parents=True)
    for split in ("train", "t10k"):
        write_idx(np.zeros((0, 28, 28), np.uint8), d / f"{split}-images-idx3-ubyte.gz")
        write_idx(np.zeros((0,), np.uint8), d / f"{split}-labels-idx1-ubyte.gz")
    return root


def test_data_set_with_zero_images(work, tmp_path_factory):
    data = _empty_data(tmp_path_factory.mktemp("empty-data"))
    model, run = work / "model.net", work / "run"
    for args in (["train", *TINY_TRAIN, "--out", work / "new"],
                 ["run", model, "--limit", "4"],
                 ["report", model, "--target", "loihi2", "--limit", "4", "--out", work / "rep"],
                 ["attack", run, "--eps", "0.1", "--limit", "4", "--out", work / "att"],
                 ["export", run, "--out", work / "m.net", "--check-samples", "4"]):
        refuse_in(work, [*args, "--data-dir", data], 3, "images")


def test_data_fetch_refusals(work):
    a_file = work / "a_file"
    a_file.write_text("x")
    refuse_in(work, ["data", "fetch", "bogus", "--data-dir", work / "d"], 2, "bogus")
    refuse_in(work, ["data", "fetch", "mnist", "--data-dir", a_file], 2, "a_file")
    refuse_in(work, ["data", "fetch", "mnist", "--data-dir", a_file / "sub"], 2, "a_file")
    refuse_in(work, ["data", "fetch", "mnist"], 2, "--data-dir", env={"NEURODEPLOY_DATA": None})
    # a mirror that does not exist: nothing leaves this machine
    refuse_in(work, ["data", "fetch", "mnist", "--data-dir", work / "d" / "e", "--mirror", f"file://{work}/none"],
              2, "none")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_data_fetch_read_only_folder(work):
    ro = work / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        refuse_in(work, ["data", "fetch", "mnist", "--data-dir", ro], 2, "ro")
    finally:
        ro.chmod(0o700)


def test_data_fetch_unwritable_folder(work):
    """What a read-only --data-dir gives (root bypasses modes, so a path no one can create stands in)."""
    refuse_in(work, ["data", "fetch", "mnist", "--data-dir", "/proc/neurodeploy-no-such-place"], 2,
              "/proc/neurodeploy-no-such-place")


# ------------------------------------------------------------------------------ budgets
def test_budget_refuses_before_reading_data(work, monkeypatch):
    """T in the card over the budget: refused before the data set is read."""
    import neurodeploy.data as data_pkg

    monkeypatch.setattr(data_pkg, "load_dataset", lambda *a, **k: pytest.fail("data read before the budget check"))
    bad = work / "bad.net"
    hostile._h5(hostile._card(steps=100_000))(bad, work / "model.net")
    r = refuse_in(work, ["--memory-limit", "50M", "run", bad, "--limit", "1000"], 2, "memory limit")
    assert "T=100000" in r.stderr and "--memory-limit" in r.stderr


def test_budget_from_the_environment(work):
    r = refuse_in(work, ["train", *TINY_TRAIN, "--out", work / "new"], 2, "memory limit",
                  env={"NEURODEPLOY_MEMORY_LIMIT": "1M"})
    assert "NEURODEPLOY_MEMORY_LIMIT" in r.stderr
    refuse_in(work, ["info", work / "model.net"], 2, "NEURODEPLOY_MEMORY_LIMIT", env={"NEURODEPLOY_MEMORY_LIMIT": "x"})


# ------------------------------------------------------------------------------ Ctrl-C, --debug
@pytest.mark.parametrize("command", ["info", "run", "fit", "report", "export", "attack", "train"])
def test_ctrl_c_is_one_line_and_130(command, work, monkeypatch):
    import neurodeploy.netx as netx_pkg
    import neurodeploy.runfolder as runfolder
    import neurodeploy.training.run as training_run

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(netx_pkg, "read", interrupt)
    monkeypatch.setattr(runfolder, "load_run", interrupt)
    monkeypatch.setattr(training_run, "build_classifier", interrupt)
    model, run = work / "model.net", work / "run"
    args = {"info": ["info", model], "run": ["run", model, "--limit", "4"],
            "fit": ["fit", model, "--target", "loihi2"],
            "report": ["report", model, "--target", "loihi2", "--limit", "4", "--out", work / "rep"],
            "export": ["export", run, "--out", work / "m.net"],
            "attack": ["attack", run, "--eps", "0.1", "--limit", "4", "--out", work / "att"],
            "train": ["train", *TINY_TRAIN, "--out", work / "new"]}[command]
    r = refuse_in(work, args, 130, "interrupted")
    assert r.stderr.strip() == "interrupted"


@pytest.mark.parametrize("args", [
    ["info", "{work}/bad.net"],
    ["run", "{work}/bad.net", "--limit", "4"],
    ["export", "{work}/run", "--out", "{work}/run/checkpoint.pt"],
])
def test_debug_keeps_the_traceback(args, work):
    (work / "bad.net").write_text("not hdf5")
    r = invoke(["--debug", *[a.format(work=work) for a in args]])
    assert isinstance(r.exception, NeurodeployError), r.exception  # raised, so Python prints the traceback


def test_debug_prints_the_traceback_in_a_real_process(work):
    import subprocess
    import sys

    (work / "bad.net").write_text("not hdf5")
    p = subprocess.run([sys.executable, "-m", "neurodeploy.cli", "--debug", "info", str(work / "bad.net")],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert p.returncode != 0 and "Traceback" in p.stderr and "NetxFormatError" in p.stderr
    p = subprocess.run([sys.executable, "-m", "neurodeploy.cli", "info", str(work / "bad.net")],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert p.returncode == 3 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
