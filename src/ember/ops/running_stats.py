"""``running_stat``: batch norm's running-statistics update as one primitive.

Eager batch norm blends the batch moments into ``running_mean``/``running_var`` with NumPy
in place; a compiled step needs the same update as a graph node (its result is written back
into the buffer). Both paths call ``blend`` on moments from the same ``Reducer`` that the
fused ``standardize`` forward uses, so compiled and eager running statistics are bitwise
equal.

>>> import numpy as np
>>> from ember.ops.running_stats import running_stat
>>> x = np.array([[1.0, 2.0], [3.0, 6.0]])
>>> running_stat(np.zeros(2), x, axis=(0,), keep=(), momentum=0.1, var=False)
array([0.2, 0.4])
"""

from __future__ import annotations

import math

import numpy as np

from ember.errors import ShapeError
from ember.ops import norm_kernels as K
from ember.ops.registry import primitive

_F16 = np.dtype(np.float16)


def batch_moments(x: np.ndarray, axis) -> tuple:
    """(mean, biased variance) over ``axis`` with kept dims, as ``standardize`` computes them."""
    xf = x.astype(np.float32) if x.dtype == _F16 else x
    _, mean, var = K.Reducer(x.shape, axis).moments(xf)
    return mean, var


def blend(old: np.ndarray, mean, var, n: int, keep, momentum, use_var: bool) -> np.ndarray:
    """``(1 - momentum) * old + momentum * batch`` with the unbiased variance for ``var``;
    ``keep`` = dims averaged after the per-group moments (instance norm)."""
    batch = var * (n / max(n - 1, 1)) if use_var else mean
    if keep:
        batch = batch.mean(axis=keep)
    new = old * (1.0 - momentum) + batch.reshape(old.shape) * momentum
    return new.astype(old.dtype, copy=False)


def _stat_shape(stat, x, *count, axis, keep, momentum, var):
    if count and tuple(count[0]) != ():
        raise ShapeError(f"running_stat: the batch count must be 0-d, got {tuple(count[0])}")
    return tuple(stat)


def _stat_dtype(stat, x, *count, **_):
    return stat


@primitive("running_stat", shape=_stat_shape, dtype=_stat_dtype, save="none")
def running_stat(stat, x, *count, axis, keep, momentum, var):
    """The new running mean (``var=False``) or variance of ``stat`` after batch ``x``;
    with a ``count`` input (``num_batches_tracked``) the momentum is ``1/count`` (a
    cumulative average, BatchNorm's ``momentum=None``)."""
    mean, v = batch_moments(x, axis)
    n = math.prod(x.shape[a] for a in axis)
    m = 1.0 / float(count[0]) if count else momentum
    return blend(stat, mean, v, n, keep, m, var)


@running_stat.defvjp
def _(g, out, stat, x, *count, **_):
    return (None, None) + (None,) * len(count)  # a statistic, not differentiated
