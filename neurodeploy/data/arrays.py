"""Arrays from files a user hands the CLI (``--input``, ``--labels``): .npy, .npz, .h5/.hdf5.

Loading never executes anything from the file (``allow_pickle=False``; HDF5 datasets are plain
data). A file holding several arrays must name the one to use ``x`` (or ``input``/``data``; for
labels ``y``/``labels``); anything else is one :class:`BadInputError` line naming the file.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from neurodeploy.errors import BadInputError

INPUT_KEYS = ("x", "input", "inputs", "data")
LABEL_KEYS = ("y", "labels", "label", "targets")


def _pick(keys: list, preferred: tuple, path: Path, what: str) -> str:
    if len(keys) == 1:
        return keys[0]
    for k in preferred:
        if k in keys:
            return k
    raise BadInputError(f"{path}: {what}: holds {len(keys)} arrays ({', '.join(sorted(keys)[:6])}); "
                        f"name the one to use {' or '.join(preferred[:2])}")


def _npy_declared(path: Path) -> tuple:
    """(shape, dtype) a .npy header declares, read without loading the data."""
    from numpy.lib import format as npy

    with open(path, "rb") as f:
        major, _ = npy.read_magic(f)
        read = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
        shape, _, dtype = read(f)
    return shape, dtype


def _budget(path: Path, what: str, shape, dtype) -> None:
    from neurodeploy import budget

    budget.check(float(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize,
                 f"{path}: {what} of shape {tuple(shape)}")


def load_array(path, what: str = "--input", preferred: tuple = INPUT_KEYS) -> np.ndarray:
    """The array in ``path`` (.npy, .npz or .h5/.hdf5), as numpy: numbers only (bool, int, finite float),
    its declared size checked against the memory budget before it is read."""
    x = _load_array(path, what, preferred)
    if x.dtype.kind not in ("b", "i", "u", "f"):
        raise BadInputError(f"{path}: {what}: must hold numbers, holds {x.dtype}")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise BadInputError(f"{path}: {what}: holds NaN or inf")
    return x


def _load_array(path, what: str, preferred: tuple) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: {what}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            shape, dtype = _npy_declared(path)
            _budget(path, what, shape, dtype)
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                if not keys:
                    raise BadInputError(f"{path}: {what}: the archive holds no array")
                return z[_pick(keys, preferred, path, what)]
        if suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(path, "r") as f:
                keys = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
                if not keys:
                    raise BadInputError(f"{path}: {what}: no dataset at the file's top level")
                ds = f[_pick(keys, preferred, path, what)]
                _budget(path, what, ds.shape, ds.dtype)
                return np.asarray(ds[()])
    except BadInputError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as e:
        raise BadInputError(f"{path}: {what}: not a readable {suffix} array ({str(e).splitlines()[0][:120]})") from None
    raise BadInputError(f"{path}: {what}: unknown file type '{suffix}' (use .npy, .npz or .h5)")
