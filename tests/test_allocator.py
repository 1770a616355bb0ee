"""import neurodeploy puts large tensors on huge pages: a re-allocated 64 MiB tensor costs few page faults."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_PROBE = r"""
import resource
import neurodeploy, torch  # neurodeploy first: it sets THP_MEM_ALLOC_ENABLE before torch reads it
def faults_of_one_step():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.ones(16 * 2**20)  # 64 MiB, written: every page touched
    del x
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(min(faults_of_one_step() for _ in range(3)))
"""


def _faults(env: dict) -> int:
    r = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=ROOT,
                       env={**{k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"},
                            "PYTHONPATH": ROOT, **env})
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip().splitlines()[-1])


def _thp_mode() -> str:
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return "absent"
    return text[text.index("[") + 1:text.index("]")]


def test_request_huge_pages_sets_the_variable_unless_set(monkeypatch):
    from neurodeploy.allocator import ENV, request_huge_pages

    monkeypatch.delenv(ENV, raising=False)
    request_huge_pages()
    assert os.environ[ENV] == "1"
    monkeypatch.setenv(ENV, "0")
    request_huge_pages()
    assert os.environ[ENV] == "0"  # the user's choice stands


@pytest.mark.skipif(_thp_mode() not in ("always", "madvise"), reason="the kernel offers no transparent huge pages")
def test_a_large_tensor_costs_few_page_faults():
    assert _faults({"THP_MEM_ALLOC_ENABLE": "0"}) > 4000  # 64 MiB / 4 KiB = 16384 faults
    assert _faults({}) < 2048  # 32 huge pages (plus 4 KiB ones where none was free): 8x fewer at least
