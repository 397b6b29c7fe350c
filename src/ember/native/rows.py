"""NumPy-facing wrappers of the row kernels in ``rows.c``: layer norm and softmax over the
last axis of contiguous float32/float64 arrays, and the softmax cross entropy of (N, C) logits
against class indices.

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

from ember.native import address, kernel, parallel
from ember.native.call import kernel_call

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_INT64 = np.dtype(np.int64)


def _rows(a) -> bool:
    return a.flags.c_contiguous and a.ndim >= 1 and a.size > 0


def _ptr(a):
    return None if a is None else address(a)


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
    px, py, item = address(x), address(y), x.itemsize * n

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
    pg, px, pgx, pw, item = address(g), address(x), address(gx), _ptr(w), x.itemsize
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
    px, py, item = address(x), address(y), x.itemsize * n
    parallel.run(lambda a, c: fn(px + a * item, py + a * item, c - a, n), x.size // n, 4 * x.size)
    return y


def softmax_grad(g, y):
    """``g * y - y * sum(g * y)`` over the last axis (the softmax VJP for output y), or None."""
    fn = kernel("softmax_grad", y.dtype)
    if fn is None or not _rows(y) or g.shape != y.shape or not _same(y.dtype, g):
        return None
    n = y.shape[-1]
    gx = np.empty_like(y)
    pg, py, pgx, item = address(g), address(y), address(gx), y.itemsize * n

    def part(a, c):
        fn(pg + a * item, py + a * item, pgx + a * item, c - a, n)

    parallel.run(part, y.size // n, y.size)
    return gx


def _class_rows(x, target) -> bool:
    """(N, C) contiguous logits and a contiguous int64 (N,) target."""
    return (
        x.ndim == 2
        and _rows(x)
        and target.dtype == _INT64
        and target.shape == x.shape[:1]
        and target.flags.c_contiguous
    )


def _ignore(ignore_index) -> int:
    # targets are valid classes or ignore_index: an ignore_index beyond int64 matches none of
    # them, and neither does -1 then
    i = int(ignore_index)
    return i if -(1 << 63) <= i < 1 << 63 else -1


def cross_entropy(x, target, ignore_index: int):
    """(per-row losses, the number of rows whose target is not ``ignore_index``) of logits
    ``x`` (N, C) against int64 class indices, or None. The losses are the negated
    ``log_softmax`` at each target, bit for bit; the targets must be valid classes or
    ``ignore_index`` (the caller checks)."""
    fn = kernel("cross_entropy", x.dtype)
    if fn is None or not _class_rows(x, target):
        return None
    rows, n = x.shape
    loss = np.empty(rows, x.dtype)
    px, pt, pl, item = address(x), address(target), address(loss), x.itemsize
    ignore = _ignore(ignore_index)
    if 4 * x.size < parallel.MIN_WORK[0]:  # a classifier's batch: no thread hand-off
        kept = fn(px, pt, pl, rows, n, ignore)
    else:
        parts = {}

        def part(a, c):
            parts[a] = fn(px + a * n * item, pt + a * 8, pl + a * item, c - a, n, ignore)

        parallel.run(part, rows, 4 * x.size)
        kept = -1 if min(parts.values()) < 0 else sum(parts.values())
    return None if kept < 0 else (loss, kept)  # (out of memory: the NumPy path reports it)


def cross_entropy_grad(x, target, scale, ignore_index: int):
    """``(softmax(x) - onehot(target)) * scale`` per row (``scale``: one value, or one per
    row), 0 in rows whose target is ``ignore_index``: the gradient of ``cross_entropy``'s
    losses weighted by ``scale``. None when the kernel does not apply."""
    fn = kernel("cross_entropy_grad", x.dtype)
    if fn is None or not _class_rows(x, target) or (scaled := _row_scale(scale, x)) is None:
        return None
    rows, n = x.shape
    scale, step = scaled
    gx = np.empty_like(x)
    px, pt, ps, pg = address(x), address(target), address(scale), address(gx)
    item, ignore = x.itemsize, _ignore(ignore_index)

    def part(a, c):
        off = a * n * item
        fn(px + off, pt + a * 8, ps + a * step * item, step, pg + off, c - a, n, ignore)

    parallel.run(part, rows, 4 * x.size)
    return gx


def _row_scale(scale, x):
    """(``scale`` as a contiguous array of x's dtype, its step per row: 0 for one value for
    every row), or None when it has neither one value nor one per row."""
    rows = x.shape[0]
    scale = np.ascontiguousarray(scale, x.dtype)
    if scale.size not in (1, rows):
        return None
    return scale, 0 if scale.size == 1 and rows != 1 else 1


def cross_entropy_with_grad(x, target, scale, ignore_index: int, gx):
    """``cross_entropy``'s per-row losses and ``cross_entropy_grad``'s gradient (written into
    ``gx``, an (N, C) array of x's dtype) from one pass over ``x``, with the same bits as
    those two; None when the kernel does not apply."""
    fn = kernel("cross_entropy_with_grad", x.dtype)
    if fn is None or not _class_rows(x, target) or (scaled := _row_scale(scale, x)) is None:
        return None
    if not (gx.shape == x.shape and _same(x.dtype, gx)):
        return None
    rows, n = x.shape
    scale, step = scaled
    loss = np.empty(rows, x.dtype)
    px, pt, ps, pl, pg = address(x), address(target), address(scale), address(loss), address(gx)
    item, ignore = x.itemsize, _ignore(ignore_index)

    def part(a, c):
        off = a * n * item
        fn(
            px + off,
            pt + a * 8,
            ps + a * step * item,
            step,
            pl + a * item,
            pg + off,
            c - a,
            n,
            ignore,
        )

    parallel.run(part, rows, 4 * x.size)
    return loss


def _loss_grad_spec(c: str) -> bytes:
    """ember.native.call's spec of cross_entropy_loss_grad's arrays for float format ``c``:
    x (read), int64 targets (one per row), g (one value), gx (written), the loss (one value
    written) and the per-row losses (one per row, written)."""
    return f"e{c}rlo{c}w{c}O{c}R{c}".encode()


_LOSS_GRAD_SPEC = {
    np.dtype(np.float32): _loss_grad_spec("f"),
    np.dtype(np.float64): _loss_grad_spec("d"),
}


def cross_entropy_loss_grad(g, x, target, ignore_index, mean: bool, out):
    """The whole reduced loss of ``softmax_cross_entropy_with_grad`` in one C call: the
    gradient into ``out[:N*C]`` and the loss ('mean' or 'sum') into ``out[N*C]``, with the
    bits of the op's NumPy steps. True when done; False when a target is out of bounds
    (nothing written: the caller's checks raise); None when it does not apply (no kernel or
    extension, arrays of other types, a job big enough for threads)."""
    fn, call = kernel("cross_entropy_loss_grad", x.dtype), kernel_call()
    if fn is None or call is None or x.ndim != 2 or 4 * x.size >= parallel.MIN_WORK[0]:
        return None
    if not -(1 << 63) <= ignore_index < 1 << 63:
        return None
    rows, n = x.shape
    losses = np.empty(rows, x.dtype)
    arrays = [x, target, g, out[: rows * n], out[rows * n :], losses]
    try:  # the extension checks every array's type and size
        status = call(fn, 1, x.shape, _LOSS_GRAD_SPEC[x.dtype], arrays, ignore_index, mean)
    except (BufferError, TypeError, ValueError):
        return None
    return status == 0


_COLUMN_SUM_SPEC = {np.dtype(np.float32): b"efCf", np.dtype(np.float64): b"edCd"}


def column_sum(x, out, fresh: bool = False, split: int = 1) -> bool:
    """``np.add.reduce(x, axis=tuple(range(split)), out=out)`` of a contiguous array with its
    bits (from 0, rows added in order), in one vectorized C pass; False when it does not
    apply (no kernel or extension, other types, ``out`` overlapping ``x``: ``fresh`` says it
    cannot)."""
    fn, call = kernel("column_sum", x.dtype), kernel_call()
    if fn is None or call is None or (not fresh and np.may_share_memory(x, out)):
        return False
    try:  # the extension checks both arrays' types and sizes
        return call(fn, split, x.shape, _COLUMN_SUM_SPEC[x.dtype], [x, out]) == 0
    except (BufferError, TypeError, ValueError, KeyError):
        return False
