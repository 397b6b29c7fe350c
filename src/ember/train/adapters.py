"""Turn what ``fit``/``evaluate``/``predict`` accept (tensors or arrays with labels, a
``DataLoader``, a ``Dataset``) into a ``Source`` of batches, checking it before any training.

Arrays are batched here directly (one fancy-indexing gather per batch, shuffled with ember's
default generator so that a checkpoint's RNG state resumes the same order). Floating inputs
given as arrays/tensors are cast to the model's parameter dtype, as Keras casts to its
compute dtype.

>>> import ember
>>> src = array_source(ember.randn(10, 3), ember.arange(10), batch_size=4, shuffle=False)
>>> [tuple(x.shape) for x, _ in src.epoch()], src.steps
([(4, 3), (4, 3), (2, 3)], 3)
"""

from __future__ import annotations

import math

import numpy as np

from ember.core.random import default_generator
from ember.core.tensor import Tensor, _wrap
from ember.data.dataset import Dataset, IterableDataset, Subset
from ember.data.loader import DataLoader
from ember.errors import EmberValueError, ShapeError


class Source:
    """Batches for one pass (``epoch()``), with what is known about them up front.

    ``probe`` is ``(x_sample, y_dtype, y_ndim)``: one input sample (no batch dim) and the
    labels' dtype and rank (with the batch dim), or ``None`` where they cannot be known
    without drawing a batch. With ``steps`` set, passes continue one iterator (restarted when
    exhausted), as Keras's ``steps_per_epoch`` does.
    """

    def __init__(self, make_iter, steps, samples, batch_size, probe, limit=None):
        self._make_iter = make_iter
        self.steps = limit if limit is not None else steps
        self.samples, self.batch_size, self.probe = samples, batch_size, probe
        self._limit = limit
        self._it = None

    def epoch(self):
        if self._limit is None:
            return self._make_iter()
        return self._limited()

    def _limited(self):
        for _ in range(self._limit):
            batch = next(self._it, None) if self._it is not None else None
            if batch is None:
                self._it = iter(self._make_iter())
                batch = next(self._it, None)
                if batch is None:
                    return
            yield batch


def _array(v, what: str, where: str) -> np.ndarray:
    if isinstance(v, Tensor):
        return v._data
    a = np.asarray(v)
    if a.dtype == object:
        raise EmberValueError(
            f"{where}: {what} must be a tensor or an array, got {type(v).__name__}"
        )
    return a


def array_source(x, y, batch_size, shuffle, steps=None, where="fit") -> Source:
    """Batches of rows of ``x`` (and ``y``), shuffled each pass when ``shuffle``."""
    x = _array(x, "x", where)
    y = None if y is None else _array(y, "y", where)
    _check_rows(x, y, where)
    n = len(x)
    batch_size = _batch_size(batch_size, where)

    def make_iter():
        # Batches are copies (fancy indexing copies; slices are copied), so a layer working
        # in place on its input cannot write into the caller's arrays.
        if shuffle:
            order = default_generator.np.permutation(n)
            rows = (order[i : i + batch_size] for i in range(0, n, batch_size))
        else:
            rows = (slice(i, i + batch_size) for i in range(0, n, batch_size))
        for idx in rows:
            xb = x[idx] if shuffle else x[idx].copy()
            if y is None:
                yield (_wrap(xb),)
            else:
                yield (_wrap(xb), _wrap(y[idx] if shuffle else y[idx].copy()))

    probe = (x[0], None if y is None else y.dtype, None if y is None else y.ndim)
    return Source(make_iter, math.ceil(n / batch_size), n, batch_size, probe, steps)


def _check_rows(x, y, where: str) -> None:
    if x.ndim == 0:
        raise ShapeError(f"{where}: x must have a batch dimension, got a 0-d array")
    if y is not None and (y.ndim == 0 or len(y) != len(x)):
        ylen = len(y) if y.ndim else "no"
        raise ShapeError(
            f"{where}: x and y must have the same number of samples, got x with {len(x)} "
            f"(shape {tuple(x.shape)}) and y with {ylen} (shape {tuple(y.shape)})"
        )
    if len(x) == 0:
        raise ShapeError(f"{where}: x has no samples (shape {tuple(x.shape)})")


def _batch_size(batch_size, where: str) -> int:
    if batch_size is None:
        return 32
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise EmberValueError(f"{where}: batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def loader_source(loader: DataLoader, steps=None) -> Source:
    try:
        n_steps = len(loader)
    except TypeError:
        n_steps = None
    ds = loader.dataset
    samples = len(ds) if hasattr(ds, "__len__") and not isinstance(ds, IterableDataset) else None
    probe = _dataset_probe(ds) if loader.collate_fn is None else None
    return Source(lambda: iter(loader), n_steps, samples, loader.batch_size, probe, steps)


def _dataset_probe(ds):
    if isinstance(ds, IterableDataset) or not hasattr(ds, "__len__") or len(ds) == 0:
        return None
    sample = ds[0]
    if not isinstance(sample, (tuple, list)):
        return (sample, None, None)
    x = sample[0]
    if len(sample) < 2:
        return (x, None, None)
    y = sample[1]
    ya = y._data if isinstance(y, Tensor) else np.asarray(y)
    return (x, ya.dtype, ya.ndim + 1)


def source(x, y, batch_size, shuffle, steps, where: str) -> Source:
    """A ``Source`` for ``x``: a DataLoader, a Dataset (batched here), or arrays with ``y``."""
    if steps is not None and (not isinstance(steps, (int, np.integer)) or steps < 1):
        raise EmberValueError(f"{where}: steps must be a positive integer, got {steps!r}")
    if isinstance(x, DataLoader):
        _no_y(y, "a DataLoader", where)
        return loader_source(x, steps)
    if isinstance(x, Dataset):
        _no_y(y, "a Dataset", where)
        bs = _batch_size(batch_size, where)
        shuffle = shuffle and not isinstance(x, IterableDataset)
        return loader_source(DataLoader(x, batch_size=bs, shuffle=shuffle), steps)
    if x is None:
        raise EmberValueError(f"{where}: x is required (a tensor/array, a DataLoader or a Dataset)")
    return array_source(x, y, batch_size, shuffle, steps, where)


def _no_y(y, what: str, where: str) -> None:
    if y is not None:
        raise EmberValueError(f"{where}: y must be None when x is {what} (it yields the labels)")


def split(x, y, validation_split: float, where: str = "fit"):
    """Keras's ``validation_split``: the LAST fraction of the samples, taken before shuffling.
    Returns ``(x_train, y_train, x_val, y_val)`` (a Dataset splits into two Subsets)."""
    if not 0.0 <= validation_split < 1.0:
        raise EmberValueError(
            f"{where}: validation_split must be in [0, 1), got {validation_split}"
        )
    if isinstance(x, DataLoader) or isinstance(x, IterableDataset):
        raise EmberValueError(
            f"{where}: validation_split needs tensors/arrays or a map-style Dataset, not a "
            f"{type(x).__name__}; pass validation_data= instead"
        )
    if isinstance(x, Dataset):
        n = len(x)
        at = int(math.floor(n * (1.0 - validation_split)))
        _check_split(at, n, validation_split, where)
        return Subset(x, range(at)), None, Subset(x, range(at, n)), None
    xa = _array(x, "x", where)
    ya = None if y is None else _array(y, "y", where)
    _check_rows(xa, ya, where)
    at = int(math.floor(len(xa) * (1.0 - validation_split)))
    _check_split(at, len(xa), validation_split, where)
    ys = (None, None) if ya is None else (ya[:at], ya[at:])
    return xa[:at], ys[0], xa[at:], ys[1]


def _check_split(at: int, n: int, frac: float, where: str) -> None:
    if at == 0 or at == n:
        raise EmberValueError(
            f"{where}: validation_split={frac} of {n} samples leaves "
            f"{'no training' if at == 0 else 'no validation'} samples"
        )


def cast_floats(x, dtype: np.dtype | None):
    """Floating arrays/tensors as ``dtype`` (the model's); anything else unchanged."""
    if dtype is None or isinstance(x, (Dataset, DataLoader)) or x is None:
        return x
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if a.dtype.kind == "f" and a.dtype != dtype:
        return a.astype(dtype)
    return x
