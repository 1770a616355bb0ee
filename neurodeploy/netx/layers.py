"""The NetX model as plain data: one dataclass per layer type, the equations in their docstrings.

Layout (what ``lava.lib.dl.netx.hdf5.Network`` loads)::

    /layer/0 .. /layer/{n-1}     groups, in order of the data's way
        type        b'input' | b'dense' | b'dense_rec' | b'conv' | b'flatten'
        shape       output shape, (C, H, W) or (F,)  (NetX reverses it to Lava's WHC)
        weight      dense (out, in); conv (out, in/groups, kH, kW); dense_rec adds weight_rec
        bias        optional, per neuron or per channel (input layers: one number)
        delay       optional synaptic delay in steps (dense: scalar, (out,), (in,), (out, in))
        neuron/     CUBA | LOIHI: type, iDecay, vDecay, vThMant, refDelay, gradedSpike
                    SDNN: type, vThMant, activation, sigma_output (output layer)
                    absent: dense layers get NetX's non-spiking integrator
    /model_card    JSON text, ignored by NetX (``input_message_bits``: graded input, NetX's
                   ``Network(input_message_bits=...)`` argument; absent = 0/1 spikes)

The CUBA neuron in Lava fixed point (NetX maps it to ``lava.proc.lif.LIF`` with
``du = iDecay - 1``, ``dv = vDecay``, ``vth = vThMant``, ``bias_exp = 6``) per step::

    u[t] = u[t-1] * (4096 - du) / 4096 + (W @ s_in[t]) * 2**6
    v[t] = v[t-1] * (4096 - dv) / 4096 + u[t]
    s[t] = v[t] > vThMant * 2**6 ;  v[t] = 0 where s[t]

``refDelay`` and ``gradedSpike`` are stored and written back, but lava-dl 0.6's NetX does not use
them (it builds a plain ``LIF``: no refractory period, 0/1 spikes), so neither does neurodeploy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from neurodeploy.errors import BadInputError

SUPPORTED = ("input", "dense", "dense_rec", "conv", "flatten")
# Layer types lava-dl 0.6's NetX raises NotImplementedError for (one clear line names the layer).
UNLOADABLE = ("pool", "convT", "unpool", "average", "concat")
MAX_DELAY = 62                     # NetX clamps synaptic delays to this
NO_NEURON_VTH = 1 << 17            # NetX's default neuron for a dense layer without one: ``1 << 18 - 1``


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
    kind: str = "CUBA"             # "CUBA" or "LOIHI": NetX maps both to Lava's LIF

    @classmethod
    def netx_default(cls) -> "CubaNeuron":
        """The neuron NetX gives a dense layer whose file has none: a non-leaky integrator
        (``iDecay = 0`` gives ``du = -1``, with Lava's offset no current decay; ``vDecay = 4096``
        so ``v = u + bias``) with a threshold (``1 << 17``, x 64 = 2**23) ``v`` never exceeds."""
        return cls(i_decay=0, v_decay=4096, v_th_mant=NO_NEURON_VTH)


@dataclass
class SigmaDeltaNeuron:
    """Sigma-delta ReLU neuron (NetX ``SDNN``), Lava fixed point, graded spikes.

    NetX builds ``Delta`` for an input layer, ``Sigma`` when ``sigma_output`` is present, else
    ``SigmaDelta`` (ReLU, ``spike_exp = state_exp = 6``; threshold and bias are scaled by 2**12)::

        sigma[t] = sigma[t-1] + a[t]                    # Sigma: s[t] = sigma[t]
        act[t]   = max(sigma[t] + (bias << 12), 0)
        delta    = act[t] - act[t-1] + residue[t-1]
        s[t]     = delta if |delta| >= vThMant << 12 else 0 ;  residue[t] = delta - s[t]
        out[t]   = s[t] >> 6

    Delta (input): ``a << 12`` is encoded the same way (no sigma, no bias).
    """

    v_th_mant: int
    activation: str = "relu"
    sigma_output: bool = False


@dataclass
class InputLayer:
    """Network input of ``shape`` (C, H, W) or (F,).

    With a ``neuron`` (lava-dl ``Input`` blocks) NetX builds that neuron with no synapse in front:
    the data reach it through its ``a_in`` (values per step) or as its bias (one frame held for
    all steps); ``weight``/``bias`` are the block's scalar input transform, stored for the user
    (NetX does not apply them).
    """

    shape: tuple
    neuron: "CubaNeuron | SigmaDeltaNeuron | None" = None
    weight: float | None = None
    bias: float | None = None


@dataclass
class FlattenLayer:
    """Reshape (C, H, W) -> (C*H*W,), C-major like ``torch.flatten``."""

    shape: tuple


@dataclass
class DenseLayer:
    """``a[t] = W @ s_in[t]`` with integer ``weight`` (out, in) feeding CUBA neurons."""

    weight: np.ndarray
    neuron: "CubaNeuron | SigmaDeltaNeuron | None"
    bias: np.ndarray | None = None
    delay: np.ndarray | None = None   # synaptic delay in steps: scalar, (out,), (in,) or (out, in)

    @property
    def shape(self) -> tuple:
        return (int(self.weight.shape[0]),)


@dataclass
class RecurrentDenseLayer:
    """``dense_rec``: ``a[t] = W @ s_in[t] + W_rec @ s[t-1]`` (both one step later), W_rec (out, out).

    NetX optimizes the weight bits of ``[W | W_rec]`` together (one exponent for both).
    """

    weight: np.ndarray
    weight_rec: np.ndarray
    neuron: "CubaNeuron | SigmaDeltaNeuron | None"
    bias: np.ndarray | None = None
    delay: np.ndarray | None = None

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
    delay: np.ndarray | None = None   # stored as written; lava-dl 0.6's NetX ignores conv delays


Layer = Union[InputLayer, FlattenLayer, DenseLayer, RecurrentDenseLayer, ConvLayer]
SYNAPTIC = (DenseLayer, RecurrentDenseLayer, ConvLayer)


def neuron_of(layer):
    """The neuron Lava NetX gives ``layer``: its own, or for a dense layer without one NetX's default."""
    return layer.neuron if layer.neuron is not None else CubaNeuron.netx_default()


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
        if isinstance(first, (DenseLayer, RecurrentDenseLayer)):
            return (int(first.weight.shape[1]),)
        raise NetxFormatError("model has no input layer to tell its input shape")

    @property
    def input_message_bits(self) -> int:
        """Payload bits of the input the first synapse takes (model card; 0: unary 0/1 spikes).
        NetX files carry no such field: ``Network(input_message_bits=...)`` is given it at load."""
        return int(self.card.get("input_message_bits") or 0) if isinstance(self.card, dict) else 0

    @property
    def synaptic_layers(self) -> list:
        return [l for l in self.layers if isinstance(l, SYNAPTIC)]

    @property
    def input_neuron(self):
        """The input layer's own neuron (lava-dl ``Input`` block), or None."""
        first = self.layers[0]
        return first.neuron if isinstance(first, InputLayer) else None

    @property
    def output_shape(self) -> tuple:
        return tuple(int(x) for x in self.synaptic_layers[-1].shape)

    @property
    def graded_output(self) -> bool:
        """True when the output layer sends graded values (sigma-delta), not 0/1 spikes."""
        return isinstance(self.synaptic_layers[-1].neuron, SigmaDeltaNeuron)

    @property
    def num_classes(self) -> int:
        return int(self.synaptic_layers[-1].shape[0])
