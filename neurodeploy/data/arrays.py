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


def load_array(path, what: str = "--input", preferred: tuple = INPUT_KEYS) -> np.ndarray:
    """The array in ``path`` (.npy, .npz or .h5/.hdf5), as numpy."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: {what}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
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
                return np.asarray(f[_pick(keys, preferred, path, what)][()])
    except BadInputError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as e:
        raise BadInputError(f"{path}: {what}: not a readable {suffix} array ({str(e).splitlines()[0][:120]})") from None
    raise BadInputError(f"{path}: {what}: unknown file type '{suffix}' (use .npy, .npz or .h5)")
