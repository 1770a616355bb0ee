"""Atomic file output: write to a temporary file beside the target, then rename it into place.

A crash or an error leaves either the old file or none — never a partial one. The final file
gets the usual permissions (0666 & ~umask), not mkstemp's 0600.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in ``path``'s folder; on success rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2) + "\n")


def write_with(path, write) -> Path:
    """Atomically create ``path`` by calling ``write(tmp_path)`` (e.g. ``fig.savefig``, ``torch.save``)."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)
