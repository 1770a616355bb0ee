"""An SNN's starting weights from its trained ANN twin (data-based weight normalisation).

Why: the ANN twin of a topology trains in seconds an epoch, the SNN in minutes, and SLAYER from
random weights learns CIFAR-10's conv32 slowly. Starting the SNN where the ANN already is, then
fine-tuning with SLAYER (``--init-from ANN_RUN``), spends the SNN's epochs on what spiking
changes, not on learning features again.

The rule (Diehl et al. 2015; Rueckauer et al. 2017): a CUBA neuron with no synaptic memory and
threshold θ fires at a rate r ≈ (W r_in)/θ, clipped to [0, 1]; the ANN's ReLU activation h_l,
divided by its scale λ_l (a high percentile of h_l > 0 on calibration images), lies in [0, 1].
Asking r_l = h_l/λ_l layer by layer gives::

    W_snn[l] = g · θ · W_ann[l] · λ[l-1] / λ[l]        (λ[0] = 1: pixels and input rates in [0, 1])

with one gain g > 1 for what T steps lose: a neuron's potential left below θ at the end never
fires, so rates come out low and shrink layer by layer (conv32, T = 8, CIFAR-10: g = 1 gives
output rates ~0; g = 2, ~0.08 per layer). The weights then go through SLAYER's 8-bit
quantisation as usual; the result is a starting point (conv32: ~25 % before fine-tuning,
chance 10 %), not a converted network.
"""
from __future__ import annotations

import numpy as np
import torch

from neurodeploy.errors import BadInputError

PERCENTILE = 99.9   # λ_l: robust to a few outliers (the maximum makes every other rate small)
GAIN = 2.0          # g above; measured, see the module docstring
CALIBRATION = 1000  # training images for λ (the first ones: deterministic)
_QUANTILE_SAMPLE = 1 << 21   # torch.quantile's input limit is 2^24; a fixed stride subsample is plenty


def ann_weights(ann_net: torch.nn.Module) -> list:
    """The ANN twin's synaptic weights in layer order (conv and linear)."""
    return [m.weight.detach() for m in ann_net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]


@torch.no_grad()
def activation_scales(ann_net: torch.nn.Module, images: torch.Tensor, percentile: float = PERCENTILE) -> list:
    """λ for the input (1) and after every synaptic layer: the ``percentile`` of the positive
    activations (after ReLU; the last layer's positive logits)."""
    scales, h = [1.0], images
    layers = list(ann_net.layers)
    for i, m in enumerate(layers):
        h = m(h)
        last = i == len(layers) - 1
        if isinstance(m, torch.nn.ReLU) or (last and isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))):
            pos = h[h > 0].flatten()
            if pos.numel() == 0:
                raise BadInputError(f"ANN layer {len(scales)} is silent on the calibration images: nothing to scale")
            if pos.numel() > _QUANTILE_SAMPLE:
                pos = pos[:: pos.numel() // _QUANTILE_SAMPLE + 1]
            scales.append(float(torch.quantile(pos, percentile / 100)))
    return scales


def snn_weights(weights: list, scales: list, threshold: float, gain: float = GAIN) -> list:
    """``W_snn[l] = gain · θ · W_ann[l] · λ[l-1] / λ[l]`` (module docstring)."""
    if len(scales) != len(weights) + 1:
        raise ValueError(f"{len(weights)} layers need {len(weights) + 1} scales, got {len(scales)}")
    return [gain * threshold * w * scales[i] / scales[i + 1] for i, w in enumerate(weights)]


def synapses(snn_net) -> list:
    """The SNN's synapse modules in layer order."""
    return [b.synapse for b in snn_net.blocks if getattr(b, "synapse", None) is not None]


@torch.no_grad()
def init_from_ann(snn_clf, ann_clf, images_u8: np.ndarray, source: str) -> list:
    """Set ``snn_clf``'s synaptic weights from the trained ``ann_clf`` (same topology); returns λ.
    ``images_u8``: calibration images (N, C, H, W) uint8."""
    ann_w, syn = ann_weights(ann_clf.net), synapses(snn_clf.net)
    shapes_ann = [tuple(w.shape) for w in ann_w]
    shapes_snn = [tuple(s.weight.shape[: len(w.shape)]) for s, w in zip(syn, ann_w)]
    if len(ann_w) != len(syn) or shapes_ann != shapes_snn:
        raise BadInputError(f"{source}: the ANN's layers {shapes_ann} do not match the SNN's "
                            f"{[tuple(s.weight.shape) for s in syn]} (same model and input channels needed)")
    if any(getattr(s, "bias", None) is not None for s in syn):
        raise BadInputError(f"{source}: the SNN has synaptic biases; the ANN twin has none")
    x = torch.from_numpy(np.ascontiguousarray(images_u8)).float().div_(255.0)
    scales = activation_scales(ann_clf.net, ann_clf.quantise(x))
    threshold = float(snn_clf.net.neuron.threshold)
    for s, w in zip(syn, snn_weights(ann_w, scales, threshold)):
        s.weight.copy_(w.reshape(s.weight.shape))
    return scales
