"""Sums over the trailing axes of a float array as one matrix-vector product, and over the
leading axes (a bias gradient) as one native pass down the columns.

``np.add.reduce`` over the last axis of a (rows, n) array runs its inner loop once per row, so
for short rows the per-row start-up is most of the cost: over 4096 rows of 64 float32 it takes
138 us where ``x.reshape(4096, 64) @ ones(64)`` (BLAS) takes 20 us (2026-12-07). Softmax,
log-softmax, their gradients and row sums in user code all reduce like that. Longer rows keep
NumPy's pairwise summation, whose float32 rounding error grows with log(n) rather than n.
Over leading axes NumPy adds whole rows in order, which the native column sum does too (the
same bits) in one vectorized pass: (128, 256) float32 in 5.4 us (the C pass about 2 us of
it), where ``np.add.reduce`` takes 8.7 us (2026-12-07).

>>> import numpy as np
>>> row_sum(np.arange(6.0).reshape(2, 3), (1,), True)
array([[ 3.],
       [12.]])
"""

from __future__ import annotations

import math

import numpy as np

from ember.native import rows as native_rows

# Rows up to this long go to BLAS (its error bound grows with the row length).
MAX_ROW = 1024
# Below this many rows NumPy's own loop overhead is small.
MIN_ROWS = 8
_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ONES: dict = {}


def ones(n, dtype):
    """A cached read-only ``np.ones(n, dtype)``: the vector every BLAS row sum multiplies."""
    key = (n, dtype)
    v = _ONES.get(key)
    if v is None:
        v = np.ones(n, dtype)
        v.flags.writeable = False
        _ONES[key] = v
    return v


def row_sum(x, axis, keepdims, out=None):
    """``np.add.reduce(x, axis=axis, keepdims=keepdims, out=out)`` for a sorted tuple
    ``axis``; through BLAS when ``axis`` is the trailing dims of a contiguous float32/64
    array with short rows, through the native column sum when it is the leading dims."""
    # (the checks are ordered cheapest first: eager mode calls this for every bias gradient)
    if not axis or x.dtype not in _BLAS_FLOATS or not x.flags.c_contiguous:
        return np.add.reduce(x, axis=axis, keepdims=keepdims, out=out)
    nd, k = x.ndim, len(axis)
    if axis[0] == 0:  # sorted and distinct: the leading k dims when the last is k - 1
        if axis[-1] == k - 1 and k < nd:
            done = _leading_sum(x, k, keepdims, out)
            if done is not None:
                return done
    elif axis[-1] == nd - 1 and k == nd - axis[0] and (out is None or out.flags.c_contiguous):
        r = math.prod(x.shape[axis[0] :])
        q = x.size // r if r else 0
        if 2 <= r <= MAX_ROW and q >= MIN_ROWS:
            lead = x.shape[: axis[0]]
            shape = lead + (1,) * k if keepdims else lead
            if out is None:
                return np.matmul(x.reshape(q, r), ones(r, x.dtype)).reshape(shape)
            np.matmul(x.reshape(q, r), ones(r, x.dtype), out=out.reshape(q))
            return out
    return np.add.reduce(x, axis=axis, keepdims=keepdims, out=out)


def _leading_sum(x, k, keepdims, out):
    """The sum over the leading ``k`` axes of a contiguous float array (a bias gradient) by
    the native column sum, or None. NumPy adds the rows in order there, and so does it."""
    trailing = x.shape[k:]
    cols = math.prod(trailing)
    if cols < 2 or x.size < 2 * cols:  # one column: NumPy sums it pairwise, not in order
        return None
    if out is None:
        res = np.empty((1,) * k + trailing if keepdims else trailing, x.dtype)
    elif out.dtype == x.dtype and out.flags.c_contiguous and out.size == cols:
        res = out
    else:
        return None
    if not native_rows.column_sum(x, res, out is None, k):
        return None
    return res
