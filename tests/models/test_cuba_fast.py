"""The fast CUBA path is lava-dl's arithmetic bit for bit (max |difference| = 0), forward and backward."""
from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys

import pytest
import torch

from neurodeploy._lava_compat import import_slayer
from neurodeploy.errors import UsageError
from neurodeploy.models import cuba_fast
from neurodeploy.models.cuba_ext import extension
from neurodeploy.models.snn import SpikingNet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module", autouse=True)
def built():
    assert extension() is not None, "the C++ extension must build on this machine (g++ is installed)"


def _both(fn, monkeypatch):
    """fn() under NEURODEPLOY_DYNAMICS=stock, then =fast."""
    out = {}
    for mode in ("stock", "fast"):
        monkeypatch.setenv("NEURODEPLOY_DYNAMICS", mode)
        out[mode] = fn()
    return out["stock"], out["fast"]


def _assert_identical(a, b, what):
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.shape == y.shape, f"{what}[{i}] shape"
        assert torch.equal(x, y), f"{what}[{i}]: max |diff| {(x - y).abs().max().item()}"


def _neuron(g, learn_decays: bool):
    slayer = import_slayer()
    p = dict(threshold=float(torch.empty(1).uniform_(0.1, 3.0, generator=g)),
             current_decay=float(torch.rand(1, generator=g)), voltage_decay=float(torch.rand(1, generator=g)),
             tau_grad=float(torch.empty(1).uniform_(0.01, 1.0, generator=g)),
             scale_grad=float(torch.empty(1).uniform_(0.2, 4.0, generator=g)), requires_grad=learn_decays)
    return cuba_fast.make_fast(slayer.neuron.cuba.Neuron(**p))


def _input(g, shape, kind):
    if kind == "weighted":  # what a synapse gives: sums of k/32 weights over spikes, negative too
        return torch.randint(-400, 400, shape, generator=g).float() / 32
    if kind == "wide":  # arbitrary floats, large and small, around and far from the threshold
        return torch.randn(shape, generator=g) * torch.empty(shape).exponential_(generator=g) * 2
    return (torch.rand(shape, generator=g) * 6 - 3) * (torch.rand(shape, generator=g) < 0.4)


CASES = [((4, 7, 8), "weighted", False), ((3, 5, 16), "wide", True), ((2, 3, 4, 5, 6), "sparse", False),
         ((5, 2, 3, 3, 1), "wide", False), ((1, 33, 12), "weighted", True), ((2, 4, 2, 2, 9), "wide", True),
         ((6, 19, 3), "sparse", True), ((3, 1, 32), "weighted", False),
         # full 32-row tiles with T = 8 and 16 (the kernels' compile-time transposes) and a partial tail
         ((2, 40, 16), "wide", True), ((3, 37, 8), "weighted", False), ((2, 4, 4, 4, 16), "sparse", False)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_neuron_forward_and_backward_identical_to_lava_dl(case, monkeypatch):
    shape, kind, learn = CASES[case]
    g = torch.Generator().manual_seed(100 + case)
    neuron = _neuron(g, learn)
    z0 = _input(g, shape, kind)
    with torch.no_grad():
        neuron(z0)  # lava-dl learns the neuron shape on the first call
    w_out = torch.randn(shape, generator=g)

    def run():
        neuron.zero_grad()
        z = z0.clone().requires_grad_(True)
        s = neuron(z)
        (s * w_out).sum().backward()
        grads = [z.grad] + ([neuron.current_decay.grad.clone(), neuron.voltage_decay.grad.clone()] if learn else [])
        return [s.detach()] + grads

    stock, fast = _both(run, monkeypatch)
    _assert_identical(stock, fast, f"case {case} (spikes, dL/dz, dL/d decays)")
    assert stock[0].sum() > 0 and stock[1].abs().sum() > 0, "a case that spikes and has a gradient"


@pytest.mark.parametrize("case", [0, 1, 3])
def test_voltage_and_current_path_identical(case, monkeypatch):
    """The voltage-only path (used under patched spike functions) equals lava-dl's dynamics."""
    shape, kind, learn = CASES[case]
    g = torch.Generator().manual_seed(200 + case)
    neuron = _neuron(g, learn)
    z0 = _input(g, shape, kind)
    with torch.no_grad():
        neuron(z0)
    w_out = torch.randn(shape, generator=g)
    monkeypatch.setenv("NEURODEPLOY_DYNAMICS", "stock")
    z = z0.clone().requires_grad_(True)
    _, v_stock = neuron.dynamics(z)
    (v_stock * w_out).sum().backward()
    ref = [v_stock.detach(), z.grad] + ([neuron.current_decay.grad.clone(), neuron.voltage_decay.grad.clone()] if learn else [])
    neuron.zero_grad()
    monkeypatch.setenv("NEURODEPLOY_DYNAMICS", "fast")
    z = z0.clone().requires_grad_(True)
    v_fast = neuron._fast(z, spikes=False)
    (v_fast * w_out).sum().backward()
    got = [v_fast.detach(), z.grad] + ([neuron.current_decay.grad.clone(), neuron.voltage_decay.grad.clone()] if learn else [])
    _assert_identical(ref, got, "voltage, dL/dz, dL/d decays")


@pytest.mark.parametrize("model,in_ch,hw,steps", [("mlp", 1, 28, 8), ("conv28", 1, 28, 6), ("conv32", 3, 32, 4)])
def test_training_step_identical_for_each_model(model, in_ch, hw, steps, monkeypatch):
    """One training step (temporal loss on the network's spikes): every parameter's gradient and
    the updated weights equal lava-dl's."""
    from neurodeploy.training.losses import temporal_loss

    torch.manual_seed(0)
    net = SpikingNet(model, 10, in_ch)
    x = (torch.rand(3, in_ch, hw, hw, steps) < 0.35).float()
    y = torch.tensor([1, 4, 7])
    start = copy.deepcopy(net.state_dict())

    def step():
        net.load_state_dict(start)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        opt.zero_grad()
        out, trace = net(x, record=True)
        loss = temporal_loss(out.cumsum(-1), y)
        loss.backward()
        grads = [p.grad.clone() for p in net.parameters() if p.grad is not None]
        opt.step()
        return [out.detach(), *[t.detach() for t in trace], *grads, *[p.detach().clone() for p in net.parameters()]]

    stock, fast = _both(step, monkeypatch)
    _assert_identical(stock, fast, model)
    n_weights = sum(1 for n, _ in net.named_parameters() if n.endswith("weight"))
    assert sum(1 for t in stock if t.abs().sum() > 0) > n_weights, "gradients flow"


def test_attack_gradient_modes_identical(monkeypatch):
    """Attack-time surrogates (SLAYER width, rect, BPTR) give the same input gradient on both paths."""
    from neurodeploy.attacks.gradients import gradient_mode
    from neurodeploy.encoding import make_encoder
    from neurodeploy.models.classifier import SpikingClassifier

    torch.manual_seed(1)
    clf = SpikingClassifier(SpikingNet("conv28", 10, 1), make_encoder({"name": "early_burst"}), 6)
    with torch.no_grad():  # stronger weights: the untrained output layer fires (BPTR needs spikes)
        for name, p in clf.net.named_parameters():
            if name.endswith("weight"):
                p.mul_(3)
    x0 = torch.rand(2, 1, 28, 28)
    for spec in ("ste+slayer:0.3", "ste+rect:0.5", "ste+bptr", "ste+sigmoid:1"):
        def grad():
            x = x0.clone().requires_grad_(True)
            with gradient_mode(clf, spec):
                loss = torch.nn.functional.cross_entropy(clf(x), torch.tensor([3, 8]))
            loss.backward()
            return [x.grad]

        stock, fast = _both(grad, monkeypatch)
        _assert_identical(stock, fast, spec)
        assert stock[0].abs().sum() > 0, spec
    n = clf.net.blocks[0].neuron
    assert "spike" not in n.__dict__ and "forward" not in n.__dict__ and n.tau_rho == n.threshold * 0.03


def test_switch_selects_the_path(monkeypatch):
    net = SpikingNet("mlp", 10, 1)
    calls = []
    real = cuba_fast._CubaSpike.apply
    monkeypatch.setattr(cuba_fast._CubaSpike, "apply", lambda *a: calls.append(1) or real(*a))
    x = (torch.rand(2, 1, 28, 28, 4) < 0.3).float()
    monkeypatch.setenv("NEURODEPLOY_DYNAMICS", "stock")
    net(x)
    assert calls == []
    monkeypatch.delenv("NEURODEPLOY_DYNAMICS")  # default: fast
    net(x)
    assert len(calls) == 2  # one per synaptic block
    monkeypatch.setenv("NEURODEPLOY_DYNAMICS", "turbo")
    with pytest.raises(UsageError, match="NEURODEPLOY_DYNAMICS='turbo'"):
        net(x)


def test_fast_model_keeps_keys_and_copies():
    slayer = import_slayer()
    net = SpikingNet("conv28", 10, 1)
    neuron = net.blocks[0].neuron
    assert isinstance(neuron, slayer.neuron.cuba.Neuron) and isinstance(neuron, cuba_fast.FastCubaNeuron)
    keys = set(net.state_dict())
    assert {"blocks.0.neuron.current_decay", "blocks.0.synapse.weight"} <= keys
    clone = pickle.loads(pickle.dumps(copy.deepcopy(net)))
    assert set(clone.state_dict()) == keys and type(clone.blocks[0].neuron) is type(neuron)


def test_build_failure_falls_back_to_stock_with_one_warning(tmp_path):
    """A compiler that fails: one warning line on stderr, and the model's output is lava-dl's."""
    code = ("import os, torch, neurodeploy\n"
            "from neurodeploy.models.snn import SpikingNet\n"
            "from neurodeploy.models import cuba_fast\n"
            "torch.manual_seed(0)\n"
            "net = SpikingNet('mlp', 10, 1)\n"
            "x = (torch.rand(2, 1, 28, 28, 4) < 0.3).float()\n"
            "a = net(x); b = net(x)\n"
            "assert cuba_fast._ext() is None\n"
            "os.environ['NEURODEPLOY_DYNAMICS'] = 'stock'\n"
            "assert torch.equal(a, net(x)) and torch.equal(b, a) and a.sum() > 0\n"
            "print('ok')\n")
    env = {**os.environ, "NEURODEPLOY_CACHE": str(tmp_path), "CXX": "/bin/false", "NEURODEPLOY_DYNAMICS": "fast",
           "PYTHONPATH": ROOT}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "fast CUBA dynamics could not be built" in lines[0] and "stock" in lines[0], r.stderr


def test_training_run_identical(tmp_path, monkeypatch):
    """Four Adam steps of `train` (conv28, seeded): the stock and fast runs write identical weights."""
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train

    states, metrics = {}, {}
    for mode in ("stock", "fast"):
        monkeypatch.setenv("NEURODEPLOY_DYNAMICS", mode)
        cfg = TrainConfig(model="conv28", steps=4, epochs=1, batch_size=64, limit=256, test_limit=64, seed=3)
        m = train(cfg, tmp_path / mode, progress=False)
        metrics[mode] = {k: v for k, v in m["epochs"][0].items() if k != "seconds"}
        states[mode] = torch.load(tmp_path / mode / "checkpoint.pt", weights_only=True)["model"]
    assert metrics["stock"] == metrics["fast"]
    _assert_identical(list(states["stock"].values()), list(states["fast"].values()), "weights after training")
    assert list(states["stock"]) == list(states["fast"])


def test_weight_quantisation_identical_to_lava_dl(monkeypatch):
    """The synapse's weight pre-hook (quantize_8bit, fused on the fast path): the quantised weight
    and the weight gradient equal lava-dl's, at ties (k + 1/2)/32, beyond both clamp bounds, ±0,
    subnormals and NaN; descale (export) stays lava-dl's."""
    net = SpikingNet("mlp", 10, 1)
    neuron, synapse = net.blocks[1].neuron, net.blocks[1].synapse
    assert synapse.pre_hook_fx.__func__ is cuba_fast.FastCubaNeuron.quantize_8bit
    g = torch.Generator().manual_seed(5)
    ties = (torch.arange(-300, 300) + 0.5) / 32
    special = torch.tensor([0.0, -0.0, 1e-40, -1e-40, 3.96875, 3.97, 3.984375, 3.99, -4.0, -4.015625, -4.02,
                            1e30, -1e30, float("nan")])
    w0 = torch.cat([ties, special, torch.randn(5000, generator=g) * 3])
    g_out = torch.randn(w0.shape, generator=g)

    def run():
        w = w0.clone().requires_grad_(True)
        q = synapse.pre_hook_fx(w)
        (q.nan_to_num() * g_out).sum().backward()
        return [q.detach(), w.grad, synapse.pre_hook_fx(w0, descale=True)]

    calls = []
    real = cuba_fast._Quantize8bit.apply
    monkeypatch.setattr(cuba_fast._Quantize8bit, "apply", lambda *a: calls.append(1) or real(*a))
    stock, fast = _both(run, monkeypatch)
    assert calls == [1], "the fast path ran once (training form only)"
    for a, b, what in zip(stock, fast, ("quantised weight", "weight gradient", "descaled weight")):
        assert torch.equal(a.view(torch.int32), b.view(torch.int32)), what  # bit for bit, NaN and -0 included
    assert stock[1].abs().sum() > 0 and (stock[1] == 0).sum() > 0  # both sides of the clamp


def test_kernel_exp_is_torch_exp_for_non_positive_arguments():
    """The fused backward's exp (MKL VML's vmsExp on a tile, as torch.exp calls it on a tensor) gives
    torch.exp's bits for arguments ≤ 0, in tiles of 256 and 512 values (T = 8, 16) and an odd 100:
    every float in [-2, -1] and [-104, -87] (subnormal results), a million random ones down to
    -inf. (All floats ≤ 0 were checked once: cuba_fast.exp_fused.)"""
    ext = extension()
    if not cuba_fast.exp_fused():
        assert not ext.fused_exp_built() or not torch.backends.mkl.is_available()
        return

    def bits(a, b):
        return -torch.arange(a, b, dtype=torch.int32).view(torch.float32)

    f = lambda v: torch.tensor([v]).view(torch.int32).item()
    g = torch.Generator().manual_seed(3)
    x = torch.cat([bits(f(1.0), f(2.0) + 1), bits(f(87.0), f(104.0) + 1),
                   -torch.randint(0, 0x7F800000, (1 << 20,), generator=g, dtype=torch.int32).view(torch.float32),
                   torch.tensor([float("-inf"), -0.0, 0.0])])
    ref = torch.exp(x).view(torch.int32)
    for tile in (256, 512, 100):
        assert torch.equal(ext.fused_exp(x, tile).view(torch.int32), ref), tile
