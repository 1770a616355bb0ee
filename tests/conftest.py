"""Shared fixtures. The full data sets are found by :func:`neurodeploy.data.root.find_data_root`
(NEURODEPLOY_DATA, else ``shared/data`` beside an ancestor of the checkout or of its local origin);
a test needing one that is missing skips naming it, or fails when ``CI=true``."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import neurodeploy  # noqa: F401  (installs the Lava 3.11 fix before any test imports Lava)
from neurodeploy.data.root import find_data_root

ROOT = Path(__file__).resolve().parents[1]

torch.set_num_threads(2)


def missing_data(what: str):
    """Skip the test because data set ``what`` is absent; under ``CI=true`` that is a failure."""
    msg = f"{what} not found: set NEURODEPLOY_DATA"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {msg}", pytrace=False)
    pytest.skip(msg)


def require_data(*names: str) -> Path:
    """The data root holding every folder in ``names``; else :func:`missing_data` naming what is missing."""
    root = find_data_root(ROOT, need=names[0])
    missing = [n for n in names if root is None or not (root / n).exists()]
    if missing:
        missing_data(", ".join(missing))
    return root


@pytest.fixture(scope="session")
def need_data():
    """:func:`missing_data` for tests that look for their data sets themselves."""
    return missing_data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The full Fashion-MNIST and MNIST (a data root holding both)."""
    return require_data("fashion-mnist", "mnist")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A small MLP SNN trained for 2 epochs on 1,000 sample images: shared by export/runtime tests."""
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train

    out = tmp_path_factory.mktemp("tiny_run")
    cfg = TrainConfig(model="mlp", encoding={"name": "early_burst"}, steps=8, epochs=2, seed=0,
                      batch_size=64, limit=1000, test_limit=300)
    metrics = train(cfg, out, progress=False)
    return out, metrics
