"""The test images a report runs on, encoded into input spikes exactly as the model card says.

``encode_inputs(model, dataset, limit, data_dir, seed)`` gives the spikes ``(N, *input_shape, T)``
(uint8 0/1) and the labels, encoded by ``neurodeploy.runtime.api.encode_dataset_for_model`` (the
one place ``run`` encodes data): test images scaled to [0, 1], the card's encoder,
T = ``card['steps']``, each sample its own encoder draw from ``seed`` (default: the card's seed).
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
    labels: np.ndarray | None
    dataset: str
    source: str
    seed: int
    encoding: dict
    mode: str | None = None        # input mode (None: the model's default)
    steps: int | None = None       # T for bias frames

    @property
    def num_samples(self) -> int:
        return int(self.spikes.shape[0])


def card_field(model: NetxModel, key: str, path=None):
    """A required model-card entry, or a one-line BadInputError naming the file."""
    card = model.card or {}
    if key not in card or card[key] is None:
        where = f"{path}: " if path else ""
        raise BadInputError(f"{where}model card lacks '{key}' (export the model with `neurodeploy export`)")
    return card[key]


def encode_inputs(model: NetxModel, dataset: str | None = None, limit: int | None = None,
                  data_dir=None, seed: int | None = None, path=None, encoding=None,
                  steps: int | None = None) -> EncodedSet:
    """Encode the first ``limit`` test images of ``dataset`` (default: the card's) for ``model``;
    ``encoding`` (a name or config) and ``steps`` stand in for a card that lacks them."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be >= 1, got {limit}")
    name = dataset or card_field(model, "dataset", path)
    if encoding is not None:
        from neurodeploy.encoding import make_encoder

        encoding = make_encoder(encoding).config() if isinstance(encoding, str) else encoding
    else:
        encoding = card_field(model, "encoding", path)
    if steps is None:
        card_field(model, "steps", path)  # required: a named error before any data is read
    if seed is None:
        seed = int((model.card or {}).get("seed") or 0)
    from neurodeploy.data import data_root
    from neurodeploy.runtime.api import encode_dataset_for_model

    # the one place `run` encodes data: same recipe, same shape and 0/1 checks
    # dataset None: the card's name, checked as the file's fault (exit 3)
    spikes, labels = encode_dataset_for_model(model, dataset, "test", limit, data_dir, seed, encoding=encoding,
                                              steps=steps, source=path)
    root = data_root(data_dir)
    source = f"test split under {root}" if root else "test split of the sample shipped in the package"
    return EncodedSet(spikes=spikes, labels=np.asarray(labels, dtype=np.int64),
                      dataset=str(name), source=str(source), seed=int(seed), encoding=dict(encoding))


def file_inputs(model: NetxModel, input_path, steps: int | None = None, labels_path=None,
                input_mode: str | None = None, limit: int | None = None) -> EncodedSet:
    """``--input X`` as the activity source of a report (card-less files): the same reading as ``run``."""
    from neurodeploy.runtime.api import inputs_from_file

    x, labels, mode, T = inputs_from_file(model, input_path, steps, labels_path, input_mode, limit)
    return EncodedSet(spikes=x, labels=None if labels is None else np.asarray(labels, dtype=np.int64),
                      dataset=str(input_path), source=f"--input {input_path} ({mode})", seed=0,
                      encoding={"name": f"input file ({mode})"}, mode=mode, steps=T)
