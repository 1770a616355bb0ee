"""Thread policy: cores from affinity and cgroup quotas, the override, and the busy-neighbour rule."""
from __future__ import annotations

import os

import pytest
import torch

from neurodeploy.errors import UsageError
from neurodeploy.threads import auto_threads, busy_cores, configure_threads, parse_threads, usable_cores

AFFINITY = len(os.sched_getaffinity(0))


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_of_own_group_and_ancestors(tmp_path):
    proc = tmp_path / "proc_cgroup"
    _write(proc, "0::/jobs/a\n")
    root = tmp_path / "cg"
    _write(root / "jobs" / "a" / "cpu.max", "max 100000\n")
    assert usable_cores(root, proc) == AFFINITY  # no limit anywhere
    _write(root / "jobs" / "cpu.max", "150000 100000\n")  # an ancestor's 1.5 cores -> 1
    assert usable_cores(root, proc) == 1
    _write(root / "jobs" / "cpu.max", "50000 100000\n")  # half a core still gives one thread
    assert usable_cores(root, proc) == 1


def test_cgroup_v2_quota_above_one_core(tmp_path):
    proc = tmp_path / "proc_cgroup"
    _write(proc, "0::/\n")
    root = tmp_path / "cg"
    _write(root / "cpu.max", f"{200000 * AFFINITY} 100000\n")
    assert usable_cores(root, proc) == AFFINITY  # a quota never raises affinity
    if AFFINITY >= 2:
        _write(root / "cpu.max", "200000 100000\n")
        assert usable_cores(root, proc) == 2


def test_cgroup_v1_cfs_quota(tmp_path):
    proc = tmp_path / "proc_cgroup"
    _write(proc, "2:cpuacct:/\n1:cpu:/box\n0::/\n")
    root = tmp_path / "cg"
    _write(root / "cpu" / "box" / "cpu.cfs_quota_us", "100000\n")
    _write(root / "cpu" / "box" / "cpu.cfs_period_us", "100000\n")
    assert usable_cores(root, proc) == 1
    _write(root / "cpu" / "box" / "cpu.cfs_quota_us", "-1\n")  # unlimited
    assert usable_cores(root, proc) == AFFINITY


def test_missing_or_garbled_files_mean_no_limit(tmp_path):
    _write(tmp_path / "cg" / "cpu.max", "garbage\n")
    assert usable_cores(tmp_path / "cg", tmp_path / "nope") == AFFINITY
    assert busy_cores(0.0, tmp_path / "no_stat") == 0.0


def test_auto_policy_leaves_busy_cores_to_their_owners():
    assert auto_threads(usable=2, busy=0.0) == 2
    assert auto_threads(usable=2, busy=0.3) == 2
    assert auto_threads(usable=2, busy=1.0) == 1   # one busy neighbour: one thread, no thrashing
    assert auto_threads(usable=2, busy=7.0) == 1
    assert auto_threads(usable=8, busy=3.2) == 5
    assert auto_threads(usable=1, busy=0.0) == 1


def test_override_wins_and_is_checked(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("NEURODEPLOY_THREADS", "1")
        assert configure_threads() == 1 and torch.get_num_threads() == 1
        assert configure_threads(2) == 2 and torch.get_num_threads() == 2  # --threads beats the variable
        monkeypatch.setenv("NEURODEPLOY_THREADS", "auto")
        assert 1 <= configure_threads() <= usable_cores()
        assert parse_threads(None) is None and parse_threads("auto") is None and parse_threads("3") == 3
        for bad in ("0", "-2", "two", "1025"):
            with pytest.raises(UsageError, match=r"threads must be an integer in 1\.\.1024"):
                parse_threads(bad)
        monkeypatch.setenv("NEURODEPLOY_THREADS", "zero")
        with pytest.raises(UsageError, match="NEURODEPLOY_THREADS"):
            configure_threads()
    finally:
        torch.set_num_threads(before)
