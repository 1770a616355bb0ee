"""C++ extensions built at first use with the machine's compiler (torch ``load_inline``), cached.

One rule for every compiled part of neurodeploy: the build directory is keyed by the source, the
flags, torch, Python and this CPU's feature flags (``-march=native`` builds never mix between
machines that share a cache); a part that cannot be built yields ``None`` after ONE warning line,
and its caller runs its pure-torch path.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

# -march=native: SIMD (int64 multiplies and conversions need AVX-512DQ to vectorise); every
# operation stays exactly rounded IEEE / integer, and -ffp-contract=off forbids FMA.
CFLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-fast-math"]
_built: dict = {}


def cpu_flags() -> str:
    """This CPU's feature flags (or its name when /proc/cpuinfo is unreadable)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def build_dir(prefix: str, source: str, cflags=CFLAGS) -> Path:
    """``NEURODEPLOY_CACHE`` (or ``~/.cache/neurodeploy``) ``/torch_ext/PREFIX_KEY``."""
    import torch

    root = Path(os.environ.get("NEURODEPLOY_CACHE") or Path.home() / ".cache" / "neurodeploy")
    key = hashlib.sha256((source + " ".join(cflags) + torch.__version__ + sys.version + cpu_flags()).encode()).hexdigest()[:12]
    return root / "torch_ext" / f"{prefix}_{key}"


def _build(name: str, prefix: str, source: str, functions: list, cflags):
    import contextlib
    import io
    import logging

    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "No CUDA runtime" notice
    from torch.utils.cpp_extension import load_inline

    d = build_dir(prefix, source, cflags)
    d.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        return load_inline(name=name, cpp_sources=[source], functions=functions, extra_cflags=list(cflags),
                           build_directory=str(d), verbose=False)


def compiled(name: str, prefix: str, source: str, functions: list, what: str, fallback: str, cflags=CFLAGS):
    """The module ``name`` (built once per process), or None after one warning line on stderr:
    ``neurodeploy: warning: WHAT could not be built (REASON); using FALLBACK``."""
    if name not in _built:
        try:
            _built[name] = _build(name, prefix, source, functions, cflags)
        except Exception as err:  # no compiler, no headers, read-only cache: the caller's torch path
            _built[name] = None
            reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
            print(f"neurodeploy: warning: {what} could not be built ({reason}); using {fallback}", file=sys.stderr)
    return _built[name]


def status(name: str, prefix: str, source: str, cflags=CFLAGS) -> tuple:
    """(built, detail) without building: whether this machine's cache holds ``name``'s library."""
    import shutil

    d = build_dir(prefix, source, cflags)
    if (d / f"{name}.so").exists():
        return True, f"built ({d})"
    cxx = os.environ.get("CXX") or "c++"
    if shutil.which(cxx) is None:
        return False, f"no C++ compiler ({cxx}): the torch path runs"
    return False, f"not built yet: built at first use with {cxx} (~40 s, once)"
