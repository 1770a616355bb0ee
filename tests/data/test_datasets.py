import gzip
import pickle

import numpy as np
import pytest

from neurodeploy.data import load_dataset
from neurodeploy.data.cifar import read_batch
from neurodeploy.data.idx import parse_idx, read_idx, write_idx
from neurodeploy.errors import BadInputError, UsageError


def make_idx_set(root, n=12, name="fashion-mnist", split="t10k", compress=True):
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    sfx = ".gz" if compress else ""
    write_idx(images, folder / f"{split}-images-idx3-ubyte{sfx}", compress)
    write_idx(labels, folder / f"{split}-labels-idx1-ubyte{sfx}", compress)
    return folder, images, labels


def test_shipped_sample_is_default(monkeypatch):
    monkeypatch.delenv("NEURODEPLOY_DATA", raising=False)
    test = load_dataset("fashion-mnist", "test")
    train = load_dataset("fashion-mnist", "train")
    assert test.images.shape == (1000, 1, 28, 28) and train.images.shape == (2000, 1, 28, 28)
    assert test.images.dtype == np.uint8 and test.labels.dtype == np.int64
    assert set(np.unique(test.labels)) == set(range(10))


def test_real_fashion_mnist_from_shared_data(shared_data):
    ds = load_dataset("fashion-mnist", "test", shared_data)
    assert ds.images.shape == (10000, 1, 28, 28) and np.bincount(ds.labels).tolist() == [1000] * 10
    mn = load_dataset("mnist", "train", shared_data, limit=5)
    assert mn.images.shape == (5, 1, 28, 28) and mn.labels.tolist() == [5, 0, 4, 1, 9]  # MNIST's well-known first labels


@pytest.mark.parametrize("compress", [True, False])
def test_roundtrip_gz_and_raw(tmp_path, compress):
    _, images, labels = make_idx_set(tmp_path, compress=compress)
    ds = load_dataset("fashion-mnist", "test", tmp_path)
    np.testing.assert_array_equal(ds.images[:, 0], images)
    np.testing.assert_array_equal(ds.labels, labels)


def test_env_var_is_data_root(tmp_path, monkeypatch):
    make_idx_set(tmp_path, n=7)
    monkeypatch.setenv("NEURODEPLOY_DATA", str(tmp_path))
    assert len(load_dataset("fashion-mnist", "test")) == 7


def test_missing_file_names_it(tmp_path):
    folder, _, _ = make_idx_set(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(BadInputError, match=r"t10k-labels-idx1-ubyte\.gz: missing"):
        load_dataset("fashion-mnist", "test", tmp_path)


def test_truncated_gzip_names_file(tmp_path):
    folder, _, _ = make_idx_set(tmp_path)
    p = folder / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-200])
    with pytest.raises(BadInputError, match=r"t10k-images-idx3-ubyte\.gz: truncated or corrupt gzip"):
        load_dataset("fashion-mnist", "test", tmp_path)


def test_truncated_payload_is_not_a_shorter_data_set(tmp_path):
    folder, _, _ = make_idx_set(tmp_path)
    p = folder / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())[:-784]))
    with pytest.raises(BadInputError, match=r"truncated: header says \(12, 28, 28\)"):
        load_dataset("fashion-mnist", "test", tmp_path)


def test_wrong_magic_and_wrong_kind(tmp_path):
    with pytest.raises(BadInputError, match="bad IDX magic"):
        parse_idx(b"\x00\x00\x0d\x03" + b"\x00" * 12, "x.idx")
    folder, _, _ = make_idx_set(tmp_path)
    # labels where images belong: 1-D file
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(BadInputError, match="1 dimensions, expected 3"):
        load_dataset("fashion-mnist", "test", tmp_path)


def test_label_image_count_mismatch(tmp_path):
    folder, _, labels = make_idx_set(tmp_path)
    write_idx(labels[:-1], folder / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(BadInputError, match="11 labels for 12 images"):
        load_dataset("fashion-mnist", "test", tmp_path)


def test_unknown_name_and_no_root_for_other_sets(monkeypatch):
    monkeypatch.delenv("NEURODEPLOY_DATA", raising=False)
    with pytest.raises(UsageError, match="unknown data set"):
        load_dataset("imagenet")
    with pytest.raises(UsageError, match="no data root for 'mnist'"):
        load_dataset("mnist")


def _cifar_batch(path, n=4):
    rng = np.random.default_rng(1)
    d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(range(n))}
    path.write_bytes(pickle.dumps(d))
    return d


def test_cifar_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    d = _cifar_batch(folder / "test_batch")
    ds = load_dataset("cifar10", "test", tmp_path)
    assert ds.images.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(ds.images[1, 2].reshape(-1), d[b"data"][1, 2048:])  # B plane
    assert ds.labels.tolist() == [0, 1, 2, 3]
    with pytest.raises(BadInputError, match="data_batch_1: missing"):
        load_dataset("cifar10", "train", tmp_path)


def test_cifar_pickle_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    p = tmp_path / "test_batch"
    p.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(BadInputError, match="refusing to load builtins.print"):
        read_batch(p)


def test_read_idx_raw(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(a, tmp_path / "a.idx", compress=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx", ndim=3), a)
