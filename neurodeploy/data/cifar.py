"""CIFAR-10 in the official python-batches layout, read without executing pickle code.

The batches are pickles; a restricted unpickler admits only the numpy reconstruction helpers
and builtin containers, so a crafted file cannot run code. Each batch holds ``data``
(10000 x 3072 uint8, R, G, B planes of 32x32) and ``labels``.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from neurodeploy.errors import BadInputError

TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCHES = ["test_batch"]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("_codecs", "encode"),  # protocol-2 pickles rebuild bytes with it; it only encodes text
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 (N, 3, 32, 32), labels int64 (N,)) from one batch file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            d = _SafeUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise BadInputError(f"{path}: missing CIFAR-10 batch file") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise BadInputError(f"{path}: not a CIFAR-10 batch ({e})") from None
    if not isinstance(d, dict):
        raise BadInputError(f"{path}: not a CIFAR-10 batch (top level is {type(d).__name__})")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or "labels" not in d:
        raise BadInputError(f"{path}: CIFAR-10 batch lacks 'data' or 'labels'")
    data = np.asarray(d["data"])
    labels = np.asarray(d["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise BadInputError(f"{path}: CIFAR-10 batch has data {data.dtype} {data.shape} and {len(labels)} labels")
    if labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise BadInputError(f"{path}: CIFAR-10 labels outside 0..9")
    return data.reshape(-1, 3, 32, 32), labels
