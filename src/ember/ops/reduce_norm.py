"""Vector norms (``torch.linalg.vector_norm`` semantics) and the power helpers of their
gradients.

``abs_pow(x, e) = |x|**e`` and ``signed_pow(x, e) = sign(x) * |x|**e`` are both 0 at ``x == 0``
(PyTorch's subgradient choice there) and are each other's derivative up to the factor ``e``, so
norm gradients of any order are built from them.
"""

from __future__ import annotations

import math

import numpy as np

from ember.errors import ShapeError
from ember.ops import rules
from ember.ops.reduce import FLOATS, keep, unreduce
from ember.ops.registry import OPS, primitive


def _norm_shape(x, *, p, axis, keepdims):
    if (p < 0 or math.isinf(p)) and math.prod(x[d] for d in axis) == 0:
        raise ShapeError(
            f"cannot compute the {p:g} norm of an empty tensor (shape {rules.fmt(x)}) because "
            "the operation has no identity"
        )
    return rules.reduce_shape(x, axis=axis, keepdims=keepdims)


@primitive("norm", shape=_norm_shape, dtype=rules.same_dtype, save="both", dtypes=FLOATS)
def norm(x, *, p, axis, keepdims):
    """The vector ``p``-norm over ``axis`` (p a float: 2, 1, inf, -inf, 0 or any other)."""
    xf = x.astype(np.float32) if x.dtype == np.float16 else x
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if p == 2:
            if len(axis) == x.ndim:  # one dot product: BLAS, no squared temporary
                flat = xf.reshape(-1)
                r = np.sqrt(np.dot(flat, flat))
                r = np.reshape(r, (1,) * x.ndim if keepdims else ())
            else:
                r = np.sqrt(np.sum(xf * xf, axis=axis, keepdims=keepdims))
            return np.asarray(r, dtype=x.dtype)
        a = np.abs(xf)
        if p == math.inf:
            r = np.amax(a, axis=axis, keepdims=keepdims)
        elif p == -math.inf:
            r = np.amin(a, axis=axis, keepdims=keepdims)
        elif p == 0:
            r = np.sum(a != 0, axis=axis, keepdims=keepdims, dtype=xf.dtype)
        elif p == 1:
            r = np.sum(a, axis=axis, keepdims=keepdims)
        else:
            r = np.sum(a**p, axis=axis, keepdims=keepdims) ** (1.0 / p)
    return np.asarray(r, dtype=x.dtype)


@norm.defvjp
def _(g, out, x, *, p, axis, keepdims):
    if p == 0:
        return None  # a count: piecewise constant
    if p == 2:
        return x * unreduce(OPS["div_or_zero"](g, out), x, axis, keepdims)
    gx = unreduce(g, x, axis, keepdims)
    if p == 1:
        return gx * OPS["signed_pow"](x, e=0.0)
    if math.isinf(p):
        return gx * OPS["tie_weights"](x, keep(out, x, axis, keepdims), axis=axis, mode="abs")
    scaled = OPS["signed_pow"](x, e=p - 1.0)
    if p < 1:
        return scaled * gx * unreduce(OPS["abs_pow"](out, e=1.0 - p), x, axis, keepdims)
    scale = OPS["div_or_zero"](g, OPS["abs_pow"](out, e=p - 1.0))
    return scaled * unreduce(scale, x, axis, keepdims)


def _pow_abs(x, e):
    """``|x|**e`` with 0 where ``x == 0`` (also for negative ``e``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.asarray(np.abs(x) ** e)
    r[x == 0] = 0
    return r


@primitive("abs_pow", shape=rules.same_shape, dtype=rules.same_dtype, dtypes=FLOATS)
def abs_pow(x, *, e):
    """``|x|**e``, and 0 where ``x == 0``."""
    return _pow_abs(x, e)


@abs_pow.defvjp
def _(g, out, x, *, e):
    return None if e == 0 else g * (e * OPS["signed_pow"](x, e=e - 1.0))


@primitive("signed_pow", shape=rules.same_shape, dtype=rules.same_dtype, dtypes=FLOATS)
def signed_pow(x, *, e):
    """``sign(x) * |x|**e``, 0 where ``x == 0``; sign(NaN) counts as 0, as torch.sgn."""
    sign = (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)
    return sign if e == 0 else sign * _pow_abs(x, e)


@signed_pow.defvjp
def _(g, out, x, *, e):
    return None if e == 0 else g * (e * OPS["abs_pow"](x, e=e - 1.0))
