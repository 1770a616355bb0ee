"""``neurodeploy doctor``: what is installed and working, one line per component.

Each :class:`Check` is ``ok`` (works), ``missing`` (optional and absent: the commands that need it
say so when asked) or ``broken`` (present but failing, or a core part absent). The core — Python
>= 3.11, torch, numpy, h5py, the built-in hardware profiles and the shipped sample — is what
``train``, ``export``, ``run --backend emu``, ``fit`` and ``report`` need; ``doctor`` exits 0
when the core works.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass

OK, MISSING, BROKEN = "ok", "missing", "broken"


@dataclass
class Check:
    """One component: ``status`` is ok | missing | broken; ``core`` components must be ok."""

    name: str
    status: str
    detail: str
    core: bool = False

    def line(self) -> str:
        return f"{self.status:<7}  {self.name:<22}  {self.detail}"


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _module(name: str, dist: str, core: bool = False, label: str | None = None) -> Check:
    label = label or dist
    if importlib.util.find_spec(name.split(".")[0]) is None:
        return Check(label, BROKEN if core else MISSING, "not installed", core)
    try:
        importlib.import_module(name)
    except Exception as e:  # noqa: BLE001 - report, do not crash
        return Check(label, BROKEN, f"import {name} fails: {type(e).__name__}: {e}"[:160], core)
    return Check(label, OK, f"{dist} {_version(dist) or '?'}", core)


def check_python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check("python", OK if ok else BROKEN, f"{v.major}.{v.minor}.{v.micro}" + ("" if ok else " (needs >= 3.11)"),
                 core=True)


def check_package_data() -> list:
    from neurodeploy.data.datasets import SAMPLE_DIR
    from neurodeploy.hardware.profiles import builtin_dir

    profiles = sorted(p.stem for p in builtin_dir().glob("*.toml"))
    samples = sorted(SAMPLE_DIR.glob("*-ubyte.gz"))
    return [Check("hardware profiles", OK if profiles else BROKEN,
                  f"{len(profiles)} built in ({', '.join(profiles)})" if profiles else f"none in {builtin_dir()}", True),
            Check("sample data", OK if len(samples) == 4 else BROKEN,
                  f"Fashion-MNIST sample, {len(samples)} IDX files" if samples else f"none in {SAMPLE_DIR}", True)]


def check_lava() -> list:
    """Lava importable, and whether neurodeploy's Python 3.11 fix is what makes it so."""
    from neurodeploy import _lava_compat

    c = _module("lava.magma.core.run_configs", "lava-nc", label="lava (lava-nc)")
    if c.status != OK:
        return [c, Check("lava 3.11 fix", MISSING if c.status == MISSING else BROKEN, "lava not importable")]
    try:
        var_model = importlib.import_module(_lava_compat.TARGET)
    except Exception as e:  # noqa: BLE001
        return [c, Check("lava 3.11 fix", BROKEN, f"import {_lava_compat.TARGET} fails: {type(e).__name__}: {e}"[:160])]
    patched = var_model is not None and isinstance(getattr(var_model, "__loader__", None), _lava_compat._PatchingLoader)
    src = importlib.util.find_spec(_lava_compat.TARGET)
    text = open(src.origin, encoding="utf-8").read() if src and src.origin else ""
    needed = _lava_compat.patch_source(text) != text
    if patched:
        fix = Check("lava 3.11 fix", OK, "active (ByteEncoder defaults rewritten in memory)")
    elif not needed:
        fix = Check("lava 3.11 fix", OK, "not needed (this Lava is already fixed)")
    else:
        fix = Check("lava 3.11 fix", BROKEN, "needed but not active (Lava imported before neurodeploy?)")
    return [c, fix]


def check_lava_dl() -> list:
    from neurodeploy._lava_compat import import_slayer

    if importlib.util.find_spec("lava.lib") is None or importlib.util.find_spec("lava.lib.dl") is None:
        return [Check("lava-dl slayer", MISSING, "not installed"), Check("lava-dl netx", MISSING, "not installed")]
    out = []
    try:
        import_slayer()
        out.append(Check("lava-dl slayer", OK, f"lava-dl {_version('lava-dl') or '?'}"))
    except Exception as e:  # noqa: BLE001
        out.append(Check("lava-dl slayer", BROKEN, f"{type(e).__name__}: {e}"[:160]))
    c = _module("lava.lib.dl.netx", "lava-dl", label="lava-dl netx")
    return out + [c]


def check_loihi2() -> Check:
    from neurodeploy.runtime.loihi2 import missing

    why = missing()
    return Check("loihi 2 runtime", OK if why is None else MISSING, "available" if why is None else why)


def check_compiled() -> list:
    """The compiled parts (cached builds; nothing is built here): without them the torch paths run."""
    from neurodeploy.cext import status
    from neurodeploy.models import cuba_ext
    from neurodeploy.runtime import emu_kernel

    out = []
    for label, mod, name, prefix in (("fast CUBA kernels", cuba_ext, "neurodeploy_cuba_fast", "cuba_fast"),
                                     ("emu compiled loop", emu_kernel, "neurodeploy_emu_cuba", "emu_cuba")):
        built, detail = status(name, prefix, mod._SOURCE)
        out.append(Check(label, OK if built else MISSING, detail))
    return out


def checks() -> list:
    """Every check, core first."""
    core = [check_python(), _module("torch", "torch", True), _module("numpy", "numpy", True),
            _module("h5py", "h5py", True), *check_package_data()]
    return [*core, *check_lava(), *check_lava_dl(), _module("torchattacks", "torchattacks"), check_loihi2(),
            _module("ray", "ray"), *check_compiled()]


def core_works(results: list) -> bool:
    return all(c.status == OK for c in results if c.core)


def format_checks(results: list) -> str:
    from neurodeploy import __version__

    import os

    lines = [f"neurodeploy {__version__} ({os.path.dirname(os.path.abspath(__file__))})"] + [c.line() for c in results]
    lines.append("core: works" if core_works(results) else "core: BROKEN (see the lines above)")
    return "\n".join(lines)
