import pytest
import torch

from neurodeploy.errors import UsageError
from neurodeploy.models.architectures import ARCHITECTURES, Conv, Dense, architecture, shapes
from neurodeploy.models.snn import ANNNet, SpikingNet


def test_shapes_follow_strided_convs():
    inp, layers = architecture("conv28", 10)
    assert shapes(inp, layers) == [(16, 14, 14), (32, 7, 7), (1568,), (128,), (10,)]
    inp, layers = architecture("conv32", 10)
    assert shapes(inp, layers)[-3:] == [(1024,), (256,), (10,)]


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_snn_and_ann_twin_have_identical_topology(name):
    inp, _ = architecture(name, 10)
    snn = SpikingNet(name, 10, inp[0])
    ann = ANNNet(name, 10, inp[0])
    snn_w = [tuple(p.shape[:4]) for n, p in snn.named_parameters() if n.endswith("weight")]
    ann_w = [tuple(p.shape) for p in ann.parameters()]
    assert [w[:2] for w in snn_w] == [w[:2] for w in ann_w]
    assert sum(p.numel() for p in ann.parameters()) == sum(p.numel() for n, p in snn.named_parameters() if n.endswith("weight"))
    x = torch.rand(2, *inp)
    assert ann(x).shape == (2, 10)
    assert snn((torch.rand(2, *inp, 4) < 0.5).float()).shape == (2, 10, 4)


def test_only_netx_loadable_layer_kinds():
    for a in ARCHITECTURES.values():
        assert all(type(l).__name__ in ("Dense", "Conv", "Flatten") for l in a["layers"])


def test_unknown_model():
    with pytest.raises(UsageError, match="unknown model 'resnet'"):
        architecture("resnet", 10)
