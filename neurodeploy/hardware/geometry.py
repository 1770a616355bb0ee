"""Connection geometry of NetX layers: who connects to whom, counted exactly (no Lava, no torch).

A conv layer is a 2-D cross-correlation: output ``(o, oy, ox)`` reads input ``(c, y, x)`` through tap
``(ky, kx)`` when ``y = oy*stride - pad + ky*dil`` (same for x), ``0 <= y < H``, and ``c`` lies in
``o``'s group. Taps that fall into the zero padding are *not* connections. Because the geometry is
separable, everything below is computed from two small boolean tables::

    rows[ky, y] = 1  if some output row oy reaches input row y through tap row ky
    cols[kx, x] = likewise for columns

Every count is therefore exact at the borders, for any padding, stride and dilation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.netx import ConvLayer, DenseLayer, NetxModel, RecurrentDenseLayer


def tap_hits(n_in: int, n_out: int, k: int, stride: int, pad: int, dil: int) -> np.ndarray:
    """``hits[kk, i]`` (k, n_in) bool: input position ``i`` is read through tap ``kk`` by some output.

    Stride >= 1 makes ``oy -> y`` injective for a fixed tap, so ``hits.sum(1)`` is also the number
    of output positions whose tap ``kk`` lands inside the input.
    """
    hits = np.zeros((k, n_in), dtype=bool)
    o = np.arange(n_out)
    for kk in range(k):
        pos = o * stride - pad + kk * dil
        pos = pos[(pos >= 0) & (pos < n_in)]
        hits[kk, pos] = True
    return hits


def valid_taps(n_in: int, n_out: int, k: int, stride: int, pad: int, dil: int) -> np.ndarray:
    """``(n_out,)`` number of taps of each output position that land inside the input."""
    o = np.arange(n_out)[:, None]
    pos = o * stride - pad + np.arange(k)[None, :] * dil
    return ((pos >= 0) & (pos < n_in)).sum(1)


@dataclass
class Geometry:
    """Per-input fan-out of one synaptic layer, flattened C-major like ``torch.flatten``.

    ``fanout[i]``: synapses leaving input ``i`` (zero weights included);
    ``fanout_nonzero[i]``: those with a nonzero weight; ``fan_in_max``: most synapses into one neuron.
    """

    in_shape: tuple
    out_shape: tuple
    fanout: np.ndarray
    fanout_nonzero: np.ndarray
    fan_in_max: int

    @property
    def synapses(self) -> int:
        return int(self.fanout.sum())

    @property
    def synapses_nonzero(self) -> int:
        return int(self.fanout_nonzero.sum())

    @property
    def fan_out_max(self) -> int:
        return int(self.fanout.max()) if self.fanout.size else 0


def dense_geometry(layer: DenseLayer) -> Geometry:
    """Dense: every input reaches every output."""
    out, inp = layer.weight.shape
    return Geometry(in_shape=(inp,), out_shape=(out,),
                    fanout=np.full(inp, out, dtype=np.int64),
                    fanout_nonzero=np.count_nonzero(layer.weight, axis=0).astype(np.int64),
                    fan_in_max=int(inp))


def conv_geometry(layer: ConvLayer, in_shape: tuple) -> Geometry:
    """Conv: exact per-input fan-out including borders, padding, stride, dilation and groups."""
    c_in, h, w = (int(x) for x in in_shape)
    o, ipg, kh, kw = layer.weight.shape
    g = int(layer.groups)
    opg = o // g
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    ho, wo = int(layer.shape[1]), int(layer.shape[2])
    rows = tap_hits(h, ho, kh, sh, ph, dh).astype(np.int64)  # (kh, h)
    cols = tap_hits(w, wo, kw, sw, pw, dw).astype(np.int64)  # (kw, w)
    per_pixel = rows.sum(0)[:, None] * cols.sum(0)[None, :]   # taps reaching each pixel
    fanout = np.broadcast_to(opg * per_pixel, (c_in, h, w)).reshape(-1).astype(np.int64)
    nz = (np.asarray(layer.weight).reshape(g, opg, ipg, kh, kw) != 0).sum(1)  # (g, ipg, kh, kw)
    nz = nz.reshape(c_in, kh, kw).astype(np.int64)
    fan_nz = np.einsum("ckl,ky,lx->cyx", nz, rows, cols).reshape(-1)
    fan_in = ipg * int(valid_taps(h, ho, kh, sh, ph, dh).max()) * int(valid_taps(w, wo, kw, sw, pw, dw).max())
    return Geometry(in_shape=(c_in, h, w), out_shape=(o, ho, wo), fanout=fanout,
                    fanout_nonzero=fan_nz.astype(np.int64), fan_in_max=fan_in)


def synaptic_inputs(model: NetxModel) -> list:
    """``[(index, layer, in_shape)]`` for every dense/conv layer, ``index`` into ``model.layers``."""
    out = []
    shape = None
    for i, layer in enumerate(model.layers):
        if isinstance(layer, (DenseLayer, RecurrentDenseLayer, ConvLayer)):
            in_shape = shape if shape is not None else (int(layer.weight.shape[1]),)
            if isinstance(layer, (DenseLayer, RecurrentDenseLayer)):
                in_shape = (int(np.prod(in_shape)),)
            out.append((i, layer, tuple(int(x) for x in in_shape)))
        shape = tuple(layer.shape)
    return out


def geometry(layer, in_shape: tuple) -> Geometry:
    """Geometry of a dense or conv layer fed by inputs of ``in_shape`` (a recurrent layer: its
    feed-forward synapses; :func:`recurrent_geometry` adds the recurrent ones)."""
    if isinstance(layer, (DenseLayer, RecurrentDenseLayer)):
        return dense_geometry(layer)
    if isinstance(layer, ConvLayer):
        return conv_geometry(layer, in_shape)
    raise TypeError(f"no synaptic geometry for {type(layer).__name__}")


def recurrent_geometry(layer) -> Geometry:
    """A ``dense_rec`` layer's synapses, feed-forward and recurrent: a dense layer over [input | own output]."""
    return dense_geometry(DenseLayer(weight=np.hstack([np.asarray(layer.weight), np.asarray(layer.weight_rec)]),
                                     neuron=layer.neuron, bias=layer.bias))
