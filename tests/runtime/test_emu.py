"""The emulator's integer arithmetic, checked against Lava's own functions and by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodeploy.errors import BadInputError
from neurodeploy import netx
from neurodeploy.runtime.cuba_fixed import CubaFixed, cuba_step, lava_dense_weights
from neurodeploy.runtime.emu import compile_model, emulate

from rt_helpers import conv_model, dense_model, random_spikes


def _lava_dense_weights(w):
    """What Lava does: NetX's optimize_weight_bits, then the Dense model's clip and truncate."""
    from neurodeploy._lava_compat import import_slayer

    import_slayer()
    from lava.lib.dl.netx.utils import optimize_weight_bits
    from lava.utils.weightutils import clip_weights, determine_sign_mode, truncate_weights

    wi, nbits, wexp, _ = optimize_weight_bits(w.astype(int))
    wi = wi.astype(np.int32)
    sign = determine_sign_mode(wi)
    return truncate_weights(clip_weights(wi, sign, num_bits=8), sign, nbits), wexp


@pytest.mark.parametrize("case", ["mixed_even", "mixed_small_odd", "excitatory", "inhibitory",
                                  "inhibitory_min", "fractional", "out_of_range"])
def test_dense_weights_match_lava(case, capsys):
    rng = np.random.default_rng(7)
    w = {
        "mixed_even": rng.integers(-128, 128, (9, 13)) * 2,
        "mixed_small_odd": rng.integers(-21, 22, (9, 13)),
        "excitatory": rng.integers(0, 100, (9, 13)) * 2,
        "inhibitory": -rng.integers(1, 60, (9, 13)) * 4,
        "inhibitory_min": np.where(rng.random((9, 13)) < 0.5, -256, -2),
        "fractional": rng.normal(0, 40, (9, 13)),
        "out_of_range": rng.integers(-400, 300, (9, 13)),
    }[case].astype(np.float32)
    mine, exp_mine = lava_dense_weights(w)
    ref, exp_ref = _lava_dense_weights(w)
    assert exp_mine == exp_ref
    assert np.array_equal(mine, ref.astype(np.int64))
    capsys.readouterr()  # NetX prints clipping warnings


def test_cuba_step_by_hand():
    p = CubaFixed(u_factor=4096 - 1024, v_factor=4096 - 128, vth=80 << 6)
    u = torch.tensor([-7, 7, 0, 0, (1 << 23) - 10])
    v = torch.tensor([-1000, 1000, 0, 5000, 0])
    a = torch.tensor([0, 0, 80, 81, 10])
    u2, v2, s = cuba_step(u, v, a, p)
    # decay truncates toward zero: -7 * 3072 / 4096 = -5.25 -> -5
    assert u2[:2].tolist() == [-5, 5]
    assert u2[2] == 80 * 64 and u2[3] == 81 * 64
    # v = trunc(v * 3968 / 4096) + u; a spike needs v > vth (strict) and resets v to 0
    assert v2[0] == -968 - 5 and v2[1] == 968 + 5
    assert s.tolist() == [False, False, False, True, True] and v2[3] == 0
    # u wraps at 24 bit: (2**23 - 10) * 3/4 + 640 stays; force an overflow instead
    u3, _, _ = cuba_step(torch.tensor([0]), torch.tensor([0]), torch.tensor([1 << 17]), p)
    assert u3.item() == (1 << 23)                  # exactly 2**23 is not wrapped (Lava's rule)
    u4, _, _ = cuba_step(torch.tensor([0]), torch.tensor([0]), torch.tensor([(1 << 17) + 1]), p)
    assert u4.item() == (1 << 23) + 64 - (1 << 24)
    # v saturates at +-(2**23 - 1)
    _, v5, _ = cuba_step(torch.tensor([0]), torch.tensor([(1 << 23) - 1]), torch.tensor([1000]),
                         CubaFixed(4096, 4096 - 0, vth=(1 << 30)))
    assert v5.item() == (1 << 23) - 1


def test_emulate_shapes_record_and_activity():
    m = conv_model(bias=True)
    x = random_spikes((7, 2, 9, 7), 10, 0.3, seed=0)
    r = emulate(m, x, record=True, batch_size=3)
    assert r.spikes.shape == (7, 10, 10) and r.spikes.dtype == torch.uint8
    assert [tuple(l.shape) for l in r.layers] == [(7, 4, 9, 7, 10), (7, 6, 5, 3, 10), (7, 10, 10)]
    assert torch.equal(r.layers[-1], r.spikes)
    assert all(0 < l.float().mean() < 0.9 for l in r.layers)       # non-trivial activity
    # batching does not change anything; samples are independent
    assert torch.equal(emulate(m, x).spikes, r.spikes)
    assert torch.equal(emulate(m, x[3:4]).spikes, r.spikes[3:4])


def test_flatten_order_is_torch_flatten():
    """A dense layer on a (C, H, W) input reads it C-major, like torch.flatten."""
    rng = np.random.default_rng(0)
    w = np.zeros((2, 12), dtype=np.float32)
    w[0, 5] = 254           # (c=0, h=1, w=2) of a (2, 2, 3) input
    w[1, 6 + 1] = 254       # (c=1, h=0, w=1)
    w[:, 0] = -2            # keep the sign mode mixed
    m = netx.NetxModel(layers=[netx.InputLayer((2, 2, 3)), netx.FlattenLayer((12,)),
                               netx.DenseLayer(w, netx.CubaNeuron(4096, 4096, 100))])
    x = torch.zeros(2, 2, 2, 3, 1, dtype=torch.uint8)
    x[0, 0, 1, 2, 0] = 1
    x[1, 1, 0, 1, 0] = 1
    out = emulate(m, x).spikes[:, :, 0]
    assert out.tolist() == [[1, 0], [0, 1]]


def test_input_checks():
    m = dense_model()
    with pytest.raises(BadInputError, match="shape"):
        emulate(m, torch.zeros(2, 100, 5))
    with pytest.raises(BadInputError, match="binary"):
        emulate(m, torch.full((2, 1, 10, 10, 5), 0.5))
    with pytest.raises(BadInputError, match="binary"):
        emulate(m, torch.full((2, 1, 10, 10, 5), 2, dtype=torch.uint8))
    assert emulate(m, torch.zeros(0, 1, 10, 10, 5)).spikes.shape == (0, 10, 5)


def test_compile_rejects_what_netx_cannot_connect():
    rng = np.random.default_rng(0)
    n = netx.CubaNeuron(1024, 128, 80)
    m = netx.NetxModel(layers=[netx.InputLayer((1, 4, 4)),
                               netx.ConvLayer((rng.integers(-5, 5, (2, 1, 3, 3)) * 2).astype(np.float32), n,
                                              shape=(2, 2, 2)),
                               netx.DenseLayer((rng.integers(-5, 5, (3, 8)) * 2).astype(np.float32), n)])
    with pytest.raises(netx.NetxFormatError, match="flatten"):
        compile_model(m)


def test_exit_in_the_emulator_equals_exit_applied_afterwards():
    """Samples leave the batch when they exit; what they produced up to then is unchanged."""
    from neurodeploy.runtime.exit_rules import apply_exit_rule

    m = conv_model(bias=True)
    x = random_spikes((23, 2, 9, 7), 10, 0.3, seed=4)
    full = emulate(m, x, record=True)
    for rule in ("margin:1,min=2", "confidence:0.6"):
        exit_step, pred = apply_exit_rule(full.spikes, rule)
        assert 0 < int((exit_step < 10).sum()) < 23            # some exit early, some not
        r = emulate(m, x, record=True, exit_rule=rule, batch_size=7)
        assert torch.equal(r.exit_step, exit_step) and torch.equal(r.prediction, pred)
        keep = (torch.arange(10)[None, :] < exit_step[:, None]).to(torch.uint8)
        assert torch.equal(r.spikes, full.spikes * keep[:, None, :])
        for a, b in zip(r.layers, full.layers):
            assert torch.equal(a, b * keep.view(23, *([1] * (b.ndim - 2)), 10))
