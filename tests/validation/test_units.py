"""The validation building blocks on their own: schemas, click types, budgets, atomic folders."""
from __future__ import annotations

import os
import subprocess
from dataclasses import fields

import click
import pytest

from neurodeploy import atomic, budget
from neurodeploy.cli_types import EPS, EPS_LIST, RATE, SEED, SEED_MAX, Count
from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.runtime.exit_rules import ExitRule
from neurodeploy.schemas.run_config import FIELDS, NEURON_KEYS, check_run_config


def test_run_config_schema_covers_every_train_config_field():
    from neurodeploy.models.snn import NeuronConfig
    from neurodeploy.training.config import TrainConfig

    assert set(FIELDS) == {f.name for f in fields(TrainConfig)}
    assert set(NEURON_KEYS) == {f.name for f in fields(NeuronConfig)}


def test_train_config_from_dict_names_file_and_key():
    from neurodeploy.training.config import TrainConfig

    with pytest.raises(BadInputError, match=r"^grid.toml: 'steps' must be an integer, got str"):
        TrainConfig.from_dict({"steps": "abc"}, "grid.toml")
    with pytest.raises(BadInputError, match=r"^grid.toml: unknown model 'x'"):
        TrainConfig.from_dict({"model": "x"}, "grid.toml")
    with pytest.raises(UsageError, match="'lr'"):  # settings made in code: a usage error
        TrainConfig(lr=float("nan")).validate()
    assert TrainConfig.from_dict({"steps": 4, "seed": SEED_MAX}, "ok").seed == SEED_MAX
    assert check_run_config({}, "empty") == {}


@pytest.mark.parametrize("ptype,good,bad", [
    (EPS, ["0", "1", "8/255", "0.5"], ["nan", "inf", "-0.01", "1.01", "1/0", "x"]),
    (RATE, ["1e-3", "2"], ["0", "-1", "nan", "inf"]),
    (SEED, ["0", str(SEED_MAX)], ["-1", str(SEED_MAX + 1), "1.5"]),
    (Count(1, zero_means="all"), ["0", "1", "7"], ["-1", "x"]),
    (EPS_LIST, ["0.1,8/255", "1.5"], ["", "0.1,nan", "-0.1", "inf"]),
])
def test_click_types(ptype, good, bad):
    for v in good:
        ptype.convert(v, None, None)
    for v in bad:
        with pytest.raises(click.BadParameter):
            ptype.convert(v, None, None)


def test_exit_rule_numbers_bounded_by_T():
    assert ExitRule.parse("margin:4,min=4").check_steps(4).margin == 4
    for text in ("margin:5", "margin:1,min=5"):
        with pytest.raises(UsageError, match="T=4"):
            ExitRule.parse(text).check_steps(4)
    with pytest.raises(UsageError, match="--exit"):
        ExitRule.parse("margin:" + "9" * 30)


def test_parse_size_and_limit(monkeypatch):
    assert budget.parse_size("4G") == (4_000_000_000, None)
    assert budget.parse_size("1.5GiB") == (int(1.5 * 1024 ** 3), None)
    assert budget.parse_size("25%") == (None, 0.25)
    for bad in ("x", "0", "150%", "-1G"):
        with pytest.raises(ValueError):
            budget.parse_size(bad)
    monkeypatch.setenv(budget.ENV, "2M")
    assert budget.memory_limit()[0] == 2_000_000
    with pytest.raises(budget.BudgetError, match=r"weights needs about 3.0 MB, over the memory limit of 2.0 MB"):
        budget.check(3_000_000, "weights")
    budget.set_limit("10M")
    try:
        assert budget.memory_limit()[0] == 10_000_000  # the option beats the environment
    finally:
        budget.set_limit(None)
    monkeypatch.delenv(budget.ENV)
    avail = budget.available_bytes()
    # available memory moves between the two reads on a shared machine: compare within 5 %
    assert avail is None or abs(budget.memory_limit()[0] - avail * budget.FRACTION) <= 0.05 * avail


def test_atomic_dir_replaces_whole_or_keeps_old(tmp_path):
    out = tmp_path / "rep"
    with atomic.atomic_dir(out) as d:
        (d / "a").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_dir(out) as d:
            (d / "a").write_text("new")
            raise RuntimeError("fails half way")
    assert [p.name for p in out.iterdir()] == ["a"] and (out / "a").read_text() == "old"
    with atomic.atomic_dir(out) as d:
        (d / "b").write_text("new")
    assert [p.name for p in out.iterdir()] == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f".x.json.p{gone.pid}.abcdefgh.tmp"
    dead_dir = tmp_path / f".rep.p{gone.pid}.abcdefgh.tmpdir"
    live = tmp_path / f".x.json.p{os.getppid()}.abcdefgh.tmp"  # a running writer (our parent) keeps its file
    other = tmp_path / ".hidden.tmp"                              # not ours: never touched
    dead.write_text("x")
    dead_dir.mkdir()
    live.write_text("x")
    other.write_text("x")
    atomic.write_json(tmp_path / "x.json", {"a": 1})
    assert not dead.exists() and not dead_dir.exists()
    assert live.exists() and other.exists()
