"""Small NIR graphs and NetX models built by hand for the NIR tests."""
from __future__ import annotations

import nir
import numpy as np
import torch

from neurodeploy import netx

DT = 1e-4


def full(shape, v) -> np.ndarray:
    return np.full(shape, float(v))


def graph(in_shape, body, out_shape=None, metadata=None) -> nir.NIRGraph:
    """Input -> body nodes [(name, node), ...] in a chain -> Output."""
    nodes = {"input": nir.Input(input_type=np.asarray(in_shape))}
    order = ["input"]
    for name, node in body:
        nodes[name] = node
        order.append(name)
    last = body[-1][1]
    shape = out_shape
    if shape is None:
        for attr in ("v_threshold",):
            if hasattr(last, attr):
                shape = np.asarray(getattr(last, attr)).shape
    nodes["output"] = nir.Output(output_type=np.asarray(shape if shape is not None else [1]))
    order.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), metadata=metadata or {},
                        type_check=False)


def if_node(shape, theta=1.0) -> nir.IF:
    return nir.IF(r=full(shape, 1 / DT), v_threshold=np.broadcast_to(theta, shape).astype(float),
                  v_reset=full(shape, 0))


def lif_node(shape, decay=0.125, theta=1.0, gain=1.0, v_leak=0.0) -> nir.LIF:
    tau = DT / decay
    return nir.LIF(tau=full(shape, tau), r=full(shape, gain * tau / DT), v_leak=full(shape, v_leak),
                   v_threshold=np.broadcast_to(theta, shape).astype(float), v_reset=full(shape, 0))


def cuba_node(shape, di=0.25, dv=0.125, theta=1.0, v_leak=0.0) -> nir.CubaLIF:
    ts, tm = DT / di, DT / dv
    return nir.CubaLIF(tau_syn=full(shape, ts), tau_mem=full(shape, tm), r=full(shape, tm / DT),
                       v_leak=full(shape, v_leak), v_threshold=np.broadcast_to(theta, shape).astype(float),
                       v_reset=full(shape, 0), w_in=full(shape, ts / DT))


def grid_weights(rng, shape, step=1 / 32, lo=-24, hi=32) -> np.ndarray:
    """Weights on a power-of-two grid (so an 8-bit import is exact)."""
    return rng.integers(lo, hi, shape) * step


def random_spikes(shape, T=12, n=64, rate=0.3, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand((n, *shape, T), generator=g) < rate).to(torch.uint8)


def netx_dense(neuron: netx.CubaNeuron, bias=None, seed=0, n_in=20, n_out=6) -> netx.NetxModel:
    rng = np.random.default_rng(seed)
    w1 = rng.integers(-100, 128, (12, n_in)) * 2.0
    w2 = rng.integers(-100, 128, (n_out, 12)) * 2.0
    return netx.NetxModel([netx.InputLayer((n_in,)), netx.DenseLayer(w1, neuron, bias=bias),
                           netx.DenseLayer(w2, neuron)], {"note": "hand-made"})


def netx_conv(neuron: netx.CubaNeuron, seed=0) -> netx.NetxModel:
    rng = np.random.default_rng(seed)
    return netx.NetxModel([netx.InputLayer((2, 8, 8)),
                           netx.ConvLayer(rng.integers(-60, 128, (4, 2, 3, 3)) * 2.0, neuron, (4, 4, 4), (2, 2), (1, 1)),
                           netx.FlattenLayer((64,)),
                           netx.DenseLayer(rng.integers(-60, 128, (5, 64)) * 2.0, neuron)], {})


def assert_same_model(a: netx.NetxModel, b: netx.NetxModel) -> None:
    """Layer by layer: same types, shapes, bit-identical weights/biases, same neurons and geometry."""
    assert len(a.layers) == len(b.layers)
    for x, y in zip(a.layers, b.layers):
        assert type(x) is type(y) and tuple(x.shape) == tuple(y.shape)
        if hasattr(x, "weight"):
            np.testing.assert_array_equal(np.asarray(x.weight), np.asarray(y.weight))
            assert x.neuron == y.neuron
            xb = None if x.bias is None or not np.any(x.bias) else np.asarray(x.bias)
            yb = None if y.bias is None or not np.any(y.bias) else np.asarray(y.bias)
            assert (xb is None) == (yb is None)
            if xb is not None:
                np.testing.assert_array_equal(xb, yb)
        for attr in ("stride", "padding", "dilation", "groups"):
            assert getattr(x, attr, None) == getattr(y, attr, None)
