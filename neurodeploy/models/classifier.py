"""Classifiers: the objects attacks and reports use — images in [0, 1] (N, C, H, W) to logits.

``SpikingClassifier`` = encoder -> SLAYER network -> decoder. The decoder reads output spikes
s_k[t]; the cumulative count ``c_k[t] = sum_{τ<=t} s_k[τ]`` is what early exit watches, and the
logits of the full-length decision are ``c_k[T-1]`` (spike counts).
``ANNClassifier`` wraps the ANN twin behind the same interface (one "step").
"""
from __future__ import annotations

import torch

from neurodeploy.encoding import Encoder


class SpikingClassifier(torch.nn.Module):
    """images (N, C, H, W) in [0, 1] -> spike-count logits (N, classes)."""

    kind = "snn"

    def __init__(self, net: torch.nn.Module, encoder: Encoder, steps: int, seed: int = 0):
        super().__init__()
        self.net = net
        self.encoder = encoder
        self.steps = int(steps)
        self.seed = int(seed)
        self.surrogate: str | None = None  # attack-time encoder surrogate; None = the encoder's default
        self.generator: torch.Generator | None = None  # stochastic encoders draw from this

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder.encode(images, self.steps, self.generator, self.surrogate)

    def output_spikes(self, images: torch.Tensor) -> torch.Tensor:
        """Output spikes per step, (N, classes, T)."""
        return self.net(self.encode(images))

    def cumulative(self, images: torch.Tensor) -> torch.Tensor:
        """Cumulative output counts c[t], (N, classes, T)."""
        return self.output_spikes(images).cumsum(-1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.output_spikes(images).sum(-1)


class ANNClassifier(torch.nn.Module):
    """The ANN twin behind the classifier interface: images -> logits; one decision step."""

    kind = "ann"
    steps = 1

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def cumulative(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).unsqueeze(-1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)
