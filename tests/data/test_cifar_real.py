"""CIFAR-10 from ../shared/data: rebuild the python batches with the shared tool, load them here."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from neurodeploy.data import load_dataset
from neurodeploy.encoding import make_encoder
from neurodeploy.models.snn import SpikingNet


@pytest.fixture(scope="module")
def cifar_root(shared_data, tmp_path_factory):
    tool = shared_data.parent / "tools" / "cifar10_from_jpeg.py"
    assert tool.is_file(), f"{tool} missing"
    out = tmp_path_factory.mktemp("cifar")
    subprocess.run([sys.executable, str(tool), str(out)], check=True, capture_output=True)
    return out


def test_cifar10_loads_and_feeds_the_conv32_snn(cifar_root):
    ds = load_dataset("cifar10", "test", cifar_root)
    assert ds.images.shape == (10000, 3, 32, 32) and ds.images.dtype == np.uint8
    assert np.bincount(ds.labels).tolist() == [1000] * 10
    assert 80 < ds.images.mean() < 160  # real photographs, not blank arrays
    net = SpikingNet("conv32", 10, 3)
    x = torch.from_numpy(ds.images[:4]).float() / 255
    assert net(make_encoder("early_burst").encode(x, 4)).shape == (4, 10, 4)
