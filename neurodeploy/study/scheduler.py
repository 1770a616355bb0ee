"""Running a study's jobs on a backend: each job starts once the jobs it depends on are done.

Jobs are a run's preparation (train + export) and its cells (which need the run). A backend
(:mod:`~neurodeploy.study.pool` or :mod:`~neurodeploy.study.ray_backend`) offers
``submit(payload) -> handle``, ``wait(handles) -> [(handle, result)]`` (at least one finished)
and ``capacity`` (jobs it runs at once; None = as many as are ready). Ready jobs start in
``priority`` order (the runner puts cells before runs, so finished cells appear early instead of
after all training). A job whose dependency failed is not started and reported as ``blocked``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from tqdm.auto import tqdm


@dataclass
class Job:
    """One unit of work: ``payload`` goes to :func:`neurodeploy.study.cell.run_job`."""

    id: str
    payload: dict
    deps: tuple = ()
    priority: int = 0   # among ready jobs the lowest starts first


@dataclass
class Outcome:
    """What happened to every job: ``{id: result dict}`` (status done | failed | blocked)."""

    results: dict = field(default_factory=dict)

    def ids(self, status: str) -> list:
        return [k for k, v in self.results.items() if v["status"] == status]


def execute(jobs: list, backend, progress: bool | None = None) -> Outcome:
    """Run ``jobs`` on ``backend`` respecting ``deps``; returns every job's result."""
    pending = {j.id: j for j in jobs}
    outcome = Outcome()
    running: dict = {}   # handle -> job id
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(jobs), desc="study", disable=not show, file=sys.stderr)

    def ready():
        for jid, j in list(pending.items()):
            states = [outcome.results.get(d, {}).get("status") for d in j.deps]
            if any(s in ("failed", "blocked") for s in states):
                outcome.results[jid] = {"id": jid, "status": "blocked", "error": "a job it needs failed", "seconds": 0.0}
                del pending[jid]
                bar.update(1)
            elif all(s == "done" for s in states):
                yield j

    try:
        while pending or running:
            for j in sorted(ready(), key=lambda j: j.priority):
                if backend.capacity is not None and len(running) >= backend.capacity:
                    break
                running[backend.submit(j.payload)] = j.id
                del pending[j.id]
            if not running:
                continue  # everything left was just blocked
            for handle, result in backend.wait(list(running)):
                jid = running.pop(handle)
                result = outcome.results[jid] = {**result, "id": jid}
                bar.update(1)
                if result["status"] == "failed":
                    tqdm.write(f"study: {result['id']} failed: {result['error']}", file=sys.stderr)
    finally:
        bar.close()
    return outcome
