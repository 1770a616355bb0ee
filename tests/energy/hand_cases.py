"""A hand-made two-layer network and spike trains shared by the counting and energy tests."""
import numpy as np
import torch

from neurodeploy.netx import CubaNeuron, DenseLayer, InputLayer, NetxModel

NEURON = CubaNeuron(1024, 128, 80)


def hand_model():
    """Input 3 -> dense 2 (input 1 has only zero weights) -> dense 2."""
    w1 = np.array([[2, 0, 2], [2, 0, -2]], dtype=np.float32)
    w2 = np.array([[2, 2], [0, 2]], dtype=np.float32)
    return NetxModel([InputLayer((3,)), DenseLayer(w1, NEURON), DenseLayer(w2, NEURON)], card={"steps": 4})


def hand_spikes():
    x = torch.zeros(2, 3, 4)
    x[0, 0, 0] = x[0, 0, 1] = x[0, 1, 0] = x[0, 2, 3] = 1
    x[1, 2, :] = 1
    h = torch.zeros(2, 2, 4)
    h[0, 0, 1] = 1
    h[1, 1, 0] = h[1, 1, 2] = 1
    y = torch.zeros(2, 2, 4)
    y[1, 0, 3] = 1
    return x, [h, y]
