"""Finding the full data sets from a checkout (tests and benchmarks; the CLI never guesses).

``find_data_root(start, need)`` looks, in this order, for a folder holding ``need`` (e.g.
``fashion-mnist``):

1. ``$NEURODEPLOY_DATA``;
2. ``<ancestor>/shared/data`` for each ancestor of ``start`` (a checkout beside a shared folder);
3. the same for each ancestor of the git remote ``origin`` when that remote is a local path (a
   CI clone made with ``git clone /some/repo $tmp`` still finds ``/some/shared/data``).

It returns None when nothing is found: callers say which data set is missing (tests skip, or
fail under ``CI=true``). No absolute path of any machine is built in.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from neurodeploy.data.datasets import ENV


def _origin_path(start: Path) -> Path | None:
    """The git remote ``origin`` of the checkout at ``start`` when it is a local folder."""
    try:
        url = subprocess.run(["git", "-C", str(start), "config", "--get", "remote.origin.url"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if url.startswith("file://"):
        url = url[len("file://"):]
    if not url or "://" in url or (":" in url.split("/")[0]):  # https://, ssh://, user@host:path
        return None
    p = Path(url).expanduser()
    return p.resolve() if p.is_absolute() or p.exists() else None


def _ancestors(p: Path) -> list:
    p = p.resolve()
    return [p, *p.parents]


def candidate_roots(start=None) -> list:
    """Every folder :func:`find_data_root` would try, in order."""
    out = [Path(os.environ[ENV])] if os.environ.get(ENV) else []
    start = Path(start) if start is not None else Path.cwd()
    out += [a / "shared" / "data" for a in _ancestors(start)]
    origin = _origin_path(start)
    if origin is not None:
        out += [a / "shared" / "data" for a in _ancestors(origin)]
    return out


def find_data_root(start=None, need: str = "fashion-mnist") -> Path | None:
    """The first candidate root holding ``need`` (a data set folder or file; see the module docstring), else None."""
    return next((c for c in candidate_roots(start) if (c / need).exists()), None)
