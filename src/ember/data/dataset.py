"""Datasets: ``Dataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``, ``random_split``.

>>> import ember
>>> ds = ember.data.TensorDataset(ember.arange(10), ember.arange(10) * 2)
>>> g = ember.Generator().manual_seed(0)
>>> train, test = ember.data.random_split(ds, [0.8, 0.2], generator=g)
>>> len(train), len(test), ds[3]
(8, 2, (tensor(3), tensor(6)))
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from ember.core.tensor import Tensor, _wrap
from ember.errors import ShapeError


class Dataset:
    """Map-style dataset: implement ``__getitem__(index)`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: implement ``__iter__``."""

    def __iter__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are the i-th rows of tensors (or arrays) that share their first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ShapeError("TensorDataset: needs at least one tensor")
        n = len(tensors[0])
        for i, t in enumerate(tensors):
            if len(t) != n:
                raise ShapeError(
                    f"TensorDataset: size mismatch between tensors: tensor 0 has {n} rows, "
                    f"tensor {i} has {len(t)}"
                )
        self.tensors = tuple(t if isinstance(t, Tensor) else _wrap(np.asarray(t)) for t in tensors)

    def __getitem__(self, index):
        return tuple(_wrap(t._data[index]) for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])

    def batch(self, indices) -> tuple:
        """The collated batch for ``indices`` in one vectorised gather (DataLoader's fast path)."""
        idx = np.asarray(indices, dtype=np.int64)
        return tuple(_wrap(t._data[idx]) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def batch(self, indices):
        inner = getattr(self.dataset, "batch", None)
        if inner is None:
            raise AttributeError("batch")
        return inner([self.indices[i] for i in indices])


class ConcatDataset(Dataset):
    """Datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1]) if self.cumulative_sizes else 0

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index out of range for {len(self)} samples")
        d = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][index - start]


def random_split(dataset: Dataset, lengths, generator=None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths (or fractions)."""
    from ember.core.random import default_generator

    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # hand out the remainder round-robin, as PyTorch does
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length of "
            f"the dataset ({n})"
        )
    perm = (generator or default_generator).np.permutation(n).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset : offset + length]))
        offset += length
    return out
