"""The emulator's compiled CUBA loop and int8 synapse equal its torch path, integer for integer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodeploy import netx
from neurodeploy.runtime import cuba_fixed, emu, emu_kernel
from neurodeploy.runtime.cuba_fixed import CubaFixed, cuba_step

from rt_helpers import conv_model, dense_model, random_spikes


@pytest.fixture(scope="module")
def ext():
    e = emu_kernel.extension()
    assert e is not None, "the emulator's C++ loop must build on this machine (g++ is installed)"
    return e


def _torch_path(monkeypatch):
    monkeypatch.setattr(emu, "_kernel", lambda: None)


@pytest.mark.parametrize("u_factor,v_factor", [(3072, 3973), (4096, 4096), (0, 0), (1, 4095)])
@pytest.mark.parametrize("shift", [-3, 0, 2])
def test_kernel_equals_cuba_step(ext, u_factor, v_factor, shift):
    """Random states and large synapse results (both 24-bit u wraps, the v clip, negative values):
    every step's spikes and states equal cuba_step's."""
    g = torch.Generator().manual_seed(u_factor + 7 * shift)
    B, N, K = 5, 37, 6
    p = CubaFixed(u_factor=u_factor, v_factor=v_factor, vth=5120)
    raw = torch.randint(-(1 << 20), 1 << 20, (K * B, N), generator=g, dtype=torch.int64)
    raw[::3] //= 64                                             # mostly small, some near the wrap
    u = torch.randint(-(1 << 23) + 1, 1 << 23, (B, N), generator=g)
    v = torch.randint(-(1 << 22), 1 << 22, (B, N), generator=g)
    carry = torch.randint(-5000, 5000, (B, N), generator=g)
    bias = torch.randint(-300, 300, (N,), generator=g) << 6
    j0, n0, n1, r0, r1 = 3, 3, 3 + K, 3, 3 + K - 1              # the last step reads no synapse row
    out = torch.zeros((K, B, N), dtype=torch.uint8)
    uk, vk = u.clone(), v.clone()
    emu_kernel.cuba_layer_steps(ext, raw[:(r1 - r0) * B], 3, shift, uk, vk, carry, bias, p.u_factor,
                                p.v_factor, p.vth, j0, n0, n1, r0, r1, out)
    a = emu._shift(raw * 3, shift)
    wrapped = False
    for j in range(n0, n1):
        r = j - 1
        nin = a[(r - r0) * B:(r - r0 + 1) * B] if r0 <= r < r1 else (torch.zeros_like(carry) if r >= j0 else carry)
        x = cuba_fixed._decay(u, p.u_factor) + nin * 64
        wrapped |= bool(((x > cuba_fixed.U_MAX) | (x <= -cuba_fixed.U_MAX)).any())
        u, v, s = cuba_step(u, v, nin, p, bias)
        assert torch.equal(out[j - j0], s.to(torch.uint8)), f"spikes differ at step {j}"
    assert torch.equal(uk, u) and torch.equal(vk, v)
    assert wrapped, "the case must reach the 24-bit wrap of u"


@pytest.mark.parametrize("make", [lambda: dense_model(3), lambda: dense_model(4, bias=True),
                                  lambda: conv_model(5), lambda: conv_model(6, bias=True)])
@pytest.mark.parametrize("rule", ["off", "margin:1,min=2"])
def test_emulate_with_kernel_equals_torch_path(ext, monkeypatch, make, rule):
    model = make()
    net = emu.compile_model(model)
    assert all(l.kernel_ok for l in net.layers), "these layers must take the compiled loop"
    x = random_spikes((23, *model.input_shape), 9, 0.4, seed=1)
    fast = emu.emulate(net, x, record=True, exit_rule=rule, batch_size=10)
    _torch_path(monkeypatch)
    ref = emu.emulate(net, x, record=True, exit_rule=rule, batch_size=10)
    assert torch.equal(fast.spikes, ref.spikes) and torch.equal(fast.exit_step, ref.exit_step)
    assert all(torch.equal(a, b) for a, b in zip(fast.layers, ref.layers))
    assert int(ref.layers[0].sum()) > 0, "the case must make the first layer spike"


def test_int8_weights_only_when_exact():
    w = np.array([[4, -508, 0], [252, 12, -4]], dtype=np.int64)      # / 4: -127 .. 63 fits int8
    q, g = emu._int8_weights(w)
    assert g == 4 and torch.equal(q.t().to(torch.int64) * 4, torch.from_numpy(w))
    assert emu._int8_weights(np.array([[255, 1]]))[0] is None        # needs 9 bits
    assert emu._int8_weights(np.array([[-256, 2]]))[1] == 2          # -128, 1
    assert emu._int8_weights(np.array([[381, 3]]))[0] is None        # odd: no power of two divides it


def test_int8_synapse_equals_float_synapse(monkeypatch):
    """A dense layer whose weights need the int8 scale (multiples of 8) gives the float path's spikes."""
    rng = np.random.default_rng(0)
    w = (rng.integers(-31, 31, size=(12, 30)) * 8).astype(np.float32)
    model = netx.NetxModel(layers=[netx.InputLayer((30,)),
                                   netx.DenseLayer(w, netx.CubaNeuron(i_decay=1024, v_decay=128, v_th_mant=60))],
                           card={"steps": 8})
    net = emu.compile_model(model)
    assert net.layers[0].weight_i8 is not None and net.layers[0].i8_scale % 8 == 0
    x = random_spikes((40, 30), 8, 0.5, seed=2)
    fast = emu.emulate(net, x)
    net.layers[0].weight_i8 = None
    _torch_path(monkeypatch)
    assert torch.equal(fast.spikes, emu.emulate(net, x).spikes)
    assert int(fast.spikes.sum()) > 0


def test_build_failure_runs_the_torch_path_with_one_warning(tmp_path):
    """No compiler: one warning line on stderr, and emulate gives the torch path's spikes."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    code = ("import torch, numpy as np\n"
            "import sys; sys.path.insert(0, 'tests/runtime')\n"
            "from rt_helpers import dense_model, random_spikes\n"
            "from neurodeploy.runtime import emu, emu_kernel\n"
            "m = dense_model(3); x = random_spikes((20, *m.input_shape), 8, 0.4, seed=1)\n"
            "a = emu.emulate(m, x).spikes\n"
            "assert emu_kernel.extension() is None\n"
            "np.save(sys.argv[1], a.numpy())\n")
    env = {**os.environ, "NEURODEPLOY_CACHE": str(tmp_path), "CXX": "/bin/false", "PYTHONPATH": root}
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.npy")], cwd=root, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "compiled CUBA loop could not be built" in lines[0] and "torch path" in lines[0], r.stderr
    ref = emu.emulate(dense_model(3), random_spikes((20, *dense_model(3).input_shape), 8, 0.4, seed=1)).spikes
    assert np.array_equal(np.load(tmp_path / "a.npy"), ref.numpy()) and int(ref.sum()) > 0
