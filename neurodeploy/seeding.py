"""One seeding rule: every random stream is derived from the run's seed and a named purpose.

``derive(seed, purpose, *keys)`` = the first 8 bytes of SHA-256 over ``"seed|purpose|key|..."``
(big-endian, top bit cleared), so a stream depends only on what it is for — never on Python's
salted ``hash()``, on the process, or on how many other streams were drawn before it. The
purposes in use (a new kind of randomness gets a new name, not a new constant):

============================  =============================================================
``encode/<split>``, index      a stochastic encoder's draw of sample ``index`` of a data split:
                               the same spikes in training's evaluation, ``run``, ``report``,
                               ``export``'s verification and ``attack``'s clean decision
``train/order``, epoch         the training-set permutation of one epoch
``train/encode``, epoch, batch a stochastic encoder's draw for one training batch
``train/augment``, epoch, batch the crop/flip draw for one training batch (data.augment)
``train/init``                 weight initialisation (the global torch/numpy seed)
``attack/<member>`` …          the randomness of one attack of the suite (restarts, EOT, …)
============================  =============================================================
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch


def derive(seed: int, purpose: str, *keys) -> int:
    """A 63-bit integer seed for ``purpose`` (+ ``keys``) of a run seeded with ``seed``."""
    text = "|".join([str(int(seed)), str(purpose), *(str(k) for k in keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") & ((1 << 63) - 1)


def stream(seed: int, purpose: str, *keys) -> torch.Generator:
    """A ``torch.Generator`` for ``purpose`` (+ ``keys``); see :func:`derive`."""
    return torch.Generator().manual_seed(derive(seed, purpose, *keys))


def numpy_stream(seed: int, purpose: str, *keys) -> np.random.Generator:
    """The numpy counterpart of :func:`stream`."""
    return np.random.default_rng(derive(seed, purpose, *keys))


def sample_stream(seed: int, split: str, index: int) -> torch.Generator:
    """The encoder draw of sample ``index`` of data split ``split`` (purpose ``encode/<split>``)."""
    return stream(seed, f"encode/{split}", int(index))
