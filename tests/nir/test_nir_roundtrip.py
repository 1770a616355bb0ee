"""Every shipped NetX model -> NIR file (read by stock ``nir.read``) -> NetX: bit-identical, same emu output."""
from pathlib import Path

import nir
import pytest
import torch

from neurodeploy import netx
from neurodeploy.nir import from_nir, to_nir, write_graph
from neurodeploy.nir.convention import CARD_KEY, METADATA_KEY
from neurodeploy.nir.verify import verify
from neurodeploy.runtime.api import encode_dataset_for_model
from neurodeploy.runtime.emu import emulate
from nir_helpers import assert_same_model

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "netx_models").glob("*.net"))


def _spikes(model, shared_data, n: int = 200):
    """The model's own test images encoded; for a data set the shared root lacks in this form
    (CIFAR-10 ships as JPEGs), seeded random images through the model's encoder."""
    from neurodeploy.data import spec

    if (shared_data / spec(model.card["dataset"]).folder).is_dir():
        return encode_dataset_for_model(model, limit=n, data_dir=shared_data)[0]
    from neurodeploy.encoding import make_encoder

    images = torch.rand(n, *model.card["input_shape"], generator=torch.Generator().manual_seed(0))
    enc = make_encoder(model.card["encoding"])
    s = enc.to_deployed(enc.spikes(images, int(model.card["steps"])))
    return s.reshape(n, *model.input_shape, s.shape[-1])


def test_models_are_shipped():
    assert len(SHIPPED) >= 2


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_model_round_trip_is_bit_identical(path, tmp_path, shared_data):
    model = netx.read(path)
    nir_path = write_graph(to_nir(model), tmp_path / "m.nir")
    graph = nir.read(nir_path)                     # the stock reader, with its type check
    assert METADATA_KEY in graph.metadata and CARD_KEY in graph.metadata
    imp = from_nir(graph)
    assert_same_model(model, imp.model)
    assert all(l.lossless for l in imp.layers) and imp.approximations == []
    assert imp.source_card == model.card

    x = _spikes(model, shared_data)
    a, b = emulate(model, x).spikes, emulate(imp.model, x).spikes
    assert torch.equal(a, b)
    # the float NIR reference of the same graph predicts like the integer artifact. Per layer a few
    # spikes at the threshold flip between float and fixed point, and they cascade: fine for the 2-4
    # layer Fashion-MNIST nets, measured 91.5 % (real images) / 86.5 % (random) for the 6-layer conv32
    deep = len(model.synaptic_layers) > 4
    v = verify(graph, imp, x)
    assert v.prediction_agreement >= (0.8 if deep else 0.98), v.summary()
    assert max(l.mismatch for l in v.layers) < (0.05 if deep else 0.01)
