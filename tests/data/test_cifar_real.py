"""CIFAR-10 from the data root: its python batches, or rebuilt from ``cifar-10-jpeg.tar.xz`` with the
``tools/cifar10_from_jpeg.py`` beside the root (the shared folder's layout)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neurodeploy.data import load_dataset
from neurodeploy.encoding import make_encoder
from neurodeploy.models.snn import SpikingNet


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory, need_data):
    from neurodeploy.data.root import find_data_root

    here = Path(__file__).parent
    ready = find_data_root(here, need="cifar-10-batches-py")
    if ready is not None:
        return ready
    root = find_data_root(here, need="cifar-10-jpeg.tar.xz")
    tool = root.parent / "tools" / "cifar10_from_jpeg.py" if root is not None else None
    if tool is None or not tool.is_file():
        need_data("cifar-10")  # skips (fails under CI=true) naming the data set
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
