"""The Ray path: two cells as Ray tasks on a local Ray instance with 2 CPUs."""
from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray")  # requirements.txt installs it; CI runs this path


def test_two_cells_on_local_ray(study_copy):
    from neurodeploy.study.ray_backend import RayBackend
    from neurodeploy.study.runner import run_study

    grid, out = study_copy
    for c in (out / "cells").glob("snn-*"):   # the runs are kept: exactly two cell tasks run on Ray
        for name in ("result.json", "energy.json"):
            (c / name).unlink()
    backend = RayBackend("local", num_cpus=2)
    try:
        assert ray.is_initialized() and ray.cluster_resources().get("CPU") == 2
        res = run_study(grid, out, progress=False, backend=backend)
    finally:
        backend.close()
    assert not ray.is_initialized()
    assert sorted(res.outcome.ids("done")) == sorted(f"cell:{c.name}" for c in (out / "cells").glob("snn-*"))
    assert len(res.outcome.ids("done")) == 2
    assert all(r["threads"] == 1 for r in res.outcome.results.values())   # torch pinned in each task
    for c in (out / "cells").glob("snn-*"):
        r = json.loads((c / "result.json").read_text())
        assert r["energy"]["dynamic_J"] > 0
