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
    assert not list((root / "mnist").glob("*.part")) and not list((root / "mnist").glob(".*.tmp"))


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


def test_fetch_removes_what_a_killed_fetch_left(server, tmp_path):
    """SIGKILL during a download leaves its temporary (PID in the name); the next fetch removes it,
    and a ``.part`` of the older naming too."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    served, url = server
    _serve_mnist_like(served)
    root = tmp_path / "root"
    hang = ("import sys, time; import neurodeploy.data.fetch as f; "
            "f._download = lambda *a, **k: time.sleep(120); f.fetch('mnist', sys.argv[1], base_url='file:///nowhere')")
    p = subprocess.Popen([sys.executable, "-c", hang, str(root)], cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.time() + 120
        while not list((root / "mnist").glob(".*.tmp")) if (root / "mnist").is_dir() else True:
            assert time.time() < deadline and p.poll() is None, "the fetch never started its download"
            time.sleep(0.1)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    left = list((root / "mnist").glob(".*.tmp"))
    assert len(left) == 1 and f".p{p.pid}." in left[0].name
    (root / "mnist" / "train-images-idx3-ubyte.gz.ab12cd34.part").write_bytes(b"old partial")
    r = CliRunner().invoke(main, ["data", "fetch", "mnist", "--data-dir", str(root), "--mirror", url])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(OFFICIAL["mnist"].files)
