"""Large tensors on huge pages: a training step stops paying one page fault per 4 KiB.

Why: glibc serves every block above its mmap threshold (at most 32 MB) with a fresh ``mmap``
and unmaps it on ``free``. A training step allocates and frees the same large activation and
gradient tensors every step, so each step touches them as new memory: one page fault (and
the kernel zeroing the page) per 4 KiB. torch's ``THP_MEM_ALLOC_ENABLE=1`` aligns blocks of
2 MiB and more to 2 MiB and asks for transparent huge pages (``madvise``), so a 64 MiB tensor
costs 32 faults instead of 16384. Measured on this 2-core machine (one thread, batch 64,
T = 8, the step of ``benchmarks/train_speed.py``): conv32 fast 1142 -> 633 ms, resident memory
unchanged. (Keeping freed memory in glibc's heap instead, ``M_MMAP_MAX=0``, was as fast when
set at process start but grows the heap: ``posix_memalign`` cannot reuse a freed block of
exactly its size.) Numbers are untouched: this only decides which pages hold the tensors.

torch reads the variable once, at its first allocation, so :func:`request_huge_pages` works
only before torch is imported; ``import neurodeploy`` calls it (unless the variable is set).
The kernel must allow it: ``/sys/kernel/mm/transparent_hugepage/enabled`` ``always`` or
``madvise`` (otherwise nothing changes).
"""
from __future__ import annotations

import os

ENV = "THP_MEM_ALLOC_ENABLE"


def request_huge_pages() -> bool:
    """Set ``THP_MEM_ALLOC_ENABLE=1`` unless set; True when torch will honour the variable's
    value (torch not yet imported)."""
    import sys

    os.environ.setdefault(ENV, "1")
    return "torch" not in sys.modules
