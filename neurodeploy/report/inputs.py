"""The test images a report runs on, encoded into input spikes exactly as the model card says.

``encode_inputs(model, dataset, limit, data_dir, seed)`` gives the spikes ``(N, *input_shape, T)``
(uint8 0/1) and the labels, encoded by ``neurodeploy.runtime.api.encode_dataset_for_model`` (the
one place ``run`` encodes data): test images scaled to [0, 1], the card's encoder,
T = ``card['steps']``, a generator seeded with ``seed`` (default: the card's seed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.netx import NetxModel


@dataclass
class EncodedSet:
    """Input spikes ``(N, *input_shape, T)`` uint8, labels int64 ``(N,)`` and where they came from."""

    spikes: torch.Tensor
    labels: np.ndarray
    dataset: str
    source: str
    seed: int
    encoding: dict

    @property
    def num_samples(self) -> int:
        return int(self.labels.shape[0])


def card_field(model: NetxModel, key: str, path=None):
    """A required model-card entry, or a one-line BadInputError naming the file."""
    card = model.card or {}
    if key not in card or card[key] is None:
        where = f"{path}: " if path else ""
        raise BadInputError(f"{where}model card lacks '{key}' (export the model with `neurodeploy export`)")
    return card[key]


def encode_inputs(model: NetxModel, dataset: str | None = None, limit: int | None = None,
                  data_dir=None, seed: int | None = None, path=None) -> EncodedSet:
    """Encode the first ``limit`` test images of ``dataset`` (default: the card's) for ``model``."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be >= 1, got {limit}")
    name = dataset or card_field(model, "dataset", path)
    encoding = card_field(model, "encoding", path)
    card_field(model, "steps", path)  # required: a named error before any data is read
    if seed is None:
        seed = int((model.card or {}).get("seed") or 0)
    from neurodeploy.data import data_root
    from neurodeploy.runtime.api import encode_dataset_for_model

    # the one place `run` encodes data: same recipe, same shape and 0/1 checks
    spikes, labels = encode_dataset_for_model(model, dataset, "test", limit, data_dir, seed, source=path)
    root = data_root(data_dir)
    source = f"test split under {root}" if root else "test split of the sample shipped in the package"
    return EncodedSet(spikes=spikes, labels=np.asarray(labels, dtype=np.int64),
                      dataset=str(name), source=str(source), seed=int(seed), encoding=dict(encoding))
