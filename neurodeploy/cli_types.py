"""Reusable click parameter types with ranges: a bad option value is refused while parsing.

Every type rejects NaN and infinities, numbers outside its range and text that does not parse,
with click's one-line message naming the option. Used by ``cli.py`` (and any command added later);
this module does not import ``cli.py``.
"""
from __future__ import annotations

import math

import click

from neurodeploy.errors import UsageError
from neurodeploy.schemas.checks import MAX_STEPS
from neurodeploy.schemas.run_config import MAX_BATCH, MAX_EPOCHS

SEED_MAX = 2 ** 63 - 1  # seeds are stored as int64 (torch.Generator.manual_seed takes any of them)


class FiniteFloat(click.ParamType):
    """A finite float x with ``lo <= x <= hi`` (``lo_open``/``hi_open``: strict); ``a/b`` allowed if ``ratio``."""

    name = "number"

    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
                 hi_open: bool = False, ratio: bool = False):
        self.lo, self.hi, self.lo_open, self.hi_open, self.ratio = lo, hi, lo_open, hi_open, ratio

    def describe(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo:g}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {self.hi:g}")
        return "a finite number" + (" " + " and ".join(parts) if parts else "")

    def check(self, x: float) -> str | None:
        """None if ``x`` is acceptable, else what is wrong with it."""
        if not math.isfinite(x):
            return f"{x} is not {self.describe()}"
        if self.lo is not None and (x < self.lo or (self.lo_open and x == self.lo)):
            return f"{x:g} is not {self.describe()}"
        if self.hi is not None and (x > self.hi or (self.hi_open and x == self.hi)):
            return f"{x:g} is not {self.describe()}"
        return None

    def parse(self, text) -> float:
        """The number in ``text`` (ValueError when it does not parse; no range check)."""
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            return float(text)
        s = str(text).strip()
        if self.ratio and "/" in s:
            a, b = s.split("/", 1)
            den = float(b)
            if den == 0:
                raise ValueError("division by zero")
            return float(a) / den
        return float(s)

    def convert(self, value, param, ctx):
        try:
            x = self.parse(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(f"'{value}' is not {self.describe()}", param, ctx)
        problem = self.check(x)
        if problem:
            self.fail(problem, param, ctx)
        return x


class FloatList(click.ParamType):
    """Comma-separated numbers, each checked by an ``item`` :class:`FiniteFloat`; gives a tuple."""

    name = "numbers"

    def __init__(self, item: FiniteFloat):
        self.item = item

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = [p.strip() for p in str(value).split(",") if p.strip()]
        if not parts:
            self.fail("needs at least one value", param, ctx)
        out = []
        for p in parts:
            try:
                x = self.item.parse(p)
            except (TypeError, ValueError, OverflowError):
                self.fail(f"'{p}' is not {self.item.describe()}", param, ctx)
            problem = self.item.check(x)
            if problem:
                self.fail(problem, param, ctx)
            out.append(x)
        return tuple(out)


class Count(click.ParamType):
    """An integer ``>= lo`` (and ``<= hi``); ``zero_means`` documents a 0 that means something (e.g. "all")."""

    name = "integer"

    def __init__(self, lo: int = 1, hi: int | None = None, zero_means: str | None = None):
        self.lo, self.hi, self.zero_means = lo, hi, zero_means

    def describe(self) -> str:
        s = f"an integer >= {self.lo}" + (f" and <= {self.hi}" if self.hi is not None else "")
        return s + (f" (0: {self.zero_means})" if self.zero_means else "")

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            n = value
        else:
            try:
                n = int(str(value).strip(), 10)
            except ValueError:
                self.fail(f"'{value}' is not {self.describe()}", param, ctx)
        if n == 0 and self.zero_means:
            return 0
        if n < self.lo or (self.hi is not None and n > self.hi):
            self.fail(f"{n} is not {self.describe()}", param, ctx)
        return n


COUNT = Count(1)                               # --limit, --restarts, --queries ...
STEPS = Count(1, MAX_STEPS)                    # time steps T
EPOCHS = Count(0, MAX_EPOCHS)                  # 0 epochs: write the run folder, train nothing
BATCH = Count(1, MAX_BATCH)
SEED = Count(0, SEED_MAX)
EPS = FiniteFloat(0.0, 1.0, ratio=True)        # a perturbation budget in pixel units
EPS_LIST = FloatList(FiniteFloat(0.0, ratio=True))  # upper bound by norm: AttackConfig.validate
RATE = FiniteFloat(0.0, lo_open=True)          # learning rates and other strictly positive rates
NONNEGATIVE = FiniteFloat(0.0)                 # penalties (ρ of --mppd), noise levels
FRACTION = FiniteFloat(0.0, 1.0)               # shares and agreements in [0, 1] (--min-agreement)
WORKERS = Count(1, 1024)                       # local worker processes (--workers)


class _Parsed(click.ParamType):
    """Text checked by a package parser (``parse(text)`` raising UsageError): its message, naming the option."""

    def __init__(self, name: str, parse):
        self.name, self._parse = name, parse

    def convert(self, value, param, ctx):
        from neurodeploy.errors import UsageError

        try:
            self._parse(value)
        except UsageError as e:
            self.fail(str(e), param, ctx)
        return value


def _threads(text):
    from neurodeploy.threads import parse_threads

    return parse_threads(text)


def _augment(text):
    from neurodeploy.data.augment import Augment

    return Augment.parse(text)


THREADS = _Parsed("N|auto", _threads)          # --threads: 1..MAX_THREADS or auto
AUGMENT = _Parsed("spec", _augment)            # --augment: none | cropP | flip | cropP+flip


def parse_key_values(text: str | None, option: str) -> dict:
    """``"a=1,b=0.5"`` -> {"a": 1.0, "b": 0.5} (numbers only); a malformed item is a usage error naming ``option``."""
    out = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError:
            raise UsageError(f"{option}: '{item}' is not KEY=NUMBER") from None
    return out
