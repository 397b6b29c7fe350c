"""NumPy-facing wrappers of the one-pass optimizer updates in ``optim.c``.

``ember.optim`` calls them on a parameter's arrays in eager steps; each returns False when
its kernel does not apply (native kernels off or not built, a dtype other than float32 and
float64, arrays that are not contiguous or not all of one shape and dtype), and the optimizer
then runs its NumPy formula. Both give the same bits: the C loop does the formula's
operations in its order and precision. Large parameters are split over the threads of
``ember.native.parallel``; elements are independent, so the split never changes a result.

>>> import numpy as np
>>> from ember.native import optim
>>> p, g = np.ones(3, np.float32), np.full(3, 2.0, np.float32)
>>> optim.sgd_step(p, g, None, lr=0.5) is False or p.tolist() == [0.0, 0.0, 0.0]
True
"""

from __future__ import annotations

import numpy as np

from ember.native import address, kernel, parallel

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
    fn = kernel("sgd_step", p.dtype) if isinstance(p, np.ndarray) else None
    if fn is None or not _fits(p, g, buf) or (momentum != 0) != (buf is not None) or p.size == 0:
        return False
    flags = 0
    if buf is not None:
        flags = _MOMENTUM | (_FIRST if first else 0) | (_NESTEROV if nesterov else 0)
        flags |= _DAMPENING if dampening else 0
    _run(fn, (p, g, buf), p.size, float(lr), float(momentum), 1.0 - float(dampening), flags)
    return True


def adam_step(p, g, m, v, vmax, *, b1, b2, eps, step_size, bc2_sqrt) -> bool:
    """Adam's moments and update on arrays in place, as ``ember.optim.Adam`` computes them
    (``vmax``: the amsgrad maximum, or None). False when the kernel does not apply."""
    fn = kernel("adam_step", p.dtype) if isinstance(p, np.ndarray) else None
    if fn is None or not _fits(p, g, m, v, vmax) or p.size == 0:
        return False
    args = (1.0 - b1, b2, 1.0 - b2, float(bc2_sqrt), float(eps), float(step_size))
    _run(fn, (p, g, m, v, vmax), p.size, *args)
    return True
