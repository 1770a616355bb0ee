"""Small NetX networks with SLAYER-like integer weights (even, in [-256, 254]) for runtime tests."""
from __future__ import annotations

import numpy as np
import torch

from neurodeploy import netx


def even_weights(rng, *shape, r=128):
    return (rng.integers(-r, r, size=shape) * 2).astype(np.float32)


def dense_model(seed=0, bias=False) -> netx.NetxModel:
    rng = np.random.default_rng(seed)
    hidden = netx.CubaNeuron(i_decay=1024, v_decay=128, v_th_mant=80)
    out = netx.CubaNeuron(i_decay=1024, v_decay=128, v_th_mant=400)
    return netx.NetxModel(layers=[
        netx.InputLayer((1, 10, 10)), netx.FlattenLayer((100,)),
        netx.DenseLayer(even_weights(rng, 48, 100), hidden,
                        bias=rng.integers(-20, 40, 48).astype(np.float32) if bias else None),
        netx.DenseLayer(even_weights(rng, 10, 48), out)],
        card={"encoding": {"name": "early_burst"}, "steps": 12, "dataset": "fashion-mnist",
              "input_shape": [1, 10, 10], "classes": [str(i) for i in range(10)], "seed": 0})


def conv_model(seed=1, bias=False) -> netx.NetxModel:
    rng = np.random.default_rng(seed)
    n = netx.CubaNeuron(i_decay=1024, v_decay=128, v_th_mant=80)
    out = netx.CubaNeuron(i_decay=4096, v_decay=256, v_th_mant=300)
    return netx.NetxModel(layers=[
        netx.InputLayer((2, 9, 7)),
        netx.ConvLayer(even_weights(rng, 4, 2, 3, 3), n, shape=(4, 9, 7), padding=(1, 1),
                       bias=rng.integers(-20, 40, 4).astype(np.float32) if bias else None),
        netx.ConvLayer(even_weights(rng, 6, 2, 3, 2), n, shape=(6, 5, 3), stride=(2, 2),
                       padding=(1, 0), groups=2),
        netx.FlattenLayer((90,)),
        netx.DenseLayer(even_weights(rng, 10, 90), out)],
        card={"steps": 10})


def random_spikes(shape, T, p, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, T, generator=g) < p).to(torch.uint8)
