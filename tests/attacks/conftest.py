"""Small trained models for the attack tests (shipped Fashion-MNIST sample; ~5 s to train)."""
from __future__ import annotations

import pytest
import torch

N_IMAGES = 100


def _train(tmp_path_factory, name, **kw):
    from neurodeploy.training.config import TrainConfig
    from neurodeploy.training.run import train

    out = tmp_path_factory.mktemp(name)
    train(TrainConfig(epochs=1, limit=1000, test_limit=200, **kw), out, progress=False)
    return out


@pytest.fixture(scope="session")
def snn_run(tmp_path_factory):
    return _train(tmp_path_factory, "atk_snn")


@pytest.fixture(scope="session")
def ann_run(tmp_path_factory):
    return _train(tmp_path_factory, "atk_ann", ann=True)


@pytest.fixture(scope="session")
def poisson_run(tmp_path_factory):
    return _train(tmp_path_factory, "atk_poisson", encoding={"name": "poisson"}, steps=4)


@pytest.fixture(scope="session")
def data():
    """(x, y, idx): the first test images of the shipped sample, x in [0, 1]."""
    from neurodeploy.data import load_dataset

    ds = load_dataset("fashion-mnist", "test", None, N_IMAGES)
    x = torch.from_numpy(ds.images).float() / 255
    return x, torch.from_numpy(ds.labels), torch.arange(len(ds.labels))


@pytest.fixture(scope="session")
def snn(snn_run):
    import neurodeploy

    return neurodeploy.load(snn_run)


@pytest.fixture(scope="session")
def ann(ann_run):
    import neurodeploy

    return neurodeploy.load(ann_run)
