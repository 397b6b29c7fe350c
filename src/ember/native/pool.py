"""NumPy-facing wrappers of the 2x2 max-pooling kernels in ``pool.c`` (stride 2, no
padding, no dilation, on NCHW float32/float64 input).

They return None when the kernels are not available, the windows are not 2x2 or the dtype
has none; the caller then runs its NumPy pooling. The forward picks the same maxima as
NumPy's (``np.maximum``, NaN included); the gradient sends each window's gradient to its
first maximum, PyTorch's rule.

>>> import numpy as np
>>> from ember.native import pool
>>> m = pool.max_pool_2x2(np.arange(16.0).reshape(1, 1, 4, 4), (2, 2))
>>> m is None or m.ravel().tolist() == [5.0, 7.0, 13.0, 15.0]
True
"""

from __future__ import annotations

import numpy as np

from ember.native import address, kernel, parallel


def _planes(x):
    n, c, h, w = x.shape
    return n * c, h, w


def max_pool_2x2(x, kernel_hw):
    """Maxima (N, C, H // 2, W // 2) of the 2x2 windows of ``x`` (N, C, H, W), or None."""
    fn = kernel("max_pool_2x2", x.dtype)
    if fn is None or x.ndim != 4 or tuple(kernel_hw) != (2, 2):
        return None
    x = np.ascontiguousarray(x)
    planes, h, w = _planes(x)
    oh, ow = h // 2, w // 2
    m = np.empty(x.shape[:2] + (oh, ow), x.dtype)
    px, pm, item = address(x), address(m), x.itemsize

    def part(a, b):
        fn(px + a * h * w * item, pm + a * oh * ow * item, b - a, h, w, oh, ow)

    parallel.run(part, planes, x.size)
    return m


def max_pool_2x2_grad(g, x, m, kernel_hw):
    """The input gradient of ``max_pool_2x2`` for output gradient ``g``, or None. No
    window of ``m`` may be NaN (callers route those through the general gradient)."""
    fn = kernel("max_pool_2x2_grad", x.dtype)
    if fn is None or x.ndim != 4 or tuple(kernel_hw) != (2, 2):
        return None
    if g.dtype != x.dtype or m.dtype != x.dtype:
        return None
    g, x, m = (np.ascontiguousarray(a) for a in (g, x, m))
    planes, h, w = _planes(x)
    oh, ow = m.shape[2:]
    gx = np.empty_like(x)
    pg, px, pm, pgx, item = address(g), address(x), address(m), address(gx), x.itemsize

    def part(a, b):
        o, i = a * oh * ow * item, a * h * w * item
        fn(pg + o, px + i, pm + o, pgx + i, b - a, h, w, oh, ow)

    parallel.run(part, planes, x.size)
    return gx
