"""Scans: cumulative sums and products along one dim (``axis``, an int)."""

from __future__ import annotations

import numpy as np

from ember.errors import AutogradError
from ember.ops import rules
from ember.ops.reduce import _int_to_int64
from ember.ops.registry import OPS, primitive


def _scan(fn, x, axis, reverse=False):
    if x.ndim == 0:
        return np.array(x, dtype=_int_to_int64(x.dtype))
    dt = np.int64 if x.dtype.kind in "bi" else (np.float32 if x.dtype == np.float16 else None)
    if reverse:
        return np.flip(fn(np.flip(x, axis), axis=axis, dtype=dt), axis).astype(
            _int_to_int64(x.dtype), copy=False
        )
    return fn(x, axis=axis, dtype=dt).astype(_int_to_int64(x.dtype), copy=False)


@primitive("cumsum", shape=rules.same_shape, dtype=_int_to_int64, save="none")
def cumsum(x, *, axis, reverse=False):
    """Running sum along ``axis`` (from the end when ``reverse``); ints and bools give int64."""
    return _scan(np.cumsum, x, axis, reverse)


@cumsum.defvjp
def _(g, out, x, *, axis, reverse=False):
    return OPS["cumsum"](g, axis=axis, reverse=not reverse)


@primitive("cumprod", shape=rules.same_shape, dtype=_int_to_int64, save="both")
def cumprod(x, *, axis):
    """Running product along ``axis``; ints and bools give int64."""
    return _scan(np.cumprod, x, axis)


@cumprod.defvjp
def _(g, out, x, *, axis):
    return OPS["cumprod_grad"](g, x, out, axis=axis)


def _rcumsum(a, axis):
    return np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis)


@primitive("cumprod_grad", shape=lambda g, x, out, **_: tuple(x), dtype=rules.same_dtype)
def cumprod_grad(g, x, out, *, axis):
    """The VJP of cumprod, exact with zeros: before a group's first zero it is
    ``rcumsum(g * out) / x``; at the first zero, ``rcumsum(g * q)`` with ``q`` the cumprod
    that skips that zero; after it, 0."""
    if x.ndim == 0:
        return np.array(g, dtype=x.dtype)
    zero = x == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if not zero.any():
            return _rcumsum(g * out, axis) / x
        seen = np.cumsum(zero, axis=axis)
        before = seen == 0
        first = zero & (seen == 1)
        r = np.where(before, _rcumsum(g * out, axis) / np.where(before, x, 1), 0)
        q = np.cumprod(np.where(first, 1, x), axis=axis)
        r = r + np.where(first, _rcumsum(g * q, axis), 0)
    return r.astype(x.dtype, copy=False)


@cumprod_grad.defvjp
def _(gg, out, g, x, cp, *, axis):
    raise AutogradError("cumprod: gradients of order two and higher are not implemented")
