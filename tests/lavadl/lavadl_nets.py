"""Small networks built with lava-dl's own SLAYER blocks and written with lava-dl's own
``export_hdf5`` (the artifacts lava-dl users have), for the card-less NetX tests."""
from __future__ import annotations

import h5py
import numpy as np
import torch


def _slayer():
    from neurodeploy._lava_compat import import_slayer

    return import_slayer()


class _Export(torch.nn.Module):
    def __init__(self, blocks, input_shape):
        super().__init__()
        self.blocks = torch.nn.ModuleList(blocks)
        x = torch.rand(1, *input_shape, 4)
        with torch.no_grad():            # one forward pass: the blocks learn their shapes
            for b in self.blocks:
                x = b(x)
        self.eval()

    def export_hdf5(self, path):
        with h5py.File(path, "w") as h:
            layer = h.create_group("layer")
            for i, b in enumerate(self.blocks):
                b.export_hdf5(layer.create_group(f"{i}"))
        return path


def _cuba_params(slayer, threshold=0.5, bias=False):
    p = {"threshold": threshold, "current_decay": 0.25, "voltage_decay": 0.03, "tau_grad": 1,
         "scale_grad": 1, "requires_grad": False}
    if bias:
        p["norm"] = slayer.neuron.norm.MeanOnlyBatchNorm
    return p


def _set_bias(block, rng, lo=-0.4, hi=0.8):
    norm = block.neuron.norm
    n = norm.running_mean.shape[0]
    with torch.no_grad():
        norm.running_mean.copy_(torch.from_numpy(rng.uniform(lo, hi, n)).float())


def _set_delay(block, rng, hi=3):
    with torch.no_grad():
        block.delay.delay.copy_(torch.from_numpy(rng.integers(0, hi + 1, block.delay.delay.shape)).float())


def cuba_dense_net(path, seed=0):
    """Input block (own CUBA neuron) -> Dense with delays and bias -> Recurrent -> Dense."""
    slayer = _slayer()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    blocks = [
        slayer.block.cuba.Input(_cuba_params(slayer, 0.3)),
        slayer.block.cuba.Dense(_cuba_params(slayer, 0.4, bias=True), 20, 16, weight_scale=2, delay=True),
        slayer.block.cuba.Recurrent(_cuba_params(slayer, 0.4), 16, 12, weight_scale=2),
        slayer.block.cuba.Dense(_cuba_params(slayer, 0.4), 12, 5, weight_scale=2),
    ]
    net = _Export(blocks, (20,))          # the forward pass sizes the delays: set them after it
    _set_bias(blocks[1], rng)
    _set_delay(blocks[1], rng)
    return net.export_hdf5(path)


def cuba_conv_net(path, seed=1):
    """Conv (bias) -> strided conv -> flatten -> Dense with delays and bias -> Dense: a classifier
    fed spikes (no input neuron)."""
    slayer = _slayer()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    blocks = [
        slayer.block.cuba.Conv(_cuba_params(slayer, 0.5, bias=True), 2, 4, 3, padding=1, weight_scale=3),
        slayer.block.cuba.Conv(_cuba_params(slayer, 0.5), 4, 6, 3, stride=2, padding=1, weight_scale=3),
        slayer.block.cuba.Flatten(),
        slayer.block.cuba.Dense(_cuba_params(slayer, 0.5, bias=True), 6 * 4 * 4, 16, weight_scale=3, delay=True),
        slayer.block.cuba.Dense(_cuba_params(slayer, 0.5), 16, 4, weight_scale=3),
    ]
    net = _Export(blocks, (2, 8, 8))
    _set_bias(blocks[0], rng)
    _set_bias(blocks[3], rng)
    _set_delay(blocks[3], rng)
    path = net.export_hdf5(path)
    with h5py.File(path, "a") as f:     # lava-dl writes no input layer for a conv first block
        f.move("layer", "old")
        g = f.create_group("layer")
        inp = g.create_group("0")
        inp.create_dataset("type", (1,), "S10", [b"input"])
        inp.create_dataset("shape", data=np.array([2, 8, 8]))
        for i in range(len(blocks)):
            f.move(f"old/{i}", f"layer/{i + 1}")
        del f["old"]
    return path


def _sd_params() -> dict:
    """The sigma-delta neuron of both SDNN test networks (ReLU, graded spikes)."""
    return {"threshold": 0.1, "tau_grad": 0.1, "scale_grad": 0.15, "requires_grad": False,
            "activation": torch.nn.functional.relu}


def sdnn_net(path, seed=2):
    """sigma_delta Input -> Dense -> Dense -> Output (sigma_output): graded values throughout."""
    slayer = _slayer()
    torch.manual_seed(seed)
    sd = _sd_params()
    blocks = [
        slayer.block.sigma_delta.Input(sd),
        slayer.block.sigma_delta.Dense(sd, 12, 10, weight_scale=2),
        slayer.block.sigma_delta.Dense(sd, 10, 8, weight_scale=2),
        slayer.block.sigma_delta.Output(sd, 8, 3, weight_scale=2),
    ]
    return _Export(blocks, (12,)).export_hdf5(path)


def sdnn_conv_net(path, seed=3):
    """PilotNet-like SDNN: sigma_delta Input (C, H, W) -> strided convs -> flatten -> Dense -> Output."""
    slayer = _slayer()
    torch.manual_seed(seed)
    sd = _sd_params()
    blocks = [
        slayer.block.sigma_delta.Input(sd),
        slayer.block.sigma_delta.Conv(sd, 2, 4, 3, padding=1, stride=2, weight_scale=2),
        slayer.block.sigma_delta.Conv(sd, 4, 6, 3, padding=1, stride=2, weight_scale=2),
        slayer.block.sigma_delta.Flatten(),
        slayer.block.sigma_delta.Dense(sd, 6 * 4 * 4, 10, weight_scale=2),
        slayer.block.sigma_delta.Output(sd, 10, 2, weight_scale=2),
    ]
    return _Export(blocks, (2, 16, 16)).export_hdf5(path)
