"""Index arrays under ``ember.compile``: keeping the tracer's view of them honest.

The indexing functions turn index tensors into NumPy arrays (bounds-checked, made int64 and
non-negative, reshaped, copied so that backward keeps them) before calling the primitives.
The tracer knows arrays by identity, so a derived array would be recorded as a constant: the
compiled graph would keep using the trace-time indices. ``follow`` records how the derived
array is computed from the tensor's data, with registry ops, so the graph reads the indices
of every call. Boolean masks select a data-dependent number of elements, which a graph of
fixed shapes cannot express: ``refuse_mask`` raises ``TraceError`` naming the op.

Outside tracing both are one branch on a global.
"""

from __future__ import annotations

import numpy as np

from ember.core.trace_hooks import tracer as _tracer
from ember.core.trace_hooks import value_read as _value_read


def follow(src: np.ndarray, derived: np.ndarray) -> None:
    """While tracing, make ``derived`` (``src`` cast to int64, reshaped, with negative
    entries wrapped and/or copied) a graph value computed from ``src``'s value."""
    tr = _tracer[0]
    if tr is None or derived is src or id(derived) in tr.values:
        return
    _record(tr, src, derived)


def _record(tr, src, derived) -> None:
    from ember.core.tensor import _wrap
    from ember.ops.elementwise import add, cast, where
    from ember.ops.logic import lt
    from ember.ops.movement import reshape

    t = _wrap(src)  # the same array: the tracer resolves it to src's value
    if t._data.dtype != derived.dtype:
        t = cast(t, dtype=derived.dtype)
    if t._data.shape != derived.shape:
        t = reshape(t, shape=derived.shape)
    if not np.array_equal(t._data, derived):  # negatives were wrapped: size n of the dim
        n = _wrap_size(t._data, derived)
        t = where(lt(t, 0), add(t, n), t)
    if not np.array_equal(t._data, derived):
        raise AssertionError("trace_index.follow: derived index array not reproduced")
    tr._bind(derived, tr.value_of(t))


def _wrap_size(a: np.ndarray, derived: np.ndarray) -> int:
    neg = a < 0
    return int((derived[neg] - a[neg]).flat[0])


def refuse_mask(op: str) -> None:
    """Raise ``TraceError`` while tracing: a boolean mask's selection has a data-dependent
    size."""
    if _value_read[0] is not None and _tracer[0] is not None:
        _value_read[0](
            op,
            "selecting with a boolean mask gives a result whose shape depends on the data, "
            "which a compiled graph cannot express; use ember.where(mask, x, y) or "
            "masked_fill to keep the shape, or move this out of the compiled function",
        )


def refuse_scalar_index(op: str) -> None:
    """Raise ``TraceError`` while tracing: a 0-d tensor index is read as a Python number."""
    if _value_read[0] is not None and _tracer[0] is not None:
        _value_read[0](
            op,
            "a 0-d tensor used as an index is read as a Python number, which would fix its "
            "trace-time value in the graph; index with a 1-element tensor (x[i.reshape(1)]) "
            "or use gather / index_select",
        )
