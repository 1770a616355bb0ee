"""The quantised-input ANN twin sees exactly the SNN's spike count / T, and its gradient is straight-through."""
import torch

from neurodeploy.encoding import make_encoder
from neurodeploy.runfolder import build_classifier
from neurodeploy.training.config import TrainConfig


def test_quantised_ann_input_is_the_spike_count_over_T():
    cfg = TrainConfig(ann=True, input_quantisation=True, encoding={"name": "early_burst_floor"}, steps=8)
    clf = build_classifier(cfg.validate())
    x = torch.rand(4, 1, 28, 28)
    q = clf.quantise(x)
    counts = make_encoder("early_burst_floor").spikes(x, 8).sum(-1)
    assert torch.equal(q, counts / 8) and torch.equal(q, torch.floor(x * 8 + 1e-6) / 8)
    xr = x.clone().requires_grad_(True)
    clf(xr).sum().backward()
    assert xr.grad.abs().sum() > 0  # straight-through: d(count/T)/dx = 1, not zero almost everywhere
    plain = build_classifier(TrainConfig(ann=True).validate())
    assert torch.equal(plain.quantise(x), x)
