"""SNN weights from the trained ANN twin (``--init-from ANN_RUN``): the normalisation formula on a
hand-made case, the scales, the refusals, and the point of it: a converted MLP SNN classifies
well above chance before any SNN training, where the same SNN with its own initial weights does not."""
import numpy as np
import pytest
import torch

from neurodeploy.errors import BadInputError
from neurodeploy.models.snn import ANNNet
from neurodeploy.runfolder import build_classifier, load_run
from neurodeploy.training.config import TrainConfig
from neurodeploy.training.convert import GAIN, activation_scales, init_from_ann, snn_weights, synapses
from neurodeploy.training.run import evaluate, train

RECIPE_NEURON = {"threshold": 1.25, "current_decay": 1.0, "voltage_decay": 0.03, "tau_grad": 0.3, "scale_grad": 100.0}


def test_formula_on_a_hand_made_case():
    w1, w2 = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5]])
    got = snn_weights([w1, w2], [1.0, 4.0, 2.0], threshold=1.5, gain=2.0)
    # W_snn[l] = g θ W[l] λ[l-1] / λ[l]
    assert torch.equal(got[0], torch.tensor([[2 * 1.5 * 1 / 4, 2 * 1.5 * -2 / 4]]))
    assert torch.equal(got[1], torch.tensor([[2 * 1.5 * 0.5 * 4 / 2]]))
    with pytest.raises(ValueError):
        snn_weights([w1, w2], [1.0, 4.0], threshold=1.5)


def test_scales_are_percentiles_of_positive_activations():
    net = ANNNet("mlp", 10, 1)
    with torch.no_grad():
        for m in net.layers:
            if isinstance(m, torch.nn.Linear):
                m.weight.zero_()
        net.layers[1].weight[:, 0] = torch.linspace(1, 512, 512) / 512  # hidden j = x0 (j+1)/512
        net.layers[3].weight[0, 0] = 3.0                                  # logit 0 = 3 h_0
    x = torch.zeros(4, 1, 28, 28)
    x[:, 0, 0, 0] = torch.tensor([1.0, 0.5, 0.25, 0.0])
    lam = activation_scales(net, x, percentile=100)
    assert lam[0] == 1.0
    assert lam[1] == pytest.approx(1.0)            # the largest hidden activation: x0 = 1, j = 511
    assert lam[2] == pytest.approx(3.0 / 512)      # logit 0 = 3 * (1/512) at x0 = 1
    with torch.no_grad():
        net.layers[1].weight.zero_()
    with pytest.raises(BadInputError, match="silent"):
        activation_scales(net, x)


@pytest.fixture(scope="module")
def ann_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ann")
    train(TrainConfig(model="mlp", ann=True, epochs=1, seed=0, batch_size=64, limit=2000, test_limit=10), out,
          progress=False)
    return out


def test_converted_snn_classifies_before_training(ann_run):
    from neurodeploy.data import load_dataset

    ann = load_run(ann_run)
    train_ds, test_ds = load_dataset("fashion-mnist", "train", None, 2000), load_dataset("fashion-mnist", "test", None, 500)
    cfg = TrainConfig(model="mlp", encoding={"name": "early_burst"}, steps=8, seed=0, neuron=dict(RECIPE_NEURON))
    torch.manual_seed(0)
    own = build_classifier(cfg)
    torch.manual_seed(0)
    snn = build_classifier(cfg)
    scales = init_from_ann(snn, ann, train_ds.images[:500], "ann")
    assert len(scales) == 3 and all(s > 0 for s in scales)
    ann_acc = evaluate(ann, test_ds.images, test_ds.labels)["test_accuracy"]
    snn_acc = evaluate(snn.eval(), test_ds.images, test_ds.labels)["test_accuracy"]
    own_acc = evaluate(own.eval(), test_ds.images, test_ds.labels)["test_accuracy"]
    assert ann_acc > 0.7
    assert snn_acc > 0.6 * ann_acc and snn_acc > own_acc + 0.2, (ann_acc, snn_acc, own_acc)
    w_ann = ann.net.layers[1].weight
    w_snn = synapses(snn.net)[0].weight.reshape(w_ann.shape)
    assert torch.allclose(w_snn, GAIN * 1.25 * w_ann * scales[0] / scales[1])


def test_train_init_from_ann_run_and_refusals(ann_run, tmp_path):
    cfg = TrainConfig(model="mlp", encoding={"name": "early_burst"}, steps=8, epochs=1, seed=0, batch_size=64,
                      limit=256, test_limit=200, neuron=dict(RECIPE_NEURON), init_from=str(ann_run))
    m = train(cfg, tmp_path / "snn", progress=False)
    assert m["epochs"][0]["test_accuracy"] > 0.4
    conv = TrainConfig(model="conv28", steps=8, epochs=1, limit=64, test_limit=10, init_from=str(ann_run))
    with pytest.raises(BadInputError, match="do not match"):
        train(conv, tmp_path / "conv", progress=False)
    two = TrainConfig(model="mlp", encoding={"name": "fusion", "parts": ["early_burst", "ttfs"]}, steps=8, epochs=1,
                      limit=64, test_limit=10, init_from=str(ann_run))
    with pytest.raises(BadInputError, match="do not match"):
        train(two, tmp_path / "fusion", progress=False)
    assert np.isfinite(m["epochs"][0]["loss"])
