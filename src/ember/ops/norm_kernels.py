"""NumPy kernels of the fused normalisation op (``standardize`` in ``ember.ops.nn``).

Every norm layer reduces over leading and trailing dims around a kept middle block: batch norm
over (N, *spatial) around C, layer norm over the trailing dims, group/instance norm over the
trailing dims of a (N, groups, ...) view. Seen as a contiguous (P, Q, R) array reduced over P
and R, sums become matrix-vector products with a ones vector (BLAS, about twice as fast as
``np.sum``) and sums of products become one ``einsum`` without a temporary. Layouts that do
not fit fall back to plain NumPy reductions. Layer norm (trailing dims, per-feature or no
parameters, float32/float64) runs the C row kernels of ``ember.native`` when they are built.
"""

from __future__ import annotations

import math

import numpy as np

from ember.native import rows as native_rows
from ember.ops.row_sum import ones

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

    def __init__(self, shape, axis):
        self.shape, self.axis = tuple(shape), axis
        self.keep = tuple(1 if d in axis else n for d, n in enumerate(shape))
        self.n = math.prod(shape[d] for d in axis)
        self.layout = pqr(self.shape, axis)
        if self.layout is not None and self.layout[2] > 1 << 15:
            self.layout = None  # very long rows: NumPy's pairwise sums keep float32 accurate

    def sum(self, a):
        if self.layout is None:
            return a.sum(axis=self.axis, keepdims=True)
        p, q, r = self.layout
        a = np.ascontiguousarray(a)
        if p == 1:
            s = a.reshape(q, r) @ ones(r, a.dtype)
        else:
            s = ones(p, a.dtype) @ a.reshape(p, q * r)
            s = s.reshape(q, r) @ ones(r, a.dtype) if r > 1 else s
        return s.reshape(self.keep)

    def dot(self, a, b):
        """``sum(a * b)`` over the reduced dims, without the product temporary."""
        if self.layout is None:
            return (a * b).sum(axis=self.axis, keepdims=True)
        s = np.einsum("pqr,pqr->q", a.reshape(self.layout), b.reshape(self.layout))
        return s.reshape(self.keep)

    def moments(self, x):
        """(x - mean, mean, biased variance), the statistics with kept dims."""
        mean = self.sum(x) / self.n
        xc = x - mean
        return xc, mean, self.dot(xc, xc) / self.n


# (id of the input, mean, biased variance) of the latest ``forward``: batch norm reads them
# right after its call to update its running statistics instead of reducing the batch twice.
# Outputs never depend on this; a caller that finds another input's entry recomputes.
last_moments = [None]


def _compute(x):
    return x.astype(np.float32) if x.dtype == _F16 else x


def trailing_block(shape, axis, params) -> int | None:
    """Where the reduced trailing dims start when ``axis`` is a layer norm's (every other
    reduced dim has size 1) and every parameter shape is None, or varies along exactly
    those dims; else None. Such norms run as rows of the native kernels."""
    nd = len(shape)
    start = nd
    while start > 0 and start - 1 in axis:
        start -= 1
    if start == nd or any(shape[d] != 1 for d in axis if d < start):
        return None
    for p in params:
        if p is not None:
            full = _aligned(p, nd)
            if full[start:] != tuple(shape[start:]) or any(d != 1 for d in full[:start]):
                return None
    return start


def _row_view(a, start):
    return np.ascontiguousarray(a).reshape(-1, math.prod(a.shape[start:]))


def _native_forward(x, w, b, axis, eps):
    start = trailing_block(x.shape, axis, (_shape(w), _shape(b)))
    if start is None or not _native_params(x, w, b):
        return None
    y = native_rows.layer_norm(_row_view(x, start), _flat(w), _flat(b), eps)
    return None if y is None else y.reshape(x.shape)


def _shape(p):
    return None if p is None else p.shape


def _flat(p):
    return None if p is None else np.ascontiguousarray(p).reshape(-1)


def _native_params(x, *params) -> bool:
    return x.dtype in native_rows.DTYPES and all(p is None or p.dtype == x.dtype for p in params)


def forward(x, w, b, axis, eps):
    """(x - mean) / sqrt(var + eps) [* w] [+ b] (float16 computed in float32)."""
    y = _native_forward(x, w, b, axis, eps)
    if y is not None:
        last_moments[0] = None
        return y
    xf = _compute(x)
    red = Reducer(x.shape, axis)
    xc, mean, var = red.moments(xf)
    last_moments[0] = (id(x), mean, var)
    y = np.multiply(xc, 1.0 / np.sqrt(var + eps), out=xc)
    if w is not None:
        np.multiply(y, w, out=y)
    if b is not None:
        np.add(y, b, out=y)
    return y.astype(x.dtype, copy=False)


def backward(g, x, w, axis, eps, param_shapes, gx_out=None):
    """Gradients (input, weight, bias) of ``forward``, the weight and bias gradients summed to
    ``param_shapes`` (None where absent). ``gx_out``, an array of x's shape and of the dtype
    the gradient is computed in, receives the input gradient."""
    grads = _native_backward(g, x, w, axis, eps, param_shapes, gx_out)
    if grads is not None:
        return grads
    xf, g = _compute(x), _compute(g)
    red = Reducer(x.shape, axis)
    xc, _, var = red.moments(xf)
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = np.multiply(xc, rstd, out=xc)
    wshape, bshape = param_shapes
    if w is None or _constant_over(wshape, x.ndim, axis):
        # batch/instance norm: w factors out of the reductions, so two of them suffice
        s1, s2 = red.sum(g), red.dot(g, xhat)
        gw = None if w is None else _sum_to(s2, wshape)
        gb = None if bshape is None else _bias_grad(g, s1, bshape, axis)
        gx = np.subtract(g, s1 / red.n, out=gx_out)
        gx -= np.multiply(xhat, s2 / red.n, out=xhat)
        gx *= rstd if w is None else rstd * w
        return gx, gw, gb
    gw = _param_reducer(x.shape, wshape).dot(g, xhat).reshape(wshape)
    gb = None if bshape is None else _bias_grad(g, None, bshape, axis)
    gx = np.multiply(g, w, out=gx_out)
    m1, m2 = red.sum(gx) / red.n, red.dot(gx, xhat) / red.n
    gx -= m1
    gx -= np.multiply(xhat, m2, out=xhat)
    gx *= rstd
    return gx, gw, gb


def _native_backward(g, x, w, axis, eps, param_shapes, gx_out):
    wshape, bshape = param_shapes
    start = trailing_block(x.shape, axis, param_shapes)
    if start is None or not _native_params(x, g, w):
        return None
    r = math.prod(x.shape[start:])
    out = None
    if gx_out is not None and gx_out.flags.c_contiguous and gx_out.dtype == x.dtype:
        out = gx_out.reshape(-1, r)
    w_rows = ones(r, x.dtype) if w is None else _flat(w)
    x2, g2 = _row_view(x, start), _row_view(g, start)
    want = (wshape is not None, bshape is not None)
    res = native_rows.layer_norm_grad(g2, x2, w_rows, eps, *want, out)
    if res is None:
        return None
    gx, gw, gb = res
    if gx_out is not None and out is None:
        gx_out[...] = gx.reshape(x.shape)
        gx = gx_out
    return (
        gx.reshape(x.shape),
        None if gw is None else gw.reshape(wshape),
        None if gb is None else gb.reshape(bshape),
    )


def _bias_grad(g, s1, shape, axis):
    """The bias gradient: from ``s1`` (g summed over ``axis``) when the bias is constant
    along those axes, else a reduction of ``g`` itself."""
    if s1 is not None and _constant_over(shape, g.ndim, axis):
        return _sum_to(s1, shape)
    return _param_reducer(g.shape, shape).sum(g).reshape(shape)


def _aligned(shape, nd):
    return (1,) * (nd - len(shape)) + tuple(shape)


def _constant_over(shape, nd, axis) -> bool:
    """Whether a parameter of ``shape`` has size 1 along every reduced axis."""
    full = _aligned(shape, nd)
    return all(full[a] == 1 for a in axis)


def _param_reducer(xshape, shape):
    """The reducer over the dims a parameter of ``shape`` is broadcast along."""
    full = _aligned(shape, len(xshape))
    axis = tuple(d for d, (n, m) in enumerate(zip(full, xshape)) if n == 1 and m != 1)
    return Reducer(xshape, axis)


def _sum_to(s, shape):
    """Sum a keep-dims statistic over the remaining dims a parameter broadcasts along."""
    full = _aligned(shape, s.ndim)
    axis = tuple(d for d, (n, m) in enumerate(zip(full, s.shape)) if n == 1 and m != 1)
    return (s.sum(axis=axis) if axis else s).reshape(shape)
