"""`neurodeploy data fetch` against a local HTTP server on 127.0.0.1 serving files the test makes."""
import gzip
import http.server
import threading
from functools import partial

import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.data import load_dataset
from neurodeploy.data.fetch import OFFICIAL
from neurodeploy.data.idx import write_idx


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _serve_mnist_like(served, n=6):
    rng = np.random.default_rng(0)
    for split in ("train", "t10k"):
        write_idx(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), served / f"{split}-images-idx3-ubyte.gz")
        write_idx(rng.integers(0, 10, n).astype(np.uint8), served / f"{split}-labels-idx1-ubyte.gz")


def test_fetch_downloads_checks_and_loads(server, tmp_path):
    served, url = server
    _serve_mnist_like(served)
    root = tmp_path / "root"
    r = CliRunner().invoke(main, ["data", "fetch", "mnist", "--data-dir", str(root), "--mirror", url])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(OFFICIAL["mnist"].files)
    assert len(load_dataset("mnist", "train", root)) == 6


def test_fetch_rejects_truncated_file_and_leaves_nothing(server, tmp_path):
    served, url = server
    _serve_mnist_like(served)
    p = served / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())[:-100]))
    root = tmp_path / "root"
    r = CliRunner().invoke(main, ["data", "fetch", "mnist", "--data-dir", str(root), "--mirror", url])
    assert r.exit_code == 3
    assert "t10k-images-idx3-ubyte.gz: truncated" in r.output and "Traceback" not in r.output
    assert not (root / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    assert not list((root / "mnist").glob("*.part"))


def test_fetch_rejects_wrong_magic(server, tmp_path):
    served, url = server
    _serve_mnist_like(served)
    (served / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x09\x01" + b"\x00" * 20))
    r = CliRunner().invoke(main, ["data", "fetch", "mnist", "--data-dir", str(tmp_path), "--mirror", url])
    assert r.exit_code == 3 and "train-labels-idx1-ubyte.gz: bad IDX magic" in r.output


def test_fetch_missing_file_on_server(server, tmp_path):
    _, url = server  # serves nothing
    r = CliRunner().invoke(main, ["data", "fetch", "fashion-mnist", "--data-dir", str(tmp_path), "--mirror", url])
    assert r.exit_code == 2 and "HTTP 404" in r.output
