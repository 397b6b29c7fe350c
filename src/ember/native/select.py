"""NumPy-facing wrappers of the bit-pattern selects in ``select.c``.

They return None when the kernel does not apply (native kernels off, operands that are not
contiguous arrays of the result's shape, element sizes other than 2, 4 or 8 bytes); the
caller then runs its NumPy select. A select copies bit patterns, so both give the same
result bit for bit. A call goes through ``ember.native.call`` (about 2 us less than through
ctypes for a relu gradient of (128, 256)), else through ctypes.

>>> import numpy as np
>>> from ember.native import select
>>> r = select.select_zero(np.array([True, False]), np.array([1.5, -0.0]), keep=True)
>>> r is None or r.tolist() == [1.5, 0.0]
True
"""

from __future__ import annotations

import numpy as np

from ember.native import address, kernel
from ember.native.call import kernel_call

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


def _packed(name, cond, values, out, *ints):
    """The select in one ``ember.native.call`` (its arrays checked in C), or None."""
    call = kernel_call()
    v = values[0]
    if call is None or not isinstance(cond, np.ndarray) or cond.dtype != _BOOL:
        return None
    if any(not isinstance(a, np.ndarray) or a.shape != cond.shape for a in values):
        return None
    fn = kernel(name, v.itemsize)
    if fn is None:
        return None
    if out is None:
        out = np.empty(v.shape, v.dtype)
    elif out.shape != v.shape:
        return None
    c = v.dtype.char
    spec = b"e?" + f"e{c}".encode() * len(values) + f"w{c}".encode()
    try:  # formats (one dtype for all), sizes, contiguity and writability, checked in C
        call(fn, 0, v.shape, spec, [cond, *values, out], *ints)
    except (BufferError, TypeError, ValueError):
        return None
    return out


def select(cond, a, b, out=None):
    """``np.where(cond, a, b)`` for same-shape arrays, into ``out`` when given; or None."""
    done = _packed("select_packed", cond, (a, b), out)
    if done is not None:
        return done
    if not _fits(cond, a, b) or (fn := kernel("select", a.itemsize)) is None:
        return None
    if (out := _out(out, a)) is None:
        return None
    fn(address(cond), address(a), address(b), address(out), a.size)
    return out


def select_zero(cond, v, keep, out=None):
    """``v`` where ``cond == keep``, else +0 (the bits of zero); or None."""
    done = _packed("select_zero_packed", cond, (v,), out, int(bool(keep)))
    if done is not None:
        return done
    if not _fits(cond, v) or (fn := kernel("select_zero", v.itemsize)) is None:
        return None
    if (out := _out(out, v)) is None:
        return None
    fn(address(cond), address(v), address(out), v.size, int(bool(keep)))
    return out
