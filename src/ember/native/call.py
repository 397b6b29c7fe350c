"""Calling a C kernel on NumPy arrays in one checked step (the extension ``call.c``).

``kernel_call()`` is ``call(fn, split, shape, spec, arrays, *ints)``: it checks each array
against ``spec`` (how the kernel uses it and its format, two bytes per array), then runs
``int fn(const long *dims, void *const *ptrs)`` with dims = (rows, cols, *ints), rows and
cols the products of ``shape`` split at ``split``, with the GIL released, and returns its
status: about 1 us where the same call and checks through ctypes took 5-8 us. The fused
elementwise kernels and the compiled step's loss (``ember.native.rows``) run through it.
It is None when the extension cannot be built (native code off, no compiler, no
``Python.h``); callers then keep their ctypes path.

>>> import numpy as np
>>> from ember.native import call
>>> fn = call.kernel_call()
>>> def refused(*args):
...     try:
...         fn(*args)
...     except ValueError as exc:
...         return str(exc)
>>> fn is None or refused(0, 0, (3,), b"ef", [np.zeros(3, np.float32)]) == "call: a NULL kernel"
True
"""

from __future__ import annotations

from ember import native

_state: dict = {}


def kernel_call():
    """The extension's ``call``, or None (see the module docstring)."""
    if "call" not in _state:
        module, _why = native.extension("_ember_call", "call.c")
        _state["call"] = None if module is None else module.call
    return _state["call"]
