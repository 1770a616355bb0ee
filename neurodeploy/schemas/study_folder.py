"""The files of a study folder that ``study DIR --summarize`` reads: ``plan.json`` and each cell's
``result.json`` / ``error.json``.

* ``plan.json``: ``{"grid": {name, path, target: str; eps: non-empty list of finite numbers in [0, 1];
  limit >= 1, seed in 0..2^63-1, seed_pgd_steps >= 1: int; cells: list of {cell_id, name, row, exit,
  [group]: str}}}``; a ``cell_id`` is one folder name (letters, digits, ``-_.``; not ``.``/``..``),
  so a plan never points outside its folder;
* ``result.json``: ``{cell, row, exit, kind ("snn" | "ann"): str; clean, exit_step_mean: number or
  null; steps: int >= 1; suite, seed_pgd, deployed_suite, energy: null or {key: number or null or
  text}; attack_seconds: null or {key: number >= 0 or null}; masking_checks_failed: null or list of
  str; train: null or object; group: str}``;
* ``error.json``: ``{error: str}``.

Every failure is one line naming the file and the key (:mod:`.checks`).
"""
from __future__ import annotations

import re

from neurodeploy.schemas import checks as c

_CELL_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")


def _id(d, key, source) -> str:
    v = c.text(d, key, source, max_len=200)
    if not _CELL_ID.match(v) or v in (".", ".."):
        raise c.fail(source, key, f"= '{v:.40}' is not a cell folder name (letters, digits, '-', '_', '.')")
    return v


def check_plan(doc, source) -> dict:
    """The plan's grid, checked (see the module docstring)."""
    grid = c.mapping(doc, "grid", source)
    where = f"{source}: grid"
    for key in ("name", "path", "target"):
        c.text(grid, key, where)
    eps = c.sequence(grid, "eps", where, max_len=1000)
    if not eps:
        raise c.fail(where, "eps", "is empty")
    for i, _ in enumerate(eps):
        c.number({f"eps[{i}]": eps[i]}, f"eps[{i}]", where, 0.0, 1.0)
    c.integer(grid, "limit", where, 1)
    c.integer(grid, "seed", where, 0, c.SEED_MAX)
    c.integer(grid, "seed_pgd_steps", where, 1)
    cells = c.sequence(grid, "cells", where, max_len=100_000)
    for i, cell in enumerate(cells):
        here = f"{where}: cells[{i}]"
        if not isinstance(cell, dict):
            raise c.BadInputError(f"{here}: expected an object, got {type(cell).__name__}")
        _id(cell, "cell_id", here)
        for key in ("name", "row", "exit"):
            c.text(cell, key, here)
        c.text(cell, "group", here, default="")
    return grid


def _table(d, key, source, lo=None, text=True) -> None:
    v = c.mapping(d, key, source, default=None, optional=True)
    for k, x in (v or {}).items():
        if x is not None and not (text and isinstance(x, str)):
            c.number(v, k, f"{source}: '{key}'", lo)


def check_result(doc, source) -> dict:
    """A cell's ``result.json``, checked (see the module docstring)."""
    if not isinstance(doc, dict):
        raise c.BadInputError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    for key in ("cell", "row", "exit"):
        c.text(doc, key, source)
    c.text(doc, "kind", source, choices=("snn", "ann"))
    c.text(doc, "group", source, default="")
    for key in ("clean", "exit_step_mean"):
        c.number(doc, key, source, default=None, optional=True)
    c.integer(doc, "steps", source, 1, c.MAX_STEPS, default=1)
    if doc["kind"] == "snn":   # the table prints its mean exit step of T
        c.number(doc, "exit_step_mean", source, 0.0)
    for key in ("suite", "seed_pgd", "deployed_suite", "energy"):
        _table(doc, key, source)
    _table(doc, "attack_seconds", source, lo=0.0, text=False)
    failed = c.sequence(doc, "masking_checks_failed", source, default=None, optional=True, max_len=1000)
    if failed is not None and not all(isinstance(x, str) for x in failed):
        raise c.fail(source, "masking_checks_failed", "must be a list of strings")
    c.mapping(doc, "train", source, default=None, optional=True)
    return doc


def check_error(doc, source) -> dict:
    """A cell's ``error.json``: an object whose ``error`` is text."""
    if not isinstance(doc, dict):
        raise c.BadInputError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    c.text(doc, "error", source, default="", max_len=100_000)
    return doc
