"""Fixtures of the hostile-input corpus: one tiny trained run and its export, made once per session.

The run (MLP, T=4, 64 training / 32 test images of the shipped sample, 1 epoch) and its NetX
file are the valid inputs every hostile case is a damaged copy of.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TINY = dict(model="mlp", encoding={"name": "early_burst"}, steps=4, epochs=1, seed=0, batch_size=32,
            limit=64, test_limit=32)


@pytest.fixture(scope="session")
def tiny_valid(tmp_path_factory):
    """(run folder, model.net) — never modified by a test (copy them first)."""
    from neurodeploy.export.exporter import export_run
    from neurodeploy.export.verify import verifier
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train

    root = tmp_path_factory.mktemp("valid")
    run = root / "run"
    train(TrainConfig(**TINY), run, progress=False)
    model = root / "model.net"
    export_run(run, model, verify=verifier(4))
    return run, model


@pytest.fixture
def work(tmp_path, tiny_valid):
    """A fresh folder with copies: ``work / 'run'`` and ``work / 'model.net'``."""
    run, model = tiny_valid
    shutil.copytree(run, tmp_path / "run")
    shutil.copy(model, tmp_path / "model.net")
    return tmp_path
