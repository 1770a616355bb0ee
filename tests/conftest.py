"""Shared fixtures. The full data sets are read from ../shared/data (or NEURODEPLOY_DATA)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import neurodeploy  # noqa: F401  (installs the Lava 3.11 fix before any test imports Lava)

ROOT = Path(__file__).resolve().parents[1]
# The real data sets: NEURODEPLOY_DATA, else ../shared/data beside the checkout, else the
# machine's shared folder (a fresh clone in a temp dir has no ../shared).
_CANDIDATES = [os.environ.get("NEURODEPLOY_DATA"), ROOT.parent / "shared" / "data", "/work/shared/data"]
SHARED_DATA = next((Path(c) for c in _CANDIDATES if c and (Path(c) / "fashion-mnist").is_dir()),
                   ROOT.parent / "shared" / "data")

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert (SHARED_DATA / "fashion-mnist").is_dir(), f"data root {SHARED_DATA} lacks fashion-mnist"
    return SHARED_DATA


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
