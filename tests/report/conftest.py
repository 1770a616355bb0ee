"""Fixtures for the report tests: a tiny trained-and-exported MLP."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """An MLP SNN trained for one epoch on 500 sample images, exported to NetX (a few seconds)."""
    from neurodeploy.export.exporter import export_run
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train

    d = tmp_path_factory.mktemp("report_model")
    train(TrainConfig(epochs=1, limit=500, test_limit=100), d / "run", progress=False)
    export_run(d / "run", d / "tiny.net")
    return d / "tiny.net"
