"""NumPy-facing wrappers of the row kernels in ``rows.c``: layer norm and softmax over the
last axis of contiguous float32/float64 arrays.

Each wrapper returns None when its kernel does not apply (native kernels off or not built,
another dtype, a layout that is not contiguous rows): the caller then runs its NumPy code.
Large jobs split their rows over the threads of ``ember.native.parallel`` (ctypes releases the
GIL); rows are independent, so the split never changes a result, and the per-row parameter
gradient sums are added up in a fixed order.

>>> import numpy as np
>>> from ember.native import rows
>>> y = rows.softmax(np.zeros((2, 4), np.float32))
>>> y is None or bool((y == 0.25).all())
True
"""

from __future__ import annotations

import numpy as np

from ember.native import kernel, parallel

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _rows(a) -> bool:
    return a.flags.c_contiguous and a.ndim >= 1 and a.size > 0


def _ptr(a):
    return None if a is None else a.ctypes.data


def _same(dtype, *arrays) -> bool:
    return all(a is None or (a.dtype == dtype and a.flags.c_contiguous) for a in arrays)


def layer_norm(x, w, b, eps):
    """``(x - mean) / sqrt(var + eps) * w + b`` over the last axis (w, b: length n or None)."""
    fn = kernel("layer_norm", x.dtype)
    if fn is None or not _rows(x) or not _same(x.dtype, w, b):
        return None
    n = x.shape[-1]
    rows = x.size // n
    y = np.empty_like(x)
    pw, pb, eps = _ptr(w), _ptr(b), float(eps)
    px, py, item = x.ctypes.data, y.ctypes.data, x.itemsize * n

    def part(a, c):
        fn(px + a * item, pw, pb, py + a * item, c - a, n, eps)

    parallel.run(part, rows, x.size)
    return y


def layer_norm_grad(g, x, w, eps, want_w, want_b, gx=None):
    """(gx, gw, gb) of ``layer_norm`` for output gradient ``g``; gw and gb (float64 sums, in
    x's dtype) only when asked for, else None. ``gx`` may be given as the output buffer."""
    fn = kernel("layer_norm_grad", x.dtype)
    if fn is None or not _rows(x) or not _same(x.dtype, g, w) or g.shape != x.shape:
        return None
    if gx is not None and not (gx.shape == x.shape and _same(x.dtype, gx)):
        return None
    n = x.shape[-1]
    rows = x.size // n
    gx = np.empty_like(x) if gx is None else gx
    sums = {}
    pg, px, pgx, pw, item = g.ctypes.data, x.ctypes.data, gx.ctypes.data, _ptr(w), x.itemsize
    eps = float(eps)

    def part(a, c):
        gw = np.zeros(n) if want_w else None
        gb = np.zeros(n) if want_b else None
        off = a * n * item
        fn(pg + off, px + off, pw, pgx + off, _ptr(gw), _ptr(gb), c - a, n, eps)
        sums[a] = (gw, gb)

    parallel.run(part, rows, 2 * x.size)
    parts = [sums[a] for a in sorted(sums)]
    gw = sum(p[0] for p in parts).astype(x.dtype) if want_w else None
    gb = sum(p[1] for p in parts).astype(x.dtype) if want_b else None
    return gx, gw, gb


def softmax(x):
    """Softmax over the last axis (max-shifted), or None."""
    return _map_rows("softmax", x)


def log_softmax(x):
    """``x - max - log(sum(exp(x - max)))`` over the last axis, or None."""
    return _map_rows("log_softmax", x)


def _map_rows(name, x):
    """``y`` = kernel ``name`` applied to each last-axis row of ``x``, or None."""
    fn = kernel(name, x.dtype)
    if fn is None or not _rows(x):
        return None
    n = x.shape[-1]
    y = np.empty_like(x)
    px, py, item = x.ctypes.data, y.ctypes.data, x.itemsize * n
    parallel.run(lambda a, c: fn(px + a * item, py + a * item, c - a, n), x.size // n, 4 * x.size)
    return y


def softmax_grad(g, y):
    """``g * y - y * sum(g * y)`` over the last axis (the softmax VJP for output y), or None."""
    fn = kernel("softmax_grad", y.dtype)
    if fn is None or not _rows(y) or g.shape != y.shape or not _same(y.dtype, g):
        return None
    n = y.shape[-1]
    gx = np.empty_like(y)
    pg, py, pgx, item = g.ctypes.data, y.ctypes.data, gx.ctypes.data, y.itemsize * n

    def part(a, c):
        fn(pg + a * item, py + a * item, pgx + a * item, c - a, n)

    parallel.run(part, y.size // n, y.size)
    return gx
