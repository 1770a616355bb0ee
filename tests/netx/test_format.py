"""NetX format: every layer/neuron kind lava-dl 0.6's NetX loads round-trips through write/read,
and what NetX cannot load fails with one line naming the layer."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from neurodeploy import netx


def _even(rng, *shape):
    return (rng.integers(-100, 100, size=shape) * 2).astype(np.float32)


def full_model() -> netx.NetxModel:
    rng = np.random.default_rng(0)
    cuba = netx.CubaNeuron(i_decay=1024, v_decay=128, v_th_mant=80, ref_delay=2, graded_spike=True, kind="LOIHI")
    sd = netx.SigmaDeltaNeuron(v_th_mant=16)
    return netx.NetxModel(layers=[
        netx.InputLayer((2, 6, 5), neuron=netx.CubaNeuron(1024, 256, 40), weight=64.0, bias=3.0),
        netx.ConvLayer(_even(rng, 3, 2, 3, 3), cuba, shape=(3, 6, 5), padding=(1, 1),
                       bias=np.arange(3, dtype=np.float32), delay=np.ones(3, np.float32)),
        netx.FlattenLayer((90,)),
        netx.DenseLayer(_even(rng, 12, 90), sd, bias=rng.integers(-5, 5, 12).astype(np.float32),
                        delay=rng.integers(0, 4, 12).astype(np.float32)),
        netx.RecurrentDenseLayer(_even(rng, 8, 12), _even(rng, 8, 8), cuba),
        netx.DenseLayer(_even(rng, 4, 8), None),
        netx.DenseLayer(_even(rng, 3, 4), netx.SigmaDeltaNeuron(v_th_mant=0, sigma_output=True)),
    ], card={"steps": 4})


def _same(a, b):
    assert type(a) is type(b)
    for k, va in vars(a).items():
        vb = getattr(b, k)
        if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
            np.testing.assert_array_equal(np.asarray(va), np.asarray(vb))
        elif hasattr(va, "__dataclass_fields__"):
            _same(va, vb)
        elif isinstance(va, tuple) or isinstance(vb, tuple):
            assert tuple(va) == tuple(vb), k
        else:
            assert va == vb, k


def test_every_kind_round_trips(tmp_path):
    m = full_model()
    p = netx.write(m, tmp_path / "m.net")
    back = netx.read(p)
    assert len(back.layers) == len(m.layers)
    for a, b in zip(m.layers, back.layers):
        _same(a, b)
    assert back.card == m.card
    assert back.input_neuron == m.layers[0].neuron
    assert back.graded_output and back.output_shape == (3,)
    # written twice, read twice: the same bytes of data
    again = netx.read(netx.write(back, tmp_path / "m2.net"))
    for a, b in zip(back.layers, again.layers):
        _same(a, b)


def _layer_file(tmp_path, kind, extra=None):
    p = tmp_path / f"{kind}.net"
    with h5py.File(p, "w") as f:
        g = f.create_group("layer/0")
        g.create_dataset("type", (1,), "S10", [b"input"])
        g.create_dataset("shape", data=np.array([4]))
        g = f.create_group("layer/1")
        g.create_dataset("type", (1,), "S10", [kind.encode()])
        g.create_dataset("shape", data=np.array([4]))
        for k, v in (extra or {}).items():
            g.create_dataset(k, data=v)
    return p


@pytest.mark.parametrize("kind", netx.UNLOADABLE)
def test_unloadable_types_name_the_layer(tmp_path, kind):
    with pytest.raises(netx.NetxFormatError) as e:
        netx.read(_layer_file(tmp_path, kind))
    msg = str(e.value)
    assert "layer 1" in msg and f"'{kind}'" in msg and "\n" not in msg


def test_bad_fields_are_one_line(tmp_path):
    w = np.ones((4, 4), np.float32)
    cases = {
        "delay of shape": {"weight": w, "delay": np.ones(3)},
        "'delay' must hold": {"weight": w, "delay": -np.ones(4)},
        "neuron type 'RF'": None,
    }
    p = _layer_file(tmp_path, "dense", cases["delay of shape"])
    with pytest.raises(netx.NetxFormatError, match="delay of shape"):
        netx.read(p)
    p = _layer_file(tmp_path, "dense", cases["'delay' must hold"])
    with pytest.raises(netx.NetxFormatError, match="'delay' must hold"):
        netx.read(p)
    p = _layer_file(tmp_path, "dense", {"weight": w})
    with h5py.File(p, "a") as f:
        f.create_dataset("layer/1/neuron/type", data="RF")
    with pytest.raises(netx.NetxFormatError, match="neuron type 'RF'"):
        netx.read(p)
    p = _layer_file(tmp_path, "dense_rec", {"weight": w, "weight_rec": np.ones((3, 3))})
    with pytest.raises(netx.NetxFormatError, match="weight_rec must be"):
        netx.read(p)
