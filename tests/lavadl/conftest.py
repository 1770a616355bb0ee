"""Fixtures: lava-dl-made NetX files (lava-dl blocks + lava-dl's export_hdf5), built once per session."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import lavadl_nets


@pytest.fixture(scope="session")
def lavadl_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("lavadl")
    files = {"dense": lavadl_nets.cuba_dense_net(d / "cuba_dense.net"),
             "conv": lavadl_nets.cuba_conv_net(d / "cuba_conv.net"),
             "sdnn": lavadl_nets.sdnn_net(d / "sdnn.net"),
             "sdnn_conv": lavadl_nets.sdnn_conv_net(d / "sdnn_conv.net")}
    # lava-dl's sigma-delta Dense exports a bias only through a norm; add one the way NetX reads it
    with h5py.File(files["sdnn"], "a") as f:
        f["layer/2"].create_dataset("bias", data=np.arange(-4, 4, dtype=np.float32) * 3)
    return files
