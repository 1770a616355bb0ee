"""Download the official data set files (when the network allows), checked before they land.

Each file is downloaded to a temporary name in the destination folder, checked — byte count
against the server's Content-Length and, for the official mirror, the known size; IDX magic
number, dimensions and payload length; CIFAR-10 archive members and batch contents — and only
then renamed into place. A failure leaves no partial file and raises one clear line; the
temporaries of a killed fetch carry its PID and are removed by the next fetch into that folder.
"""
from __future__ import annotations

import gzip
import os
import re
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from neurodeploy.atomic import _LIVE, remove_stale_temporaries
from neurodeploy.data import cifar, idx
from neurodeploy.data.datasets import SPECS, dataset_folder, spec
from neurodeploy.errors import BadInputError, UnavailableError


@dataclass(frozen=True)
class Remote:
    base_url: str
    files: dict  # file name -> official size in bytes


OFFICIAL = {
    "mnist": Remote("https://ossci-datasets.s3.amazonaws.com/mnist/", {
        "train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
        "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542}),
    "fashion-mnist": Remote("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", {
        "train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
        "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148}),
    "cifar10": Remote("https://www.cs.toronto.edu/~kriz/", {"cifar-10-python.tar.gz": 170498071}),
}


def _download(url: str, dest: Path, expected_size: int | None, timeout: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r, open(dest, "wb") as f:
            length = r.headers.get("Content-Length")
            n = 0
            while chunk := r.read(1 << 20):
                f.write(chunk)
                n += len(chunk)
    except urllib.error.HTTPError as e:
        raise UnavailableError(f"{url}: download failed (HTTP {e.code})") from None
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise UnavailableError(f"{url}: download failed ({reason})") from None
    if length is not None and n != int(length):
        raise BadInputError(f"{url}: truncated download ({n} of {length} bytes)")
    if expected_size is not None and n != expected_size:
        raise BadInputError(f"{url}: {n} bytes, the official file has {expected_size}")


def _check_idx(path: Path, name: str) -> None:
    ndim = 3 if "images" in name else 1
    idx.read_idx(path, ndim=ndim)  # raises BadInputError naming the file


def _extract_cifar(archive: Path, root: Path) -> None:
    target = root / "cifar-10-batches-py"
    wanted = set(cifar.TRAIN_BATCHES + cifar.TEST_BATCHES)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{target.name}.p{os.getpid()}.", suffix=".tmpdir") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for m in tar.getmembers():
                    base = os.path.basename(m.name)
                    if m.isfile() and base in wanted:
                        with tar.extractfile(m) as src:
                            (Path(tmp) / base).write_bytes(src.read())
        except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as e:
            raise BadInputError(f"{archive}: corrupt CIFAR-10 archive ({e})") from None
        missing = wanted - {p.name for p in Path(tmp).iterdir()}
        if missing:
            raise BadInputError(f"{archive}: archive lacks {sorted(missing)}")
        for name in wanted:
            cifar.read_batch(Path(tmp) / name)
        if target.exists():
            for p in target.iterdir():
                p.unlink()
            target.rmdir()
        os.replace(tmp, target)
        os.makedirs(tmp)  # TemporaryDirectory wants something to remove


def fetch(name: str, data_dir, base_url: str | None = None, timeout: float = 60.0) -> Path:
    """Download data set ``name`` into ``data_dir``; returns its folder. ``base_url``: a mirror."""
    s = spec(name)
    remote = OFFICIAL[s.name]
    official = base_url is None
    base = (base_url or remote.base_url).rstrip("/") + "/"
    root = Path(data_dir)
    folder = root / s.folder if s.kind == "idx" else root
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder, remote, root)
    try:
        _fetch_files(s, remote, base, official, root, folder, timeout)
    except BaseException:  # nothing stored: leave no empty folders behind
        for p in created:
            try:
                p.rmdir()
            except OSError:
                break
        raise
    return dataset_folder(SPECS[s.name], root) if s.kind == "cifar" else folder


def _remove_leftovers(folder: Path, remote: Remote, root: Path) -> None:
    """Temporaries an earlier, killed fetch left: ``.NAME.pPID.XXXXXXXX.tmp`` whose writer is gone (see
    :mod:`neurodeploy.atomic`), and ``NAME.XXXXXXXX.part`` of versions before the PID was in the name."""
    remove_stale_temporaries(folder)
    remove_stale_temporaries(root)       # CIFAR-10's extraction folder
    legacy = re.compile(r"^(%s)\.[a-z0-9_]{8}\.part$" % "|".join(re.escape(f) for f in remote.files))
    for p in folder.iterdir():
        if legacy.match(p.name) and p.is_file():
            try:
                p.unlink()
            except OSError:
                pass


def _fetch_files(s, remote, base, official, root, folder, timeout) -> None:
    for fname, size in remote.files.items():
        # the writer's PID in the name: a later fetch removes it if this process is killed
        fd, tmp = tempfile.mkstemp(prefix=f".{fname}.p{os.getpid()}.", suffix=".tmp", dir=folder)
        os.close(fd)
        tmp = Path(tmp)
        _LIVE.add(str(tmp))
        try:
            _download(base + fname, tmp, size if official else None, timeout)
            if s.kind == "idx":
                try:
                    _check_idx(tmp, fname)
                except BadInputError as e:
                    raise BadInputError(str(e).replace(str(tmp), base + fname)) from None
                os.replace(tmp, folder / fname)
            else:
                _extract_cifar(tmp, root)
        finally:
            if tmp.exists():
                tmp.unlink()
            _LIVE.discard(str(tmp))
