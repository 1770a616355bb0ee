"""Make stock lava-nc 0.10.0 importable on Python >= 3.11, and importable late.

1. Python 3.11 rejects dataclass fields whose default is an unhashable instance.
   ``lava/magma/compiler/var_model.py`` declares three dataclasses with
   ``x: ByteEncoder = ByteEncoder()`` defaults, so ``import lava.magma...`` fails.
2. ``lava/magma/runtime/message_infrastructure/multiprocessing.py`` calls
   ``mp.set_start_method('fork')`` at import, which raises once anything (tqdm's lock, say) has
   touched the multiprocessing context. It is made ``force=True`` — the same 'fork' context.

We do not edit site-packages: a meta-path finder rewrites those modules' source in memory
while they are imported. Where the source has no such text (a fixed Lava) or the module is
already imported, nothing changes.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys

TARGET = "lava.magma.compiler.var_model"
MP_TARGET = "lava.magma.runtime.message_infrastructure.multiprocessing"
_BAD_DEFAULT = re.compile(r"^(\s+\w+:\s*ByteEncoder\s*=\s*)ByteEncoder\(\)\s*$", re.M)


def patch_source(source: str) -> str:
    """Return ``source`` with every ``ByteEncoder()`` field default made a factory."""
    fixed, n = _BAD_DEFAULT.subn(r"\1_nd_field(default_factory=ByteEncoder)", source)
    if n == 0:
        return source
    # The import goes after any ``from __future__`` line, which must stay first.
    lines = fixed.splitlines(keepends=True)
    at = max((i + 1 for i, ln in enumerate(lines) if ln.startswith("from __future__")), default=0)
    lines.insert(at, "from dataclasses import field as _nd_field\n")
    return "".join(lines)


def patch_start_method(source: str) -> str:
    """Return ``source`` with Lava's import-time ``set_start_method('fork')`` made idempotent."""
    return source.replace("mp.set_start_method('fork')", "mp.set_start_method('fork', force=True)")


PATCHES = {TARGET: patch_source, MP_TARGET: patch_start_method}


class _PatchingLoader(importlib.machinery.SourceFileLoader):
    def source_to_code(self, data, path, *, _optimize=-1):  # noqa: D401 - loader hook
        text = importlib.util.decode_source(data) if isinstance(data, bytes) else data
        return super().source_to_code(PATCHES[self.name](text), path)

    def get_code(self, fullname):
        # Bypass the bytecode cache: a cached .pyc holds the unpatched code.
        source = self.get_source(fullname)
        return self.source_to_code(source, self.get_filename(fullname))


class _VarModelFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _PatchingLoader(fullname, spec.origin)
        return spec


def install() -> bool:
    """Install the finder if it can matter; return True when it was installed."""
    if sys.version_info < (3, 11) or TARGET in sys.modules:
        return False
    if any(isinstance(f, _VarModelFinder) for f in sys.meta_path):
        return False
    sys.meta_path.insert(0, _VarModelFinder())
    return True


def import_slayer():
    """Import ``lava.lib.dl.slayer`` quietly: it prints a Prophesee notice on stdout and torch logs
    a CUDA warning, neither of which a CLI user should see. Lazy because it is heavy."""
    import contextlib
    import io
    import logging

    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()):
        import lava.lib.dl.slayer as slayer
    return slayer
