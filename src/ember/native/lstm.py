"""NumPy-facing drivers of the LSTM step kernels in ``lstm.c``: the whole recurrence of
``ember.ops.lstm``, forward and first-order backward, with one BLAS GEMM and one C call per
time step.

Both return None when the kernels are not available (native kernels off or not built, a
dtype other than float32 and float64); ``ember.ops.lstm`` then runs its NumPy loops. Shapes
are checked by the caller: ``proj`` (L, N, 4H), ``h0`` and ``c0`` (N, H), ``w_hh`` (4H, H);
the output is (L, 7, N, H) as the op documents.

>>> import numpy as np
>>> from ember.native import lstm
>>> z = np.zeros((1, 1, 4), np.float32)
>>> zero = np.zeros((1, 1), np.float32)
>>> out = lstm.forward(z, zero, zero, np.zeros((4, 1), np.float32), reverse=False)
>>> out is None or out[0, :, 0, 0].tolist() == [0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.5]
True
"""

from __future__ import annotations

import numpy as np

from ember.native import address, kernel, parallel

SLOTS = 7  # h, c, tanh(c), i, f, g, o


def _order(length: int, reverse: bool):
    return range(length - 1, -1, -1) if reverse else range(length)


def _rows(fn, n: int, work: int, offsets, *args) -> None:
    """``fn(*pointers, rows, *args)`` over a split of the ``n`` batch rows; ``offsets`` are
    (address, bytes per row) pairs."""

    def part(a, b):
        fn(*(p + a * step for p, step in offsets), b - a, *args)

    parallel.run(part, n, work)


def forward(proj, h0, c0, w_hh, *, reverse):
    """The recurrence's output (L, 7, N, H), or None when the kernel does not apply."""
    fn = kernel("lstm_step", proj.dtype)
    if fn is None or not (h0.dtype == c0.dtype == w_hh.dtype == proj.dtype):
        return None
    proj, h0, c0 = (np.ascontiguousarray(a) for a in (proj, h0, c0))
    length, n, g4 = proj.shape
    hidden = g4 // 4
    item = proj.itemsize
    out = np.empty((length, SLOTS, n, hidden), proj.dtype)
    mm = np.empty((n, g4), proj.dtype)
    w_t = w_hh.T
    # addresses computed once: each ``.ctypes`` costs microseconds, 64 of them a step
    row, prow, block = hidden * item, g4 * item, SLOTS * n * hidden * item
    p_mm, p_proj, p_out = address(mm), address(proj), address(out)
    h, p_c = h0, address(c0)
    for t in _order(length, reverse):
        np.matmul(h, w_t, out=mm)
        p_step = p_out + t * block
        offsets = ((p_mm, prow), (p_proj + t * n * prow, prow), (p_c, row), (p_step, row))
        _rows(fn, n, n * g4, offsets, hidden, n * hidden)
        h, p_c = out[t, 0], p_step + n * row  # slot 1 (c) of this step
    return out


def backward(g_out, out, c0, w_hh, *, reverse):
    """(d_proj, dh0, dc0) for the output gradient ``g_out`` of slots 0 and 1 (h and c), or
    None when the kernel does not apply. The recurrent weight's gradient, one GEMM over
    all steps, is the caller's (``ember.ops.lstm``, for this path and its NumPy one)."""
    fn = kernel("lstm_step_grad", out.dtype)
    if fn is None or not (g_out.dtype == out.dtype == c0.dtype == w_hh.dtype):
        return None
    g_out, out, c0 = (np.ascontiguousarray(a) for a in (g_out, out, c0))
    length, _, n, hidden = out.shape
    g4 = 4 * hidden
    item = out.itemsize
    # steps whose h or c gets no gradient from outside (a classifier reads only the last
    # h) add a zero block instead, which stays in L1
    live_h, live_c = (g_out[:, k].reshape(length, -1).any(axis=1).tolist() for k in (0, 1))
    d_proj = np.empty((length, n, g4), out.dtype)
    dh = np.zeros((n, hidden), out.dtype)
    dc = np.zeros((n, hidden), out.dtype)
    row, prow, block = hidden * item, g4 * item, SLOTS * n * hidden * item
    p_out, p_g, p_dproj = address(out), address(g_out), address(d_proj)
    p_dh, p_dc, p_c0 = address(dh), address(dc), address(c0)
    zero = np.zeros((n, hidden), out.dtype)
    p_zero = address(zero)
    order = list(_order(length, reverse))
    for k in range(length - 1, -1, -1):
        t = order[k]
        p_cprev = p_c0 if k == 0 else p_out + order[k - 1] * block + n * row
        p_gh = p_g + t * block  # slot 0 (h) of the step's gradient, slot 1 (c) after it
        offsets = (
            (p_out + t * block, row),
            (p_cprev, row),
            (p_gh if live_h[t] else p_zero, row),
            (p_gh + n * row if live_c[t] else p_zero, row),
            (p_dh, row),
            (p_dc, row),
            (p_dproj + t * n * prow, prow),
        )
        _rows(fn, n, n * g4, offsets, hidden, n * hidden)
        np.matmul(d_proj[t], w_hh, out=dh)
    return d_proj, dh, dc
