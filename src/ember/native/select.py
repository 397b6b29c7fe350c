"""NumPy-facing wrappers of the bit-pattern selects in ``select.c``.

They return None when the kernel does not apply (native kernels off, operands that are not
contiguous arrays of the result's shape, element sizes other than 2, 4 or 8 bytes); the
caller then runs its NumPy select. A select copies bit patterns, so both give the same
result bit for bit.

>>> import numpy as np
>>> from ember.native import select
>>> r = select.select_zero(np.array([True, False]), np.array([1.5, -0.0]), keep=True)
>>> r is None or r.tolist() == [1.5, 0.0]
True
"""

from __future__ import annotations

import numpy as np

from ember.native import address, kernel

_BOOL = np.dtype(bool)


def _fits(cond, *arrays) -> bool:
    if not (isinstance(cond, np.ndarray) and cond.dtype == _BOOL and cond.flags.c_contiguous):
        return False
    dt = arrays[0].dtype
    shape = cond.shape
    return all(
        isinstance(v, np.ndarray) and v.shape == shape and v.dtype == dt and v.flags.c_contiguous
        for v in arrays
    )


def _out(out, like):
    if out is None:
        return np.empty_like(like)
    if out.shape != like.shape or out.dtype != like.dtype or not out.flags.c_contiguous:
        return None
    return out


def select(cond, a, b, out=None):
    """``np.where(cond, a, b)`` for same-shape arrays, into ``out`` when given; or None."""
    if not _fits(cond, a, b) or (fn := kernel("select", a.itemsize)) is None:
        return None
    if (out := _out(out, a)) is None:
        return None
    fn(address(cond), address(a), address(b), address(out), a.size)
    return out


def select_zero(cond, v, keep, out=None):
    """``v`` where ``cond == keep``, else +0 (the bits of zero); or None."""
    if not _fits(cond, v) or (fn := kernel("select_zero", v.itemsize)) is None:
        return None
    if (out := _out(out, v)) is None:
        return None
    fn(address(cond), address(v), address(out), v.size, int(bool(keep)))
    return out
