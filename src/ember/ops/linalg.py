"""Linear algebra primitives: matmul (NumPy semantics: 1-D, batched, broadcast)."""

from __future__ import annotations

import numpy as np

from ember.errors import ShapeError
from ember.ops import rules
from ember.ops.registry import OPS, primitive


def _matmul_shape(a, b, **_):
    if len(a) == 0 or len(b) == 0:
        raise ShapeError(
            f"both arguments must be at least 1-D, got shapes {tuple(a)} and {tuple(b)}"
        )
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    if a2[-1] != b2[-2]:
        raise ShapeError(
            f"shapes {tuple(a)} and {tuple(b)} are not aligned: {a2[-1]} (dim {len(a) - 1}) != "
            f"{b2[-2]} (dim {max(len(b) - 2, 0)})"
        )
    batch = rules.broadcast(a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _matmul_dtype(a, b, **_):
    if a != b:
        from ember.errors import DTypeError

        raise DTypeError(f"expected both inputs to have the same dtype, got {a} and {b}")
    return a


@primitive(
    "matmul",
    shape=_matmul_shape,
    dtype=_matmul_dtype,
    dtypes=(np.float16, np.float32, np.float64, np.int32, np.int64),
)
def matmul(a, b):
    """Matrix product with NumPy/PyTorch broadcasting of batch dims; 1-D operands are vectors."""
    if a.dtype != b.dtype:
        raise _matmul_dtype(a.dtype, b.dtype)
    return np.matmul(a, b)


def _t(x):
    """Swap the last two dims."""
    n = x.ndim
    return OPS["permute"](x, dims=tuple(range(n - 2)) + (n - 1, n - 2))


@matmul.defvjp
def _(g, out, a, b):
    reshape = OPS["reshape"]
    mm = OPS["matmul"]
    a2 = reshape(a, shape=(1,) + a.shape) if a.ndim == 1 else a
    b2 = reshape(b, shape=b.shape + (1,)) if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = (
            reshape(g2, shape=g2.shape[:-1] + (1,) + g2.shape[-1:])
            if b.ndim > 1
            else reshape(g2, shape=g2.shape + (1,))
        )
    if b.ndim == 1:
        g2 = reshape(g2, shape=g2.shape + (1,))
    ga = mm(g2, _t(b2))
    gb = mm(_t(a2), g2)
    if a.ndim == 1:
        ga = reshape(ga, shape=ga.shape[:-2] + ga.shape[-1:])
    if b.ndim == 1:
        gb = reshape(gb, shape=gb.shape[:-1])
    return ga, gb
