"""Write a report's files as one atomic set: ``report.json``, ``report.md`` and the PNG plots.

Everything is rendered in memory first; then each file goes to a temporary name in the output
folder (:func:`neurodeploy.atomic.atomic_path`) and only when every one of them is written are
they renamed into place. An error anywhere leaves no partial file and no temporary file behind
(an older report in the same folder stays as it was).
"""
from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import numpy as np

from neurodeploy.atomic import atomic_path

JSON_NAME, MD_NAME = "report.json", "report.md"


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
    out.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.ExitStack() as stack:
            for path, data in files.items():
                tmp = stack.enter_context(atomic_path(path))
                tmp.write_bytes(data)
    except BaseException:
        rep.files = {}
        raise
    return rep.files
