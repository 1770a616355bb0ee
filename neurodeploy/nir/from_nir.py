"""NIR graph -> NetX model: fold each chain ``ops -> neuron`` into one CUBA layer, then quantise.

Folding (the equations are in :mod:`neurodeploy.nir.convention`)
---------------------------------------------------------------
The nodes between two neuron nodes (``Affine``/``Linear``, ``Conv2d``, ``SumPool2d``,
``AvgPool2d``, ``Flatten``) are linear maps and become the layer's synapse:

* ``[Flatten] Affine|Linear`` -> a dense layer (a NetX ``flatten`` first when the input is a map);
* ``Conv2d`` -> a conv layer; ``SumPool2d``/``AvgPool2d`` -> a conv with fixed weights (one
  ``k x k`` kernel of ones, or 1/k², per channel, stride and padding of the pool);
* ``SumPool2d|AvgPool2d -> Conv2d`` (pool stride = kernel, no pool padding) -> one conv with the
  kernel spread over the pool window;
* any other sequence that ends in ``Affine``/``Linear`` -> its dense matrix, computed by pushing
  the identity through the ops in float64.

The neuron node gives per neuron a current decay ``di = dt/τ_syn`` (1 for LIF and IF), a
voltage decay ``dv = dt/τ_mem`` (0 for IF), an input gain ``g`` (``dt·w_in/τ_syn · dt·r/τ_mem``
for CubaLIF, ``dt·r/τ`` for LIF, ``dt·r`` for IF), a threshold ``θ`` and ``v_leak``. Because
``v`` is linear in the input until it crosses θ and resets to 0, a per-neuron gain and threshold
are folded into the weight rows: ``W_i <- W_i·g_i/θ_i`` and the threshold becomes 1 (rows are left
unscaled when every neuron has θ and g = 1 in common). ``v_leak`` becomes the Lava bias
``dv·v_leak`` (added to v every step); an Affine bias becomes that bias when ``di = 1``.

Refused, with one line naming the node (``--approximate`` allows those marked *):
``v_reset ≠ 0``; ``τ < dt``; a non-positive threshold or gain; ``v_leak ≠ 0`` where the voltage
decay quantises to 0; per-neuron time constants in one layer (*: the median is used); an Affine bias into a
synaptic current (*: its steady state ``g·b/di`` is added to v); a per-neuron gain or threshold
that varies inside a conv channel; weight nodes after the last neuron; a recurrent weight on a conv
layer or not of shape (n, n); branches and cycles other than a neuron's own weight.

Recurrence: a neuron's own recurrent weight (``neuron -> Linear|Affine -> same neuron``, inline or as
a subgraph, snnTorch's RLeaky/RSynaptic) becomes a NetX ``dense_rec`` layer. Its spikes of step
``t − 1`` join the input of step ``t`` (NIR's reading in :mod:`neurodeploy.nir.convention`, Lava's
one-step Dense buffer), behind the same input gain ``g``, so its rows are folded with the same
``g_i/θ_i`` scale, ``[W | W_rec]`` is quantised as one matrix (NetX gives both one exponent) and an
Affine bias of the recurrent weight adds to the layer's bias.

Quantisation
------------
A layer whose values are already NetX values (``64·w`` integers that Lava loads unchanged,
``64·θ`` an integer, decays ``4096·d`` integers) is stored exactly: the round trip NetX -> NIR ->
NetX is bit-identical; so is a layer whose weights relative to θ lie on a power-of-two grid
that fits 8 bits (quantisation-aware training): ``vThMant = 2**k``. Otherwise, with the threshold
normalised to 1 (weights W relative to θ), ``vThMant = floor(254/max|W|)`` (17 bit) and ``u = vThMant/2`` make the largest weight an 8-bit
mantissa of at most 127: weights ``2·round(W·u)`` (SLAYER's storage, even integers in [-256, 254]; Lava derives its
per-layer weight exponent from them, recorded per layer), bias ``round(b·vThMant)`` (16 bit); decays ``round(4096·d)``
(12 bit). Lava loads exactly these values (checked against Lava's weight handling in
:mod:`neurodeploy.runtime.cuba_fixed`), so every rounding happens here and is recorded.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from neurodeploy import netx
from neurodeploy.nir.convention import CARD_KEY, Convention
from neurodeploy.nir.graph import NEURON_TYPES, NirImportError, input_shape, walk
from neurodeploy.schemas.model_card import MAX_INPUT_MESSAGE_BITS

MAX_V_TH_MANT = (1 << 17) - 1
INT16 = 32767
OP_TYPES = ("Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten")


@dataclass
class ImportedLayer:
    """Where one NetX synaptic layer came from and how it was quantised."""

    nodes: list            # the NIR op nodes folded into the synapse (and the recurrent weight)
    neuron: str            # the NIR neuron node
    kind: str              # "dense" | "dense_rec" | "conv"
    lossless: bool         # stored exactly (no rounding anywhere)
    exponent: int | None   # Lava's per-layer weight exponent of the stored weights (None when stored exactly)
    v_th_mant: int
    i_decay: int
    v_decay: int
    max_weight_error: float  # max |W_quantised - W| relative to the threshold
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"nodes": list(self.nodes), "neuron": self.neuron, "kind": self.kind, "lossless": self.lossless,
                "exponent": self.exponent, "vThMant": self.v_th_mant, "iDecay": self.i_decay,
                "vDecay": self.v_decay, "max_weight_error": self.max_weight_error, "notes": list(self.notes)}


@dataclass
class Imported:
    """The NetX model of a NIR graph, its per-layer provenance and the approximations made."""

    model: netx.NetxModel
    layers: list
    convention: Convention
    approximations: list = field(default_factory=list)
    source_card: dict | None = None   # the model card a neurodeploy export stored in the graph


# ----------------------------------------------------------------------------- small helpers
def _arr(node, attr: str, name: str) -> np.ndarray:
    v = getattr(node, attr, None)
    if v is None:
        raise NirImportError(f"node '{name}': {type(node).__name__} has no '{attr}'")
    a = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise NirImportError(f"node '{name}': '{attr}' holds NaN or inf")
    return a


def _pair(v, name: str, what: str) -> tuple:
    if isinstance(v, str):
        raise NirImportError(f"node '{name}': {what} '{v}' given as a string; give integers")
    a = np.asarray(v).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, 2)
    if a.size != 2 or np.any(a < 0) or not np.all(a == np.round(a)):
        raise NirImportError(f"node '{name}': {what} {a.tolist()} is not two non-negative integers")
    return int(a[0]), int(a[1])


def _close_to_int(x: np.ndarray, tol: float = 1e-6) -> bool:
    x = np.asarray(x, dtype=np.float64)
    return bool(np.all(np.abs(x - np.rint(x)) <= tol * np.maximum(1.0, np.abs(x))))


# ----------------------------------------------------------------------------- linear ops
@dataclass
class _Op:
    name: str
    node: object


def _conv_out(shape: tuple, k: tuple, s: tuple, p: tuple, d: tuple = (1, 1)) -> tuple:
    return tuple(netx.conv_output_size(n, kk, ss, pp, dd) for n, kk, ss, pp, dd in zip(shape, k, s, p, d))


def _pool_kernel(op: _Op, channels: int) -> tuple:
    """A pool node as (weight (C, C, kH, kW), stride, padding)."""
    kh, kw = _pair(op.node.kernel_size, op.name, "kernel_size")
    stride = _pair(op.node.stride, op.name, "stride")
    padding = _pair(op.node.padding, op.name, "padding")
    if kh < 1 or kw < 1 or stride[0] < 1 or stride[1] < 1:
        raise NirImportError(f"node '{op.name}': kernel and stride must be >= 1")
    value = 1.0 if type(op.node).__name__ == "SumPool2d" else 1.0 / (kh * kw)
    w = np.zeros((channels, channels, kh, kw), dtype=np.float64)
    for c in range(channels):
        w[c, c] = value
    return w, stride, padding


def _conv_params(op: _Op, shape: tuple) -> dict:
    """A Conv2d node as float64 weight/bias and geometry, checked against the input ``shape``."""
    n = op.node
    w = _arr(n, "weight", op.name)
    if w.ndim != 4:
        raise NirImportError(f"node '{op.name}': Conv2d weight must be (Cout, Cin, kH, kW), got {w.shape}")
    groups = int(np.asarray(getattr(n, "groups", 1)).reshape(-1)[0])
    if len(shape) != 3 or shape[0] != w.shape[1] * groups:
        raise NirImportError(f"node '{op.name}': Conv2d expects {w.shape[1] * groups} input channels, "
                             f"gets shape {shape}")
    pad = getattr(n, "padding", 0)
    if isinstance(pad, str):
        if pad == "valid":
            pad = (0, 0)
        elif pad == "same" and all(k % 2 == 1 for k in w.shape[2:]) and \
                np.all(np.asarray(n.stride) == 1) and np.all(np.asarray(n.dilation) == 1):
            pad = (w.shape[2] // 2, w.shape[3] // 2)
        else:
            raise NirImportError(f"node '{op.name}': padding '{pad}' is supported only as 'valid', or 'same' "
                                 f"with odd kernels, stride 1 and dilation 1")
    b = getattr(n, "bias", None)
    bias = np.zeros(w.shape[0]) if b is None or np.asarray(b).size == 0 else _arr(n, "bias", op.name)
    if bias.size == 1:
        bias = np.full(w.shape[0], float(bias.reshape(-1)[0]))
    if bias.shape != (w.shape[0],):
        raise NirImportError(f"node '{op.name}': bias shape {bias.shape} does not match {w.shape[0]} channels")
    p = dict(weight=w, bias=bias, stride=_pair(n.stride, op.name, "stride"), padding=_pair(pad, op.name, "padding"),
             dilation=_pair(n.dilation, op.name, "dilation"), groups=groups)
    out = _conv_out(shape[1:], w.shape[2:], p["stride"], p["padding"], p["dilation"])
    if min(out) < 1:
        raise NirImportError(f"node '{op.name}': a {w.shape[2:]} kernel does not fit the input {shape}")
    p["shape"] = (int(w.shape[0]), *out)
    return p


def _apply_ops(ops: list, x, shape: tuple):
    """Run float64 torch tensors ``x`` (B, *shape) through linear op nodes (for folding into dense)."""
    import torch
    import torch.nn.functional as F

    for op in ops:
        t = type(op.node).__name__
        if t == "Flatten":
            x = x.reshape(x.shape[0], -1)
        elif t in ("Affine", "Linear"):
            w = torch.from_numpy(_arr(op.node, "weight", op.name))
            x = x.reshape(x.shape[0], -1) @ w.t()
            if t == "Affine":
                x = x + torch.from_numpy(_arr(op.node, "bias", op.name))
        elif t == "Conv2d":
            p = _conv_params(op, tuple(x.shape[1:]))
            x = F.conv2d(x, torch.from_numpy(p["weight"]), torch.from_numpy(p["bias"]), p["stride"], p["padding"],
                         p["dilation"], p["groups"])
        else:
            w, s, pd = _pool_kernel(op, int(x.shape[1]))
            x = F.conv2d(x, torch.from_numpy(w), None, s, pd)
    return x


def _dense_from_ops(ops: list, shape: tuple) -> tuple:
    """Fold ops ending in Affine/Linear into (W (out, in), bias (out,)) for a flattened input."""
    import torch

    last = ops[-1]
    simple = all(type(o.node).__name__ == "Flatten" for o in ops[:-1])
    if simple:
        w = _arr(last.node, "weight", last.name)
        if w.ndim != 2 or w.shape[1] != int(np.prod(shape)):
            raise NirImportError(f"node '{last.name}': weight {w.shape} does not take the {shape} input")
        b = _arr(last.node, "bias", last.name) if type(last.node).__name__ == "Affine" else np.zeros(w.shape[0])
        if b.shape != (w.shape[0],):
            raise NirImportError(f"node '{last.name}': bias shape {b.shape} does not match weight {w.shape}")
        return w, b
    n_in = int(np.prod(shape))
    if n_in > 1 << 15:
        raise NirImportError(f"node '{ops[0].name}': folding {[o.name for o in ops]} into one dense layer "
                             f"needs a {n_in}-input identity; too large")
    with torch.no_grad():
        try:
            zero = _apply_ops(ops, torch.zeros((1, *shape), dtype=torch.float64), shape).reshape(-1)
            eye = torch.eye(n_in, dtype=torch.float64).reshape(n_in, *shape)
            y = _apply_ops(ops, eye, shape).reshape(n_in, -1) - zero
        except RuntimeError as e:
            raise NirImportError(f"node '{ops[0].name}': the ops {[o.name for o in ops]} do not fit the input "
                                 f"{shape} ({str(e).splitlines()[0]})") from None
    return y.t().contiguous().numpy(), zero.numpy()


def _fold_synapse(ops: list, shape: tuple, neuron: str) -> dict:
    """The synapse of one layer: dict(kind, weight, bias, out_shape, flatten, conv geometry, nodes)."""
    types = [type(o.node).__name__ for o in ops]
    names = [o.name for o in ops]
    weighted = [t for t in types if t != "Flatten"]
    if not weighted:
        raise NirImportError(f"node '{neuron}': a neuron with no weight node before it "
                             f"(NetX layers are weights + neurons)")
    if types[-1] in ("Affine", "Linear"):
        w, b = _dense_from_ops(ops, shape)
        return dict(kind="dense", weight=w, bias=b, out_shape=(int(w.shape[0]),), flatten=len(shape) != 1,
                    nodes=names)
    if "Flatten" in types:
        raise NirImportError(f"node '{names[types.index('Flatten')]}': Flatten before a {types[-1]} (only a "
                             f"dense layer may follow a flatten)")
    if len(shape) != 3:
        raise NirImportError(f"node '{names[0]}': {types[0]} needs a (C, H, W) input, gets {shape}")
    if weighted == ["Conv2d"]:
        p = _conv_params(ops[0], shape)
        return dict(kind="conv", out_shape=p.pop("shape"), flatten=False, nodes=names, **p)
    if len(weighted) == 1:  # a pool: a conv with fixed weights
        w, s, pd = _pool_kernel(ops[0], shape[0])
        out = _conv_out(shape[1:], w.shape[2:], s, pd)
        return dict(kind="conv", weight=w, bias=np.zeros(shape[0]), stride=s, padding=pd, dilation=(1, 1),
                    groups=1, out_shape=(shape[0], *out), flatten=False, nodes=names)
    if weighted in (["SumPool2d", "Conv2d"], ["AvgPool2d", "Conv2d"]):
        pw, ps, pp = _pool_kernel(ops[0], shape[0])
        k = pw.shape[2:]
        pooled = (shape[0], *_conv_out(shape[1:], k, ps, pp))
        c = _conv_params(ops[1], pooled)
        ok = tuple(ps) == tuple(k) and pp == (0, 0) and c["dilation"] == (1, 1) and c["groups"] == 1 and \
            (c["padding"] == (0, 0) or (shape[1] % k[0] == 0 and shape[2] % k[1] == 0))
        if not ok:
            raise NirImportError(f"node '{ops[0].name}': a pool followed by Conv2d '{ops[1].name}' without a neuron "
                                 f"between folds only with pool stride = kernel, no pool padding, conv dilation 1, "
                                 f"groups 1")
        scale = pw[0, 0, 0, 0]
        w = np.repeat(np.repeat(c["weight"], k[0], axis=2), k[1], axis=3) * scale
        stride = (c["stride"][0] * k[0], c["stride"][1] * k[1])
        padding = (c["padding"][0] * k[0], c["padding"][1] * k[1])
        out = _conv_out(shape[1:], w.shape[2:], stride, padding)
        if tuple(out) != tuple(c["shape"][1:]):
            raise NirImportError(f"node '{ops[0].name}': pool + conv fold gives {out}, expected {c['shape'][1:]}")
        return dict(kind="conv", weight=w, bias=c["bias"], stride=stride, padding=padding, dilation=(1, 1),
                    groups=1, out_shape=c["shape"], flatten=False, nodes=names)
    raise NirImportError(f"node '{names[0]}': {' -> '.join(types)} without a neuron between cannot be folded "
                         f"into one NetX layer")


# ----------------------------------------------------------------------------- neurons
@dataclass
class _NeuronFloat:
    """Per-neuron float parameters of a neuron node, in the discrete convention."""

    di: np.ndarray
    dv: np.ndarray
    gain: np.ndarray
    theta: np.ndarray
    v_leak: np.ndarray


def _neuron_params(name: str, node, shape: tuple, conv: Convention) -> _NeuronFloat:
    t = type(node).__name__
    dt = conv.dt

    def get(attr):
        a = _arr(node, attr, name)
        try:
            return np.broadcast_to(a, shape).astype(np.float64)
        except ValueError:
            raise NirImportError(f"node '{name}': '{attr}' of shape {a.shape} does not fit the layer's {shape} "
                                 f"neurons") from None

    def decay(tau, attr):
        if np.any(tau <= 0):
            raise NirImportError(f"node '{name}': {attr} must be positive")
        d = conv.decay_fraction(tau)
        if np.any(d > 1 + 1e-9):
            raise NirImportError(f"node '{name}': {attr} = {tau.min():.3g} is below dt = {dt:g} (the Euler step "
                                 f"would overshoot; NetX decays are at most 1)")
        return np.minimum(d, 1.0)

    if t == "CubaLIF":
        di, dv = decay(get("tau_syn"), "tau_syn"), decay(get("tau_mem"), "tau_mem")
        gain = (dt * get("w_in") / get("tau_syn")) * (dt * get("r") / get("tau_mem"))
        leak = get("v_leak")
    elif t == "LIF":
        dv = decay(get("tau"), "tau")
        di = np.ones(shape)
        gain = dt * get("r") / get("tau")
        leak = get("v_leak")
    elif t == "IF":
        di, dv = np.ones(shape), np.zeros(shape)
        gain = dt * get("r")
        leak = np.zeros(shape)
    else:
        raise NirImportError(f"node '{name}': neuron type {t} is not supported ({', '.join(NEURON_TYPES)})")
    theta = get("v_threshold")
    if getattr(node, "v_reset", None) is not None and np.any(get("v_reset") != 0):
        raise NirImportError(f"node '{name}': v_reset = {get('v_reset').reshape(-1)[0]:g} is not 0 (Lava resets "
                             f"v to 0 after a spike)")
    if np.any(theta <= 0):
        raise NirImportError(f"node '{name}': v_threshold must be positive (Lava compares v > vThMant·64, "
                             f"vThMant unsigned)")
    if np.any(gain <= 0):
        raise NirImportError(f"node '{name}': the input gain (r, w_in) must be positive")
    return _NeuronFloat(di=di, dv=dv, gain=gain, theta=theta, v_leak=leak)


def _layer_decay(name: str, what: str, d: np.ndarray, conv: Convention, approximate: bool, notes: list) -> tuple:
    """One 12-bit decay for the layer: (int, exact?)."""
    q = np.rint(d * conv.decay_unity)
    if q.min() != q.max():
        if not approximate:
            raise NirImportError(f"node '{name}': per-neuron {what} (12-bit decays {int(q.min())}..{int(q.max())}); "
                                 f"a NetX layer has one (use --approximate to take the median)")
        notes.append(f"{what}: per-neuron decays {int(q.min())}..{int(q.max())} replaced by their median")
        return int(np.median(q)), False
    return int(q.reshape(-1)[0]), _close_to_int(d * conv.decay_unity, 1e-9)


# ----------------------------------------------------------------------------- quantisation
def _lava_dense(w: np.ndarray, n_in: int | None) -> tuple:
    """(effective weights as Lava uses them, exponent) of dense ``w``, or of ``[W | W_rec]`` split at ``n_in``."""
    from neurodeploy.runtime.cuba_fixed import lava_dense_rec_weights, lava_dense_weights

    if n_in is None:
        return lava_dense_weights(w)
    eff, exp, eff_rec = lava_dense_rec_weights(w[:, :n_in], w[:, n_in:])
    return np.hstack([eff, eff_rec]), exp


def _lava_lossless_dense(w: np.ndarray, n_in: int | None = None) -> bool:
    try:
        eff, exp = _lava_dense(w, n_in)
    except Exception:   # all-zero layers and the like: not lossless
        return False
    back = eff * (2.0 ** exp) if exp < 0 else eff * (1 << exp)
    return bool(np.array_equal(back.astype(np.float64), np.asarray(w, dtype=np.float64)))


def _quantise(name: str, kind: str, w: np.ndarray, vbias: np.ndarray | None, theta: float,
              conv: Convention, n_in: int | None = None) -> tuple:
    """(w_file, bias_file or None, vThMant, exponent or None, lossless, max error rel. to θ).

    ``n_in``: ``w`` is a recurrent layer's ``[W | W_rec]``, W having ``n_in`` columns (one exponent for both)."""
    s = conv.weight_scale
    w64, t64 = w * s, theta * s
    b64 = None if vbias is None else vbias * s
    if (_close_to_int(w64) and _close_to_int(np.asarray(t64)) and 1 <= round(t64) <= MAX_V_TH_MANT
            and (b64 is None or (_close_to_int(b64) and np.abs(np.rint(b64)).max() <= INT16))):
        wq = np.rint(w64)
        if (kind == "conv" and np.abs(wq).max() <= 254) or (kind == "dense" and _lava_lossless_dense(wq, n_in)):
            bq = None if b64 is None else np.rint(b64)
            return wq, bq, int(round(t64)), None, True, float(np.abs(wq / round(t64) - w / theta).max())
    wn = w / theta
    bn = None if vbias is None else vbias / theta
    m = float(np.abs(wn).max())
    if m == 0:
        raise NirImportError(f"node '{name}': all weights are zero (Lava NetX cannot load such a layer)")
    # weights already on a power-of-two grid that fits 8 bits (e.g. quantisation-aware training): exact
    k = int(np.floor(np.log2(254.0 / m)))
    if 0 <= k <= 16 and _close_to_int(wn * 2.0 ** (k - 1)) and (bn is None or _close_to_int(bn * 2.0 ** k)) \
            and (bn is None or np.abs(np.rint(bn * 2.0 ** k)).max() <= INT16):
        vth = 1 << k
        wq = 2 * np.rint(wn * 2.0 ** (k - 1))
        bq = None if bn is None else np.rint(bn * vth)
        if kind == "conv" or _lava_lossless_dense(wq, n_in):
            return wq, bq, vth, None, True, float(np.abs(wq / vth - wn).max())
    # mantissa unit: the largest weight becomes 127 (8 bit), unless the threshold mantissa would overflow
    vth = int(min(np.floor(254.0 / m), MAX_V_TH_MANT))      # the threshold mantissa is exact ...
    unit = vth / 2.0                                          # ... and the weights round relative to it
    if vth < 1:
        raise NirImportError(f"node '{name}': weights up to {m:.3g} times the threshold do not fit 8 bits with a "
                             f"threshold mantissa >= 1")
    wq = 2 * np.clip(np.rint(wn * unit), -128, 127)
    bq = None
    if bn is not None:
        bq = np.rint(bn * vth)
        if np.abs(bq).max() > INT16:
            raise NirImportError(f"node '{name}': bias {np.abs(bn).max():.3g} x threshold does not fit Lava's "
                                 f"16-bit bias")
    exponent = 0
    if kind == "dense":
        if not _lava_lossless_dense(wq, n_in):   # even integers in [-256, 254] always are
            raise NirImportError(f"node '{name}': internal: quantised weights are not loaded unchanged by Lava")
        exponent = int(_lava_dense(wq, n_in)[1])
    return wq, bq, vth, exponent, False, float(np.abs(wq / vth - wn).max())


# ----------------------------------------------------------------------------- import
def _with_recurrent_weight(neuron: str, rec: tuple, syn: dict) -> tuple:
    """The synapse with the neuron's own weight appended: (syn with weight ``[W | W_rec]``, n_in).

    W_rec's input (the neuron's spikes of the step before) enters where W's does, so both are folded
    and quantised together; an Affine bias of W_rec adds to the synapse's bias (both enter every step)."""
    w_name, node = rec
    if syn["kind"] != "dense":
        raise NirImportError(f"node '{neuron}': recurrent weight '{w_name}' on a conv layer (NetX's dense_rec "
                             f"is a dense layer)")
    n = int(syn["weight"].shape[0])
    w_rec = _arr(node, "weight", w_name)
    if w_rec.shape != (n, n):
        raise NirImportError(f"node '{w_name}': recurrent weight of shape {w_rec.shape} does not map the "
                             f"{n} neurons of '{neuron}' to themselves")
    bias = np.asarray(syn["bias"], dtype=np.float64).reshape(-1)
    syn = {**syn, "bias_node": syn["nodes"][-1]}     # the bias a refusal names: the input weight's ...
    if type(node).__name__ == "Affine":
        b = _arr(node, "bias", w_name).reshape(-1)
        if b.size not in (1, n):
            raise NirImportError(f"node '{w_name}': bias shape {b.shape} does not match {n} neurons")
        if np.any(b) and not np.any(bias):
            syn["bias_node"] = w_name                # ... or, when only it has one, the recurrent weight's
        bias = bias + b
    n_in = int(syn["weight"].shape[1])
    return {**syn, "weight": np.hstack([syn["weight"], w_rec]), "bias": bias,
            "nodes": [*syn["nodes"], w_name]}, n_in


def _fold_neuron(name: str, node, syn: dict, conv: Convention, approximate: bool, notes: list) -> tuple:
    """Fold gains/thresholds/leak into the synapse; returns (W, v-bias or None, θ, iDecay, vDecay, exact?)."""
    shape = syn["out_shape"]
    p = _neuron_params(name, node, shape, conv)
    i_dec, i_exact = _layer_decay(name, "current decay (tau_syn)", p.di, conv, approximate, notes)
    v_dec, v_exact = _layer_decay(name, "voltage decay (tau_mem/tau)", p.dv, conv, approximate, notes)
    if v_dec == 0 and np.any(p.v_leak != 0):
        raise NirImportError(f"node '{name}': v_leak ≠ 0 with a voltage decay that is 0 in 12 bits (τ ≥ 8192·dt) "
                             f"has no Lava form (Lava's bias is dv·v_leak)")
    di_layer = i_dec / conv.decay_unity
    dv_layer = v_dec / conv.decay_unity
    b_in = np.asarray(syn["bias"], dtype=np.float64)
    b_in = b_in.reshape(-1, 1, 1) * np.ones(shape) if syn["kind"] == "conv" else b_in.reshape(shape)
    vbias = dv_layer * p.v_leak
    if np.any(b_in != 0):
        if i_dec == conv.decay_unity:
            vbias = vbias + p.gain * b_in
        elif approximate:
            notes.append("bias into a synaptic current replaced by its steady state g·b/di added to v")
            vbias = vbias + p.gain * b_in / max(di_layer, 1.0 / conv.decay_unity)
        else:
            raise NirImportError(f"node '{syn.get('bias_node', syn['nodes'][-1])}': a bias feeding the synaptic current of '{name}' "
                                 f"(tau_syn) has no Lava form (Lava adds biases to v; use --approximate for its "
                                 f"steady state)")
    scale = p.gain / p.theta                        # per neuron: W_i <- W_i·g_i/θ_i
    uniform = np.all(p.theta == p.theta.reshape(-1)[0]) and np.allclose(p.gain, 1.0, rtol=1e-9, atol=0)
    if syn["kind"] == "conv":
        per_ch = scale.reshape(shape[0], -1)
        if not np.allclose(per_ch, per_ch[:, :1], rtol=1e-12, atol=0):
            raise NirImportError(f"node '{name}': gain or threshold varies inside a conv channel (a conv kernel "
                                 f"is shared by the channel's neurons)")
        bias_ch = vbias.reshape(shape[0], -1)
        if not np.allclose(bias_ch, bias_ch[:, :1], rtol=1e-12, atol=0):
            raise NirImportError(f"node '{name}': v_leak varies inside a conv channel (Lava's conv bias is per "
                                 f"channel)")
    if uniform:
        theta = float(p.theta.reshape(-1)[0])
        w, vb = syn["weight"], vbias
    else:
        theta = 1.0
        if syn["kind"] == "conv":
            ch = scale.reshape(shape[0], -1)[:, 0]
            w = syn["weight"] * ch.reshape(-1, 1, 1, 1)
        else:
            w = syn["weight"] * scale.reshape(-1, 1)
        vb = vbias / p.theta
    if syn["kind"] == "conv":
        vb = vb.reshape(shape[0], -1)[:, 0]
    vb = None if not np.any(vb) else vb
    return w, vb, theta, i_dec, v_dec, i_exact and v_exact


def from_nir(graph, approximate: bool = False, convention: Convention | None = None) -> Imported:
    """Convert a NIR graph (``nir.NIRGraph``) into a :class:`NetxModel`; refuses with one line naming the node."""
    import nir

    if not isinstance(graph, nir.NIRGraph):
        raise NirImportError(f"expected a NIR graph, got a single {type(graph).__name__} node")
    conv = convention or Convention.from_metadata(getattr(graph, "metadata", {}) or {})
    walked = walk(graph)
    nodes = walked.nodes
    in_name, in_node = nodes[0]
    shape = input_shape(in_name, in_node)
    layers: list = [netx.InputLayer(shape=shape)]
    info: list = []
    approximations: list = []
    ops: list = []
    for name, node in nodes[1:-1]:
        t = type(node).__name__
        if t in OP_TYPES:
            if t == "Flatten":
                start, end = int(getattr(node, "start_dim", 0)), int(getattr(node, "end_dim", -1))
                cur = shape if not ops else None
                if cur is not None and len(cur) > 1 and not (start == 0 and end in (-1, len(cur) - 1)):
                    raise NirImportError(f"node '{name}': Flatten of dims {start}..{end} of {cur} (only a full "
                                         f"flatten, start_dim 0, maps to NetX)")
            ops.append(_Op(name, node))
            continue
        if t not in NEURON_TYPES:
            raise NirImportError(f"node '{name}': node type {t} is not supported (supported: "
                                 f"{', '.join(OP_TYPES + NEURON_TYPES)}, Input, Output)")
        syn = _fold_synapse(ops, shape, name)
        n_in = None
        if name in walked.recurrent:
            syn, n_in = _with_recurrent_weight(name, walked.recurrent[name], syn)
        notes: list = []
        w, vb, theta, i_dec, v_dec, decay_exact = _fold_neuron(name, node, syn, conv, approximate, notes)
        wq, bq, vth, e, lossless, err = _quantise(name, syn["kind"], w, vb, theta, conv, n_in)
        neuron = netx.CubaNeuron(i_decay=i_dec, v_decay=v_dec, v_th_mant=vth)
        if syn["flatten"]:
            layers.append(netx.FlattenLayer(shape=(int(np.prod(shape)),)))
        if n_in is not None:
            layers.append(netx.RecurrentDenseLayer(weight=wq[:, :n_in].astype(np.float32),
                                                   weight_rec=wq[:, n_in:].astype(np.float32), neuron=neuron,
                                                   bias=None if bq is None else bq.astype(np.float32)))
        elif syn["kind"] == "dense":
            layers.append(netx.DenseLayer(weight=wq.astype(np.float32), neuron=neuron,
                                          bias=None if bq is None else bq.astype(np.float32)))
        else:
            layers.append(netx.ConvLayer(weight=wq.astype(np.float32), neuron=neuron, shape=tuple(syn["out_shape"]),
                                         stride=tuple(syn["stride"]), padding=tuple(syn["padding"]),
                                         dilation=tuple(syn["dilation"]), groups=int(syn["groups"]),
                                         bias=None if bq is None else bq.astype(np.float32)))
        info.append(ImportedLayer(nodes=syn["nodes"], neuron=name, kind="dense_rec" if n_in else syn["kind"], lossless=lossless and decay_exact,
                                  exponent=e, v_th_mant=vth, i_decay=i_dec, v_decay=v_dec, max_weight_error=err,
                                  notes=notes))
        approximations += [f"{name}: {n}" for n in notes]
        shape = tuple(syn["out_shape"])
        ops = []
    if any(type(o.node).__name__ != "Flatten" for o in ops):
        raise NirImportError(f"node '{ops[0].name}': weights after the last neuron layer (every NetX layer ends in "
                             f"neurons; the output must be spikes)")
    if not info:
        raise NirImportError("the graph has no neuron node: nothing for Lava to run")
    out_name, out_node = nodes[-1]
    declared = out_node.output_type.get("output") if isinstance(out_node.output_type, dict) else None
    if declared is not None and np.asarray(declared).size and int(np.prod(np.asarray(declared))) != int(np.prod(shape)):
        raise NirImportError(f"node '{out_name}': declares {np.asarray(declared).tolist()} outputs, the chain gives "
                             f"{list(shape)}")
    if len(shape) == 3 and shape[1] * shape[2] != 1:
        raise NirImportError(f"node '{nodes[-2][0]}': the last neuron layer gives a {shape} map; the output must "
                             f"be one neuron per class")
    source_card = None
    meta = getattr(graph, "metadata", None) or {}
    if isinstance(meta, dict) and meta.get(CARD_KEY):
        try:
            text = meta[CARD_KEY]
            source_card = json.loads(text.decode() if isinstance(text, bytes) else text)
        except (ValueError, TypeError):
            source_card = None
    source_card = source_card if isinstance(source_card, dict) else None
    # a graded-input export's graph takes integer payloads; the NetX model must say how wide (card)
    bits = (source_card or {}).get("input_message_bits")
    valid = isinstance(bits, int) and not isinstance(bits, bool) and 0 < bits <= MAX_INPUT_MESSAGE_BITS
    card = {"input_message_bits": bits} if valid else {}
    return Imported(model=netx.NetxModel(layers=layers, card=card), layers=info, convention=conv,
                    approximations=approximations, source_card=source_card)
