"""The max-pooling gradient for windows that tile the input (stride = kernel, no padding,
no dilation: ``MaxPool2d(2)`` and its kin, most of the max pooling there is).

The general VJP finds every window's argmax as int64 flat indices and scatters to them
(two primitives, about ten passes over the data). When the windows tile the input, each
kernel offset (i, j) is a strided view that no other offset touches, so the gradient is
written in place one offset at a time: the first offset, in row-major order, whose value
equals the window's maximum gets the window's gradient (PyTorch's first-maximum rule).
Windows whose maximum is NaN go through the general path, which has PyTorch's NaN rule.
"""

from __future__ import annotations

import numpy as np

from ember.errors import ShapeError
from ember.native import parallel
from ember.native import pool as native_pool
from ember.ops import rules
from ember.ops.registry import OPS, primitive

FLOATS = (np.float16, np.float32, np.float64)


def tiles(x_hw, kernel, stride, padding, dilation, out_hw) -> bool:
    """Whether the pooling windows tile the input (the fast gradient applies)."""
    return (
        tuple(stride) == tuple(kernel)
        and not any(padding)
        and tuple(dilation) == (1, 1)
        and all(o * k <= n for o, k, n in zip(out_hw, kernel, x_hw))
    )


def _shape(g, x, out, *, kernel):
    if len(x) != 4 or tuple(g) != tuple(out) or tuple(g[:2]) != tuple(x[:2]):
        raise ShapeError(
            f"gradient {rules.fmt(g)} and maxima {rules.fmt(out)} do not fit input {rules.fmt(x)}"
        )
    return tuple(x)


@primitive("max_pool2d_grad", shape=_shape, dtype=rules.same_dtype, dtypes=FLOATS)
def max_pool2d_grad(g, x, out, *, kernel):
    """The gradient of ``max_pool2d(x)`` (= ``out``) with tiling ``kernel``-sized windows
    for the output gradient ``g``."""
    kh, kw = kernel
    oh, ow = out.shape[2:]
    attrs = dict(kernel=kernel, stride=kernel, padding=(0, 0), dilation=(1, 1), ceil_mode=False)
    if np.isnan(out).any():
        idx = OPS["max_pool2d_indices"].forward(x, out, **attrs)
        return OPS["max_pool_scatter"].forward(g, idx, size=x.shape[2:], overlap=False)
    gx = native_pool.max_pool_2x2_grad(g, x, out, kernel)  # one C pass, if built
    if gx is not None:
        return gx
    gx = np.zeros(x.shape, g.dtype)
    # g * hit is the fast masked write, but inf * 0 and nan * 0 are NaN: a non-finite
    # gradient is copied under the mask instead (zero stays zero off the maxima)
    finite = bool(np.isfinite(g).all())

    def part(a, b):
        m, ga = out[a:b], g[a:b]
        found = np.zeros(m.shape, bool)
        hit = np.empty(m.shape, bool)
        for i in range(kh):
            rows = slice(i, i + kh * (oh - 1) + 1, kh)
            for j in range(kw):
                cols = slice(j, j + kw * (ow - 1) + 1, kw)
                np.equal(x[a:b, :, rows, cols], m, out=hit)
                np.greater(hit, found, out=hit)  # a hit where no earlier offset hit
                found |= hit
                if finite:
                    np.multiply(ga, hit, out=gx[a:b, :, rows, cols])
                else:
                    np.copyto(gx[a:b, :, rows, cols], ga, where=hit)

    parallel.run(part, x.shape[0], x.size)
    return gx


@max_pool2d_grad.defvjp
def _(gg, res, g, x, out, *, kernel):
    attrs = dict(kernel=kernel, stride=kernel, padding=(0, 0), dilation=(1, 1), ceil_mode=False)
    idx = OPS["max_pool2d_indices"](x, out, **attrs)
    return OPS["max_pool_gather"](gg, idx, overlap=False), None, None
