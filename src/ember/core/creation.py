"""Tensor creation: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``eye`` ...

>>> import ember
>>> ember.arange(3)
tensor([0, 1, 2])
>>> ember.zeros(2, 2, dtype=ember.float64)
tensor([[0., 0.],
        [0., 0.]], dtype=ember.float64)
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as D
from ember.core import trace_hooks
from ember.core.tensor import Tensor, _wrap
from ember.errors import DTypeError, EmberValueError, ShapeError


def _infer_dtype(data) -> D.DType:
    """The dtype PyTorch infers from Python data: bools, ints (int64), floats (default)."""
    kinds = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, Tensor):
            kinds.add(x.dtype)
        elif isinstance(x, np.generic) and x.dtype.kind in "biuf":
            # NumPy scalars keep their own dtype, as in PyTorch
            kinds.add(D._BY_NP.get(x.dtype) or D._BY_NP[_nearest(x.dtype)])
        elif isinstance(x, bool):
            kinds.add(D.bool_)
        elif isinstance(x, int):
            kinds.add(D.int64)
        elif isinstance(x, float):
            kinds.add(D.get_default_dtype())
        else:
            raise DTypeError(f"tensor: cannot make a tensor from {type(x).__name__} {x!r}")
    out = D.bool_ if not kinds else None
    for k in kinds:
        out = k if out is None else D.promote_types(out, k)
    return out if kinds else D.get_default_dtype()


def to_array(data, dtype=None, copy: bool = True) -> np.ndarray:
    """A NumPy array of a supported dtype from Python data, arrays or tensors."""
    if isinstance(data, Tensor):
        arr = data._data
        target = D.as_dtype(dtype).np if dtype is not None else arr.dtype
        return arr.astype(target, copy=copy)
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
        if dtype is None:
            if arr.dtype.kind not in "biuf":
                raise DTypeError(f"tensor: NumPy dtype {arr.dtype} is not supported")
            target = arr.dtype if arr.dtype in D._BY_NP else _nearest(arr.dtype)
            if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
                raise DTypeError(
                    f"tensor: uint64 values up to {arr.max()} do not fit in int64, the widest "
                    "integer dtype"
                )
        else:
            target = D.as_dtype(dtype).np
        return np.array(arr, dtype=target, copy=True if copy else None)
    target = D.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _tensors_to_lists(data)
    try:
        arr = np.array(data, dtype=target.np)
    except (ValueError, OverflowError) as exc:
        raise ShapeError(f"tensor: cannot convert data to a {target.name} tensor: {exc}") from None
    return arr


def _nearest(np_dtype) -> np.dtype:
    """Map unsupported NumPy integer dtypes (uint8, int16 ...) to the ember dtype holding them."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype.kind in "iu":
        return D.int32.np if np_dtype.itemsize < 4 else D.int64.np
    if np_dtype.kind == "f":
        return D.float64.np
    raise DTypeError(f"tensor: NumPy dtype {np_dtype} is not supported")


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _tensors_to_lists(data):
    if isinstance(data, Tensor):
        return data._data.tolist()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(x) for x in data]
    return data


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad = True
    if trace_hooks.tracer[0] is not None:
        trace_hooks.tracer[0].constant(t)  # made inside compiled code: a graph constant
    return t


def _size(size, name: str) -> tuple:
    """Sizes given as varargs ``(2, 3)`` or as one tuple/list ``((2, 3),)``."""
    if not size:
        raise TypeError(f"{name}() missing required argument 'size'")
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = tuple(int(s) for s in size)
    if any(s < 0 for s in out):
        raise ShapeError(f"{name}: negative dimension in size {out}")
    return out


def _float_or(dtype) -> np.dtype:
    return D.as_dtype(dtype).np if dtype is not None else D.get_default_dtype().np


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays or tensors).

    The dtype is inferred as PyTorch does: bools -> bool, ints -> int64, floats -> the default
    float, NumPy arrays and scalars keep theirs.

    >>> import ember
    >>> ember.tensor([[1, 2], [3, 4]]).dtype, ember.tensor([1, 2.5]).dtype
    (ember.int64, ember.float32)
    """
    return _finish(to_array(data, dtype), requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """Like ``tensor`` but shares memory with ``data`` when no conversion is needed.

    >>> import ember
    >>> a = np.zeros(2)
    >>> t = ember.as_tensor(a)
    >>> a[0] = 5.0
    >>> t
    tensor([5., 0.], dtype=ember.float64)
    """
    if isinstance(data, Tensor) and (dtype is None or D.as_dtype(dtype) == data.dtype):
        return data
    return _finish(to_array(data, dtype, copy=False), False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array.

    >>> import ember
    >>> ember.from_numpy(np.arange(3, dtype=np.int32))
    tensor([0, 1, 2], dtype=ember.int32)
    """
    if not isinstance(array, np.ndarray):
        raise DTypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    D.from_numpy_dtype(array.dtype, "from_numpy")
    return _wrap(array)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of the given size (varargs or one tuple), default float dtype.

    >>> import ember
    >>> ember.zeros(2, 3).shape, ember.zeros((2,), dtype=ember.int32)
    ((2, 3), tensor([0, 0], dtype=ember.int32))
    """
    return _finish(np.zeros(_size(size, "zeros"), _float_or(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of the given size. ``ember.ones(2)`` -> ``tensor([1., 1.])``.

    >>> import ember
    >>> ember.ones(2)
    tensor([1., 1.])
    """
    return _finish(np.ones(_size(size, "ones"), _float_or(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of the given size.

    >>> import ember
    >>> ember.empty(3, 1).shape
    (3, 1)
    """
    return _finish(np.empty(_size(size, "empty"), _float_or(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from the value).

    >>> import ember
    >>> ember.full((2,), 7), ember.full((2,), 0.5)
    (tensor([7, 7]), tensor([0.5000, 0.5000]))
    """
    if dtype is None:
        dtype = _infer_dtype(fill_value)
    return _finish(np.full(_size((size,), "full"), fill_value, D.as_dtype(dtype).np), requires_grad)


def _like(t: Tensor, dtype):
    return t.shape, (D.as_dtype(dtype).np if dtype is not None else t._data.dtype)


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape and (unless given) dtype of ``input``.

    >>> import ember
    >>> ember.zeros_like(ember.tensor([1, 2]))
    tensor([0, 0])
    """
    return _finish(np.zeros(*_like(input, dtype)), requires_grad)


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape and (unless given) dtype of ``input``.

    >>> import ember
    >>> ember.ones_like(ember.zeros(2), dtype=ember.float64)
    tensor([1., 1.], dtype=ember.float64)
    """
    return _finish(np.ones(*_like(input, dtype)), requires_grad)


def empty_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor with the shape and dtype of ``input``.

    >>> import ember
    >>> ember.empty_like(ember.zeros(2, 2)).shape
    (2, 2)
    """
    return _finish(np.empty(*_like(input, dtype)), requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in the shape and dtype of ``input`` (cast to that dtype).

    >>> import ember
    >>> ember.full_like(ember.tensor([1, 2]), 2.7)
    tensor([2, 2])
    """
    shape, dt = _like(input, dtype)
    return _finish(np.full(shape, fill_value, dt), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 unless an argument is a float.

    The length is ``ceil((end - start) / step)``; element ``i`` is ``start + i * step``.

    >>> import ember
    >>> ember.arange(1, 2, 0.25)
    tensor([1.0000, 1.2500, 1.5000, 1.7500])
    """
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = D.get_default_dtype() if is_float else D.int64
    dt = D.as_dtype(dtype).np
    if dt.kind != "f":  # integer dtypes take integer bounds and step, as in PyTorch
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise EmberValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise EmberValueError(
            f"arange: upper bound and lower bound inconsistent with step sign (start={start}, "
            f"end={end}, step={step})"
        )
    if dt.kind != "f":
        return _finish(np.arange(start, end, step, dtype=dt), requires_grad)
    n = int(np.ceil((end - start) / step))
    # start + i*step (as PyTorch computes it) rather than NumPy's accumulating arange
    return _finish((start + np.arange(n, dtype=np.float64) * step).astype(dt), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> import ember
    >>> ember.linspace(0, 1, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    if steps < 0:
        raise ShapeError(f"linspace: number of steps must be non-negative, got {steps}")
    values = np.linspace(start, end, int(steps))
    return _finish(values.astype(_float_or(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``).

    >>> import ember
    >>> ember.eye(2, 3)
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    for name, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise ShapeError(f"eye: {name} must be greater or equal to 0, got {v}")
    return _finish(np.eye(n, m, dtype=_float_or(dtype)), requires_grad)
