"""Outputs never overwrite inputs: checks every command runs on its ``--out`` before any work.

* an output equal to one of the command's input files is refused;
* an output inside a run folder (``config.json`` + ``checkpoint.pt``) is refused: a run's files
  are written only by ``train``;
* a folder output (written whole by :func:`neurodeploy.atomic.atomic_dir`) must not hold an input,
  and an existing folder may hold only the files of an earlier output of the same kind.
"""
from __future__ import annotations

import os
from pathlib import Path

from neurodeploy.errors import UsageError

RUN_MARKERS = ("config.json", "checkpoint.pt")


def _real(p) -> Path:
    return Path(os.path.abspath(os.path.expanduser(str(p)))).resolve(strict=False)


def same_place(a, b) -> bool:
    return _real(a) == _real(b)


def is_within(p, folder) -> bool:
    """``p`` is ``folder`` or somewhere below it (symlinks resolved)."""
    p, folder = _real(p), _real(folder)
    return p == folder or folder in p.parents


def enclosing_run(p) -> Path | None:
    """The run folder ``p`` is in (or is), if any."""
    p = _real(p)
    for d in (p, *p.parents):
        if all((d / m).exists() for m in RUN_MARKERS):
            return d
    return None


def check_output(out, option: str = "--out", inputs=(), folder: bool = False, own_files=None) -> None:
    """Refuse ``out`` (one line, UsageError) if writing it could damage an input or a run folder.

    ``inputs``: the command's input files and folders. ``folder``: ``out`` is a folder replaced
    as a whole; ``own_files``: the names such a folder may already hold (an earlier output).
    """
    if out is None:
        return
    for i in inputs:
        if i is None:
            continue
        if same_place(out, i):
            raise UsageError(f"{option} {out}: is an input of this command; choose another path")
        if folder and is_within(i, out):
            raise UsageError(f"{option} {out}: holds {i}, an input of this command; it would be replaced")
        if not folder and Path(i).is_dir() and is_within(out, i) and (Path(i) / RUN_MARKERS[0]).exists():
            raise UsageError(f"{option} {out}: is inside the run folder {i}; write outputs elsewhere")
    run = enclosing_run(out)
    if run is not None:
        raise UsageError(f"{option} {out}: is inside the run folder {run}; write outputs elsewhere")
    if folder and Path(out).exists():
        if not Path(out).is_dir():
            raise UsageError(f"{option} {out}: must be a folder, and this is a file")
        if own_files is not None:
            others = sorted(n for n in os.listdir(out) if n not in own_files)
            if others:
                raise UsageError(f"{option} {out}: holds other files ({', '.join(others[:3])}"
                                 f"{', ...' if len(others) > 3 else ''}); it would be replaced as a whole: "
                                 "choose a new or empty folder")
    elif not folder and Path(out).is_dir():
        raise UsageError(f"{option} {out}: is a folder, expected a file path")
