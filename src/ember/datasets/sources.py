"""Loaders for the datasets ember uses in its tests, demo and benchmarks.

>>> import ember
>>> train = ember.datasets.digits("train")
>>> x, y = train[0]
>>> x.shape, y.dtype, len(train.classes)
((1, 8, 8), ember.int64, 10)
"""

from __future__ import annotations

import os

import numpy as np

from ember.data.dataset import TensorDataset
from ember.datasets.idx import DatasetError, read_idx

FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_FILES = {"train": "train-{}-idx{}-ubyte", "test": "t10k-{}-idx{}-ubyte"}


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def _find(folder: str, stem: str) -> str | None:
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    return None


def fashion_mnist(split: str = "train", root: str | None = None) -> TensorDataset:
    """Fashion-MNIST images (N, 1, 28, 28) as float32 in [0, 1] and int64 labels.

    Looks in ``root`` or in the folder Debian's ``dataset-fashion-mnist`` installs.
    """
    _check_split(split)
    folders = (root,) if root else FASHION_MNIST_DIRS
    for folder in folders:
        images = _find(folder, _FILES[split].format("images", 3))
        labels = _find(folder, _FILES[split].format("labels", 1))
        if images and labels:
            x = read_idx(images)
            y = read_idx(labels)
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise DatasetError(
                    f"{folder}: images {x.shape} and labels {y.shape} do not form a dataset"
                )
            ds = TensorDataset(
                (x[:, None] / np.float32(255)).astype(np.float32), y.astype(np.int64)
            )
            ds.classes = FASHION_CLASSES
            return ds
    where = root or " or ".join(FASHION_MNIST_DIRS)
    raise DatasetError(
        f"fashion_mnist: the {split} files were not found in {where}. Install them with "
        "`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass root= a folder "
        "holding train-images-idx3-ubyte.gz and the other IDX files"
    )


def digits(split: str = "train", test_fraction: float = 0.2, seed: int = 0) -> TensorDataset:
    """scikit-learn's 8x8 digits (N, 1, 8, 8) float32 in [0, 1]; a fixed, stratified-free
    random split (``seed``) into train and test."""
    _check_split(split)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DatasetError("digits: needs scikit-learn (pip install scikit-learn)") from None
    data = load_digits()
    x = (data.images[:, None] / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(len(y) * test_fraction))
    idx = perm[n_test:] if split == "train" else perm[:n_test]
    ds = TensorDataset(x[idx], y[idx])
    ds.classes = tuple(str(i) for i in range(10))
    return ds


def mnist1d(split: str = "train", num_samples: int = 5000, seed: int = 42) -> TensorDataset:
    """MNIST-1D sequences (N, 40) float32 and int64 labels, generated locally."""
    _check_split(split)
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise DatasetError("mnist1d: needs the mnist1d package (pip install mnist1d)") from None
    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    data = make_dataset(args)
    xs, ys = (data["x"], data["y"]) if split == "train" else (data["x_test"], data["y_test"])
    ds = TensorDataset(xs.astype(np.float32), ys.astype(np.int64))
    ds.classes = tuple(str(i) for i in range(10))
    return ds
