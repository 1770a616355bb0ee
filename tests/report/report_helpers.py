"""Hand-made networks and spike trains for the report tests (imported by the test modules)."""
from __future__ import annotations

import numpy as np

from neurodeploy.netx import ConvLayer, CubaNeuron, DenseLayer, FlattenLayer, InputLayer, NetxModel

NEURON = CubaNeuron(i_decay=1024, v_decay=128, v_th_mant=80)


def random_conv_model(seed: int = 0, steps: int = 8) -> NetxModel:
    """(2, 9, 8) -> conv 4@3x3 s2 p1 -> conv 6@3x3 s2 p(1, 0) -> flatten -> dense 20 -> dense 5.

    Random even integer weights in [-256, 254] (SLAYER's 8-bit grid), vThMant 80, iDecay 1024,
    vDecay 128; padding and stride make the conv borders matter.
    """
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.integers(-128, 128, size=shape) * 2).astype(np.float32)

    layers = [InputLayer((2, 9, 8)),
              ConvLayer(w(4, 2, 3, 3), NEURON, (4, 5, 4), stride=(2, 2), padding=(1, 1)),
              ConvLayer(w(6, 4, 3, 3), NEURON, (6, 3, 1), stride=(2, 2), padding=(1, 0)),
              FlattenLayer((18,)), DenseLayer(w(20, 18), NEURON), DenseLayer(w(5, 20), NEURON)]
    return NetxModel(layers, card={"steps": steps, "encoding": {"name": "early_burst"}, "seed": seed})


def random_spikes(model: NetxModel, n: int, steps: int, p: float = 0.3, seed: int = 1):
    import torch

    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.random((n, *model.input_shape, steps)) < p).to(torch.uint8)
