"""In-place ops (``add_``, ``x += y``, ``x[i] = v`` ...) built from their out-of-place forms.

Without autograd the result is written into the tensor's storage (views see it) and the
version counter is bumped, so a backward that saved the old value raises instead of returning
a wrong gradient. While recording, the op is applied to a snapshot of the old value and the
tensor takes over the result's place in the graph, as PyTorch rebases history; live views of
the tensor made while recording are moved onto the new graph too (``rebase_views``).

Known limit: an in-place op on a *view* of a tensor that is part of a graph raises while
recording (PyTorch supports it through CopySlices/AsStrided nodes). Use the out-of-place op or
``clone()`` the view first; outside recording (``no_grad``) it works.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from ember import dtypes as D
from ember.core.autograd import move_retained
from ember.core.grad_mode import _enabled
from ember.core.tensor import Tensor, _wrap
from ember.core.trace_hooks import tracer as _tracer
from ember.errors import AutogradError, DTypeError, ShapeError


def inplace(fn, name: str | None = None):
    """Turn ``fn(self, *args, **kwargs) -> Tensor`` into an in-place method."""
    name = name or fn.__name__ + "_"

    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        recording = _enabled[0] and (self._rg or any(isinstance(a, Tensor) and a._rg for a in args))
        if not recording:
            result = fn(self, *args, **kwargs)
            write_into(self, result._data, name)
            return self
        if self._node is None and self._rg:
            raise AutogradError(
                f"{name}: a leaf tensor that requires grad is being used in an in-place "
                "operation; wrap it in ember.no_grad() or use the out-of-place op"
            )
        if self._base is not None:
            raise AutogradError(
                f"{name}: in-place operation on a view while recording gradients is not "
                "supported; use the out-of-place op or clone() the view first"
            )
        # The op sees a snapshot of the old value, so whatever it saves stays valid.
        old = _wrap(self._data.copy())
        old._node, old._rg, old._out_idx = self._node, self._rg, self._out_idx
        if _tracer[0] is not None:  # the snapshot holds self's current value, not a constant
            _tracer[0]._bind(old._data, _tracer[0].value_of(self))
        result = fn(old, *args, **kwargs)
        write_into(self, result._data, name)
        take_graph_position(self, result)
        return self

    method.__name__ = name
    return method


def take_graph_position(t: Tensor, result: Tensor) -> None:
    """After an in-place op whose out-of-place result is ``result``, ``t`` stands where
    ``result`` stands in the graph; its retain_grad and its live views follow it."""
    old_node, old_idx = t._node, t._out_idx
    t._node, t._rg, t._out_idx = result._node, result._rg, result._out_idx
    if old_node is not None and old_node.retained:
        move_retained(t, old_node, old_idx)
    if getattr(t, "_views", None):
        rebase_views(t)


def note_view(view: Tensor, src: Tensor, base: Tensor, op, attrs) -> None:
    """Remember how ``view`` (made while recording from ``src``, a view of the non-leaf
    ``base`` or ``base`` itself) is remade from ``base``: an in-place op on ``base`` then moves
    the view onto the new graph, as PyTorch rebases views."""
    if src is base:
        chain = ((op, attrs),)
    else:
        prev = getattr(src, "_chain", None)
        if prev is None:  # src was made without recording: nothing to replay
            return
        chain = prev + ((op, attrs),)
    view._chain = chain
    views = getattr(base, "_views", None)
    if views is None:
        base._views = [weakref.ref(view)]
        return
    n = len(views)
    if n >= 32 and not n & (n - 1):  # now and then, forget views that are gone
        views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(view))


def rebase_views(base: Tensor) -> None:
    """After an in-place op gave ``base`` a new node, give each live view of it the node it
    would have if it were made now (same data: the view ops are replayed for their nodes)."""
    live = [v for v in (r() for r in base._views) if v is not None]
    base._views = None
    for v in live:
        cur = base
        for op, attrs in v._chain:
            cur = op(cur, **attrs)
        v._node, v._rg, v._out_idx = cur._node, cur._rg, cur._out_idx
    base._views = [weakref.ref(v) for v in live]


def write_into(t: Tensor, value: np.ndarray, name: str) -> None:
    """Copy ``value`` into ``t``'s storage after the checks PyTorch makes, and bump its version."""
    dst = t._data
    if value.shape != dst.shape:
        raise ShapeError(
            f"{name}: output with shape {tuple(dst.shape)} doesn't match the broadcast shape "
            f"{tuple(value.shape)}"
        )
    src_cat = D._BY_NP[value.dtype].category
    if src_cat > D._BY_NP[dst.dtype].category:
        raise DTypeError(
            f"{name}: result type {value.dtype} can't be cast to the desired output type "
            f"{dst.dtype}"
        )
    if not dst.flags.writeable:
        raise AutogradError(
            f"{name}: the tensor is a broadcast (expanded) view; more than one element refers "
            "to the same memory, so it cannot be written in place; clone() it first"
        )
    if _tracer[0] is not None:
        _tracer[0].mutate(t, value, name)
    np.copyto(dst, value, casting="unsafe")
    t._vc[0] += 1
