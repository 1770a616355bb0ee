"""Batched, integer-exact PyTorch emulator of a NetX network on Lava's fixed-point CPU models.

``emulate(model, spikes)`` gives, for thousands of samples at once, the very output spikes that
``neurodeploy.runtime.sim`` (Lava, ``Loihi2SimCfg(select_tag='fixed_pt')``) produces; the
arithmetic is in :mod:`neurodeploy.runtime.cuba_fixed`.

Step alignment (the same in ``sim``)
------------------------------------
Every sample starts from zero state (u, v and the synapses' one-step buffers). Its input
``x[..., s]``, s = 0..T-1, is presented at Lava step ``s + 1`` of the sample. Each Dense/Conv
synapse buffers its result for one step, so layer k (1-based over the synaptic layers) sees
input step s at Lava step ``s + k + 1``; the output layer (k = L) at ``s + L + 1``.

We index every layer's spikes by the *input step that caused them*: ``out[..., t]`` is the
output layer's spikes at Lava step ``t + L + 1``, and ``record=True`` returns layer k's spikes at
Lava steps ``t + k + 1``, t = 0..T-1. The early-exit rule is evaluated on ``out[..., :t+1]``, so
"exit at step e" means: decided from the first e input steps; on Lava it costs ``e + L`` steps.

During a sample's first k Lava steps layer k receives nothing yet. Without biases nothing
happens then (zero state, zero input); with a bias the neurons integrate it during these
"pre-roll" steps, exactly as a freshly reset Lava network does, and the emulator simulates them.
Spikes emitted in pre-roll steps are not part of ``out``/``layers`` (they precede input step 0).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from neurodeploy.errors import BadInputError
from neurodeploy.netx import (ConvLayer, DenseLayer, FlattenLayer, InputLayer,
                                     NetxFormatError, NetxModel)
from neurodeploy.runtime.cuba_fixed import (SAFE_ACTIVATION, CubaFixed, cuba_step,
                                            lava_bias, lava_conv_weights, lava_dense_weights,
                                            wrap_int)

F32_EXACT = 1 << 24


@dataclass
class EmuLayer:
    """One synaptic layer ready to run: integer weights as exact floats plus neuron constants."""

    kind: str                      # "dense" | "conv"
    weight: torch.Tensor           # dense (out, in); conv (out, in/groups, kH, kW); float32/64
    shift: int                     # dense weight exponent (a = sum >> -shift); 0 for conv
    neuron: CubaFixed
    bias: torch.Tensor | None      # effective bias (<< 6), broadcastable to (B, *out_shape)
    in_shape: tuple
    out_shape: tuple
    a_bound: int                   # upper bound of |a| (after the shift)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1

    @property
    def neurons(self) -> int:
        return int(np.prod(self.out_shape))

    def synapse(self, s: torch.Tensor) -> torch.Tensor:
        """Synaptic input for a batch of spike maps ``s`` (M, *in_shape) 0/1 -> int64 (M, *out_shape)."""
        x = s.to(self.weight.dtype)
        if self.kind == "dense":
            a = x.reshape(x.shape[0], -1) @ self.weight.t()
        else:
            a = F.conv2d(x, self.weight, stride=self.stride, padding=self.padding,
                         dilation=self.dilation, groups=self.groups)
        a = a.to(torch.int64)
        if self.kind == "dense":
            if self.shift > 0:
                a = a * (1 << self.shift)
            elif self.shift < 0:
                a = a >> -self.shift          # floor division by 2**-shift
            if self.neuron.exact_wraps:
                a = wrap_int(a, 32)           # the int32 channel to the neuron
        elif self.neuron.exact_wraps:
            a = wrap_int(a, 24)               # PyConvModelFixed: signed_clamp(x, 24)
        return a


@dataclass
class EmuNet:
    """A NetX model compiled for the emulator."""

    input_shape: tuple
    layers: list = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return int(np.prod(self.layers[-1].out_shape))

    @property
    def preroll(self) -> bool:
        return any(l.bias is not None for l in self.layers)


@dataclass
class EmuResult:
    """Output of :func:`emulate`.

    ``spikes``: the output layer's spikes per step, uint8 (N, classes, T), indexed by causing
    input step (module docstring). ``layers``: with ``record=True``, every Dense/Conv layer's
    spikes, uint8 (N, *layer.shape, T) in PyTorch order, same alignment; else None.
    """

    spikes: torch.Tensor
    layers: list | None = None

    @property
    def counts(self) -> torch.Tensor:
        """Per-step output spike counts as int64 (N, classes, T) (not cumulative)."""
        return self.spikes.to(torch.int64)


def compile_model(model: NetxModel, float_dtype=None) -> EmuNet:
    """Turn a :class:`NetxModel` into integer-exact layers, checking what Lava NetX can run."""
    shape = tuple(model.input_shape)
    layers: list = []
    pending_flatten = False
    first = True
    for i, layer in enumerate(model.layers):
        where = f"layer {i}"
        if isinstance(layer, InputLayer):
            continue
        if isinstance(layer, FlattenLayer):
            pending_flatten = True
            shape = (int(np.prod(shape)),)
            continue
        if isinstance(layer, DenseLayer):
            if len(shape) != 1 and not first and not pending_flatten:
                raise NetxFormatError(f"{where}: a dense layer after a conv layer needs a flatten layer "
                                      f"in between (Lava NetX cannot connect {shape} to it)")
            in_shape = (int(np.prod(shape)),)
            w_eff, wexp = lava_dense_weights(layer.weight)
            bound = int(np.abs(w_eff).sum(axis=1).max())
            a_bound = bound << wexp if wexp >= 0 else -((-bound) >> -wexp)
            out_shape = (int(w_eff.shape[0]),)
            b = lava_bias(layer.bias)
            bias = None if b is None else torch.from_numpy(b)
            wt = _exact_float(w_eff, bound, float_dtype)
            kind, extra = "dense", {}
        elif isinstance(layer, ConvLayer):
            if len(shape) != 3:
                raise NetxFormatError(f"{where}: conv needs a (C, H, W) input, gets {shape}")
            in_shape = shape
            w_eff = lava_conv_weights(layer.weight)
            bound = int(np.abs(w_eff).reshape(w_eff.shape[0], -1).sum(axis=1).max())
            a_bound = bound
            out_shape = tuple(int(x) for x in layer.shape)
            b = lava_bias(layer.bias)
            bias = None if b is None else torch.from_numpy(b).view(-1, 1, 1)
            wt = _exact_float(w_eff, bound, float_dtype)
            kind = "conv"
            extra = dict(stride=tuple(layer.stride), padding=tuple(layer.padding),
                         dilation=tuple(layer.dilation), groups=int(layer.groups))
            wexp = 0
        else:
            raise NetxFormatError(f"{where}: layer type {type(layer).__name__} cannot be run")
        exact = a_bound >= SAFE_ACTIVATION
        layers.append(EmuLayer(kind=kind, weight=wt, shift=int(wexp),
                               neuron=CubaFixed.from_neuron(layer.neuron, exact_wraps=exact),
                               bias=bias, in_shape=in_shape, out_shape=out_shape,
                               a_bound=a_bound, **extra))
        shape = out_shape
        pending_flatten = False
        first = False
    if not layers:
        raise NetxFormatError("model has no dense or conv layer")
    last = layers[-1]
    if len(last.out_shape) == 3 and last.out_shape[1] * last.out_shape[2] != 1:
        raise NetxFormatError(f"the last layer must give one output per class, not a {last.out_shape} map")
    return EmuNet(input_shape=tuple(model.input_shape), layers=layers)


def _exact_float(w: np.ndarray, bound: int, float_dtype) -> torch.Tensor:
    """Weights as floats in which every partial sum of 0/1 inputs is exact."""
    if float_dtype is None:
        float_dtype = torch.float32 if bound < F32_EXACT else torch.float64
    if float_dtype == torch.float32 and bound >= F32_EXACT:
        float_dtype = torch.float64
    return torch.from_numpy(w).to(float_dtype).contiguous()


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


def _run_chunk(net: EmuNet, x: torch.Tensor, record: bool, gemm_threads: int | None = None) -> tuple:
    """x: uint8 (B, *in, T). Returns (out uint8 (B, C, T), [per-layer uint8 (B, *shape, T)])."""
    B, T = x.shape[0], x.shape[-1]
    seq = x.permute(x.ndim - 1, *range(0, x.ndim - 1))          # (T, B, *in)
    preroll = net.preroll
    recs = []
    for k, layer in enumerate(net.layers, start=1):
        n_in = seq.shape[0]
        flat_in = seq.reshape(n_in * B, *layer.in_shape)
        with _torch_threads(gemm_threads):  # the matmul/conv scales with threads, the neuron steps do not
            a = layer.synapse(flat_in).reshape(n_in, B, *layer.out_shape)
        if preroll:   # first Lava step of a sample: the synapse buffer is still zero
            a = torch.cat([torch.zeros_like(a[:1]), a], dim=0)
        n = a.shape[0]
        out = torch.empty((n, B, *layer.out_shape), dtype=torch.uint8)
        u = torch.zeros((B, *layer.out_shape), dtype=torch.int64)
        v = torch.zeros_like(u)
        for tau in range(n):
            u, v, s = cuba_step(u, v, a[tau], layer.neuron, layer.bias)
            out[tau] = s
        del a
        seq = out
        if record:
            lead = k if preroll else 0
            recs.append(out[lead:lead + T])
    lead = len(net.layers) if preroll else 0
    final = seq[lead:lead + T].reshape(T, B, -1)
    out_spikes = final.permute(1, 2, 0).contiguous()             # (B, C, T)
    layers = None
    if record:
        layers = [r.permute(*range(1, r.ndim), 0).contiguous() for r in recs]
    return out_spikes, layers


def auto_batch(net: EmuNet, T: int, budget: int = 1 << 23) -> int:
    widest = max([int(np.prod(net.input_shape))] + [l.neurons for l in net.layers])
    steps = T + (len(net.layers) if net.preroll else 0)
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


def emulate(model, spikes, record: bool = False, batch_size: int | None = None,
            progress=None, threads: int | None = 1) -> EmuResult:
    """Run ``spikes`` (N, *model.input_shape, T) of 0/1 through ``model`` (NetxModel or EmuNet).

    Returns :class:`EmuResult` with the output spikes (N, classes, T), and with ``record=True``
    every synaptic layer's spikes. ``progress``: optional callable receiving the number of
    samples finished after each batch. Runs under ``torch.no_grad`` on the CPU.

    ``threads``: torch intra-op threads while emulating (restored afterwards). The default 1 is
    deliberate: the neuron update is many small element-wise steps, and on a busy machine
    torch's thread pool made them ~40x slower (measured: 0.35 s single-threaded vs 15 s with
    2 threads for 5,000 samples of a 784-64-10 net, T = 16). ``None`` keeps torch's setting.
    The synaptic matmul/conv, which does scale, runs with the caller's torch thread count.
    """
    net = model if isinstance(model, EmuNet) else compile_model(model)
    x = check_spikes(spikes, net.input_shape)
    N, T = x.shape[0], x.shape[-1]
    bs = batch_size or auto_batch(net, T)
    outs, recs = [], None
    gemm_threads = torch.get_num_threads()
    with torch.no_grad(), _torch_threads(threads):
        for lo in range(0, N, bs):
            o, r = _run_chunk(net, x[lo:lo + bs], record, gemm_threads)
            outs.append(o)
            if record:
                recs = [[] for _ in r] if recs is None else recs
                for acc, part in zip(recs, r):
                    acc.append(part)
            if progress is not None:
                progress(min(N, lo + bs))
    out = torch.cat(outs, dim=0) if outs else torch.zeros((0, net.num_classes, T), dtype=torch.uint8)
    layers = [torch.cat(acc, dim=0) for acc in recs] if recs is not None else ([] if record else None)
    return EmuResult(spikes=out, layers=layers)
