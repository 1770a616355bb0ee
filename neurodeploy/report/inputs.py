"""The test images a report runs on, encoded into input spikes exactly as the model card says.

``encode_inputs(model, dataset, limit, data_dir, seed)`` gives the spikes ``(N, *input_shape, T)``
(uint8 0/1) and the labels. It uses ``neurodeploy.runtime.api.encode_dataset_for_model`` when
that exists (the one place ``run`` encodes data), else the same recipe here: images from
:func:`neurodeploy.data.load_dataset` scaled to [0, 1], the card's encoder, T = ``card['steps']``,
a ``torch.Generator`` seeded with ``seed`` (default: the card's seed) for stochastic encoders.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.export.netx import NetxModel


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
    steps = int(card_field(model, "steps", path))
    if seed is None:
        seed = int((model.card or {}).get("seed") or 0)
    try:
        from neurodeploy.runtime.api import encode_dataset_for_model
    except ImportError:
        encode_dataset_for_model = None
    if encode_dataset_for_model is not None:
        from neurodeploy.data import data_root

        spikes, labels = encode_dataset_for_model(model, name, "test", limit, data_dir, seed)
        root = data_root(data_dir)
        source = f"test split under {root}" if root else "test split of the sample shipped in the package"
    else:
        from neurodeploy.data import load_dataset
        from neurodeploy.encoding import make_encoder

        ds = load_dataset(name, "test", data_dir, limit)
        enc = make_encoder(encoding)
        if enc.analog:
            raise UsageError(f"{path or 'model'}: encoding '{enc.name}' is analog; a deployed model takes spikes")
        x = torch.from_numpy(ds.images).float() / 255
        with torch.no_grad():
            spikes = enc.encode(x, steps, torch.Generator().manual_seed(int(seed)))
        labels, source = ds.labels, ds.source
    spikes = torch.as_tensor(spikes)
    want = tuple(model.input_shape)
    if tuple(spikes.shape[1:-1]) != want:
        raise UsageError(f"data set '{name}' encodes to {tuple(spikes.shape[1:-1])} per step, but "
                         f"{path or 'the model'} takes {want}")
    from neurodeploy.runtime.emu import check_spikes

    spikes = check_spikes(spikes, want, what=f"data set '{name}' encoded for {path or 'the model'}")
    return EncodedSet(spikes=spikes, labels=np.asarray(labels, dtype=np.int64),
                      dataset=str(name), source=str(source), seed=int(seed), encoding=dict(encoding))
