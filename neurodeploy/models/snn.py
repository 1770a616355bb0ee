"""SLAYER CUBA spiking networks built from a named topology (lava-dl blocks NetX can load).

Each synaptic block: ``a[t] = W s_in[t]`` with 8-bit quantised weights (SLAYER's ``quantize_8bit``:
W = k/64, k even in [-256, 254]), then CUBA dynamics in SLAYER's fixed-point form::

    u[t] = (1 - α_u) u[t-1] + a[t]          (α_u = current_decay, 12-bit)
    v[t] = (1 - α_v) v[t-1] + u[t]          (α_v = voltage_decay, 12-bit)
    s[t] = v[t] ≥ θ ;  v[t] = 0 where s[t]

``input_bits = b`` (graded input, :class:`neurodeploy.encoding.encoders.Graded`): the first layer
receives s = q / 2^b and keeps its state scaled by 2^b more (SLAYER's ``s_scale``), so that
its integer state is Lava's for the integer payload q.

``delay_shift=False``: the model's output at step t is its response to input steps 0..t. Lava
adds one step of latency per synaptic layer; the runtime (``neurodeploy.runtime.emu``) indexes
the deployed network's spikes by the input step that caused them, so deployed ``out[..., t]``
equals this model's ``out[..., t]`` and a decision after e steps costs e + L Lava steps.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import torch

from neurodeploy.models.architectures import Conv, Flatten, architecture, shapes
from neurodeploy.models.cuba_fast import make_fast


@dataclass
class NeuronConfig:
    """CUBA parameters (threshold θ, decays α in [0, 1]) and surrogate-gradient shape for training."""

    threshold: float = 1.25
    current_decay: float = 0.25
    voltage_decay: float = 0.03
    tau_grad: float = 0.03
    scale_grad: float = 3.0

    def slayer_params(self) -> dict:
        d = asdict(self)
        d["requires_grad"] = False
        return d


def lava_v_th_mant(neuron) -> int:
    """The ``vThMant`` Lava needs for a SLAYER CUBA neuron: lava-dl's (θ·64), times the neuron's state
    gain over the usual ``s_scale = 64·w_scale`` (2^b in the first layer of b-bit graded input, else 1)."""
    return int(neuron.device_params["vThMant"]) * (neuron.s_scale // (neuron.w_scale << 6))


def _slayer():
    from neurodeploy._lava_compat import import_slayer

    return import_slayer()


class SpikingNet(torch.nn.Module):
    """Spikes (N, C, H, W, T) -> output spikes (N, classes, T)."""

    def __init__(self, model: str, num_classes: int, in_channels: int, neuron: NeuronConfig | None = None,
                 weight_scale: float = 2.0, input_bits: int = 0):
        super().__init__()
        self.input_bits = int(input_bits)
        slayer = _slayer()
        self.input_shape, self.specs = architecture(model, num_classes, in_channels)
        self.neuron = neuron or NeuronConfig()
        p = self.neuron.slayer_params()
        blocks, shape = [], self.input_shape
        for spec, out_shape in zip(self.specs, shapes(self.input_shape, self.specs)):
            if isinstance(spec, Flatten):
                blocks.append(slayer.block.cuba.Flatten())
            elif isinstance(spec, Conv):
                blocks.append(slayer.block.cuba.Conv(p, shape[0], spec.out, spec.kernel, stride=spec.stride,
                                                     padding=spec.padding, weight_scale=weight_scale,
                                                     delay_shift=False))
            else:
                n_in = shape[0] if len(shape) == 1 else int(torch.tensor(shape).prod())
                blocks.append(slayer.block.cuba.Dense(p, n_in, spec.out, weight_scale=weight_scale,
                                                      delay_shift=False))
            shape = out_shape
        self.blocks = torch.nn.ModuleList(blocks)
        if self.input_bits:  # b-bit graded input (encoding.Graded): the first layer's state on a 2^b finer grid
            first = next(b for b in self.blocks if getattr(b, "neuron", None) is not None)
            first.neuron.s_scale <<= self.input_bits
            # strict v > θ on the integer grid: lava-dl's 0.01 / s_scale vanishes in float32 at this scale
            first.neuron.threshold_eps = 0.5 / first.neuron.s_scale
        for block in self.blocks:  # NEURODEPLOY_DYNAMICS=fast|stock: same numbers, see cuba_fast
            if getattr(block, "neuron", None) is not None:
                make_fast(block.neuron, getattr(block, "synapse", None))
        with torch.no_grad():  # SLAYER neurons learn their shape on the first call; export needs it
            self.forward(torch.zeros(1, *self.input_shape, 2))

    def forward(self, spikes: torch.Tensor, record: bool = False):
        x, trace = spikes, []
        for spec, block in zip(self.specs, self.blocks):
            if isinstance(spec, Flatten):
                x = x.reshape(x.shape[0], -1, x.shape[-1])
            else:
                x = block(x)
                trace.append(x)
        return (x, trace) if record else x

    def transient_state_keys(self) -> set:
        """Neuron state buffers, batch-shaped after a forward pass: not part of a checkpoint."""
        return {k for k in self.state_dict() if k.endswith(("current_state", "voltage_state"))}


class ANNNet(torch.nn.Module):
    """The ANN twin: the same topology with ReLU, images (N, C, H, W) -> logits (N, classes)."""

    def __init__(self, model: str, num_classes: int, in_channels: int):
        super().__init__()
        self.input_shape, self.specs = architecture(model, num_classes, in_channels)
        layers, shape = [], self.input_shape
        out_shapes = shapes(self.input_shape, self.specs)
        for i, (spec, out_shape) in enumerate(zip(self.specs, out_shapes)):
            if isinstance(spec, Flatten):
                layers.append(torch.nn.Flatten())
            elif isinstance(spec, Conv):
                layers.append(torch.nn.Conv2d(shape[0], spec.out, spec.kernel, spec.stride, spec.padding, bias=False))
            else:
                layers.append(torch.nn.Linear(shape[0], spec.out, bias=False))
            if not isinstance(spec, Flatten) and i < len(self.specs) - 1:
                layers.append(torch.nn.ReLU())
            shape = out_shape
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
