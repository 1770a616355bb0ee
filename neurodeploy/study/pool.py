"""Local backend: ``--workers N`` processes (spawned, not forked: torch and Lava keep threads),
each with ``cores // N`` torch threads; ``N = 1`` runs the jobs in this process, one at a time.

A worker killed from outside breaks the pool: the study stops with one line saying so, and the
same command resumes it (finished cells and epochs are kept on disk). The other way round, a
study killed from outside (``kill PID``, not only Ctrl-C to the process group) takes its workers
with it: on Linux each worker asks the kernel for SIGKILL when its parent dies, so no orphan keeps
computing a cell beside the study that resumes it.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

from neurodeploy.errors import NeurodeployError
from neurodeploy.study.cell import run_job


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    return max(1, available_cores() // max(1, workers))


class WorkerDied(NeurodeployError):
    """A worker process ended without a result (killed, out of memory)."""

    exit_code = 1


def die_with_parent() -> bool:
    """Linux: SIGKILL this process when its parent exits (``prctl(PR_SET_PDEATHSIG)``); False elsewhere."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return False
    PR_SET_PDEATHSIG = 1
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return False
    return os.getppid() != 1   # the parent may have exited before the call


def _init_worker(threads: int) -> None:
    die_with_parent()
    import torch

    import neurodeploy  # noqa: F401  (the Lava 3.11 import hook, as in the parent)

    torch.set_num_threads(threads)


class InlineBackend:
    """Jobs run in the calling process when waited for (one worker)."""

    capacity = 1

    def __init__(self, threads: int | None = None):
        self.threads = threads or threads_per_worker(1)
        self._queue = {}
        self._next = 0

    def submit(self, payload: dict):
        self._next += 1
        self._queue[self._next] = dict(payload, threads=self.threads)
        return self._next

    def wait(self, handles: list) -> list:
        h = handles[0]
        return [(h, run_job(self._queue.pop(h)))]

    def close(self):
        pass


class PoolBackend:
    """``workers`` spawned processes with pinned torch threads."""

    def __init__(self, workers: int):
        self.capacity = int(workers)
        self.threads = threads_per_worker(workers)
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_init_worker, initargs=(self.threads,))

    def submit(self, payload: dict):
        return self._pool.submit(run_job, dict(payload, threads=self.threads))

    def wait(self, handles: list) -> list:
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        out = []
        for f in done:
            try:
                out.append((f, f.result()))
            except cf.process.BrokenProcessPool:
                raise WorkerDied("a study worker process died (killed?); run the same command again to resume "
                                 "(finished cells and epochs are kept)") from None
        return out

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_backend(workers: int):
    if workers < 1:
        from neurodeploy.errors import UsageError

        raise UsageError(f"--workers must be >= 1, got {workers}")
    return InlineBackend() if workers == 1 else PoolBackend(workers)
