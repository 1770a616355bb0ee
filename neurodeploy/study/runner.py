"""``neurodeploy study GRID.toml --out DIR``: validate the grid, then run what is not done yet.

The whole grid is validated before any job starts. ``DIR/plan.json`` records the grid (its cells,
settings, data root) for ``--summarize``; ``DIR/grid.toml`` is a copy of the file. Runs are
reused by their settings (``runs/<row>-<hash>``), cells by theirs (``cells/<row>-<hash>``), so a
study stopped at any moment — or run again with more rows — redoes nothing that finished.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from neurodeploy.atomic import write_json, write_text
from neurodeploy.errors import CheckFailedError, UsageError
from neurodeploy.files import read_json
from neurodeploy.study.cell import cell_done, run_done
from neurodeploy.study.grid import Grid, load_grid
from neurodeploy.study.scheduler import Job, Outcome, execute


@dataclass
class StudyRun:
    """What one invocation did: cells in the grid, already done before, run now, failed."""

    out: str
    cells: int
    already_done: int
    outcome: Outcome

    def summary(self) -> str:
        done = len([i for i in self.outcome.ids("done") if i.startswith("cell:")])
        bad = [i for i in self.outcome.results if i.startswith(("cell:", "run:")) and
               self.outcome.results[i]["status"] != "done"]
        return (f"{self.out}: {self.cells} cells, {self.already_done} already done, {done} finished now"
                + (f", {len(bad)} jobs failed or blocked" if bad else ""))


def plan_jobs(grid: Grid, out, data_dir=None) -> tuple:
    """(jobs to run, number of cells already done)."""
    jobs, done, needed_runs = [], 0, {}
    g = {"eps": grid.eps, "limit": grid.limit, "target": grid.target, "seed": grid.seed,
         "seed_pgd_steps": grid.seed_pgd_steps, "attack": grid.attack}
    for c in grid.cells:
        if cell_done(out, c.cell_id):
            done += 1
            continue
        needed_runs.setdefault(c.run_id, c.train)
        deps = (c.run_id,)
        if c.transfer_run:
            needed_runs.setdefault(c.transfer_run, next(x.train for x in grid.cells if x.run_id == c.transfer_run))
            deps += (c.transfer_run,)
        jobs.append(Job(f"cell:{c.cell_id}", {"kind": "cell", "id": f"cell:{c.cell_id}", "out": str(out),
                                               "cell": asdict(c) | {"name": c.name}, "grid": g,
                                               "data_dir": data_dir}, deps=tuple(f"run:{d}" for d in deps)))
    run_jobs = []
    for run_id, train in needed_runs.items():
        if run_done(out, run_id):
            continue
        run_jobs.append(Job(f"run:{run_id}", {"kind": "run", "id": f"run:{run_id}", "out": str(out), "run_id": run_id,
                                              "train": train, "data_dir": data_dir}, priority=1))
    ready = {j.id for j in run_jobs}
    jobs = [Job(j.id, j.payload, tuple(d for d in j.deps if d in ready), priority=0) for j in jobs]
    return run_jobs + jobs, done


def check_budget(grid) -> None:
    """Refuse, before anything runs, a grid whose cells' encoded test images alone (limit x image size x T,
    one byte each: a lower bound of what every cell allocates) exceed the memory budget."""
    import numpy as np

    from neurodeploy import budget
    from neurodeploy.data.datasets import spec

    from neurodeploy.training.config import TrainConfig

    for c in grid.cells:
        cfg = {"dataset": TrainConfig.dataset, "steps": TrainConfig.steps, **c.train}
        need = budget.spike_trains(grid.limit, int(np.prod(spec(cfg["dataset"]).shape)), int(cfg["steps"]))
        budget.check(need, f"{grid.path}: cell '{c.name}': {grid.limit} test images x T={cfg['steps']}")


def run_study(grid_path, out, workers: int = 1, ray: str | None = None, limit: int | None = None,
              data_dir=None, progress: bool | None = None, backend=None) -> StudyRun:
    """Run (or continue) a study; raises CheckFailedError (exit 1) if any job failed."""
    grid = load_grid(grid_path)   # everything is checked before anything runs
    if backend is None and not ray and workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    if limit is not None:
        grid = grid.with_limit(limit)
    check_budget(grid)
    if ray and backend is None:
        from neurodeploy.study.ray_backend import check_address

        check_address(ray)
    data_dir = data_dir or os.environ.get("NEURODEPLOY_DATA") or None
    if data_dir:
        data_dir = str(Path(data_dir).resolve())
    out = Path(out)
    if (out / "plan.json").exists():   # runs resume on the data they started with, or not at all
        before = read_json(out / "plan.json").get("data_dir")
        if before != data_dir:
            raise UsageError(f"{out}: this study ran on data root {before or '(shipped sample)'}, now "
                             f"{data_dir or '(shipped sample)'}: use the same --data-dir / NEURODEPLOY_DATA, "
                             "or another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "grid.toml", Path(grid_path).read_text())
    write_json(out / "plan.json", {"format": "neurodeploy-study/1", "grid": grid.to_dict(), "data_dir": data_dir})
    jobs, already = plan_jobs(grid, out, data_dir)
    own = backend is None and bool(jobs)
    if own:
        if ray:
            from neurodeploy.study.ray_backend import RayBackend
            backend = RayBackend(ray)
        else:
            from neurodeploy.study.pool import make_backend
            backend = make_backend(workers)
    try:
        outcome = execute(jobs, backend, progress) if jobs else Outcome()   # nothing to do: no backend started
    finally:
        if own:
            backend.close()
    result = StudyRun(str(out), len(grid.cells), already, outcome)
    bad = {k: v for k, v in outcome.results.items() if v["status"] != "done"}
    if bad:
        first = next(iter(bad.values()))
        raise CheckFailedError(f"{out}: {len(bad)} job(s) did not finish (first: {first['id']}: {first['error']}); "
                               "their error.json says why; run the same command again to retry them")
    return result
