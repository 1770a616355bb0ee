"""Write a report's files as one atomic set: ``report.json``, ``report.md`` and the PNG plots.

Everything is rendered in memory first; then the files are written into a temporary folder
beside the output folder, which is swapped into place whole (:func:`neurodeploy.atomic.atomic_dir`):
a reader sees the old report or the new one, never a mix. An error or a kill anywhere leaves the
older report as it was (a later write removes the temporary folder a kill left).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from neurodeploy.atomic import atomic_dir

JSON_NAME, MD_NAME = "report.json", "report.md"


def own_files() -> set:
    """The names a report folder holds (an existing --out folder may hold only these)."""
    from neurodeploy.report import plots

    return {JSON_NAME, MD_NAME, *plots.FILES}


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def render_files(rep, out_dir) -> dict:
    """``{path: bytes}`` of every file of the report (nothing written yet)."""
    from neurodeploy.report import markdown, plots

    out = Path(out_dir)
    files = {name: data for name, data in plots.render_all(rep).items()}
    files[MD_NAME] = markdown.render(rep).encode("utf-8")
    rep.files = {"json": str(out / JSON_NAME), "md": str(out / MD_NAME),
                 "plots": [str(out / name) for name in plots.FILES]}
    files[JSON_NAME] = (json.dumps(_jsonable(rep.to_dict()), indent=2, allow_nan=False) + "\n").encode("utf-8")
    return {out / name: data for name, data in files.items()}


def write_report(rep, out_dir) -> dict:
    """Write every file of ``rep`` into ``out_dir`` (created if needed); returns ``rep.files``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        from neurodeploy.errors import UsageError
        raise UsageError(f"{out}: --out must be a folder, and this is a file")
    try:
        files = render_files(rep, out)
    except BaseException:
        rep.files = {}
        raise
    try:
        with atomic_dir(out) as tmp:
            for path, data in files.items():
                (tmp / path.name).write_bytes(data)
    except BaseException:
        rep.files = {}
        raise
    return rep.files
