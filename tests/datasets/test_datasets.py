"""Datasets that install offline: IDX files, Fashion-MNIST, digits, MNIST-1D."""

import gzip

import numpy as np
import pytest

import ember
from ember.datasets import DatasetError, read_idx


def _write_idx(path, arr, code):
    header = bytes([0, 0, code, arr.ndim]) + b"".join(n.to_bytes(4, "big") for n in arr.shape)
    data = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype, code", [(np.uint8, 0x08), (np.int32, 0x0C), (np.float32, 0x0D)])
def test_idx_round_trip(tmp_path, suffix, dtype, code):
    arr = (np.arange(24).reshape(2, 3, 4) % 200).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    _write_idx(path, arr, code)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.tolist() == arr.tolist()


def test_idx_errors(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DatasetError, match="bad.idx: not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short.idx"
    _write_idx(short, np.zeros((4, 4), np.uint8), 0x08)
    short.write_bytes(short.read_bytes()[:-3])
    with pytest.raises(
        DatasetError, match=r"short.idx: IDX data has 13 bytes but shape \(4, 4\) needs 16"
    ):
        read_idx(short)


def test_fashion_mnist_from_a_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("t10k", 3)):
        _write_idx(
            tmp_path / f"{split}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28)).astype(np.uint8),
            8,
        )
        _write_idx(
            tmp_path / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8), 8
        )
    ds = ember.datasets.fashion_mnist("test", root=str(tmp_path))
    x, y = ds.tensors
    assert x.shape == (3, 1, 28, 28) and x.dtype == ember.float32 and y.dtype == ember.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_fashion_mnist_missing_says_how_to_install(tmp_path):
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        ember.datasets.fashion_mnist(root=str(tmp_path))


def test_fashion_mnist_debian_package():
    """The real dataset (make test installs Debian's dataset-fashion-mnist)."""
    train, test = ember.datasets.fashion_mnist("train"), ember.datasets.fashion_mnist("test")
    assert (len(train), len(test)) == (60000, 10000)
    counts = np.bincount(test.tensors[1].numpy(), minlength=10)
    assert counts.tolist() == [1000] * 10  # the test set is balanced


def test_digits_split_is_disjoint_and_complete():
    train, test = ember.datasets.digits("train"), ember.datasets.digits("test")
    assert len(train) + len(test) == 1797
    assert train.tensors[0].shape[1:] == (1, 8, 8)
    assert float(train.tensors[0].max()) == 1.0


def test_mnist1d_generates_offline():
    ds = ember.datasets.mnist1d("test", num_samples=500)
    x, y = ds.tensors
    assert x.shape == (100, 40) and set(y.tolist()) <= set(range(10))
