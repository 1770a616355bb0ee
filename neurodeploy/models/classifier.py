"""Classifiers: the objects attacks and reports use — images in [0, 1] (N, C, H, W) to logits.

``SpikingClassifier`` = encoder -> SLAYER network -> decoder. The decoder reads output spikes
s_k[t]; the cumulative count ``c_k[t] = sum_{τ<=t} s_k[τ]`` is what early exit watches, and the
logits of the full-length decision are ``c_k[T-1]`` (spike counts).
``ANNClassifier`` wraps the ANN twin behind the same interface (one "step"); with an encoder it
is the *quantised-input* control: it sees q(x) = (Σ_t s[t]) / T, the SNN's spike count per pixel
over T, and nothing of the spiking dynamics.

Gradients through an encoder default to the straight-through surrogate (``surrogate = "ste"``,
ds[t]/dx = 1); ``"spike"`` (the seed code's spike-only gradient) masks and is available by name.
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
        self.surrogate: str | None = "ste"  # encoder surrogate for input gradients; None = the encoder's default
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

    def __init__(self, net: torch.nn.Module, encoder: Encoder | None = None, input_steps: int = 1):
        super().__init__()
        self.net = net
        self.encoder = encoder  # None: the image itself; else the quantised input (module docstring)
        self.input_steps = int(input_steps)
        self.surrogate: str | None = "ste"

    def quantise(self, images: torch.Tensor) -> torch.Tensor:
        if self.encoder is None:
            return images
        return self.encoder.encode(images, self.input_steps, None, self.surrogate).sum(-1) / self.input_steps

    def cumulative(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.quantise(images)).unsqueeze(-1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.quantise(images))
