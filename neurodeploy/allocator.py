"""Large tensors allocated once: a training step stops paying one page fault per 4 KiB.

Why: glibc serves every block above its mmap threshold (at most 32 MB) with a fresh ``mmap`` and
unmaps it on ``free``. A training step allocates and frees the same large activation and gradient
tensors every step, so each step touches them as new memory: one page fault, and the kernel
zeroing the page, per 4 KiB. :func:`keep_freed_memory` tells glibc (``mallopt``) to serve every
block from its heap (``M_MMAP_MAX = 0``) and to keep what is freed (``M_TRIM_THRESHOLD`` 1 GiB),
so from the second step on the same memory is reused. Measured on this 2-core machine (one
thread, batch 64, the step of ``benchmarks/train_speed.py``), minor page faults per step:

=================  ==============  ========================  =========
step               glibc default   torch huge pages (THP)    kept heap
=================  ==============  ========================  =========
conv28, T = 16     12,827          4,052                     8
conv32, T = 8      –               19,025                    0
mlp, T = 8         –               1,575                     10
=================  ==============  ========================  =========

with resident memory flat over 40 steps. (The previous choice, torch's ``THP_MEM_ALLOC_ENABLE=1``,
cut the faults less and made conv28's step erratic: a huge-page fault may stall in the kernel's
direct compaction.) The cost: a process keeps its peak heap until it exits. Numbers are untouched:
this only decides which pages hold the tensors. ``NEURODEPLOY_HEAP=system`` leaves glibc's
defaults; without glibc's ``mallopt`` nothing changes.
"""
from __future__ import annotations

import ctypes
import os

ENV = "NEURODEPLOY_HEAP"
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4   # glibc's <malloc.h> parameter numbers
KEEP_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse (module docstring); True when it agreed."""
    if os.environ.get(ENV, "keep").strip().lower() == "system":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_BYTES))
