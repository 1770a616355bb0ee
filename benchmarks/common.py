"""Shared bits for benchmarks: data root, output folder, JSON writing, a printed table."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from neurodeploy.data.root import find_data_root
from neurodeploy.tables import markdown_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"


def data_dir(arg: str | None = None, need: str = "fashion-mnist") -> str:
    """``--data-dir`` if given, else :func:`neurodeploy.data.root.find_data_root` from this checkout."""
    if arg:
        if not (Path(arg) / need).is_dir():
            raise SystemExit(f"error: --data-dir {arg}: no {need}/ folder in it")
        return arg
    root = find_data_root(ROOT, need)
    if root is None:
        raise SystemExit(f"error: {need} not found: give --data-dir or set NEURODEPLOY_DATA")
    return str(root)


def machine() -> dict:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}


def write_result(name: str, result: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({**result, "machine": machine()}, indent=2) + "\n")
    tmp.replace(path)
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def identical_every_step(a, b) -> float:
    """Fraction of samples whose output spike counts agree at every step (two ``RunResult``s)."""
    n = a.step_counts.shape[0]
    return float((a.step_counts == b.step_counts).reshape(n, -1).all(1).mean())


def table(rows: list[dict], cols: list[str]) -> str:
    return markdown_table(rows, cols)
