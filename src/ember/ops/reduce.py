"""Reductions over a tuple of normalised dims (``axis``) with ``keepdims``."""

from __future__ import annotations

import numpy as np

from ember.ops import rules
from ember.ops.registry import OPS, primitive


def _int_to_int64(x, **_):
    return np.dtype(np.int64) if x.kind in "biu" else x


def keep_shape(shape, axis):
    """The shape a reduction over ``axis`` has with keepdims=True."""
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def unreduce(g, x, axis, keepdims):
    """Broadcast a reduced gradient ``g`` back to the shape of ``x``."""
    if not keepdims:
        g = OPS["reshape"](g, shape=keep_shape(x.shape, axis))
    return OPS["expand"](g, shape=x.shape)


@primitive("sum", shape=rules.reduce_shape, dtype=_int_to_int64, save="meta")
def sum_(x, *, axis, keepdims):
    """Sum over ``axis`` (a tuple); integer and bool inputs sum to int64, as in PyTorch."""
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=np.int64 if x.dtype.kind in "bi" else None)


@sum_.defvjp
def _(g, out, x, *, axis, keepdims):
    return unreduce(g, x, axis, keepdims)
