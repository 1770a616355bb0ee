"""Tiny study grids (shipped Fashion-MNIST sample; seconds per cell) shared by the study tests."""
from __future__ import annotations

import os
import shutil
from unittest import mock

import pytest

from study_helpers import tiny_grid


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """The tiny study (an SNN run of 2 epochs with two cells, an ANN run with one cell, the transfer
    source), stopped by an error right after training and run again. Returns what was on disk at the
    stop and after the resume."""
    with mock.patch.dict(os.environ):
        os.environ.pop("NEURODEPLOY_DATA", None)   # the tiny studies run on the shipped sample
        return _stopped_and_resumed(tmp_path_factory)


def _stopped_and_resumed(tmp_path_factory):
    import json

    from neurodeploy.errors import CheckFailedError
    from neurodeploy.study import cell
    from neurodeploy.study.runner import run_study

    base = tmp_path_factory.mktemp("tiny_study")
    grid = tiny_grid(base, epochs=2, ann=True)
    out = base / "out"
    with mock.patch.object(cell, "_export", side_effect=RuntimeError("stopped after training")):
        with pytest.raises(CheckFailedError) as stop:
            run_study(grid, out, workers=1, progress=False)
    (run,) = (out / "runs").glob("snn-*")
    at_stop = {"error": str(stop.value), "metrics": json.loads((run / "metrics.json").read_text()),
               "checkpoint_mtime": (run / "checkpoint.pt").stat().st_mtime_ns,
               "run_done": (run / "run.json").exists(), "error_json": (run / "error.json").exists(),
               "cells": sorted(p.name for p in (out / "cells").iterdir()) if (out / "cells").exists() else []}
    res = run_study(grid, out, workers=1, progress=False)
    return {"grid": grid, "out": out, "run": run, "at_stop": at_stop, "resumed": res}


@pytest.fixture(autouse=True)
def _sample_data(monkeypatch):
    """Study tests run on the package's shipped sample, whatever NEURODEPLOY_DATA says."""
    monkeypatch.delenv("NEURODEPLOY_DATA", raising=False)


@pytest.fixture
def study_copy(tiny_study, tmp_path):
    """A private copy of the finished tiny study to change."""
    dst = tmp_path / "out"
    shutil.copytree(tiny_study["out"], dst)
    return tiny_study["grid"], dst
