"""NumPy-facing wrappers of the direct convolution kernels in ``conv.c``: stride 1, no
dilation, no groups, on an input the caller has padded (N, C, Hp, Wp), float32 or float64.

Each returns None when the kernels are not available or the dtypes differ; ``ember.ops.conv``
then runs im2col + GEMM (it also decides where the direct form pays: few channels). The
forward and the input gradient split the batch over threads, the weight gradient its
output channels; every sum runs in a fixed order, so the split never changes a result.

>>> import numpy as np
>>> from ember.native import conv
>>> x = np.arange(40.0).reshape(1, 1, 4, 10)
>>> y = conv.forward(x, np.ones((1, 1, 3, 3)), None)  # 3x3 window sums: (1, 1, 2, 8)
>>> y is None or y[0, 0, 0, :3].tolist() == [99.0, 108.0, 117.0]
True
"""

from __future__ import annotations

import numpy as np

from ember.native import address, kernel, parallel, vector_lanes


def _fn(name, *arrays):
    dt = arrays[0].dtype
    if any(a is not None and a.dtype != dt for a in arrays):
        return None
    return kernel(name, dt)


def applies(ow: int, dtype) -> bool:
    """Whether the kernels take output rows of width ``ow`` (at least one vector)."""
    lanes = vector_lanes(np.dtype(dtype).itemsize)
    return lanes > 0 and ow >= lanes


def _check(status: int) -> None:
    if status != 0:
        raise MemoryError("ember.native.conv: out of memory for the convolution's positions")


def forward(x, w, b):
    """The convolution (N, O, Hp - kh + 1, Wp - kw + 1) of padded ``x`` with ``w`` plus
    ``b`` (or None), or None."""
    fn = _fn("conv2d_direct", x, w, b)
    if fn is None or not applies(x.shape[3] - w.shape[3] + 1, x.dtype):
        return None
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    b = None if b is None else np.ascontiguousarray(b)
    n, c, hp, wp = x.shape
    o, _, kh, kw = w.shape
    out = np.empty((n, o, hp - kh + 1, wp - kw + 1), x.dtype)
    px, pw, po = address(x), address(w), address(out)
    pb = None if b is None else address(b)
    x_sample, out_sample = x[0].nbytes, out[0].nbytes

    def part(a, e):
        _check(fn(px + a * x_sample, pw, pb, po + a * out_sample, e - a, c, hp, wp, o, kh, kw))

    parallel.run(part, n, out.size * c * kh * kw)
    return out


OB_MAX = 4  # output channels per tile in conv.c (the weight gradient's unit of rows)


def input_grad(g, w, hp, wp):
    """The gradient (N, C, hp, wp) of the padded input of ``forward`` for output gradient
    ``g``, or None: the forward of ``g`` padded by the kernel size less one, with the kernel
    flipped and its channel axes swapped."""
    o, c, kh, kw = w.shape
    if _fn("conv2d_direct", g, w) is None or not applies(wp, g.dtype):
        return None
    n, _, oh, ow = g.shape
    gp = np.zeros((n, o, hp + kh - 1, wp + kw - 1), g.dtype)
    gp[:, :, kh - 1 : kh - 1 + oh, kw - 1 : kw - 1 + ow] = g
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return forward(gp, flipped, None)


def weight_grad(x, g, kh, kw):
    """The gradient (O, C, kh, kw) of ``forward``'s weight for output gradient ``g``, or
    None."""
    fn = _fn("conv2d_direct_weight_grad", x, g)
    if fn is None or not applies(g.shape[3], x.dtype):
        return None
    x, g = np.ascontiguousarray(x), np.ascontiguousarray(g)
    n, c, hp, wp = x.shape
    o = g.shape[1]
    gw = np.empty((o, c, kh, kw), x.dtype)
    px, pg, pw = address(x), address(g), address(gw)
    rows = -(-o // OB_MAX) * c * kh  # (output channel block, input channel, kernel row)

    def part(a, e):
        _check(fn(px, pg, pw, n, c, hp, wp, o, kh, kw, a, e))

    parallel.run(part, rows, g.size * c * kh * kw)
    return gw
