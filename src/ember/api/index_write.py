"""``x[key] = value``: written into storage outside autograd, an ``index_put`` node (with the
storage still written in place, so views see it) while recording.
"""

from __future__ import annotations

import numpy as np

from ember.api.index_key import prefixed, split_key
from ember.core.grad_mode import _enabled
from ember.core.inplace import take_graph_position
from ember.core.tensor import Tensor
from ember.core.trace_hooks import tracer as _tracer
from ember.errors import AutogradError, DTypeError, ShapeError
from ember.ops import index as P
from ember.ops import rules
from ember.ops.elementwise import cast
from ember.ops.index_kernels import region_shape
from ember.ops.movement import reshape as _reshape
from ember.ops.registry import OPS

_SCALARS = (bool, int, float)


def basic_key(key):
    """The basic key for a key of ints/slices/None/Ellipsis only, else None."""
    c = key.__class__
    if c is int or c is slice:
        return (key, Ellipsis)
    if c is tuple:
        for k in key:
            c = k.__class__
            if c is not int and c is not slice and k is not None and k is not Ellipsis:
                return None
        return key if Ellipsis in key else key + (Ellipsis,)
    return None


def leading_mask(self, key):
    """The bool array of ``x[mask]`` when the mask covers x's leading dims, else None."""
    m = key._data if isinstance(key, Tensor) else key
    if isinstance(m, np.ndarray) and m.dtype == np.bool_ and m.ndim:
        if m.shape == self._data.shape[: m.ndim]:
            return m
    return None


def setitem(self, key, value):
    if isinstance(value, Tensor):
        vrg = value._rg
    elif isinstance(value, _SCALARS):
        vrg = False
    elif isinstance(value, np.generic):
        value, vrg = value.item(), False
    else:
        raise DTypeError(
            f"setitem: can't assign a {type(value).__name__} to a tensor; assign a number or a "
            "tensor"
        )
    recording = _enabled[0] and (self._rg or vrg) and self._data.dtype.kind == "f"
    if _tracer[0] is not None:
        return setitem_traced(self, key, value, recording)
    if not recording and (mask := leading_mask(self, key)) is not None:
        return _store_mask(self, mask, value)
    key, dims, arrays = _write_key(self, key, value, recording)
    if recording:
        _setitem_graph(self, key, dims, arrays, value)
    else:
        store(self, key, dims, arrays, value._data if isinstance(value, Tensor) else value)


def _store_mask(self, m, value) -> None:
    """``x[mask] = value`` outside autograd: NumPy's boolean assignment, much faster than
    going through the mask's nonzero arrays."""
    if isinstance(value, Tensor):
        if value._data.dtype != self._data.dtype:
            _check_put_dtype(m, value, self)
        value = value._data
    dst = self._data
    try:
        dst[m] = value
    except ValueError:
        if not dst.flags.writeable:
            raise _broadcast_view("setitem") from None
        region = (int(np.count_nonzero(m)),) + dst.shape[m.ndim :]
        if not _fits(np.shape(value), region):
            raise _mismatch("setitem", np.shape(value), region) from None
        raise
    self._vc[0] += 1


def _broadcast_view(op):
    return AutogradError(
        f"{op}: the tensor is a broadcast (expanded) view; more than one element refers to the "
        "same memory, so it cannot be written in place; clone() it first"
    )


def _tensor_like(k) -> bool:
    if isinstance(k, (Tensor, np.ndarray)):
        return k.ndim > 0 or k.dtype == np.bool_
    return isinstance(k, list)


def _write_key(self, key, value, recording):
    """(key, dims, index arrays) of ``self[key] = value``: a basic key as it is, an advanced
    one split (the value's dtype checked against ``self`` first, as PyTorch does)."""
    basic = basic_key(key)
    if basic is not None:
        return basic, (), ()
    if isinstance(value, Tensor) and value._data.dtype != self._data.dtype:
        _check_put_dtype(key, value, self)
    return split_key(self, key, "setitem", own=recording)


def _check_put_dtype(key, value, self) -> None:
    """PyTorch casts the value of a basic (or Python-bool) setitem but not of an index_put."""
    if any(_tensor_like(k) for k in (key if isinstance(key, tuple) else (key,))):
        raise DTypeError(
            f"setitem: index put requires the source and destination dtypes to match, got "
            f"{self.dtype.name} for the destination and {value.dtype.name} for the source"
        )


def region_of(op, shape, key, dims, arrays):
    return prefixed(op, lambda: region_shape(P.basic_shape(shape, key), dims, arrays))


def store(t: Tensor, key, dims, arrays, value, op: str = "setitem") -> None:
    """Write ``value`` (an array or scalar) into ``t``'s storage at the split key; bump the
    version counter (views share it)."""
    try:
        P.write(t._data, value, key, dims, arrays)
    except (IndexError, ValueError, TypeError) as exc:
        region = region_of(op, t._data.shape, key, dims, [a.shape for a in arrays])
        if not t._data.flags.writeable:
            raise _broadcast_view(op) from None
        if not _fits(np.shape(value), region):
            raise _mismatch(op, np.shape(value), region) from None
        raise DTypeError(f"{op}: cannot write {value!r}: {exc}") from None
    t._vc[0] += 1


def _fits(vshape, region) -> bool:
    """Whether a value of ``vshape`` can be written to ``region`` (broadcasting; leading
    size-1 dims beyond the region's rank are dropped, as PyTorch does)."""
    extra = len(vshape) - len(region)
    if extra > 0:
        if any(n != 1 for n in vshape[:extra]):
            return False
        vshape = vshape[extra:]
    try:
        return rules.broadcast(vshape, region) == tuple(region)
    except ShapeError:
        return False


def _mismatch(op, vshape, region):
    return ShapeError(
        f"{op}: shape mismatch: value tensor of shape {tuple(vshape)} cannot be broadcast to "
        f"indexing result of shape {tuple(region)}"
    )


def fit_value(op: str, value: Tensor, region) -> Tensor:
    """``value`` checked to broadcast to ``region``, with leading size-1 dims beyond the
    region's rank dropped (so the engine can sum its gradient back to its shape)."""
    vshape = value._data.shape
    if not _fits(vshape, region):
        raise _mismatch(op, vshape, region)
    extra = len(vshape) - len(region)
    return _reshape(value, shape=vshape[extra:]) if extra > 0 else value


def _setitem_graph(self, key, dims, arrays, value) -> None:
    _check_recordable(self)
    value = _fit_tensor_value(self, key, dims, arrays, value)
    res = P.index_put(self, value, *arrays, key=key, dims=dims, accumulate=False)
    # The graph node is res's; the storage is written in place (O(region)) so views see it.
    store(self, key, dims, arrays, value._data if isinstance(value, Tensor) else value)
    take_graph_position(self, res)


def _check_recordable(self) -> None:
    if self._node is None and self._rg:
        raise AutogradError(
            "setitem: a leaf tensor that requires grad is being used in an in-place operation; "
            "wrap it in ember.no_grad() or use the out-of-place op"
        )
    if self._base is not None:
        raise AutogradError(
            "setitem: in-place operation on a view while recording gradients is not supported; "
            "use the out-of-place op or clone() the view first"
        )


def _fit_tensor_value(self, key, dims, arrays, value):
    if isinstance(value, Tensor):
        if value._data.dtype != self._data.dtype:
            value = cast(value, dtype=self._data.dtype)
        region = region_of("setitem", self._data.shape, key, dims, [a.shape for a in arrays])
        value = fit_value("setitem", value, region)
    return value


def setitem_traced(self, key, value, recording: bool) -> None:
    """``x[key] = value`` under ``ember.compile``: the new contents are an out-of-place op's
    result (``index_put``, or ``where`` for a mask over the leading dims, which keeps shapes
    static), which the tracer then lets ``x`` stand for."""
    if recording:
        _check_recordable(self)
    if isinstance(key, Tensor) and leading_mask(self, key) is not None:
        res = _mask_where(self, key, value)
    else:
        key, dims, arrays = _write_key(self, key, value, recording)
        value = _fit_tensor_value(self, key, dims, arrays, value)
        res = P.index_put(self, value, *arrays, key=key, dims=dims, accumulate=False)
    if not self._data.flags.writeable:
        raise _broadcast_view("setitem")
    _tracer[0].mutate(self, res._data, "setitem")
    np.copyto(self._data, res._data, casting="unsafe")
    self._vc[0] += 1
    if recording:
        take_graph_position(self, res)


def _mask_where(self, mask: Tensor, value):
    """``where(mask, value, x)`` with the mask widened over x's trailing dims; a value with
    one entry per selected element has a data-dependent shape and is refused."""
    from ember.api.trace_index import refuse_mask
    from ember.ops.elementwise import where

    k = mask._data.ndim
    rest = self._data.shape[k:]
    if isinstance(value, Tensor):
        vshape = value._data.shape
        if len(vshape) > len(rest):
            if len(vshape) > len(rest) + 1 or vshape[0] != 1:
                refuse_mask("setitem")
            value = _reshape(value, shape=vshape[1:])
        if not _fits(value._data.shape, rest):
            region = (int(np.count_nonzero(mask._data)),) + rest
            raise _mismatch("setitem", vshape, region)
        if value._data.dtype != self._data.dtype:
            value = cast(value, dtype=self._data.dtype)
    wide = _reshape(mask, shape=mask._data.shape + (1,) * len(rest))
    # where saves its inputs for backward: give it a copy of x, whose storage changes next
    return where(wide, value, OPS["clone"](self))
