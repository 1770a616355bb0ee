"""A study grid: a TOML file -> the list of validated cells, all checked before any cell runs.

File layout (``studies/*.toml``)::

    [study]                  # evaluation settings shared by every cell
    name, dataset, model, steps, seed      # defaults for every row's training
    eps = [0.05, 0.1, 0.2]   # L∞ budgets of the suite and of the seed-style PGD-7
    limit = 1000             # test images for emu, attacks and energy
    target = "loihi2"        # hardware profile of the energy columns
    exits = ["off", "margin:2,min=2"]   # exit rules of every SNN row (full T, early exit)
    seed_pgd_steps = 7       # the seed code's attack: PGD-K through the spike-only encoder gradient
    [train]                  # TrainConfig fields for every row (passthrough)
    [attack]                 # AttackConfig fields of the suite (passthrough; not the ones the study sets;
                             # transfer_from = "ANN row name": transfer attack from that row's run)
    [recipes.NAME]           # named sets of TrainConfig fields (e.g. noise, adversarial)
    [[rows]]                 # one row: name, TrainConfig fields, optional recipe and exits
    [[product]]              # rows from a cross product: encoding = [...], recipe = [...]

A **row** is one training run (its TrainConfig = ``study`` defaults < ``train`` < recipe < the
row's own keys); a **cell** is a row evaluated under one exit rule. ANN rows have one cell (exit
``off``). Everything that can be wrong is refused here, one line naming the file, the cell and
the key: unknown keys, values of the wrong type or out of range (TrainConfig.validate,
AttackConfig.validate, exit rules, the target profile) and combinations that cannot run
(``mppd`` or an exit rule with an ANN row, an encoding given to an ANN row that does not take
one, two rows of the same name).
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

from neurodeploy.attacks.suite import AttackConfig
from neurodeploy.encoding import make_encoder
from neurodeploy.errors import BadInputError, NeurodeployError
from neurodeploy.runtime.exit_rules import ExitRule
from neurodeploy.training.config import TrainConfig

TABLES = ("study", "train", "attack", "recipes", "rows", "product")
STUDY_KEYS = {"name": str, "dataset": str, "model": str, "steps": int, "seed": int, "eps": list, "limit": int,
              "target": str, "exits": list, "seed_pgd_steps": int}
STUDY_DEFAULTS = {"name": "study", "eps": [0.05, 0.1, 0.2], "limit": 1000, "target": "loihi2",
                  "exits": ["off", "margin:2,min=2"], "seed_pgd_steps": 7}
TRAIN_FROM_STUDY = ("dataset", "model", "steps", "seed")   # study keys that are also training defaults
ROW_EXTRA = ("name", "recipe", "exits", "group")                   # row keys that are not TrainConfig fields
# AttackConfig fields a cell sets itself (from [study] or from its own files): not settable in [attack]
# (``transfer_from`` names an ANN row of the grid: the transfer attack's source, trained first)
ATTACK_SET_BY_STUDY = ("attack", "eps", "limit", "exit", "deployed", "seed", "data_dir", "sim_samples")
TRAIN_SET_BY_STUDY = ("init_from",)  # a run folder path is not a grid setting: runs are reused by content


class GridError(BadInputError):
    """A grid that cannot run (exit code 3): the message names the file, the cell and the key."""


@dataclass(frozen=True)
class Cell:
    """One cell: a training run (``train``: TrainConfig fields) evaluated under one exit rule."""

    row: str
    exit: str
    train: dict
    run_id: str
    cell_id: str
    group: str = ""   # the recipe (for plots); "" for explicit rows
    transfer_run: str = ""   # run_id of the suite's transfer source ([attack] transfer_from), "" for none

    @property
    def name(self) -> str:
        return self.row if self.exit == "off" else f"{self.row} + exit {self.exit}"

    @property
    def is_ann(self) -> bool:
        return bool(self.train.get("ann"))


@dataclass
class Grid:
    """A validated grid: study settings, suite settings and its cells in file order."""

    path: str
    name: str
    eps: list
    limit: int
    target: str
    seed: int
    seed_pgd_steps: int
    attack: dict
    cells: list = field(default_factory=list)

    def runs(self) -> dict:
        """``{run_id: train settings}`` of the distinct training runs, in first-use order."""
        out = {}
        for c in self.cells:
            out.setdefault(c.run_id, c.train)
        return out

    def to_dict(self) -> dict:
        return {"path": self.path, "name": self.name, "eps": self.eps, "limit": self.limit, "target": self.target,
                "seed": self.seed, "seed_pgd_steps": self.seed_pgd_steps, "attack": self.attack,
                "cells": [asdict(c) | {"name": c.name} for c in self.cells]}

    def with_limit(self, limit: int) -> "Grid":
        """The same grid evaluated on ``limit`` test images (new cell ids: results are not mixed)."""
        g = Grid(self.path, self.name, self.eps, int(limit), self.target, self.seed, self.seed_pgd_steps,
                 self.attack)
        g.cells = [_with_id(g, c) for c in self.cells]
        return g


# ------------------------------------------------------------------------------------ helpers
def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "x"


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:10]


def _with_id(grid: Grid, c: Cell) -> Cell:
    """``c`` with its id: the row's name and a hash of everything that defines its results."""
    what = {"train": c.train, "exit": c.exit, "eps": grid.eps, "limit": grid.limit, "target": grid.target,
            "seed": grid.seed, "seed_pgd_steps": grid.seed_pgd_steps, "attack": grid.attack,
            "transfer_run": c.transfer_run}
    return replace(c, cell_id=f"{slug(c.row)}{'' if c.exit == 'off' else '-exit'}-{digest(what)}")


def _types(annotation) -> tuple:
    """The Python types a dataclass field accepts (``int | None`` -> (int, NoneType))."""
    hint = annotation
    if isinstance(hint, str):
        hint = eval(hint, {"dict": dict, "list": list, "tuple": tuple, "None": None})  # noqa: S307 - our own annotations
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else ()
    kinds = [type(None) if a is type(None) else a for a in (args or (hint,))]
    out = []
    for k in kinds:
        out.append(typing.get_origin(k) or k)
        if k is float:
            out.append(int)  # 1 is a fine float
    return tuple(out)


def _check_type(value, accepted: tuple) -> bool:
    if isinstance(value, bool) and bool not in accepted:
        return False
    return isinstance(value, accepted)


class _Where:
    """Error messages: ``FILE: cell 'NAME': key 'KEY': problem``."""

    def __init__(self, path):
        self.path = path

    def __call__(self, cell: str | None, key: str | None, problem: str) -> GridError:
        parts = [str(self.path)]
        if cell is not None:
            parts.append(f"cell '{cell}'")
        if key is not None:
            parts.append(f"key '{key}'")
        return GridError(": ".join(parts + [problem]))


# ---------------------------------------------------------------------------------- loading
def load_grid(path) -> Grid:
    """Read and validate ``path``; raises :class:`GridError` (or UsageError for a bad target)."""
    path = Path(path)
    where = _Where(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise GridError(f"{path}: missing") from None
    except IsADirectoryError:
        raise GridError(f"{path}: is a folder, expected a grid .toml file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise GridError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:   # tomllib recurses per nesting level
        raise GridError(f"{path}: not valid TOML (nested too deeply)") from None
    for key in doc:
        if key not in TABLES:
            raise where(None, key, f"unknown table (known: {', '.join(TABLES)})")
    study = _table(doc, "study", where)
    for key, value in study.items():
        if key not in STUDY_KEYS:
            raise where(None, f"study.{key}", f"unknown key (known: {', '.join(STUDY_KEYS)})")
        if not _check_type(value, (STUDY_KEYS[key],)):
            raise where(None, f"study.{key}", f"expected {STUDY_KEYS[key].__name__}, got {value!r}")
    s = {**STUDY_DEFAULTS, **study}
    eps = s["eps"]
    if not eps or not all(_check_type(e, (float, int)) and 0 < e <= 1 for e in eps):
        raise where(None, "study.eps", f"expected a list of budgets in (0, 1], got {eps!r}")
    if s["limit"] < 1 or s["seed_pgd_steps"] < 1:
        raise where(None, "study.limit" if s["limit"] < 1 else "study.seed_pgd_steps", "must be >= 1")
    exits = _exits(s["exits"], where, None, "study.exits")
    from neurodeploy.hardware.profiles import load_profile
    try:
        load_profile(s["target"])
    except NeurodeployError as e:
        raise where(None, "study.target", str(e)) from None

    attack = _table(doc, "attack", where)
    attack = _attack_settings(attack, where)
    train_defaults = {k: s[k] for k in TRAIN_FROM_STUDY if k in s}
    train_defaults.update(_train_keys(_table(doc, "train", where), where, None, "train."))
    recipes = {}
    for name, body in _table(doc, "recipes", where).items():
        if not isinstance(body, dict):
            raise where(None, f"recipes.{name}", "expected a table of TrainConfig fields")
        recipes[name] = _train_keys(body, where, None, f"recipes.{name}.")

    grid = Grid(str(path), s["name"], [float(e) for e in eps], int(s["limit"]), s["target"], int(s.get("seed", 0)),
                int(s["seed_pgd_steps"]), attack)
    rows = []
    for i, row in enumerate(_list(doc, "rows", where)):
        rows.append((row, f"rows[{i}]"))
    for i, prod in enumerate(_list(doc, "product", where)):
        rows += _expand(prod, where, f"product[{i}]")
    if not rows:
        raise where(None, None, "no rows: add [[rows]] or [[product]] tables")
    seen = set()
    for row, label in rows:
        name = row.get("name")
        if not isinstance(name, str) or not name:
            raise where(label, "name", "every row needs a name")
        if name in seen:
            raise where(name, "name", "two rows have this name")
        seen.add(name)
        grid.cells += _row_cells(grid, row, name, train_defaults, recipes, exits, where)
    source = attack.get("transfer_from")
    if source is not None:
        src = next((c for c in grid.cells if c.row == source), None)
        if src is None or not src.is_ann:
            raise where(None, "attack.transfer_from", f"'{source}' is not an ANN row of this grid (the transfer "
                                                      "attack's source model)")
        for i, c in enumerate(grid.cells):
            if c.row != source:
                if c.train["dataset"] != src.train["dataset"]:
                    raise where(c.name, "dataset", f"differs from the transfer source '{source}'")
                grid.cells[i] = replace(c, transfer_run=src.run_id)
    grid.cells = [_with_id(grid, c) for c in grid.cells]
    return grid


def _table(doc, key, where) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise where(None, key, "expected a table")
    return value


def _list(doc, key, where) -> list:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise where(None, key, f"expected an array of tables ([[{key}]])")
    return value


def _exits(values, where, cell, key) -> list:
    if not isinstance(values, list) or not values:
        raise where(cell, key, f"expected a non-empty list of exit rules, got {values!r}")
    out = []
    for v in values:
        try:
            out.append(str(ExitRule.parse(v)))
        except (NeurodeployError, TypeError, ValueError) as e:
            raise where(cell, key, str(e)) from None
    if len(set(out)) != len(out):
        raise where(cell, key, f"an exit rule is listed twice: {values!r}")
    return out


def _attack_settings(attack: dict, where) -> dict:
    known = {f.name: f for f in fields(AttackConfig)}
    for key, value in attack.items():
        if key in ATTACK_SET_BY_STUDY:
            raise where(None, f"attack.{key}", "set by the study ([study] or the cell), not in [attack]")
        if key not in known:
            raise where(None, f"attack.{key}", "unknown key (not an AttackConfig field)")
        if not _check_type(value, _types(known[key].type)):
            raise where(None, f"attack.{key}", f"bad value {value!r}")
    try:
        AttackConfig(**attack).validate()
    except NeurodeployError as e:
        raise where(None, "attack", str(e)) from None
    return dict(attack)


def _train_keys(body: dict, where, cell, prefix: str, extra: tuple = ()) -> dict:
    """Check keys and types against TrainConfig; ``encoding`` may be a name (``"fusion:a+b"``)."""
    known = {f.name: f for f in fields(TrainConfig)}
    out = {}
    for key, value in body.items():
        if key in extra:
            continue
        if key in TRAIN_SET_BY_STUDY:
            raise where(cell, prefix + key, "not a grid setting (runs are reused by their settings)")
        if key not in known:
            raise where(cell, prefix + key, "unknown key (not a TrainConfig field)")
        if key == "encoding":
            try:
                value = make_encoder(value).config()
            except (NeurodeployError, TypeError, AttributeError) as e:
                raise where(cell, prefix + key, str(e)) from None
        elif not _check_type(value, _types(known[key].type)):
            raise where(cell, prefix + key, f"bad value {value!r} (expected {known[key].type})")
        out[key] = value
    return out


def _expand(prod: dict, where, label) -> list:
    """A ``[[product]]`` table -> rows (name: ``SNN <encoding> <recipe>``, listed keys varied)."""
    lists = {k: v for k, v in prod.items() if isinstance(v, list)}
    fixed = {k: v for k, v in prod.items() if not isinstance(v, list) and k != "name"}
    if "exits" in lists:  # exits is a list-valued row key, not a dimension
        fixed["exits"] = lists.pop("exits")
    if not lists:
        raise where(label, None, "a product needs at least one list of values")
    prefix = prod.get("name", "ANN" if prod.get("ann") else "SNN")
    combos = [{}]
    for key, values in lists.items():
        if not values:
            raise where(label, key, "empty list")
        combos = [{**c, key: v} for c in combos for v in values]
    rows = []
    for c in combos:
        parts = [prefix] + [_label(v) for v in c.values()]
        rows.append(({**fixed, **c, "name": " ".join(parts)}, label))
    return rows


def _label(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _row_cells(grid: Grid, row: dict, name: str, defaults: dict, recipes: dict, exits: list, where) -> list:
    recipe = row.get("recipe")
    if not isinstance(row.get("group", ""), str):
        raise where(name, "group", f"expected a string, got {row['group']!r}")
    if recipe is not None and recipe not in recipes:
        raise where(name, "recipe", f"unknown recipe '{recipe}' (defined: {', '.join(recipes) or 'none'})")
    own = _train_keys(row, where, name, "", extra=ROW_EXTRA)
    settings = {**defaults, **(recipes[recipe] if recipe else {}), **own}
    ann = bool(settings.get("ann"))
    if ann and "encoding" in {**(recipes[recipe] if recipe else {}), **own}:
        enc = settings["encoding"]
        if not settings.get("input_quantisation"):
            raise where(name, "encoding", f"an ANN row takes no encoding ({enc.get('name')}) unless "
                                          "input_quantisation = true (the ANN fed spike count / T of that encoding)")
    row_exits = _exits(row["exits"], where, name, "exits") if "exits" in row else (["off"] if ann else exits)
    if ann and row_exits != ["off"]:
        raise where(name, "exits", f"an ANN row decides in one step: exit rules {row_exits} do not apply")
    if ann and settings.get("mppd") is not None:
        raise where(name, "mppd", "the membrane-potential penalty needs a spiking model, and this row is an ANN")
    try:
        cfg = TrainConfig(**settings)
    except TypeError as e:
        raise where(name, None, str(e)) from None
    _validate(cfg, settings, own, recipes.get(recipe, {}), defaults, name, where)
    train = asdict(cfg)
    run_id = f"{slug(name)}-{digest(train)}"
    return [Cell(row=name, exit=e, train=train, run_id=run_id, cell_id="",
                 group=str(row.get("group", recipe or ""))) for e in row_exits]


def _validate(cfg: TrainConfig, settings: dict, *layers_and_rest):
    """``cfg.validate()``; on failure name the key: the first given key whose default makes it pass."""
    *layers, name, where = layers_and_rest
    try:
        cfg.validate()
        return
    except NeurodeployError as e:
        problem = str(e)
    defaults = {f.name: (f.default if f.default is not MISSING else f.default_factory()) for f in fields(TrainConfig)}
    for layer in layers:
        for key in layer:
            trial = {**settings, key: defaults[key]}
            try:
                TrainConfig(**trial).validate()
            except NeurodeployError:
                continue
            raise where(name, key, problem)
    raise where(name, None, problem)
