"""Memory budgets: estimate what a command's arrays will take and refuse before allocating.

The limit is ``--memory-limit`` (set by the CLI through :func:`set_limit`), else the environment
variable ``NEURODEPLOY_MEMORY_LIMIT``, else :data:`FRACTION` of ``MemAvailable`` in
``/proc/meminfo``. Sizes are written ``4G``, ``512M``, ``1.5GiB``, ``800000000`` (bytes) or
``50%`` (of available memory). A refusal is one line naming the figure and the limit
(:class:`BudgetError`, exit code 2). Pure: imports no stage of the pipeline.

Estimates (bytes, rounded up, conservative):

* spike trains:  samples x neurons x T x itemsize
* weights:       elements x itemsize (as stored, and as float64 once read)
"""
from __future__ import annotations

import math
import os
import re

from neurodeploy.errors import NeurodeployError

ENV = "NEURODEPLOY_MEMORY_LIMIT"
FRACTION = 0.5
_UNITS = {"": 1, "B": 1, "K": 1e3, "KB": 1e3, "KIB": 1024, "M": 1e6, "MB": 1e6, "MIB": 1024 ** 2,
          "G": 1e9, "GB": 1e9, "GIB": 1024 ** 3, "T": 1e12, "TB": 1e12, "TIB": 1024 ** 4}
_override: str | None = None


class BudgetError(NeurodeployError):
    """The work would need more memory than the limit allows (exit code 2: this machine cannot)."""

    exit_code = 2


def parse_size(text) -> tuple:
    """``(bytes, fraction)`` from ``4G`` / ``1.5GiB`` / ``123`` (fraction None) or ``50%`` (bytes None)."""
    s = str(text).strip().upper()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", s)
    if m:
        f = float(m.group(1)) / 100
        if not 0 < f <= 1:
            raise ValueError(f"'{text}': a percentage must be in (0, 100]")
        return None, f
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?I?B?)", s)
    if not m or m.group(2) not in _UNITS:
        raise ValueError(f"'{text}' is not a size (like 4G, 512M, 1.5GiB, 50%)")
    n = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(n) or n < 1:
        raise ValueError(f"'{text}': a size must be at least 1 byte")
    return int(n), None


def set_limit(text: str | None) -> None:
    """Override the limit for this process (``None``: back to the environment / default)."""
    if text is not None:
        parse_size(text)
    global _override
    _override = text


def available_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo``, or None where there is none."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_limit() -> tuple:
    """``(bytes or None, description)``; None: no limit can be worked out (no /proc/meminfo)."""
    text, where = (_override, "--memory-limit") if _override is not None else (os.environ.get(ENV), ENV)
    fraction = FRACTION
    if text:
        try:
            nbytes, frac = parse_size(text)
        except ValueError as e:
            raise BudgetError(f"{where}: {e}") from None
        if nbytes is not None:
            return nbytes, f"set by {where}"
        fraction = frac
        desc = f"{fraction:.0%} of available memory, set by {where}"
    else:
        desc = f"{fraction:.0%} of available memory; set {ENV} or --memory-limit to change it"
    avail = available_bytes()
    if avail is None:
        return None, "no limit: available memory unknown"
    return int(avail * fraction), desc


def human(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def check(nbytes: float, what: str) -> None:
    """Refuse (one line) when ``what`` needs more than the limit; ``what`` names the figure's source."""
    limit, desc = memory_limit()
    if limit is not None and nbytes > limit:
        raise BudgetError(f"{what} needs about {human(nbytes)}, over the memory limit of {human(limit)} ({desc})")


def spike_trains(samples: int, neurons: int, steps: int, itemsize: int = 1) -> int:
    """Bytes of ``samples`` x ``neurons`` x ``steps`` values of ``itemsize`` bytes."""
    return int(samples) * int(neurons) * int(steps) * int(itemsize)
