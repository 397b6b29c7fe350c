"""Intra-op parallelism for kernels that split along the batch dimension (or rows).

NumPy releases the GIL inside copies and ufunc loops, and ctypes around the C kernels of
``ember.native``, so a kernel that writes disjoint batch slices (im2col, col2im, pooling, row
kernels) runs its slices on several threads at once, as PyTorch's ``parallel_for`` does. It
lives here, at the bottom of the layering, because both ``ember.ops`` and the native wrappers
use it. Small jobs run inline: a thread hand-off costs ~10-50 us.

>>> import numpy as np
>>> out = np.zeros(6)
>>> run(lambda a, b: out.__setitem__(slice(a, b), 1.0), 6, work=6)
>>> out.sum()
np.float64(6.0)
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Threads used by batch-split kernels (1 turns the parallel paths off).
THREADS = [min(os.cpu_count() or 1, 8)]
# Elements a job must touch before it is worth splitting. Measured on the 2-core dev VM
# (2026-12-06): handing a slice to a pool thread costs ~50 us, and a memory-bound pass
# (copy, multiply) only gains from a second thread from ~4M elements, exp from ~1M; with
# 64K the LeNet-5 step ran 10-20% slower threaded than serial.
MIN_WORK = [1 << 21]

_pool: list = [None]
_inside = threading.local()


def _reset_after_fork() -> None:
    _pool[0] = None  # a forked child has the executor object but none of its threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _in_worker(fn, a, b):
    _inside.worker = True
    fn(a, b)


def run(fn, n: int, work: int) -> None:
    """Call ``fn(start, stop)`` over a split of ``range(n)``: on ``THREADS`` threads when the
    job touches at least ``MIN_WORK`` elements, else once inline. ``fn`` must write only its
    own slice."""
    t = min(THREADS[0], n)
    if t <= 1 or work < MIN_WORK[0] or getattr(_inside, "worker", False):
        fn(0, n)  # small, serial, or nested in a worker (which must not wait on the pool)
        return
    if _pool[0] is None or _pool[0][1] != THREADS[0]:
        workers = THREADS[0] - 1
        _pool[0] = (ThreadPoolExecutor(workers, thread_name_prefix="ember"), THREADS[0])
    bounds = [n * k // t for k in range(t + 1)]
    futures = [_pool[0][0].submit(_in_worker, fn, bounds[k], bounds[k + 1]) for k in range(1, t)]
    try:
        fn(bounds[0], bounds[1])  # the calling thread takes the first share
    finally:
        for f in futures:
            f.result()


def split(fn, n: int, work: int, *arrays):
    """``fn`` applied to batch slices of ``arrays`` (on threads when the job is large), the
    results concatenated along the batch axis: for kernels whose samples are independent."""
    t = min(THREADS[0], n)
    if t <= 1 or work < MIN_WORK[0]:
        return fn(*arrays)
    results = {}

    def part(a, b):
        results[a] = fn(*(x[a:b] for x in arrays))

    run(part, n, work)
    return np.concatenate([results[a] for a in sorted(results)])
