"""Shared shape and dtype rules.

Rules are pure functions of input metadata, reused by eager dispatch (to explain a failure),
by the harness (checked against every forward) and later by the tracer and IR verifier.

* Shape rules take one shape tuple per input (``()`` for a Python scalar) plus the op's
  attributes, and return the output shape.
* Dtype rules take one NumPy dtype per input (the Python type ``bool``/``int``/``float`` for
  a scalar) *after* dispatch has promoted the inputs, and return the output NumPy dtype.

Both raise ShapeError / DTypeError with a message that does not repeat the op name: the
dispatcher prefixes it (``add: shapes (2, 3) and (4,) cannot be broadcast ...``).
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as D
from ember.errors import DTypeError, ShapeError

BOOL = np.dtype(np.bool_)


def fmt(shape) -> str:
    return str(tuple(shape))


def same_shape(x, *rest, **_):
    return tuple(x)


def broadcast(*shapes, **_):
    """NumPy/PyTorch broadcasting of any number of shapes."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s):
            j = ndim - len(s) + i
            if n == out[j] or n == 1:
                continue
            if out[j] == 1:
                out[j] = n
                continue
            names = " and ".join(fmt(x) for x in shapes)
            first = next(
                x for x in shapes if len(x) - ndim + j >= 0 and x[len(x) - ndim + j] == out[j]
            )
            raise ShapeError(
                f"shapes {names} cannot be broadcast: {out[j]} (dim {len(first) - ndim + j} of "
                f"{fmt(first)}) != {n} (dim {i} of {fmt(s)})"
            )
    return tuple(out)


def norm_dim(dim: int, ndim: int) -> int:
    """A dimension index in ``[-ndim, ndim)`` made non-negative (0-dim tensors accept 0, -1)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise ShapeError(f"dim {dim} is out of range for a tensor of {ndim} dimensions")
    return dim % n


def norm_dims(dims, ndim: int) -> tuple:
    """A sorted tuple of distinct non-negative dims; None means every dim."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    out = tuple(sorted(norm_dim(d, ndim) for d in dims))
    if len(set(out)) != len(out):
        raise ShapeError(f"dim {tuple(dims)} names a dimension twice")
    return out


def reduce_shape(x, *, axis, keepdims, **_):
    """Shape of a reduction of ``x`` over the normalised tuple ``axis``."""
    if keepdims:
        return tuple(1 if i in axis else n for i, n in enumerate(x))
    return tuple(n for i, n in enumerate(x) if i not in axis)


# ---- dtype rules -------------------------------------------------------------------------


def _tensor_dtypes(dts):
    return [d for d in dts if isinstance(d, np.dtype)]


def same_dtype(*dts, **_):
    """The (promoted) dtype of the tensor inputs."""
    t = _tensor_dtypes(dts)
    if not t:
        raise DTypeError("expected at least one tensor input")
    return t[0]


_SCALAR_KINDS = {bool: BOOL, int: np.dtype(np.int64)}


def promoted_dtype(*dts, **_):
    """PyTorch's result type of the tensor inputs and Python scalars (seen as their type).

    Dispatch may skip the cast when tensors share a dtype and NumPy promotes the scalars the
    way PyTorch does (``bool tensor & 1`` is int64 in both): this rule, unlike ``same_dtype``,
    then still predicts the output.
    """
    t = _tensor_dtypes(dts)
    if not t:
        raise DTypeError("expected at least one tensor input")
    scalars = [
        _SCALAR_KINDS.get(d) or D.get_default_dtype().np
        for d in dts
        if isinstance(d, type) and d in (bool, int, float)
    ]
    return D.result_np_dtype(t, [], scalars)


def float_unary(x, *rest, **_):
    """Floating inputs keep their dtype; integers and bools become the default float."""
    if isinstance(x, np.dtype) and D.from_numpy_dtype(x).is_floating_point:
        return x
    return D.get_default_dtype().np


def bool_out(*dts, **_):
    return BOOL


def int64_out(*dts, **_):
    return np.dtype(np.int64)


def require(dt, allowed, what="input"):
    """Raise a DTypeError unless ``dt`` (a NumPy dtype) is among ``allowed`` ember dtypes."""
    if dt not in {a.np for a in allowed}:
        names = ", ".join(a.name for a in allowed)
        raise DTypeError(f"{what} dtype {dt} is not supported (expected one of {names})")
