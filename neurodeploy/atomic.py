"""Atomic output: write to a temporary file (or folder) beside the target, then rename it into place.

A crash or an error leaves either the old file or none — never a partial one. The final file
gets the usual permissions (0666 & ~umask), not mkstemp's 0600. A multi-file output is a folder
written whole under a temporary name and swapped into place (:func:`atomic_dir`): a reader sees
the old set or the new set, never a mix. Temporaries a killed process left (``.NAME.pPID.XXXXXXXX.tmp``,
``.tmpdir``, ``.old``; the writer's PID in the name) whose writer is gone are removed by the next
write into that folder.
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

_TEMP_NAME = re.compile(r"^\..+\.p(\d+)\.[a-z0-9_]{8}\.(tmp|tmpdir|old)$")  # .NAME.pPID.XXXXXXXX.tmp


def _process_start() -> float:
    """This process's start time (seconds since the epoch), from /proc; else now."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


PROCESS_START = _process_start()
_LIVE: set = set()  # this process's temporaries not yet renamed or removed


def remove_own_temporaries() -> None:
    """Remove every temporary this process still holds (Ctrl-C in a window no ``finally`` covers)."""
    for p in list(_LIVE):
        try:
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
        except OSError:
            pass
        _LIVE.discard(p)


atexit.register(remove_own_temporaries)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _prefix(path: Path) -> str:
    return f".{path.name}.p{os.getpid()}."


def remove_stale_temporaries(folder) -> list:
    """Remove temporaries in ``folder`` whose writer is gone (its PID is in the name) or that were
    last changed before this process started (the PID was reused); others' live work stays."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        m = _TEMP_NAME.match(e.name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            if _alive(int(m.group(1))) and e.stat(follow_symlinks=False).st_mtime >= PROCESS_START - 1:
                continue
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
            removed.append(e.name)
        except OSError:  # another process got there first, or no permission: leave it
            pass
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in ``path``'s folder; on success rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
    _LIVE.add(tmp)
    try:
        os.close(fd)
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        _LIVE.discard(tmp)


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


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    An existing ``path`` is swapped out in one step where the system can (else renamed away, the
    new folder renamed in, the old one removed); an error or a kill leaves the old folder as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmpdir", dir=path.parent))
    _LIVE.add(str(tmp))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if not path.exists():
            os.rename(tmp, path)
        elif _exchange(tmp, path):
            shutil.rmtree(tmp)  # tmp now holds the old folder
        else:
            old = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".old", dir=path.parent))
            os.rename(path, old / "x")
            os.rename(tmp, path)
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        _LIVE.discard(str(tmp))
