import sys

import numpy as np
import torch

from neurodeploy import _lava_compat

BROKEN = '''from __future__ import annotations
from dataclasses import dataclass


@dataclass
class ByteEncoder:
    base: int = 0


@dataclass
class CoreEncoder:
    x: ByteEncoder = ByteEncoder()
    y: ByteEncoder = ByteEncoder()
'''


def test_patch_source_makes_defaults_factories_and_keeps_future_first():
    fixed = _lava_compat.patch_source(BROKEN)
    assert fixed.splitlines()[0] == "from __future__ import annotations"
    assert "ByteEncoder = ByteEncoder()" not in fixed
    assert fixed.count("_nd_field(default_factory=ByteEncoder)") == 2
    ns = {}
    exec(compile(fixed, "<patched>", "exec"), ns)  # our own text, not a file's
    a, b = ns["CoreEncoder"](), ns["CoreEncoder"]()
    assert a.x == b.x and a.x is not b.x


def test_patch_source_leaves_fixed_source_alone():
    ok = BROKEN.replace("ByteEncoder = ByteEncoder()", "ByteEncoder = None")
    assert _lava_compat.patch_source(ok) == ok


def test_install_is_noop_once_lava_imported():
    import lava.magma.compiler.var_model as vm

    assert vm.CoreEncoder().x is not vm.CoreEncoder().x
    assert _lava_compat.TARGET in sys.modules
    assert _lava_compat.install() is False


def test_slayer_network_exported_to_hdf5_runs_in_netx_on_loihi2simcfg(tmp_path):
    import h5py
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io

    slayer = _lava_compat.import_slayer()
    torch.manual_seed(0)
    p = dict(threshold=1.0, current_decay=0.25, voltage_decay=0.03, requires_grad=False)
    blocks = [slayer.block.cuba.Dense(p, 20, 16, weight_scale=3), slayer.block.cuba.Dense(p, 16, 4, weight_scale=3)]
    T = 8
    x = (torch.rand(1, 20, T) < 0.6).float()
    y = x
    for b in blocks:
        y = b(y)
    path = tmp_path / "two_layer.net"
    with h5py.File(path, "w") as f:
        g = f.create_group("layer")
        for i, b in enumerate(blocks):
            b.export_hdf5(g.create_group(str(i)))
    net = netx.hdf5.Network(net_config=str(path), reset_interval=16)
    assert len(net) == 2
    src = io.source.RingBuffer(data=x[0].numpy().astype(np.int32))
    sink = io.sink.RingBuffer(shape=net.out.shape, buffer=T + 2)
    src.s_out.connect(net.inp)
    net.out.connect(sink.a_in)
    try:
        net.run(condition=RunSteps(T + 2), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        out = sink.data.get()
    finally:
        net.stop()
    assert out.shape == (4, T + 2)
    # SLAYER's default delay_shift models Lava's one-step latency per layer: same spikes, same steps.
    assert out.sum() > 0
    np.testing.assert_array_equal(out[:, :T], y[0].detach().numpy())


def test_start_method_patch_is_idempotent():
    src = "import multiprocessing as mp\nmp.set_start_method('fork')\n"
    assert _lava_compat.patch_start_method(src).endswith("mp.set_start_method('fork', force=True)\n")
    assert _lava_compat.patch_start_method("x = 1\n") == "x = 1\n"
