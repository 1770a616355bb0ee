"""Lava's fixed-point arithmetic for NetX networks, as pure functions (numpy / torch, no Lava import).

Everything here mirrors, operation by operation, what lava-nc 0.10.0 / lava-dl 0.6.0 do when
``lava.lib.dl.netx.hdf5.Network`` runs with ``Loihi2SimCfg(select_tag='fixed_pt')``:

Weights of a dense layer (``netx/hdf5.py`` ``create_dense``, ``netx/utils.py``
``optimize_weight_bits``, ``proc/dense/models.py`` ``PyDenseModelBitAcc``,
``utils/weightutils.py``)::

    w  = int(weight)                            # NetDict casts with astype(int): truncation
    w, nbits, wexp = netx optimize_weight_bits(w)   # w << scale_bits, wexp = -scale_bits
    sign = determine_sign_mode(w)               # the Dense model recomputes it
    w  = truncate_weights(clip_weights(w, sign, 8), sign, nbits)
    a[t+1] = (w @ s[t]) >> -wexp  (or << wexp)  # arithmetic shift of the *sum*; one step later

Conv layers (``proc/conv/models.py`` ``PyConvModelFixed``): NetX flips and transposes the kernel
to Lava's (out, W, H, in) layout, and Lava's ``conv`` undoes both, so the result is PyTorch's
cross-correlation with the stored (out, in/groups, kH, kW) weight, in exact float64, cast to
int32 and wrapped to signed 24 bit. No weight exponent, no truncation.

CUBA neuron (``proc/lif/models.py`` ``AbstractPyLifModelFixed``/``PyLifModelBitAcc``;
NetX sets ``du = iDecay - 1``, ``dv = vDecay``, ``vth = vThMant``, ``bias_exp = 6``;
Lava adds ``ds_offset = 1`` to du and ``dm_offset = 0`` to dv)::

    u = trunc(u * (4096 - iDecay) / 4096) + (a << 6)      # int32 arithmetic
    u = u - 2**24 if u > 2**23;  u = u + 2**24 if u <= -2**23   (24-bit wrap, asymmetric)
    v = trunc(v * (4096 - vDecay) / 4096) + u + (bias << 6)
    v = clip(v, -(2**23 - 1), 2**23 - 1)
    s = v > (vThMant << 6);  v[s] = 0

``trunc`` rounds toward zero (Lava: ``sign(x) * (|x| >> 12)``). The bias mantissa is stored as
int16 by Lava's builder. Lava's int32 arithmetic can wrap only when ``|a| >= 2**18``; layers
whose weights allow that are run with every int32 wrap emulated (``exact_wraps``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurodeploy.errors import BadInputError

U_BITS = 24
U_MAX = 1 << (U_BITS - 1)          # 2**23
DECAY_SHIFT = 12
DECAY_UNITY = 1 << DECAY_SHIFT     # 4096
ACT_SHIFT = 6
VTH_SHIFT = 6
BIAS_EXP = 6
SAFE_ACTIVATION = 1 << 18          # |a| below this: no int32 overflow anywhere in the neuron


# ----------------------------------------------------------------------------- weights
def netx_optimize_weight_bits(weight: np.ndarray) -> tuple:
    """Copy of ``lava.lib.dl.netx.utils.optimize_weight_bits`` (without its prints).

    Returns (shifted int weights, num_weight_bits, weight_exponent, sign_mode) with
    sign_mode 1 mixed, 2 excitatory, 3 inhibitory.
    """
    weight = np.asarray(weight)
    max_weight = np.max(weight)
    min_weight = np.min(weight)
    if max_weight > 254 and min_weight < 0:
        weight = np.clip(weight, -256, 254)
        max_weight = np.max(weight)
    if min_weight < -256 and max_weight > 0:
        weight = np.clip(weight, -256, 254)
        min_weight = np.min(weight)
    if max_weight < 0:
        sign_mode, is_signed = 3, 0
    elif min_weight >= 0:
        sign_mode, is_signed = 2, 0
    else:
        sign_mode, is_signed = 1, 1
    if max_weight == 0 and min_weight == 0:
        raise BadInputError("all weights of a dense layer are zero: Lava NetX cannot load it")
    if sign_mode == 1:
        with np.errstate(divide="ignore"):  # max_weight 0 gives inf, as in Lava, and min() takes the other
            scale = np.min([np.float64(127) / max_weight, np.float64(-128) / min_weight])
    elif sign_mode == 3:
        scale = -256 / min_weight
    else:
        scale = 255 / max_weight
    scale_bits = np.floor(np.log2(scale)) + is_signed
    n = _trailing_zero_bits(weight, 8)
    n -= is_signed
    num_weight_bits = 8 - scale_bits - n
    weight_exponent = -scale_bits
    weight = np.left_shift(weight.astype(np.int32), int(scale_bits))
    return weight.astype(int), int(num_weight_bits), int(weight_exponent), sign_mode


def _trailing_zero_bits(weight: np.ndarray, most: int) -> int:
    """The largest n <= ``most`` with every weight / 2**n an integer (Lava: the first n, counting
    down from ``most``, whose rounding error is 0). Integer weights: the lowest set bit of their OR."""
    if np.issubdtype(weight.dtype, np.integer):
        bits = int(np.bitwise_or.reduce(np.abs(weight.astype(np.int64)), axis=None))
        return most if bits == 0 else min(most, (bits & -bits).bit_length() - 1)
    n = most
    while n > 0 and np.sum(np.abs(weight / (2 ** n) - np.round(weight / (2 ** n)))) != 0:
        n -= 1
    return n


def _lava_sign_mode(w: np.ndarray) -> int:
    if np.min(w) >= 0:
        return 2
    if np.max(w) <= 0:
        return 3
    return 1


def _clip_weights(w: np.ndarray, sign_mode: int, num_bits: int) -> np.ndarray:
    w = w.copy().astype(np.int32)
    mixed, inhib = int(sign_mode == 1), int(sign_mode == 3)
    if inhib:
        w = -w
    w = np.clip(w, (-2 ** num_bits) * mixed, 2 ** num_bits - 1)
    return -w if inhib else w


def _truncate_weights(w: np.ndarray, sign_mode: int, num_weight_bits: int) -> np.ndarray:
    w = w.copy().astype(np.int32)
    if sign_mode == 3:
        w = -w
    k = 8 - num_weight_bits + int(sign_mode == 1)
    w = (w >> k) << k
    return -w if sign_mode == 3 else w


def lava_dense_weights(weight: np.ndarray) -> tuple:
    """The integer weights and the output shift Lava's fixed-point Dense model really uses.

    Returns ``(w_eff int64 (out, in), weight_exp)``: ``a = (w_eff @ s) >> -weight_exp`` (or ``<<``).
    """
    w = np.asarray(weight).astype(int)        # NetDict: astype(int) truncates toward zero
    w, nbits, wexp, _ = netx_optimize_weight_bits(w)
    w = w.astype(np.int32)                    # the Dense model's weights Var is int32
    sign = _lava_sign_mode(w)
    w = _clip_weights(w, sign, 8)
    w = _truncate_weights(w, sign, nbits)
    return w.astype(np.int64), int(wexp)


def lava_dense_rec_weights(weight: np.ndarray, weight_rec: np.ndarray) -> tuple:
    """The integer weights Lava's two Dense models of a NetX ``dense_rec`` layer really use.

    NetX optimizes the bits of ``[W | W_rec]`` together (one exponent for both); each Dense model then
    recomputes its own sign mode. Returns ``(w_eff, weight_exp, w_rec_eff)``, int64.
    """
    w = np.hstack([np.asarray(weight).astype(int), np.asarray(weight_rec).astype(int)])
    w, nbits, wexp, _ = netx_optimize_weight_bits(w)
    n_in = np.asarray(weight).shape[1]
    out = []
    for part in (w[:, :n_in], w[:, n_in:]):
        part = part.astype(np.int32)
        sign = _lava_sign_mode(part)
        out.append(_truncate_weights(_clip_weights(part, sign, 8), sign, nbits).astype(np.int64))
    return out[0], int(wexp), out[1]


def lava_conv_weights(weight: np.ndarray) -> np.ndarray:
    """Conv kernels as Lava uses them: ``astype(int)`` then int32, PyTorch orientation kept."""
    return np.asarray(weight).astype(int).astype(np.int32).astype(np.int64)


def lava_bias(bias) -> np.ndarray | None:
    """Effective per-step bias added to v: ``int16(int(bias)) << 6`` (None if absent or all zero)."""
    if bias is None:
        return None
    b = np.asarray(bias).astype(int).astype(np.int32).astype(np.int16).astype(np.int64)
    if not np.any(b):
        return None
    return b << BIAS_EXP


# ----------------------------------------------------------------------------- neuron
@dataclass(frozen=True)
class CubaFixed:
    """Integer parameters of one CUBA layer in Lava fixed point."""

    u_factor: int          # 4096 - iDecay
    v_factor: int          # 4096 - vDecay
    vth: int               # vThMant << 6
    exact_wraps: bool = False

    @classmethod
    def from_neuron(cls, neuron, exact_wraps: bool = False) -> "CubaFixed":
        du = int(neuron.i_decay) - 1 + 1            # NetX du = iDecay - 1, Lava adds ds_offset 1
        dv = int(neuron.v_decay) + 0                # dm_offset 0
        return cls(u_factor=DECAY_UNITY - du, v_factor=DECAY_UNITY - dv,
                   vth=int(neuron.v_th_mant) << VTH_SHIFT, exact_wraps=exact_wraps)


def wrap_int(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Two's-complement wrap of int64 ``x`` to signed ``bits`` bits."""
    half = 1 << (bits - 1)
    return torch.remainder(x + half, 1 << bits) - half


def _decay(x: torch.Tensor, factor: int) -> torch.Tensor:
    if factor == DECAY_UNITY:
        return x
    if factor == 0:
        return torch.zeros_like(x)
    # trunc(y / 4096) without a division (int64 division is the emulator's hot spot): add
    # 4095 to negative y, then shift arithmetically.
    y = x * factor
    return (y + ((y >> 63) & (DECAY_UNITY - 1))) >> DECAY_SHIFT


def cuba_step(u: torch.Tensor, v: torch.Tensor, a: torch.Tensor, p: CubaFixed,
              bias: torch.Tensor | None = None) -> tuple:
    """One Lava fixed-point LIF step on int64 tensors; returns (u, v, spikes bool).

    ``a`` is the synaptic input the neuron receives this step (already shifted by the weight
    exponent); ``bias`` the effective bias (mantissa << 6) or None. Pure: inputs not modified.
    """
    if p.exact_wraps:
        a6 = wrap_int(wrap_int(a, 32) << ACT_SHIFT, 32)
        x = wrap_int(_decay(u, p.u_factor) + a6, 32)
    else:
        x = _decay(u, p.u_factor)
        x += a << ACT_SHIFT
    lo, hi = x.aminmax()  # u wraps at 24 bits; one pass to see whether any element needs it
    if hi > U_MAX or lo <= -U_MAX:
        u = torch.where(x > U_MAX, x - 2 * U_MAX, x)
        u = torch.where(u <= -U_MAX, x + 2 * U_MAX, u)
    else:
        u = x
    v = _decay(v, p.v_factor)
    v += u
    if bias is not None:
        v = v + bias
    if p.exact_wraps:
        v = wrap_int(v, 32)
    v.clamp_(-U_MAX + 1, U_MAX - 1)
    s = v > p.vth
    v.masked_fill_(s, 0)
    return u, v, s
