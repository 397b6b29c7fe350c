"""NumPy kernels of the fused normalisation op (``standardize`` in ``ember.ops.nn``).

Every norm layer reduces over leading and trailing dims around a kept middle block: batch norm
over (N, *spatial) around C, layer norm over the trailing dims, group/instance norm over the
trailing dims of a (N, groups, ...) view. Seen as a contiguous (P, Q, R) array reduced over P
and R, sums become matrix-vector products with a ones vector (BLAS, about twice as fast as
``np.sum``) and sums of products become one ``einsum`` without a temporary. Layouts that do
not fit fall back to plain NumPy reductions.
"""

from __future__ import annotations

import math

import numpy as np

_F16 = np.dtype(np.float16)


def pqr(shape, axis):
    """(P, Q, R) when ``axis`` = the first dims + the last dims of ``shape``, else None."""
    nd, ax = len(shape), set(axis)
    p = 0
    while p < nd and p in ax:
        p += 1
    q = p
    while q < nd and q not in ax:
        q += 1
    if any(d not in ax for d in range(q, nd)):
        return None
    return math.prod(shape[:p]), math.prod(shape[p:q]), math.prod(shape[q:])


class Reducer:
    """Sums over ``axis`` of arrays shaped like ``shape`` (kept dims as size 1)."""

    def __init__(self, shape, axis, dtype):
        self.shape, self.axis = tuple(shape), axis
        self.keep = tuple(1 if d in axis else n for d, n in enumerate(shape))
        self.n = math.prod(shape[d] for d in axis)
        self.layout = pqr(self.shape, axis)
        if self.layout is not None and self.layout[2] > 1 << 15:
            self.layout = None  # very long rows: NumPy's pairwise sums keep float32 accurate
        self.dtype = dtype

    def _ones(self, n):
        return np.ones(n, self.dtype)

    def sum(self, a):
        if self.layout is None:
            return a.sum(axis=self.axis, keepdims=True)
        p, q, r = self.layout
        a = np.ascontiguousarray(a)
        if p == 1:
            s = a.reshape(q, r) @ self._ones(r)
        else:
            s = self._ones(p) @ a.reshape(p, q * r)
            s = s.reshape(q, r) @ self._ones(r) if r > 1 else s
        return s.reshape(self.keep)

    def dot(self, a, b):
        """``sum(a * b)`` over the reduced dims, without the product temporary."""
        if self.layout is None:
            return (a * b).sum(axis=self.axis, keepdims=True)
        s = np.einsum("pqr,pqr->q", a.reshape(self.layout), b.reshape(self.layout))
        return s.reshape(self.keep)

    def moments(self, x):
        """(x - mean, biased variance with kept dims)."""
        xc = x - self.sum(x) / self.n
        return xc, self.dot(xc, xc) / self.n


def _compute(x):
    return x.astype(np.float32) if x.dtype == _F16 else x


def forward(x, w, b, axis, eps):
    """(x - mean) / sqrt(var + eps) [* w] [+ b] (float16 computed in float32)."""
    xf = _compute(x)
    red = Reducer(x.shape, axis, xf.dtype)
    xc, var = red.moments(xf)
    y = np.multiply(xc, 1.0 / np.sqrt(var + eps), out=xc)
    if w is not None:
        np.multiply(y, w, out=y)
    if b is not None:
        np.add(y, b, out=y)
    return y.astype(x.dtype, copy=False)


def backward(g, x, w, axis, eps, param_shapes):
    """Gradients (input, weight, bias) of ``forward``; the weight and bias gradients are
    reduced to ``param_shapes`` (weight, bias; None when absent)."""
    xf, g = _compute(x), _compute(g)
    red = Reducer(x.shape, axis, xf.dtype)
    xc, var = red.moments(xf)
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = np.multiply(xc, rstd, out=xc)
    gw = _reduce_to(g * xhat, param_shapes[0]) if w is not None else None
    gb = _reduce_to(g, param_shapes[1]) if param_shapes[1] is not None else None
    gxh = g * w if w is not None else g
    m1 = red.sum(gxh) / red.n
    m2 = red.dot(gxh, xhat) / red.n
    gx = gxh - m1
    gx -= np.multiply(xhat, m2, out=xhat)
    gx *= rstd
    return gx, gw, gb


def _reduce_to(a, shape):
    """Sum ``a`` over the dims a parameter of ``shape`` was broadcast along."""
    lead = a.ndim - len(shape)
    axis = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1
    )
    if not axis:
        return a
    return Reducer(a.shape, axis, a.dtype).sum(a).reshape(shape)
