"""NumPy-facing wrappers of the one-pass optimizer updates in ``optim.c``.

``ember.optim`` calls them on a parameter's arrays in eager steps; each returns False when
its kernel does not apply (native kernels off or not built, a dtype other than float32 and
float64, arrays that are not contiguous or not all of one shape and dtype), and the optimizer
then runs its NumPy formula. Both give the same bits: the C loop does the formula's
operations in its order and precision. A call goes through ``ember.native.call`` (one
checked C call, ~4 us for a bias's SGD step where ctypes took ~8.5, 2026-12-07); large
parameters are split over the threads of ``ember.native.parallel`` through ctypes, as is
everything when the extension is missing. Elements are independent, so a split never
changes a result.

>>> import numpy as np
>>> from ember.native import optim
>>> p, g = np.ones(3, np.float32), np.full(3, 2.0, np.float32)
>>> optim.sgd_step(p, g, None, lr=0.5) is False or p.tolist() == [0.0, 0.0, 0.0]
True
"""

from __future__ import annotations

import numpy as np

from ember.native import address, kernel, parallel
from ember.native.call import kernel_call

# flags of ember_sgd_step (optim.c)
_MOMENTUM, _FIRST, _DAMPENING, _NESTEROV = 1, 2, 4, 8


def _fits(p, *arrays) -> bool:
    return all(
        a is None
        or (
            isinstance(a, np.ndarray)
            and a.shape == p.shape
            and a.dtype == p.dtype
            and a.flags.c_contiguous
            and a.flags.writeable
        )
        for a in (p, *arrays)
    ) and not np.may_share_memory(p, arrays[0])  # the loops assume the gradient is not p


def _packed(name, arrays, n, args) -> bool:
    """The update in one ``ember.native.call`` (about 1 us of overhead where the ctypes call
    below takes 5-8), when the extension is there and the job is too small for threads."""
    call = kernel_call()
    if call is None or 3 * n >= parallel.MIN_WORK[0]:
        return False
    p = arrays[0]
    for a in arrays:
        if a.shape != p.shape:
            return False
    fn = kernel(name, p.dtype)
    if fn is None:  # native code off, or not float32/float64
        return False
    spec = _SPECS[p.dtype.char][: 2 * len(arrays)]
    try:  # the extension checks every array's format, size, contiguity and writability;
        # the kernel declines (1) a gradient sharing the parameter's memory
        return call(fn, 0, (n,), spec, arrays, *args) == 0
    except (BufferError, TypeError, ValueError):
        return False


# the parameter and state are written ('w'), the gradient read ('e'): param, grad, then state
_SPECS = {c: f"w{c}e{c}w{c}w{c}w{c}".encode() for c in "fd"}


def _run(fn, arrays, n, *args) -> None:
    """``fn(*pointers, count, *args)`` over a split of the ``n`` elements."""
    item = arrays[0].itemsize
    ptrs = [None if a is None else address(a) for a in arrays]

    def part(a, b):
        fn(*(None if q is None else q + a * item for q in ptrs), b - a, *args)

    parallel.run(part, n, 3 * n)


def sgd_step(p, g, buf, *, lr, momentum=0.0, dampening=0.0, nesterov=False, first=False) -> bool:
    """SGD on arrays in place: ``buf = momentum * buf + (1 - dampening) * g`` (``buf = g``
    when ``first``), ``p -= lr * (g + momentum * buf if nesterov else buf)``; without
    momentum (``buf`` None) ``p -= lr * g``. False when the kernel does not apply."""
    if not _arrays(p, g, buf) or (momentum != 0) != (buf is not None) or p.size == 0:
        return False
    flags = 0
    if buf is not None:
        flags = _MOMENTUM | (_FIRST if first else 0) | (_NESTEROV if nesterov else 0)
        flags |= _DAMPENING if dampening else 0
    args = (float(lr), float(momentum), 1.0 - float(dampening), flags)
    packed = [p, g] if buf is None else [p, g, buf]  # (without momentum buf is not read)
    if _packed("sgd_step_packed", packed, p.size, args):
        return True
    fn = kernel("sgd_step", p.dtype)
    if fn is None or not _fits(p, g, buf):
        return False
    _run(fn, (p, g, buf), p.size, *args)
    return True


def adam_step(p, g, m, v, vmax, *, b1, b2, eps, step_size, bc2_sqrt) -> bool:
    """Adam's moments and update on arrays in place, as ``ember.optim.Adam`` computes them
    (``vmax``: the amsgrad maximum, or None). False when the kernel does not apply."""
    if not _arrays(p, g, m, v, vmax) or p.size == 0:
        return False
    b1, b2 = float(b1), float(b2)  # (exact floats: the extension passes them as doubles)
    args = (1.0 - b1, b2, 1.0 - b2, float(bc2_sqrt), float(eps), float(step_size))
    if vmax is None:
        name, packed = "adam_step_packed", [p, g, m, v]
    else:
        name, packed = "amsgrad_step_packed", [p, g, m, v, vmax]
    if _packed(name, packed, p.size, args):
        return True
    fn = kernel("adam_step", p.dtype)
    if fn is None or not _fits(p, g, m, v, vmax):
        return False
    _run(fn, (p, g, m, v, vmax), p.size, *args)
    return True


def _arrays(*arrays) -> bool:
    """Every argument a NumPy array, except that the last (an optional state) may be None."""
    *required, last = arrays
    for a in required:
        if not isinstance(a, np.ndarray):
            return False
    return last is None or isinstance(last, np.ndarray)
