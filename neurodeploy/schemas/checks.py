"""Field checks: each takes the mapping, the key, the source (file name) and returns the checked value.

Every failure is one line, ``SOURCE: 'KEY' PROBLEM`` (a :class:`BadInputError`, exit code 3).
JSON's ``true`` is not an integer here, NaN and infinities are not numbers, and nothing is
converted silently (``"8"`` is not 8).
"""
from __future__ import annotations

import math

from neurodeploy.errors import BadInputError

SEED_MAX = 2 ** 63 - 1
MAX_STEPS = 100_000          # time steps T: beyond this no data set fits in memory anyway (see budget.py)
_MISSING = object()


def fail(source, key: str, problem: str) -> BadInputError:
    return BadInputError(f"{source}: '{key}' {problem}")


def _get(d: dict, key: str, source, default):
    if not isinstance(d, dict):
        raise BadInputError(f"{source}: expected a JSON object, got {type(d).__name__}")
    if key not in d:
        if default is _MISSING:
            raise fail(source, key, "is missing")
        return default
    return d[key]


def _kind(v) -> str:
    return "null" if v is None else type(v).__name__


def integer(d, key, source, lo=None, hi=None, default=_MISSING, optional=False):
    """An int (not a bool) in [lo, hi]; ``optional``: None allowed."""
    v = _get(d, key, source, default)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise fail(source, key, f"must be an integer, got {_kind(v)} {v!r:.40}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise fail(source, key, f"= {v} is outside [{lo if lo is not None else '-inf'}, "
                                f"{hi if hi is not None else 'inf'}]")
    return v


def number(d, key, source, lo=None, hi=None, lo_open=False, default=_MISSING, optional=False):
    """A finite int or float (not a bool) in [lo, hi] (``lo_open``: > lo); returned as float."""
    v = _get(d, key, source, default)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise fail(source, key, f"must be a number, got {_kind(v)} {v!r:.40}")
    x = float(v)
    if not math.isfinite(x):
        raise fail(source, key, f"must be finite, got {v}")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise fail(source, key, f"= {v:g} must be {'>' if lo_open else '>='} {lo:g}")
    if hi is not None and x > hi:
        raise fail(source, key, f"= {v:g} must be <= {hi:g}")
    return x


def boolean(d, key, source, default=_MISSING):
    v = _get(d, key, source, default)
    if not isinstance(v, bool):
        raise fail(source, key, f"must be true or false, got {_kind(v)} {v!r:.40}")
    return v


def text(d, key, source, default=_MISSING, optional=False, choices=None, max_len=4096):
    v = _get(d, key, source, default)
    if v is None and optional:
        return None
    if not isinstance(v, str):
        raise fail(source, key, f"must be a string, got {_kind(v)} {v!r:.40}")
    if len(v) > max_len:
        raise fail(source, key, f"is {len(v)} characters long (at most {max_len})")
    if choices is not None and v not in choices:
        raise fail(source, key, f"= '{v:.40}' is not one of {', '.join(choices)}")
    return v


def mapping(d, key, source, default=_MISSING, optional=False) -> dict | None:
    v = _get(d, key, source, default)
    if v is None and optional:
        return None
    if not isinstance(v, dict):
        raise fail(source, key, f"must be an object, got {_kind(v)} {v!r:.40}")
    return v


def sequence(d, key, source, default=_MISSING, optional=False, max_len=1_000_000) -> list | None:
    v = _get(d, key, source, default)
    if v is None and optional:
        return None
    if not isinstance(v, list):
        raise fail(source, key, f"must be a list, got {_kind(v)} {v!r:.40}")
    if len(v) > max_len:
        raise fail(source, key, f"has {len(v)} entries (at most {max_len})")
    return v


def no_unknown(d: dict, known, source, where: str = "") -> None:
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise BadInputError(f"{source}: unknown key{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(repr(k) for k in unknown[:5])}{' in ' + where if where else ''} "
                            f"(known: {', '.join(sorted(known))})")
