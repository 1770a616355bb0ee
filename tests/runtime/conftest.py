"""Fixtures: the helper networks of ``rt_helpers`` written to NetX files once per session."""
from __future__ import annotations

import pytest

from neurodeploy import netx
from rt_helpers import conv_model, dense_model


@pytest.fixture(scope="session")
def dense_net(tmp_path_factory):
    path = tmp_path_factory.mktemp("rt_dense") / "dense.net"
    netx.write(dense_model(), path)
    return path, netx.read(path)


@pytest.fixture(scope="session")
def conv_net(tmp_path_factory):
    path = tmp_path_factory.mktemp("rt_conv") / "conv.net"
    netx.write(conv_model(bias=True), path)
    return path, netx.read(path)
