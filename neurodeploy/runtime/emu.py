"""Batched, integer-exact PyTorch emulator of a NetX network on Lava's fixed-point CPU models.

``emulate(model, x)`` gives, for thousands of samples at once, the very outputs that
``neurodeploy.runtime.sim`` (Lava fixed-point models) produces; the arithmetic is in
:mod:`neurodeploy.runtime.cuba_fixed` (CUBA/LOIHI neurons, weights) and
:mod:`neurodeploy.runtime.sigma_delta_fixed` (SDNN neurons).

Step alignment (the same in ``sim``)
------------------------------------
Every sample starts from zero state (neurons, the synapses' buffers). Its input ``x[..., s]``,
s = 0..T-1, is presented at Lava step ``s + 1`` of the sample: to the first synapse (input mode
``spikes``) or to the input layer's own neuron (``a_in``: as its synaptic input; ``bias``: one frame
per sample held as its ``bias_mant`` for every step). An input neuron adds no latency; each
Dense/Conv synapse buffers its result for one step (plus its synaptic delay), so synaptic layer k
(1-based, L in all) sees input step s at Lava step ``s + k + 1``, the output layer at ``s + L + 1``.

Every layer's output is indexed by the *input step that caused it*: ``out[..., t]`` is the output
layer's output at Lava step ``t + L + 1``; ``record=True`` returns layer k's at ``t + k + 1``. The
emulator runs the same Lava steps as ``sim`` — ``T + L`` per sample, all layers every step, so
biases integrate during the first steps exactly as in a freshly reset Lava network.

Early exit: the rule is evaluated on the cumulative output after each input step t. Samples run in
time chunks; after each chunk the samples that have exited leave the batch (their state rows are
dropped), so exited samples stop costing compute, as they stop costing Lava steps in ``sim``. A
sample's outputs after its exit step are 0 (not computed), as in ``sim``.

Speed: a dense synapse fed 0/1 spikes whose weights fit int8 after dividing by their common
factor runs as an exact int8 x int8 -> int32 matmul (``torch._int_mm``); a CUBA layer without
int32 wraps, delays or recurrence runs all its neuron steps of a chunk in one compiled call
(:mod:`neurodeploy.runtime.emu_kernel`); the rest (delays, recurrence, sigma-delta, input neurons,
wrapping layers) in torch. Every path gives the same integers.

Exactness limits (where Lava itself is not integer-exact): Lava's Conv model computes in float32
(torch), so a conv fed graded values equals this emulator only while its partial sums stay below
2**24 in magnitude (always true for 0/1 spikes and 8-bit weights below that fan-in); the delayed
Dense model multiplies graded values by weights in int32 per synapse, wrapped here only in the sum.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.netx import (MAX_DELAY, ConvLayer, CubaNeuron, DenseLayer, FlattenLayer, InputLayer,
                              NetxFormatError, NetxModel, RecurrentDenseLayer, SigmaDeltaNeuron)
from neurodeploy.runtime.cuba_fixed import (BIAS_EXP, SAFE_ACTIVATION, CubaFixed, cuba_step, lava_bias,
                                            lava_conv_weights, lava_dense_rec_weights, lava_dense_weights, wrap_int)
from neurodeploy.runtime import emu_kernel
from neurodeploy.runtime.exit_rules import ExitRule, predict
from neurodeploy.runtime.sigma_delta_fixed import SigmaDeltaFixed, sd_bias, sigma_delta_step

F32_EXACT = 1 << 24
F64_EXACT = 1 << 53
INPUT_MODES = ("spikes", "a_in", "bias")


# ----------------------------------------------------------------------------------- layers
@dataclass
class EmuLayer:
    """One layer ready to run: integer weights (as exact floats) plus neuron constants.

    ``kind``: "dense" | "conv" | "input" (an input block's neuron: no synapse). ``delay_slots``:
    D + 1 for a dense synapse with delays up to D (``weight`` then stacks the weights of every
    delay, slot-major: ((D + 1) * out, in)), else 0. ``graded_in``: the synapse receives graded
    values (the previous layer is sigma-delta), not 0/1 spikes.
    """

    kind: str
    neuron: object                 # CubaFixed | SigmaDeltaFixed
    in_shape: tuple
    out_shape: tuple
    weight: torch.Tensor | None = None
    shift: int = 0                 # dense weight exponent (a = sum >> -shift); 0 for conv
    bias: torch.Tensor | None = None   # effective bias, broadcastable to (B, *out_shape)
    a_bound: int = 0               # upper bound of |a| for 0/1 input (after the shift)
    w_bound: int = 0               # largest row sum of |w| (graded inputs: bound = w_bound * max|x|)
    graded_in: bool = False
    delay_slots: int = 0
    weight_rec: torch.Tensor | None = None
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    # weight / i8_scale as int8, transposed (in, out): an exact int8 x int8 -> int32 matmul for
    # 0/1 input, ~4x the float GEMM's speed on this hardware (None: weights need more than 8 bits)
    weight_i8: torch.Tensor | None = None
    i8_scale: int = 1

    @property
    def neurons(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def graded_out(self) -> bool:
        return isinstance(self.neuron, SigmaDeltaFixed)

    def _matmul(self, x: torch.Tensor, w: torch.Tensor, graded: bool) -> torch.Tensor:
        """Exact integer ``x @ w.T`` for (M, in) integer-valued x: float when every partial sum
        fits the float's mantissa, else int64."""
        if not graded:
            if w is self.weight and self.weight_i8 is not None and x.dtype == torch.uint8:
                return _int8_matmul(x, self.weight_i8).to(torch.int64) * self.i8_scale
            return (x.to(w.dtype) @ w.t()).to(torch.int64)
        peak = int(x.abs().max()) if x.numel() else 0
        if peak * self.w_bound < F64_EXACT:
            return (x.to(torch.float64) @ w.to(torch.float64).t()).to(torch.int64)
        return x.to(torch.int64) @ w.to(torch.int64).t()

    def synapse(self, s: torch.Tensor) -> torch.Tensor:
        """Synaptic result for a batch ``s`` (M, *in_shape) -> int64 (M, *out_shape), or
        (M, D + 1, out) per delay slot for a delayed synapse (before the buffer)."""
        M = s.shape[0]
        if self.kind == "conv":
            if self.graded_in:
                a = F.conv2d(s.to(torch.float64), self.weight.to(torch.float64), stride=self.stride,
                             padding=self.padding, dilation=self.dilation, groups=self.groups).to(torch.int64)
            else:
                a = F.conv2d(s.to(self.weight.dtype), self.weight, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, groups=self.groups).to(torch.int64)
            return wrap_int(a, 24) if (self.neuron_wraps or self.graded_in) else a   # signed_clamp(x, 24)
        a = self._matmul(s.reshape(M, -1), self.weight, self.graded_in)
        if self.delay_slots:
            return _shift(a.view(M, self.delay_slots, -1), self.shift)  # each slot shifted (Lava)
        if self.graded_in:
            return _shift(wrap_int(a, 32), self.shift)  # int32 dot product, then the exponent
        a = _shift(a, self.shift)
        return wrap_int(a, 32) if self.neuron_wraps else a

    @property
    def kernel_ok(self) -> bool:
        """Whether the compiled loop (:mod:`neurodeploy.runtime.emu_kernel`) runs this layer: a
        CUBA neuron without int32 wraps behind a plain dense or conv synapse fed 0/1 spikes."""
        return (isinstance(self.neuron, CubaFixed) and not self.neuron.exact_wraps and not self.graded_in
                and self.kind in ("dense", "conv") and not self.delay_slots and self.weight_rec is None
                and self.weight.dtype == torch.float32
                and (self.bias is None or self.bias.dim() <= len(self.out_shape)))

    def synapse_raw(self, s: torch.Tensor) -> tuple:
        """For a :attr:`kernel_ok` layer: the synapse result of 0/1 ``s`` (M, *in_shape) before
        the integer scale and the weight exponent, as (exact float32 or int32 tensor, scale)."""
        M = s.shape[0]
        if self.kind == "conv":
            return F.conv2d(s.to(torch.float32), self.weight, stride=self.stride, padding=self.padding,
                            dilation=self.dilation, groups=self.groups), 1
        x = s.reshape(M, -1)
        if self.weight_i8 is not None and x.dtype == torch.uint8:
            return _int8_matmul(x, self.weight_i8), self.i8_scale
        return x.to(torch.float32) @ self.weight.t(), 1

    def recurrent(self, s: torch.Tensor) -> torch.Tensor:
        a = self._matmul(s.reshape(s.shape[0], -1), self.weight_rec, self.graded_out)
        if self.graded_out:
            return _shift(wrap_int(a, 32), self.shift)
        a = _shift(a, self.shift)
        return wrap_int(a, 32) if self.neuron_wraps else a

    @property
    def neuron_wraps(self) -> bool:
        return isinstance(self.neuron, CubaFixed) and self.neuron.exact_wraps


def _int8_matmul(x: torch.Tensor, w_i8: torch.Tensor) -> torch.Tensor:
    """(M, in) 0/1 uint8 @ (in, out) int8 -> exact int32 (M, out)."""
    if x.shape[0] == 0:
        return torch.zeros((0, w_i8.shape[1]), dtype=torch.int32)
    return torch._int_mm(x.contiguous().view(torch.int8), w_i8)


def _int8_weights(w: np.ndarray) -> tuple:
    """(w / g as int8, transposed, g) for g the largest power of two dividing every weight (Lava's
    truncation leaves the low bits zero) when every w / g fits int8, else (None, 1)."""
    bits = int(np.bitwise_or.reduce(np.abs(w.astype(np.int64)), axis=None)) if w.size else 0
    g = (bits & -bits) or 1
    q = w.astype(np.int64) // g
    if not hasattr(torch, "_int_mm") or q.size == 0 or q.min() < -128 or q.max() > 127:
        return None, 1
    return torch.from_numpy(np.ascontiguousarray(q.T.astype(np.int8))), g


def _shift(a: torch.Tensor, shift: int) -> torch.Tensor:
    if shift > 0:
        return a * (1 << shift)
    if shift < 0:
        return a >> -shift            # floor division by 2**-shift (numpy right_shift)
    return a


@dataclass
class EmuNet:
    """A NetX model compiled for the emulator: the input neuron (or None) and the synaptic layers."""

    input_shape: tuple
    layers: list = field(default_factory=list)
    input_layer: EmuLayer | None = None
    input_bits: int = 0            # b-bit graded input straight into the first synapse (0: 0/1 spikes)

    @property
    def num_classes(self) -> int:
        return int(np.prod(self.layers[-1].out_shape))

    @property
    def output_shape(self) -> tuple:
        return tuple(self.layers[-1].out_shape)

    @property
    def graded_output(self) -> bool:
        return self.layers[-1].graded_out

    @property
    def default_input_mode(self) -> str:
        return "a_in" if self.input_layer is not None else "spikes"

    @property
    def preroll(self) -> bool:
        return any(l.bias is not None for l in self.layers)

    def spikes_graded(self) -> bool:
        """Whether input mode ``spikes`` takes graded values (the first synapse after an SDNN input)."""
        return bool(self.layers[0].graded_in)


def _dense_weights(weight, weight_rec=None):
    """Lava's effective integer weights (and exponent) of a dense or recurrent dense synapse."""
    if weight_rec is None:
        return (*lava_dense_weights(weight), None)
    return lava_dense_rec_weights(weight, weight_rec)


def _delay_matrix(delay, shape) -> np.ndarray:
    """NetX's (out, in) integer delays: clamp to 62, then a scalar/(out,)/(in,)/(out, in) broadcast."""
    d = np.clip(np.asarray(delay), 0, MAX_DELAY)
    out_n, in_n = shape
    if d.ndim == 0 or d.size == 1 and d.ndim <= 1 and out_n != 1 and in_n != 1:
        d = np.full(shape, float(d.reshape(-1)[0]))
    elif d.ndim == 1:
        d = np.repeat(d.reshape(-1, 1), in_n, axis=1) if d.size == out_n else np.repeat(d.reshape(1, -1), out_n, axis=0)
    return d.astype(int)


def _neuron_params(neuron, where: str, is_input: bool = False):
    if isinstance(neuron, SigmaDeltaNeuron):
        return SigmaDeltaFixed.from_neuron(neuron, is_input)
    if neuron is None:
        neuron = CubaNeuron.netx_default()
    if not isinstance(neuron, CubaNeuron):
        raise NetxFormatError(f"{where}: neuron {type(neuron).__name__} cannot be run")
    return neuron


def compile_model(model: NetxModel, float_dtype=None) -> EmuNet:
    """Turn a :class:`NetxModel` into integer-exact layers, checking what Lava NetX can run."""
    shape = tuple(model.input_shape)
    layers: list = []
    input_layer = None
    pending_flatten = False
    first = True
    input_bits = model.input_message_bits
    if input_bits and isinstance(model.layers[0], InputLayer) and model.layers[0].neuron is not None:
        raise NetxFormatError("the model card's input_message_bits needs a network without an input neuron "
                              "(graded values go straight into the first synapse)")
    graded = input_bits > 0
    for i, layer in enumerate(model.layers):
        where = f"layer {i}"
        if isinstance(layer, InputLayer):
            if layer.neuron is not None:
                n = _neuron_params(layer.neuron, where, is_input=True)
                input_layer = EmuLayer(kind="input", in_shape=shape, out_shape=shape,
                                       neuron=CubaFixed.from_neuron(n, exact_wraps=True) if isinstance(n, CubaNeuron) else n)
                graded = input_layer.graded_out
            continue
        if isinstance(layer, FlattenLayer):
            pending_flatten = True
            shape = (int(np.prod(shape)),)
            continue
        neuron = _neuron_params(layer.neuron, where)
        sd = isinstance(neuron, SigmaDeltaFixed)
        extra: dict = {}
        if isinstance(layer, (DenseLayer, RecurrentDenseLayer)):
            if len(shape) != 1 and not first and not pending_flatten:
                raise NetxFormatError(f"{where}: a dense layer after a conv layer needs a flatten layer "
                                      f"in between (Lava NetX cannot connect {shape} to it)")
            in_shape = (int(np.prod(shape)),)
            rec = isinstance(layer, RecurrentDenseLayer)
            w_eff, wexp, w_rec = _dense_weights(layer.weight, layer.weight_rec if rec else None)
            out_shape = (int(w_eff.shape[0]),)
            w_bound = int(np.abs(w_eff).sum(axis=1).max())
            if rec:
                w_bound = max(w_bound, int(np.abs(w_rec).sum(axis=1).max()))
                extra["weight_rec"] = _exact_float(w_rec, w_bound, float_dtype)
            delay = getattr(layer, "delay", None)
            slots = 0
            if delay is not None:
                dm = _delay_matrix(delay, w_eff.shape)
                slots = int(dm.max()) + 1
                w_eff = np.concatenate([np.where(dm == k, w_eff, 0) for k in range(slots)], axis=0)
            kind, shift = "dense", int(wexp)
            bias_shape = (-1,)
        elif isinstance(layer, ConvLayer):
            if len(shape) != 3:
                raise NetxFormatError(f"{where}: conv needs a (C, H, W) input, gets {shape}")
            in_shape = shape
            w_eff = lava_conv_weights(layer.weight)
            w_bound = int(np.abs(w_eff).reshape(w_eff.shape[0], -1).sum(axis=1).max())
            out_shape = tuple(int(x) for x in layer.shape)
            kind, shift, slots = "conv", 0, 0
            extra.update(stride=tuple(layer.stride), padding=tuple(layer.padding),
                         dilation=tuple(layer.dilation), groups=int(layer.groups))
            bias_shape = (-1, 1, 1)
        else:
            raise NetxFormatError(f"{where}: layer type {type(layer).__name__} cannot be run")
        a_bound = w_bound << shift if shift >= 0 else -((-w_bound) >> -shift)
        if sd:
            b = sd_bias(layer.bias)
        else:
            b = lava_bias(layer.bias)
            b = None if b is None else torch.from_numpy(b)
        if b is not None and b.numel() > 1:
            b = b.reshape(*bias_shape) if b.numel() != int(np.prod(out_shape)) else b.reshape(out_shape)
        if not sd:
            # wraps are possible when |a| can reach 2**18, with graded input always assumed
            rec_bound = 2 if "weight_rec" in extra else 1
            exact = graded or a_bound * rec_bound >= SAFE_ACTIVATION or slots > 0
            neuron = CubaFixed.from_neuron(neuron, exact_wraps=exact)
        w_t = _exact_float(w_eff, w_bound, float_dtype)
        if kind == "dense" and not graded:
            extra["weight_i8"], extra["i8_scale"] = _int8_weights(w_eff)
        layers.append(EmuLayer(kind=kind, neuron=neuron, in_shape=in_shape, out_shape=out_shape, weight=w_t,
                               shift=shift, bias=b, a_bound=a_bound, w_bound=w_bound, graded_in=graded,
                               delay_slots=slots, **extra))
        graded = sd
        shape = out_shape
        pending_flatten = False
        first = False
    if not layers:
        raise NetxFormatError("model has no dense or conv layer")
    last = layers[-1]
    if len(last.out_shape) == 3 and last.out_shape[1] * last.out_shape[2] != 1:
        raise NetxFormatError(f"the last layer must give one output per neuron of a vector, not a "
                              f"{last.out_shape} map")
    return EmuNet(input_shape=tuple(model.input_shape), layers=layers, input_layer=input_layer, input_bits=input_bits)


def _exact_float(w: np.ndarray, bound: int, float_dtype) -> torch.Tensor:
    """Weights as floats in which every partial sum of 0/1 inputs is exact."""
    if float_dtype is None:
        float_dtype = torch.float32 if bound < F32_EXACT else torch.float64
    if float_dtype == torch.float32 and bound >= F32_EXACT:
        float_dtype = torch.float64
    return torch.from_numpy(np.ascontiguousarray(w)).to(float_dtype).contiguous()


# ----------------------------------------------------------------------------------- inputs
def check_spikes(spikes, input_shape: tuple, what: str = "input spikes") -> torch.Tensor:
    """Validate an input spike tensor (N, *input_shape, T) of 0/1 values; returns uint8."""
    if isinstance(spikes, np.ndarray):
        spikes = torch.from_numpy(spikes)
    if not isinstance(spikes, torch.Tensor):
        raise BadInputError(f"{what}: expected a tensor, got {type(spikes).__name__}")
    spikes = spikes.detach()
    exp = tuple(input_shape)
    if spikes.ndim != len(exp) + 2 or tuple(spikes.shape[1:-1]) != exp:
        raise BadInputError(f"{what}: shape {tuple(spikes.shape)} does not match the model input "
                            f"(N, {', '.join(map(str, exp))}, T)")
    if spikes.shape[-1] < 1:
        raise BadInputError(f"{what}: no time steps")
    if spikes.dtype == torch.bool:
        return spikes.to(torch.uint8)
    if spikes.numel() == 0:
        ok = True
    elif spikes.dtype.is_floating_point:
        lo, hi = torch.aminmax(spikes)
        ok = bool(lo >= 0) and bool(hi <= 1) and bool((spikes == spikes.round()).all())
    elif spikes.dtype.is_complex:
        ok = False
    else:
        lo, hi = torch.aminmax(spikes)
        ok = bool(lo >= 0) and bool(hi <= 1)
    if not ok:
        raise BadInputError(f"{what}: values must be binary spikes 0/1 (Lava inputs are unary "
                            f"spikes; analog 'direct' encoding cannot be deployed)")
    return spikes.to(torch.uint8)


def _as_tensor(x, what: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise BadInputError(f"{what}: expected an array, got {type(x).__name__}")
    return x.detach()


def _check_integers(x: torch.Tensor, lo: int, hi: int, what: str, why: str) -> torch.Tensor:
    if x.dtype == torch.bool:
        return x.to(torch.uint8)
    if x.dtype.is_complex:
        raise BadInputError(f"{what}: complex values cannot be fed to Lava")
    if x.numel():
        if x.dtype.is_floating_point:
            if not bool(torch.isfinite(x).all()) or not bool((x == x.round()).all()):
                raise BadInputError(f"{what}: values must be integers ({why}); scale and round them first")
        a, b = (int(v) if not x.dtype.is_floating_point else float(v) for v in torch.aminmax(x))
        if a < lo or b > hi:
            raise BadInputError(f"{what}: values must lie in [{lo}, {hi}] ({why}), found [{a:g}, {b:g}]")
    return x.to(torch.int64) if (x.dtype.is_floating_point or x.dtype == torch.int64) else x


def check_input(x, net: EmuNet, mode: str | None = None, steps: int | None = None) -> tuple:
    """Validate network input for ``mode`` (default: the net's); returns ``(tensor, mode, T)``.

    ``spikes``: (N, *input_shape, T) 0/1 (graded integers when the first synapse takes graded
    values: 0..2^b-1 for the model card's ``input_message_bits`` b); ``a_in``: (N, *input_shape, T) integers into the input neuron; ``bias``: (N,
    *input_shape) integers held as the input neuron's ``bias_mant`` for ``steps`` steps.
    """
    mode = mode or net.default_input_mode
    if mode not in INPUT_MODES:
        raise UsageError(f"unknown input mode '{mode}' (known: {', '.join(INPUT_MODES)})")
    what = f"input ({mode})"
    if mode != "spikes" and net.input_layer is None:
        raise UsageError(f"input mode '{mode}' needs a first layer with its own neuron; this network takes "
                         f"spikes (--input-mode spikes)")
    if mode == "bias":
        if net.input_layer.graded_out:
            raise UsageError("input mode 'bias' needs a CUBA input neuron: Lava's Delta (SDNN input) has no bias; "
                             "use --input-mode a_in")
        if steps is None or int(steps) < 1:
            raise UsageError("input mode 'bias' needs the number of steps (--steps T >= 1)")
        x = _as_tensor(x, what)
        exp = tuple(net.input_shape)
        if x.ndim != len(exp) + 1 or tuple(x.shape[1:]) != exp:
            raise BadInputError(f"{what}: shape {tuple(x.shape)} does not match (N, {', '.join(map(str, exp))})")
        return _check_integers(x, -(1 << 15), (1 << 15) - 1, what, "Lava stores bias_mant as int16"), mode, int(steps)
    if mode == "spikes" and not net.spikes_graded():
        x = check_spikes(x, net.input_shape, what)
        return x, mode, int(x.shape[-1])
    x = _as_tensor(x, what)
    exp = tuple(net.input_shape)
    if x.ndim != len(exp) + 2 or tuple(x.shape[1:-1]) != exp:
        raise BadInputError(f"{what}: shape {tuple(x.shape)} does not match the model input "
                            f"(N, {', '.join(map(str, exp))}, T)")
    if x.shape[-1] < 1:
        raise BadInputError(f"{what}: no time steps")
    if mode == "spikes" and net.input_bits:
        return (_check_integers(x, 0, (1 << net.input_bits) - 1, what, f"{net.input_bits}-bit graded spikes"),
                mode, int(x.shape[-1]))
    lim = (1 << 15) if (mode == "a_in" and not net.input_layer.graded_out) else (1 << 23)
    return _check_integers(x, -lim, lim - 1, what, "Lava's integer input ports"), mode, int(x.shape[-1])


# ----------------------------------------------------------------------------------- running
@dataclass
class EmuResult:
    """Output of :func:`emulate`.

    ``spikes``: the output layer's output per step, (N, C, T), indexed by causing input step
    (module docstring): uint8 spikes, or int64 graded values for a sigma-delta output layer.
    ``layers``: with ``record=True``, every synaptic layer's output, (N, *layer.shape, T) in
    PyTorch order, same alignment; else None. With an exit rule, ``exit_step`` (steps used, 1..T)
    and ``prediction`` (int64 (N,)); outputs after a sample's exit step are 0.
    """

    spikes: torch.Tensor
    layers: list | None = None
    exit_step: torch.Tensor | None = None
    prediction: torch.Tensor | None = None
    input_layer: torch.Tensor | None = None   # record=True, input neuron driven: its output (N, *in, T)

    @property
    def counts(self) -> torch.Tensor:
        """Per-step output counts (or graded values) as int64 (N, C, T) (not cumulative)."""
        return self.spikes.to(torch.int64)


def _zeros_state(layer: EmuLayer, B: int) -> dict:
    shape = (B, *layer.out_shape)
    st = {}
    if isinstance(layer.neuron, CubaFixed):
        st["u"], st["v"] = torch.zeros(shape, dtype=torch.int64), torch.zeros(shape, dtype=torch.int64)
    else:
        st["sigma"], st["act"], st["res"] = (torch.zeros(shape, dtype=torch.int64) for _ in range(3))
    if layer.kind != "input":
        st["buf"] = (torch.zeros((B, layer.delay_slots, layer.neurons), dtype=torch.int64) if layer.delay_slots
                     else torch.zeros(shape, dtype=torch.int64))
    if layer.weight_rec is not None:
        st["rbuf"] = torch.zeros(shape, dtype=torch.int64)
    return st


def _neuron_step(layer: EmuLayer, st: dict, a: torch.Tensor, bias) -> torch.Tensor:
    if isinstance(layer.neuron, CubaFixed):
        st["u"], st["v"], s = cuba_step(st["u"], st["v"], a, layer.neuron, bias)
        return s
    st["sigma"], st["act"], st["res"], s = sigma_delta_step(st["sigma"], st["act"], st["res"], a, layer.neuron, bias)
    return s


def _layer_chunk(layer: EmuLayer, st: dict, seq: torch.Tensor, j0: int, lo: int, hi: int, bias=None,
                 gemm_threads=None) -> torch.Tensor:
    """Run ``layer`` over Lava steps j0..j0+K-1. ``seq`` (K, B, *in_shape): the previous layer's output
    at those steps (the input neuron: its a_in). Returns (K, B, *out_shape), uint8 or int64.

    Only the neuron steps in [lo, hi) are computed (others are 0): before ``lo`` the layer provably
    holds zero state and gets zero input (no bias anywhere), from ``hi`` on its output can only reach
    output steps past T. The synapse runs on the input steps those neuron steps read.
    """
    K, B = seq.shape[:2]
    out_dtype = torch.int64 if layer.graded_out else torch.uint8
    out = torch.zeros((K, B, *layer.out_shape), dtype=out_dtype)
    n0, n1 = max(j0, lo), min(j0 + K, hi)              # neuron steps to run
    bias = layer.bias if bias is None else bias
    if layer.kind == "input":
        for j in range(n0, n1):
            out[j - j0] = _neuron_step(layer, st, seq[j - j0].to(torch.int64), bias)
        return out
    r0, r1 = max(n0 - 1, j0), min(max(n1, n0), hi - 1)  # input steps whose synapse result is read
    ext = _kernel() if layer.kernel_ok and seq.dtype == torch.uint8 else None
    if ext is not None:
        return _layer_chunk_compiled(ext, layer, st, seq, out, j0, n0, n1, r0, r1, bias, gemm_threads)
    a = None
    if r1 > r0:
        with _torch_threads(gemm_threads):   # the matmul/conv scales with threads, the neuron steps do not
            a = layer.synapse(seq[r0 - j0:r1 - j0].reshape((r1 - r0) * B, *layer.in_shape))

    def row(r):                                          # synapse result of input step r (None: zero)
        if a is None or not r0 <= r < r1:
            return None
        return a[(r - r0) * B:(r - r0 + 1) * B]

    if layer.delay_slots:
        def push(r):                                     # Lava: a_buff rolls one slot, then adds step r
            buf, add = st["buf"], row(r)
            buf = torch.cat([buf[:, 1:], torch.zeros_like(buf[:, :1])], dim=1)
            st["buf"] = buf if add is None else wrap_int(buf + add.view(B, layer.delay_slots, -1), 32)

        if n0 > j0 and n0 - 1 >= r0:
            push(n0 - 1)
        for j in range(n0, n1):
            nin = st["buf"][:, 0].reshape(B, *layer.out_shape)
            push(j)
            out[j - j0] = _rec_step(layer, st, nin, bias)
        return out
    for j in range(n0, n1):
        prev = row(j - 1)
        nin = st["buf"] if prev is None else prev.view(B, *layer.out_shape)
        if prev is None and j - 1 >= j0:
            nin = torch.zeros_like(st["buf"])
        out[j - j0] = _rec_step(layer, st, nin, bias)
    last = row(j0 + K - 1)                               # the one-step buffer into the next chunk
    st["buf"] = last.view(B, *layer.out_shape) if last is not None else torch.zeros_like(st["buf"])
    return out


def _kernel():
    return emu_kernel.extension()


def _layer_chunk_compiled(ext, layer: EmuLayer, st: dict, seq: torch.Tensor, out: torch.Tensor, j0: int,
                          n0: int, n1: int, r0: int, r1: int, bias, gemm_threads) -> torch.Tensor:
    """:func:`_layer_chunk` for a :attr:`EmuLayer.kernel_ok` layer: one matmul/conv, then every
    neuron step in one compiled loop (the same integers as :func:`cuba_step`)."""
    K, B = seq.shape[:2]
    raw, scale = None, 1
    if r1 > r0:
        with _torch_threads(gemm_threads):
            raw, scale = layer.synapse_raw(seq[r0 - j0:r1 - j0].reshape((r1 - r0) * B, *layer.in_shape))
    if bias is not None:
        bias = bias.to(torch.int64).expand(layer.out_shape).reshape(-1).contiguous()
    p = layer.neuron
    emu_kernel.cuba_layer_steps(ext, raw, scale, layer.shift, st["u"], st["v"], st["buf"].contiguous(), bias,
                     p.u_factor, p.v_factor, p.vth, j0, n0, n1, r0, r1, out)
    last = j0 + K - 1                                    # the one-step buffer into the next chunk
    if raw is not None and r0 <= last < r1:
        a = raw[(last - r0) * B:(last - r0 + 1) * B].to(torch.int64) * scale
        st["buf"] = _shift(a, layer.shift).reshape(B, *layer.out_shape)
    else:
        st["buf"] = torch.zeros_like(st["buf"])
    return out


def _rec_step(layer: EmuLayer, st: dict, nin: torch.Tensor, bias) -> torch.Tensor:
    if layer.weight_rec is None:
        return _neuron_step(layer, st, nin, bias)
    s = _neuron_step(layer, st, nin + st["rbuf"], bias)
    st["rbuf"] = layer.recurrent(s)
    return s


def auto_batch(net: EmuNet, T: int, budget: int = 1 << 23) -> int:
    widest = max([int(np.prod(net.input_shape))] + [l.neurons * max(1, l.delay_slots) for l in net.layers])
    steps = T + len(net.layers)
    return max(1, budget // max(1, steps * widest))


@contextlib.contextmanager
def _torch_threads(n: int | None):
    if n is None or n == torch.get_num_threads():
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Batch:
    """Samples ``rows`` of the input in flight: every layer's state, the exit bookkeeping."""

    def __init__(self, net: EmuNet, rows: torch.Tensor, frames: torch.Tensor | None):
        B = rows.shape[0]
        self.rows = rows
        self.states = [_zeros_state(l, B) for l in net.layers]
        self.in_state = _zeros_state(net.input_layer, B) if net.input_layer is not None else None
        self.frames = frames                                  # bias mode: (B, *in) effective bias
        self.cum = torch.zeros((B, net.num_classes), dtype=torch.int64)

    def keep(self, mask: torch.Tensor) -> None:
        """Drop the samples whose ``mask`` is False (they have exited)."""
        idx = mask.nonzero().squeeze(1)
        self.rows = self.rows[idx]
        for st in self.states + ([self.in_state] if self.in_state is not None else []):
            for k in st:
                st[k] = st[k].index_select(0, idx)
        if self.frames is not None:
            self.frames = self.frames.index_select(0, idx)
        self.cum = self.cum.index_select(0, idx)


def emulate(model, spikes, record: bool = False, batch_size: int | None = None, progress=None,
            threads: int | None = 1, exit_rule="off", input_mode: str | None = None,
            steps: int | None = None, exit_chunk: int = 2) -> EmuResult:
    """Run ``spikes`` (N, *model.input_shape, T) through ``model`` (NetxModel or EmuNet).

    ``input_mode``: ``spikes`` | ``a_in`` | ``bias`` (see :func:`check_input`; ``bias`` needs
    ``steps``). ``exit_rule``: with a rule, samples leave the batch once it passes (module
    docstring) and the result carries ``exit_step``/``prediction``. ``record=True`` also returns
    every synaptic layer's output. ``progress``: optional callable receiving the number of samples
    finished. Runs under ``torch.no_grad`` on the CPU.

    ``threads``: torch intra-op threads while emulating (restored afterwards). The default 1 is
    deliberate: the neuron update is many small element-wise steps, and on a busy machine
    torch's thread pool made them ~40x slower (measured: 0.35 s single-threaded vs 15 s with
    2 threads for 5,000 samples of a 784-64-10 net, T = 16). ``None`` keeps torch's setting.
    The synaptic matmul/conv, which does scale, runs with the caller's torch thread count.
    """
    net = model if isinstance(model, EmuNet) else compile_model(model)
    rule = ExitRule.parse(exit_rule)
    x, mode, T = check_input(spikes, net, input_mode, steps)
    N, L, C = int(x.shape[0]), len(net.layers), net.num_classes
    out_dtype = torch.int64 if net.graded_output else torch.uint8
    out = torch.zeros((N, C, T), dtype=out_dtype)
    recs = ([torch.zeros((N, *l.out_shape, T), dtype=torch.int64 if l.graded_out else torch.uint8)
             for l in net.layers] if record else None)
    in_rec = None
    if record and net.input_layer is not None and mode != "spikes":
        in_rec = torch.zeros((N, *net.input_shape, T), dtype=torch.int64 if net.input_layer.graded_out else torch.uint8)
    exit_step = torch.full((N,), T, dtype=torch.int64)
    final_cum = torch.zeros((N, C), dtype=torch.int64)
    bs = batch_size or auto_batch(net, T)
    total = T + L                                            # Lava steps per sample
    gemm_threads = torch.get_num_threads()
    with torch.no_grad(), _torch_threads(threads):
        for lo in range(0, N, bs):
            hi = min(N, lo + bs)
            frames = None
            if mode == "bias":
                frames = x[lo:hi].to(torch.int64).to(torch.int16).to(torch.int64) << BIAS_EXP
            batch = _Batch(net, torch.arange(lo, hi), frames)
            j0 = 0
            first = total if rule.is_off else min(total, L + max(1, rule.min_steps))
            while j0 < total and batch.rows.numel():
                j1 = min(total, j0 + (first if j0 == 0 else (total if rule.is_off else exit_chunk)))
                _run_steps(net, batch, x, mode, T, j0, j1, out, recs, gemm_threads, in_rec)
                if not rule.is_off:
                    _decide(net, batch, out, j0, j1, T, rule, exit_step, final_cum)
                j0 = j1
            if rule.is_off or batch.rows.numel():
                rows = batch.rows
                final_cum[rows] = batch.cum if not rule.is_off else out[rows].to(torch.int64).sum(-1)
            if progress is not None:
                progress(hi)
    if not rule.is_off:
        keep = torch.arange(T)[None, :] < exit_step[:, None]
        out *= keep[:, None, :].to(out.dtype)
        for r in (recs or []) + ([in_rec] if in_rec is not None else []):
            r *= keep.view(N, *([1] * (r.ndim - 2)), T).to(r.dtype)
    pred = predict(final_cum) if N else torch.zeros(0, dtype=torch.int64)
    return EmuResult(spikes=out, layers=recs, exit_step=exit_step, prediction=pred.to(torch.int64),
                     input_layer=in_rec)


def _run_steps(net: EmuNet, batch: _Batch, x: torch.Tensor, mode: str, T: int, j0: int, j1: int,
               out: torch.Tensor, recs, gemm_threads, in_rec=None) -> None:
    """Lava steps j0..j1-1 (0-based within the sample) for every sample in ``batch``."""
    K, B, rows = j1 - j0, batch.rows.shape[0], batch.rows
    in_shape = tuple(net.input_shape)
    seq = torch.zeros((K, B, *in_shape), dtype=x.dtype if mode != "bias" else torch.int64)
    if mode != "bias" and j0 < T:
        n = min(j1, T) - j0
        xs = x.index_select(0, rows)[..., j0:j0 + n]          # (B, *in, n)
        seq[:n] = xs.permute(xs.ndim - 1, *range(xs.ndim - 1))
    if net.input_layer is not None and mode != "spikes":
        seq = _layer_chunk(net.input_layer, batch.in_state, seq, j0, 0, T, batch.frames)
        if in_rec is not None:
            _store(in_rec, seq, rows, j0, T)
    L = len(net.layers)
    for k, layer in enumerate(net.layers, start=1):
        lo = 0 if net.preroll else k                  # biases integrate from the sample's first step
        seq = _layer_chunk(layer, batch.states[k - 1], seq, j0, lo, T + k, gemm_threads=gemm_threads)
        if recs is not None:
            _store(recs[k - 1], seq, rows, j0 - k, T)
    _store(out, seq.reshape(K, B, -1), rows, j0 - L, T)


def _store(dst: torch.Tensor, seq: torch.Tensor, rows: torch.Tensor, t0: int, T: int) -> None:
    """Write ``seq`` (K, B, ...) at output steps t0..t0+K-1 (those inside 0..T-1) of ``rows``."""
    K = seq.shape[0]
    a, b = max(0, t0), min(T, t0 + K)
    if a >= b:
        return
    part = seq[a - t0:b - t0]
    part = part.permute(*range(1, part.ndim), 0)            # (B, ..., n)
    contiguous = rows.numel() and int(rows[-1] - rows[0]) + 1 == rows.numel()
    if contiguous:
        dst[int(rows[0]):int(rows[-1]) + 1, ..., a:b] = part.to(dst.dtype)
    else:
        dst[rows, ..., a:b] = part.to(dst.dtype)


def _decide(net: EmuNet, batch: _Batch, out: torch.Tensor, j0: int, j1: int, T: int, rule: ExitRule,
            exit_step: torch.Tensor, final_cum: torch.Tensor) -> None:
    """Apply the exit rule after each output step of the chunk; exited samples leave the batch."""
    L = len(net.layers)
    rows = batch.rows
    done = torch.zeros(rows.shape[0], dtype=torch.bool)
    a, b = max(0, j0 - L), min(T, j1 - L)
    vals = out[:, :, a:b].index_select(0, rows).to(torch.int64)
    for t in range(a, b):
        live = ~done
        batch.cum[live] += vals[live, :, t - a]
        hit = live & (rule.passes_torch(batch.cum, t + 1) | (t == T - 1))
        if bool(hit.any()):
            exit_step[rows[hit]] = t + 1
            final_cum[rows[hit]] = batch.cum[hit]
            done |= hit
    if bool(done.any()):
        batch.keep(~done)

