"""Named network topologies, shared by the SNN and its ANN twin (no code copied between them).

Only layer kinds that NetX can load: dense, strided conv (pooling is folded into the stride)
and flatten. A topology is a tuple of layer specs; the last dense layer's width is the number
of classes.
"""
from __future__ import annotations

from dataclasses import dataclass

from neurodeploy.errors import UsageError
from neurodeploy.netx.layers import conv_output_size


@dataclass(frozen=True)
class Dense:
    """Fully connected: y = W x, W of shape (out, in)."""

    out: int


@dataclass(frozen=True)
class Conv:
    """2-D convolution, ``out`` channels, square ``kernel``, ``stride`` (pooling folded in), ``padding``."""

    out: int
    kernel: int = 3
    stride: int = 1
    padding: int = 1


@dataclass(frozen=True)
class Flatten:
    """(C, H, W) -> (C·H·W,), C-major like ``torch.flatten``."""


CLASSES = -1  # placeholder width replaced by the number of classes

ARCHITECTURES = {
    # 784-512-10, the usual Fashion-MNIST / MNIST MLP
    "mlp": dict(input=(1, 28, 28), layers=(Flatten(), Dense(512), Dense(CLASSES))),
    # small conv net for 28x28x1: 28 -> 14 -> 7, then 1568 -> 128 -> classes
    "conv28": dict(input=(1, 28, 28), layers=(Conv(16, 5, 2, 2), Conv(32, 3, 2, 1), Flatten(),
                                              Dense(128), Dense(CLASSES))),
    # conv net for 32x32x3 (CIFAR-10): 32 -> 16 -> 8 -> 4, then 1024 -> 256 -> classes
    "conv32": dict(input=(3, 32, 32), layers=(Conv(32, 3, 1, 1), Conv(64, 3, 2, 1), Conv(64, 3, 2, 1),
                                              Conv(64, 3, 2, 1), Flatten(), Dense(256), Dense(CLASSES))),
}


def architecture(name: str, num_classes: int, in_channels: int | None = None):
    """Return (input_shape (C, H, W), layer specs) for the named topology."""
    if name not in ARCHITECTURES:
        raise UsageError(f"unknown model '{name}' (known: {', '.join(ARCHITECTURES)})")
    a = ARCHITECTURES[name]
    c, h, w = a["input"]
    layers = tuple(Dense(num_classes) if isinstance(l, Dense) and l.out == CLASSES else l for l in a["layers"])
    return (in_channels or c, h, w), layers


def shapes(input_shape: tuple, layers) -> list:
    """Output shape of every layer, e.g. [(16, 14, 14), (32, 7, 7), (1568,), (128,), (10,)]."""
    out, shape = [], tuple(input_shape)
    for l in layers:
        if isinstance(l, Flatten):
            n = 1
            for s in shape:
                n *= s
            shape = (n,)
        elif isinstance(l, Conv):
            if len(shape) != 3:
                raise UsageError(f"conv layer after flatten in {layers}")
            shape = (l.out, conv_output_size(shape[1], l.kernel, l.stride, l.padding), conv_output_size(shape[2], l.kernel, l.stride, l.padding))
        else:
            shape = (l.out,)
        out.append(shape)
    return out
