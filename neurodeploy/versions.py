"""Versions of the packages a result depends on, recorded in every run, model card and report."""
from __future__ import annotations

import platform


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("neurodeploy", "torch", "numpy", "lava-nc", "lava-dl"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out
