"""How many torch threads a command uses: the cores it may use, minus the ones others keep busy.

Why: torch's intra-op pool (OpenMP) splits every operation across its threads and waits for
the slowest at the end. When another process keeps a core busy, the thread sharing that core
runs only in time slices, and libgomp's default is to *spin* while waiting (GOMP_SPINCOUNT
~300k), so the waiting thread burns the very CPU time the straggler needs. Measured on this
2-core machine under load (conv28 fast training step, batch 64, T = 8): 2 threads with the
default wait policy 1.9-2.1 s; with OMP_WAIT_POLICY=PASSIVE 0.13-0.24 s; 1 thread 0.20-0.28 s;
GOMP_SPINCOUNT 1e3 / 1e4 / 1e5: 0.13-0.26 / 0.31-0.34 / 1.2 s. Hence two measures:
``import neurodeploy`` sets OMP_WAIT_POLICY=PASSIVE (unless OMP_WAIT_POLICY or GOMP_SPINCOUNT
is set; it takes effect only if torch was not imported before neurodeploy), and the thread
count leaves cores that others keep busy to them::

    threads = --threads / NEURODEPLOY_THREADS                     if given (a positive integer)
            = max(1, min(usable, round(usable - busy)))          otherwise ("auto")
    usable  = min(|sched_getaffinity|, ⌊cgroup quota / period⌋ (≥ 1))
    busy    = CPU time other processes used per second over a short sample (/proc/stat),
              capped at usable - 1

and inter-op threads = 1 (nothing here runs independent graph branches). Pool workers (study,
Ray tasks) call :func:`configure_threads` with 1.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

from neurodeploy.errors import UsageError

ENV = "NEURODEPLOY_THREADS"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_v2_limit(root: Path, proc_cgroup: Path) -> float | None:
    """cpu.max of this process's cgroup and its ancestors (the tightest), in cores."""
    rel = ""
    try:
        for line in proc_cgroup.read_text().splitlines():
            if line.startswith("0::"):
                rel = line[3:].strip().lstrip("/")
    except OSError:
        pass
    limits = []
    d = root / rel if rel else root
    while True:
        f = d / "cpu.max"
        if f.is_file():
            try:
                quota, period = (f.read_text().split() + ["100000"])[:2]
                if quota != "max" and float(period) > 0:
                    limits.append(float(quota) / float(period))
            except (OSError, ValueError):
                pass
        if d == root or root not in d.parents:
            break
        d = d.parent
    return min(limits) if limits else None


def _cgroup_v1_limit(root: Path, proc_cgroup: Path) -> float | None:
    """cpu.cfs_quota_us / cpu.cfs_period_us of this process's cpu cgroup (or the hierarchy's root)."""
    rel = ""
    try:
        for line in proc_cgroup.read_text().splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and "cpu" in parts[1].split(","):
                rel = parts[2].strip().lstrip("/")
    except OSError:
        pass
    for mount in (root / "cpu", root / "cpu,cpuacct", root / "cpuacct,cpu"):
        for d in ([mount / rel] if rel else []) + [mount]:
            try:
                quota = float((d / "cpu.cfs_quota_us").read_text())
                period = float((d / "cpu.cfs_period_us").read_text())
            except (OSError, ValueError):
                continue
            if quota > 0 and period > 0:
                return quota / period
    return None


def usable_cores(root: Path | str = CGROUP_ROOT, proc_cgroup: Path | str = "/proc/self/cgroup") -> int:
    """Cores this process may use: its CPU affinity, limited by a cgroup CPU quota (v2 or v1)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    root = Path(root)
    limit = _cgroup_v2_limit(root, Path(proc_cgroup))
    if limit is None:
        limit = _cgroup_v1_limit(root, Path(proc_cgroup))
    if limit is not None:
        n = min(n, max(1, math.floor(limit + 1e-9)))
    return max(1, n)


def _cpu_times(stat: Path) -> tuple[float, float] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat's first line."""
    try:
        f = [float(x) for x in stat.read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = f[3] + (f[4] if len(f) > 4 else 0.0)  # idle + iowait
    return sum(f) - idle, sum(f)


def busy_cores(sample_s: float = 0.1, stat: Path | str = "/proc/stat") -> float:
    """Cores other processes keep busy, from the machine's CPU time over ``sample_s`` seconds
    (this process sleeps meanwhile, so the busy time is theirs). 0 when it cannot be read."""
    stat = Path(stat)
    a = _cpu_times(stat)
    time.sleep(sample_s)
    b = _cpu_times(stat)
    if a is None or b is None or b[1] <= a[1]:
        return 0.0
    ncpu = os.cpu_count() or 1
    return max(0.0, (b[0] - a[0]) / (b[1] - a[1]) * ncpu)


MAX_THREADS = 1024  # more threads than any machine's cores only adds contention


def parse_threads(value) -> int | None:
    """A thread-count setting: a positive integer, or None/"auto"/"" for the automatic policy."""
    if value is None or str(value).strip().lower() in ("", "auto"):
        return None
    try:
        n = int(str(value).strip())
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_THREADS:
        raise UsageError(f"threads must be an integer in 1..{MAX_THREADS} or 'auto', got '{value}' (--threads / {ENV})")
    return n


def auto_threads(usable: int | None = None, busy: float | None = None) -> int:
    """The automatic policy (module docstring)."""
    usable = usable_cores() if usable is None else usable
    if usable <= 1:
        return 1
    busy = busy_cores() if busy is None else busy
    return max(1, min(usable, int(math.floor(usable - min(busy, usable - 1) + 0.5))))


def configure_threads(n=None) -> int:
    """Set torch's intra-op threads (``n`` > ``NEURODEPLOY_THREADS`` > :func:`auto_threads`) and
    one inter-op thread; returns the intra-op count."""
    import torch

    chosen = parse_threads(n)
    if chosen is None:
        chosen = parse_threads(os.environ.get(ENV))
    if chosen is None:
        chosen = auto_threads()
    torch.set_num_threads(chosen)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work; later calls keep it
        pass
    return chosen
