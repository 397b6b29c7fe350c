"""NumPy-facing wrappers of the elementwise kernels in ``pointwise.c``.

Each returns None when its kernel does not apply (native kernels off or not built, another
dtype, a non-contiguous array): the caller then runs its NumPy code. Elements are
independent, so the thread split of a large array never changes a result.

>>> import numpy as np
>>> from ember.native import pointwise
>>> y = pointwise.sigmoid(np.zeros(3, np.float32))
>>> y is None or y.tolist() == [0.5, 0.5, 0.5]
True
"""

from __future__ import annotations

import numpy as np

from ember.native import address, kernel, parallel


def sigmoid(x):
    """``1 / (1 + exp(-x))`` of a contiguous float32 array (within 3 ulp), or None."""
    if x.__class__ is not np.ndarray:
        # a NumPy scalar (a composite's 0-d intermediate, which compiled code may hold as a
        # scalar where eager holds a 0-d array): the same kernel, so both give the same bits
        x = np.asarray(x)
    fn = kernel("sigmoid", x.dtype)
    if fn is None or not x.flags.c_contiguous:
        return None
    y = np.empty_like(x)
    n = x.size
    if 4 * n < parallel.MIN_WORK[0]:
        fn(address(x), address(y), n)
        return y
    px, py, item = address(x), address(y), x.itemsize
    parallel.run(lambda a, b: fn(px + a * item, py + a * item, b - a), n, 4 * n)
    return y
