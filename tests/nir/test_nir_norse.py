"""A conv network trained in Norse, exported with ``norse.torch.to_nir``, imported and deployed.

Conv(1->8, 5x5, stride 2) -> LIFBoxCell -> Conv(8->10, 14x14) -> LIFBoxCell (one output neuron per
class), trained for 150 steps on the shipped Fashion-MNIST sample with the weights Lava will see
(``W·dt/τ``) on a 1/128 grid (straight-through fake quantisation), early burst, T = 8.

Norse 1.1.0 writes ``τ = dt/τ_inv`` and ``r = 1`` (its default dt = 1e-3 s), which in NIR's
equations is the step ``dt² = 1e-6``: the import is given ``--dt 1e-6``.
"""
import warnings

import nir
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch.nn.utils import parametrize

from neurodeploy import netx
from neurodeploy.cli import main
from neurodeploy.nir import Convention, read_graph
from neurodeploy.nir.reference import simulate
from neurodeploy.nir.verify import predictions
from neurodeploy.runtime.api import run_model

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import norse.torch as nt

T, TRAIN_STEPS, TEST_IMAGES = 8, 150, 300
GAIN = 1e-3 * 100            # LIFBoxCell: v += dt·τ_inv·(i − v), defaults dt = 1e-3, τ_inv = 100
NORSE_DT = Convention(dt=1e-6)


class Grid(torch.nn.Module):
    """Fake-quantise W·GAIN on a 1/128 grid, 8 bit, straight-through gradient."""

    def forward(self, w):
        q = torch.clamp(torch.round(w * GAIN * 128), -128, 127) / (GAIN * 128)
        return w + (q - w).detach()


def _run(net, x):
    """x (N, 1, 28, 28, T) -> (N, 10, T)."""
    state, outs = None, []
    for t in range(x.shape[-1]):
        o, state = net(x[..., t], state)
        outs.append(o.reshape(o.shape[0], -1))
    return torch.stack(outs, -1)


def writable(graph):
    """What Norse 1.1.0 (with nirtorch 2.6) leaves out for ``nir.write`` to store the graph: numpy
    instead of torch tensors, ``Conv2d.input_shape`` (None), and arrays instead of 0-d neuron
    parameters (h5py cannot compress scalars). The values are unchanged."""
    hw = (28, 28)
    for node in graph.nodes.values():
        for k, v in list(vars(node).items()):
            if isinstance(v, torch.Tensor):
                v = v.detach().numpy()
            if isinstance(v, np.ndarray) and v.ndim == 0:
                v = v.reshape(1)
            setattr(node, k, v)
        if isinstance(node, nir.Conv2d):
            node.input_shape = hw
            k, s, p = node.weight.shape[2:], node.stride, node.padding
            hw = tuple((n + 2 * pp - kk) // ss + 1 for n, kk, ss, pp in zip(hw, k, s, p))
    return graph


@pytest.fixture(scope="module")
def norse_model(tmp_path_factory):
    from neurodeploy.data import load_dataset
    from neurodeploy.encoding import make_encoder

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("NEURODEPLOY_DATA", raising=False)          # the sample shipped in the package
        train = load_dataset("fashion-mnist", "train")
        test = load_dataset("fashion-mnist", "test", limit=TEST_IMAGES)
    enc = make_encoder("early_burst")
    c1, c2 = torch.nn.Conv2d(1, 8, 5, stride=2, padding=2), torch.nn.Conv2d(8, 10, 14)
    for c in (c1, c2):
        torch.nn.init.zeros_(c.bias)          # Norse's export needs a bias; keep it 0
        c.bias.requires_grad_(False)
        with torch.no_grad():
            c.weight.mul_(1 / GAIN)
        parametrize.register_parametrization(c, "weight", Grid())
    net = nt.SequentialState(c1, nt.LIFBoxCell(), c2, nt.LIFBoxCell())
    x = enc.encode(torch.from_numpy(train.images).float() / 255, T)
    y = torch.from_numpy(train.labels).long()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], 2e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(TRAIN_STEPS):
            idx = torch.randint(0, len(y), (32,))
            loss = torch.nn.functional.cross_entropy(_run(net, x[idx]).sum(-1), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        for c in (c1, c2):
            parametrize.remove_parametrizations(c, "weight", leave_parametrized=True)
        xt = enc.encode(torch.from_numpy(test.images).float() / 255, T).to(torch.uint8)
        with torch.no_grad():
            out = _run(net, xt.float())
        graph = nt.to_nir(net, torch.zeros(1, 1, 28, 28))
    torch.set_num_threads(threads)
    path = tmp_path_factory.mktemp("norse") / "norse.nir"
    nir.write(path, writable(graph))
    return path, xt, out, torch.from_numpy(test.labels)


def test_reference_reproduces_norse(norse_model):
    path, x, out, y = norse_model
    g = read_graph(path)          # lenient: Norse records a batch of 1 in the Input type
    assert [type(n).__name__ for n in g.nodes.values()].count("Conv2d") == 2
    ref = simulate(g, x, NORSE_DT)
    assert out.sum() > 0 and torch.equal(ref.spikes, out.double())
    assert (predictions(out) == y).double().mean() > 0.5


def test_norse_conv_import_agrees_and_sim_equals_emu(norse_model):
    path, x, out, _ = norse_model
    model_path = path.with_suffix(".net")
    r = CliRunner().invoke(main, ["import", str(path), "--out", str(model_path), "--dt", "1e-6", "--encoding",
                                  "early_burst", "--steps", str(T), "--limit", str(TEST_IMAGES)],
                           env={"NEURODEPLOY_DATA": ""})
    assert r.exit_code == 0, r.output
    model = netx.read(model_path)
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "ConvLayer", "ConvLayer"]
    assert model.card["convention"]["dt"] == 1e-6 and model.card["nir_verified"]["prediction_agreement"] >= 0.99
    emu = run_model(model, x, backend="emu", progress=False)
    assert float(np.mean(emu.prediction == predictions(out).numpy())) >= 0.99
    sim = run_model(model_path, x[:2], backend="sim", progress=False)
    assert np.array_equal(sim.step_counts, emu.step_counts[:2]) and sim.step_counts.sum() > 0
