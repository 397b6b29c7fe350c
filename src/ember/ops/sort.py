"""Sorting primitives: indices from argsort / top-k / k-th value selection, and the
``take_along`` / ``put_along`` pair that turns indices into values and value gradients back
into positions (each is the other's VJP, so gradients of any order work).

Floating-point NaN sorts as the largest value, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ember.errors import ShapeError
from ember.ops import rules
from ember.ops.registry import OPS, primitive


def _first(x, *rest, **_):
    return x


def _span(ndim, axis, start, stop):
    return (slice(None),) * axis + (slice(start, stop),)


def _with(shape, axis, n):
    return tuple(shape[:axis]) + (n,) + tuple(shape[axis + 1 :])


# ---- gather and scatter along one axis ----------------------------------------------------------


def _take_shape(x, idx, *, axis):
    if len(x) != len(idx) or _with(x, axis, 0) != _with(idx, axis, 0):
        raise ShapeError(
            f"indices of shape {rules.fmt(idx)} do not match input {rules.fmt(x)} outside "
            f"dim {axis}"
        )
    return tuple(idx)


@primitive("take_along", shape=_take_shape, dtype=_first)
def take_along(x, idx, *, axis):
    """``x`` read along ``axis`` at ``idx`` (int64, same shape as ``x`` outside ``axis``)."""
    return np.take_along_axis(x, idx, axis)


@take_along.defvjp
def _(g, out, x, idx, *, axis):
    return OPS["put_along"](g, idx, axis=axis, size=x.shape[axis]), None


@primitive("put_along", shape=lambda g, idx, *, axis, size: _with(g, axis, size), dtype=_first)
def put_along(g, idx, *, axis, size):
    """Zeros of ``g``'s shape with ``size`` along ``axis``, holding ``g`` at ``idx``. The
    indices must be distinct along ``axis`` (a permutation or a selection), so no adds."""
    out = np.zeros(_with(g.shape, axis, size), g.dtype)
    np.put_along_axis(out, idx, g, axis)
    return out


@put_along.defvjp
def _(gg, out, g, idx, *, axis, size):
    return OPS["take_along"](gg, idx, axis=axis), None


# ---- index selection --------------------------------------------------------------------------


def _argsort(x, axis, descending, stable):
    kind = "stable" if stable else None
    if not descending:
        return np.argsort(x, axis=axis, kind=kind)
    # Reversing an ascending sort of the reversed array keeps ties in their original order
    # and puts NaN first, as PyTorch's descending sort does.
    idx = np.argsort(np.flip(x, axis), axis=axis, kind=kind)
    return (x.shape[axis] - 1) - np.flip(idx, axis)


@primitive("argsort", shape=rules.same_shape, dtype=rules.int64_out, save="none")
def argsort(x, *, axis, descending, stable):
    """The permutation sorting ``x`` along ``axis``; ``stable`` keeps ties in input order."""
    return _argsort(x, axis, descending, stable).astype(np.int64, copy=False)


def _topk_shape(x, *, k, axis, largest):
    if not 0 <= k <= x[axis]:
        raise ShapeError(f"k ({k}) is out of range for dim {axis} of size {x[axis]}")
    return _with(x, axis, k)


@primitive("topk_indices", shape=_topk_shape, dtype=rules.int64_out, save="none")
def topk_indices(x, *, k, axis, largest):
    """Indices of the ``k`` largest (or smallest) elements along ``axis``, best first."""
    n = x.shape[axis]
    if 0 < k < n and n > 64:  # partition first: O(n) to find the k, then sort only those
        part = np.argpartition(x, n - k if largest else k - 1, axis=axis)
        sel = part[_span(x.ndim, axis, n - k, n) if largest else _span(x.ndim, axis, 0, k)]
        sel.sort(axis=axis)  # ties then come out in index order, like the full-sort path
        order = _argsort(np.take_along_axis(x, sel, axis), axis, largest, True)
        idx = np.take_along_axis(sel, order, axis)
    else:
        idx = _argsort(x, axis, largest, True)[_span(x.ndim, axis, 0, k)]
    return idx.astype(np.int64, copy=False)


def _kth_shape(x, *, k, axis, nan_first):
    if not 1 <= k <= x[axis]:
        raise ShapeError(f"k ({k}) is out of range for dim {axis} of size {x[axis]}")
    return _with(x, axis, 1)


@primitive("kth_index", shape=_kth_shape, dtype=rules.int64_out, save="none")
def kth_index(x, *, k, axis, nan_first):
    """Index of the ``k``-th smallest element along ``axis`` (kept as a size-1 dim). With
    ``nan_first`` a slice holding NaN selects its first NaN (median propagates NaN)."""
    # a stable sort picks among equal values the way PyTorch's kthvalue/median do
    idx = np.argsort(x, axis=axis, kind="stable")[_span(x.ndim, axis, k - 1, k)]
    if nan_first and x.dtype.kind == "f":
        nan = np.isnan(x)
        has = nan.any(axis=axis, keepdims=True)
        if has.any():
            idx = np.where(has, np.argmax(nan, axis=axis, keepdims=True), idx)
    return idx.astype(np.int64, copy=False)


@primitive("median_all", shape=lambda x: (), dtype=_first, save="both")
def median_all(x):
    """The lower median of all elements (NaN if any is NaN; NaN for an empty float input)."""
    flat = x.reshape(-1)
    n = flat.size
    if n == 0 or (x.dtype.kind == "f" and np.isnan(flat).any()):
        return np.full((), np.nan, x.dtype)
    return np.asarray(np.partition(flat, (n - 1) // 2)[(n - 1) // 2])


@median_all.defvjp
def _(g, out, x):
    # like max(): the gradient is shared evenly by the elements equal to the median (or NaN)
    axis = tuple(range(x.ndim))
    ref = OPS["reshape"](out, shape=(1,) * x.ndim)
    w = OPS["tie_weights"](x, ref, axis=axis, mode="nan")
    return OPS["expand"](OPS["reshape"](g, shape=(1,) * x.ndim), shape=x.shape) * w
