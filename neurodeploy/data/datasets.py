"""Image data sets as uint8 arrays: MNIST, Fashion-MNIST (IDX) and CIFAR-10 (python batches).

Where the data live: ``data_dir`` argument (CLI ``--data-dir``) > environment ``NEURODEPLOY_DATA``
> the small Fashion-MNIST sample shipped inside the package (2,000 train / 1,000 test images).
Inside a data root, each set sits in its own folder: ``mnist/``, ``fashion-mnist/`` (official
IDX file names, ``.gz`` or raw) and ``cifar-10-batches-py/`` (or ``cifar10/cifar-10-batches-py/``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurodeploy.data import cifar, idx
from neurodeploy.errors import BadInputError, UsageError

SAMPLE_DIR = Path(__file__).with_name("sample")
ENV = "NEURODEPLOY_DATA"

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MNIST_CLASSES = [str(i) for i in range(10)]


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set looks like: its folder, image shape (C, H, W) and class names."""

    name: str
    folder: str
    shape: tuple
    classes: tuple
    kind: str  # "idx" | "cifar"
    augment: str = "none"  # training augmentation unless --augment says otherwise (neurodeploy.data.augment)


SPECS = {
    "mnist": DatasetSpec("mnist", "mnist", (1, 28, 28), tuple(MNIST_CLASSES), "idx"),
    "fashion-mnist": DatasetSpec("fashion-mnist", "fashion-mnist", (1, 28, 28), tuple(FASHION_CLASSES), "idx"),
    "cifar10": DatasetSpec("cifar10", "cifar-10-batches-py", (3, 32, 32), tuple(cifar.CLASSES), "cifar", "crop4+flip"),
}
ALIASES = {"fmnist": "fashion-mnist", "fashion_mnist": "fashion-mnist", "cifar-10": "cifar10"}


@dataclass
class Dataset:
    """One split of a data set: ``images`` uint8 (N, C, H, W), ``labels`` int64 (N,)."""

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    classes: tuple
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, limit: int | None) -> "Dataset":
        if limit is None or limit >= len(self):
            return self
        return Dataset(self.name, self.split, self.images[:limit], self.labels[:limit], self.classes, self.source)


def spec(name: str) -> DatasetSpec:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in SPECS:
        raise UsageError(f"unknown data set '{name}' (known: {', '.join(SPECS)})")
    return SPECS[key]


def data_root(data_dir=None) -> Path | None:
    """The data root in force, or None for the shipped sample."""
    if data_dir:
        return Path(data_dir)
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    return None


def _idx_file(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise BadInputError(f"{folder / (stem + '.gz')}: missing (neither .gz nor raw file found)")


def _load_idx(s: DatasetSpec, folder: Path, split: str):
    prefix = "train" if split == "train" else "t10k"
    img_path = _idx_file(folder, f"{prefix}-images-idx3-ubyte")
    lab_path = _idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    images = idx.read_idx(img_path, ndim=3)
    labels = idx.read_idx(lab_path, ndim=1).astype(np.int64)
    if images.shape[1:] != s.shape[1:]:
        raise BadInputError(f"{img_path}: images are {images.shape[1:]}, expected {s.shape[1:]} for {s.name}")
    if len(images) != len(labels):
        raise BadInputError(f"{lab_path}: {len(labels)} labels for {len(images)} images in {img_path.name}")
    if labels.max(initial=0) >= len(s.classes):
        raise BadInputError(f"{lab_path}: label {labels.max()} outside 0..{len(s.classes) - 1}")
    return images[:, None], labels, str(img_path)


def _load_cifar(folder: Path, split: str):
    names = cifar.TRAIN_BATCHES if split == "train" else cifar.TEST_BATCHES
    parts = [cifar.read_batch(folder / n) for n in names]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), str(folder))


def dataset_folder(s: DatasetSpec, root: Path) -> Path:
    if s.kind == "cifar":
        for cand in (root / s.folder, root / "cifar10" / s.folder, root):
            if (cand / "test_batch").exists():
                return cand
        return root / s.folder
    return root / s.folder


def load_dataset(name: str, split: str = "test", data_dir=None, limit: int | None = None) -> Dataset:
    """Load ``split`` ('train' | 'test') of data set ``name`` as uint8 (N, C, H, W) images."""
    s = spec(name)
    if split not in ("train", "test"):
        raise UsageError(f"unknown split '{split}' (train | test)")
    root = data_root(data_dir)
    if root is None:
        if s.name != "fashion-mnist":
            raise UsageError(f"no data root for '{s.name}': give --data-dir or set {ENV} "
                             f"(or run `neurodeploy data fetch {s.name}`); only fashion-mnist ships as a sample")
        folder = SAMPLE_DIR
    else:
        if not root.is_dir():
            raise BadInputError(f"{root}: data root is not a folder")
        folder = dataset_folder(s, root)
    if s.kind == "idx":
        images, labels, source = _load_idx(s, folder, split)
    else:
        images, labels, source = _load_cifar(folder, split)
    ds = Dataset(s.name, split, images, labels, s.classes, source)
    return ds.head(limit)
