"""The NetX model as plain data: one dataclass per layer type, the equations in their docstrings.

Layout (what ``lava.lib.dl.netx.hdf5.Network`` loads)::

    /layer/0 .. /layer/{n-1}     groups, in order of the data's way
        type        b'input' | b'dense' | b'conv' | b'flatten'
        shape       output shape, (C, H, W) or (F,)  (NetX reverses it to Lava's WHC)
        weight      dense (out, in); conv (out, in/groups, kH, kW)
        neuron/     CUBA: type, iDecay, vDecay, vThMant, refDelay, gradedSpike
    /model_card    JSON text, ignored by NetX

The CUBA neuron in Lava fixed point (NetX maps it to ``lava.proc.lif.LIF`` with
``du = iDecay - 1``, ``dv = vDecay``, ``vth = vThMant``, ``bias_exp = 6``) per step::

    u[t] = u[t-1] * (4096 - du) / 4096 + (W @ s_in[t]) * 2**6
    v[t] = v[t-1] * (4096 - dv) / 4096 + u[t]
    s[t] = v[t] > vThMant * 2**6 ;  v[t] = 0 where s[t]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from neurodeploy.errors import BadInputError

SUPPORTED = ("input", "dense", "conv", "flatten")


class NetxFormatError(BadInputError):
    """A NetX file that neurodeploy cannot use; the message names the file and the fault."""


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a cross-correlation along one axis (PyTorch's and Lava's formula)."""
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass
class CubaNeuron:
    """Current-based LIF neuron, fixed point.

    ``i_decay``/``v_decay`` are decay fractions x 4096 (12 bit), ``v_th_mant`` the
    threshold x 64 before Lava's ``<< 6``; see the module docstring for the update.
    """

    i_decay: int
    v_decay: int
    v_th_mant: int
    ref_delay: int = 1
    graded_spike: bool = False


@dataclass
class InputLayer:
    """Network input of ``shape`` (C, H, W) or (F,); carries no neuron here."""

    shape: tuple


@dataclass
class FlattenLayer:
    """Reshape (C, H, W) -> (C*H*W,), C-major like ``torch.flatten``."""

    shape: tuple


@dataclass
class DenseLayer:
    """``a[t] = W @ s_in[t]`` with integer ``weight`` (out, in) feeding CUBA neurons."""

    weight: np.ndarray
    neuron: CubaNeuron
    bias: np.ndarray | None = None

    @property
    def shape(self) -> tuple:
        return (int(self.weight.shape[0]),)


@dataclass
class ConvLayer:
    """2-D cross-correlation ``a[t] = conv2d(s_in[t], W, stride, padding, dilation, groups)``.

    ``weight`` is (out, in/groups, kH, kW) in PyTorch's orientation; ``shape`` the output (C, H, W).
    """

    weight: np.ndarray
    neuron: CubaNeuron
    shape: tuple
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    bias: np.ndarray | None = None


Layer = Union[InputLayer, FlattenLayer, DenseLayer, ConvLayer]


@dataclass
class NetxModel:
    """An ordered list of layers plus the model card (a JSON-able dict)."""

    layers: list
    card: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple:
        first = self.layers[0]
        if isinstance(first, InputLayer):
            return tuple(first.shape)
        if isinstance(first, DenseLayer):
            return (int(first.weight.shape[1]),)
        raise NetxFormatError("model has no input layer to tell its input shape")

    @property
    def synaptic_layers(self) -> list:
        return [l for l in self.layers if isinstance(l, (DenseLayer, ConvLayer))]

    @property
    def num_classes(self) -> int:
        return int(self.synaptic_layers[-1].shape[0])
