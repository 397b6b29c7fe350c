"""Indexing: ``x[...]``, ``x[...] = v``, ``gather``, ``scatter``, ``index_select``,
``masked_fill`` ... with PyTorch semantics (NumPy's for negative slice steps, which PyTorch
rejects).

>>> import ember
>>> x = ember.arange(12).reshape(3, 4)
>>> x[1, ::-2]
tensor([7, 5])
>>> x[[0, 2], 1:3]
tensor([[ 1,  2],
        [ 9, 10]])
>>> x[x > 9] = 0
>>> x
tensor([[0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 0, 0]])
"""

from __future__ import annotations

import math

import numpy as np

from ember.api.index_key import INTS, check_bounds, prefixed, split_key
from ember.api.index_write import basic_key, fit_value, leading_mask, region_of, setitem
from ember.api.trace_index import follow, refuse_mask
from ember.core.dispatch import apply
from ember.core.grad_mode import _enabled
from ember.core.inplace import inplace
from ember.core.tensor import Tensor, register_methods
from ember.errors import DTypeError, EmberIndexError, EmberValueError, ShapeError
from ember.ops import index as P
from ember.ops import rules
from ember.ops.elementwise import cast
from ember.ops.movement import reshape as _reshape

__all__ = [
    "gather",
    "scatter",
    "scatter_add",
    "index_select",
    "masked_fill",
    "masked_select",
    "take",
    "index_add",
    "index_fill",
    "index_put",
]

_SCALARS = (bool, int, float)
_GETITEM = P.getitem

# ---- x[key] ----------------------------------------------------------------------------------


def _getitem(self, key):
    basic = basic_key(key)
    if basic is not None:  # the hot path: no parsing, NumPy checks the key
        return apply(_GETITEM, (self,), {"key": basic})
    if (
        key.__class__ is Tensor
        and key._data.ndim
        and key._data.dtype.kind == "i"
        and self._data.ndim
    ):
        return _index_first(self, key._data)
    mask = leading_mask(self, key)
    if mask is not None:
        if key.__class__ is not np.ndarray:  # a tensor's mask: data-dependent under a trace
            refuse_mask("getitem")
        return _index_mask(self, mask)
    recording = self._rg and _enabled[0]
    skey, dims, arrays = split_key(self, key, "getitem", check=recording, own=recording)
    if not arrays:
        return P.getitem(self, key=skey)
    try:
        return P.index(self, *arrays, key=skey, dims=dims)
    except EmberIndexError:
        split_key(self, key, "getitem")  # raises the error that names the dim
        raise


_ELLIPSIS, _DIM0 = (Ellipsis,), (0,)


def _index_first(self, a):
    """``x[idx]`` for one integer index tensor: the common case, kept lean."""
    if self._rg and _enabled[0]:
        b = check_bounds("getitem", a, self._data.shape[0], 0, wrap=True)
        b = b.copy() if b is a else b
        follow(a, b)
        return P.index(self, b, key=_ELLIPSIS, dims=_DIM0)
    try:
        return P.index(self, a, key=_ELLIPSIS, dims=_DIM0)
    except EmberIndexError:
        check_bounds("getitem", a, self._data.shape[0], 0, wrap=True)
        raise


def _index_mask(self, m):
    """``x[mask]`` as one linear index over the mask's dims merged (np.nonzero on a n-d mask
    costs ~10x np.flatnonzero)."""
    x, k = self, m.ndim
    if k > 1:
        x = _reshape(self, shape=(math.prod(m.shape),) + self._data.shape[k:])
    return P.index(x, np.flatnonzero(m), key=_ELLIPSIS, dims=_DIM0)


# ---- helpers for the named ops ---------------------------------------------------------------


def _index_data(op: str, index, dtypes=INTS) -> np.ndarray:
    if not isinstance(index, Tensor):
        raise DTypeError(f"{op}: index must be a tensor, got {type(index).__name__}")
    if index._data.dtype not in dtypes:
        names = " or ".join(str(d) for d in dtypes)
        raise DTypeError(f"{op}: expected dtype {names} for index, got {index.dtype.name}")
    return index._data


def _own(a: np.ndarray, index: Tensor, input: Tensor, *others) -> np.ndarray:
    """A private copy of an index that aliases the caller's tensor when it will be saved for
    backward (an in-place change to the index must not change the gradient)."""
    if (
        _enabled[0]
        and any(isinstance(t, Tensor) and t._rg for t in (input, *others))
        and np.may_share_memory(a, index._data)
    ):
        return a.copy()
    return a


def _scalar(op: str, value, what: str = "value"):
    if isinstance(value, (*_SCALARS, Tensor)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    raise DTypeError(f"{op}: {what} must be a number or a tensor, got {type(value).__name__}")


def _vector(op: str, a: np.ndarray) -> np.ndarray:
    if a.ndim > 1:
        raise EmberIndexError(f"{op}: index is supposed to be a vector, got shape {a.shape}")
    return a.reshape(-1)


# ---- gather / scatter ------------------------------------------------------------------------


def _at_least_1d(input, idx):
    """0-dim input and index act as 1-element vectors (PyTorch's rule); the flag says whether
    the output must be reshaped back."""
    if input.ndim and idx.ndim:
        return input, idx, False
    x = input if input.ndim else _reshape(input, shape=(1,))
    return x, (idx if idx.ndim else idx.reshape(1)), True


def gather(input, dim: int, index, *, sparse_grad: bool = False):
    """Values of ``input`` along ``dim`` at ``index``: ``out[i][j] = input[index[i][j]][j]``
    for ``dim=0``. ``index`` (int64/int32) has ``input``'s rank and is no larger than it
    except along ``dim``; negative indices are errors.

    >>> import ember
    >>> x = ember.tensor([[1, 2], [3, 4]])
    >>> ember.gather(x, 1, ember.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    idx = _index_data("gather", index)
    x, i1, promoted = _at_least_1d(input, idx)
    d = prefixed("gather", rules.norm_dim, dim, x.ndim)
    prefixed("gather", P.gather_shape, x.shape, i1.shape, dim=d)
    i1 = _own(check_bounds("gather", i1, x.shape[d], d, wrap=False), index, input)
    follow(idx, i1)
    out = P.gather(x, i1, dim=d)
    return _reshape(out, shape=idx.shape) if promoted else out


def _scatter(op, input, dim, index, src, reduce):
    if reduce not in (None, "add", "multiply"):
        raise EmberValueError(f"{op}: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    idx = _index_data(op, index)
    src = _scalar(op, src, "src")
    if isinstance(src, Tensor) and src._data.dtype != input._data.dtype:
        raise DTypeError(
            f"{op}: expected src dtype {src.dtype.name} to equal input dtype {input.dtype.name}"
        )
    x, i1, promoted = _at_least_1d(input, idx)
    if isinstance(src, Tensor) and src.ndim == 0 and promoted:
        src = _reshape(src, shape=(1,))
    d = prefixed(op, rules.norm_dim, dim, x.ndim)
    sshape = src.shape if isinstance(src, Tensor) else ()
    prefixed(op, P._scatter_shape, x.shape, i1.shape, sshape, dim=d, reduce=reduce)
    i1 = _own(check_bounds(op, i1, x.shape[d], d, wrap=False), index, input, src)
    follow(idx, i1)
    out = P.scatter(x, i1, src, dim=d, reduce=reduce)
    return _reshape(out, shape=input.shape) if promoted else out


def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with ``src`` (a tensor at least as large as ``index``, or a number;
    also accepted as ``value=``) written at the positions ``index`` names along ``dim``
    (``self[index[i][j]][j] = src[i][j]`` for ``dim=0``); ``reduce='add'``/``'multiply'``
    combines instead of overwriting.

    >>> import ember
    >>> ember.scatter(ember.zeros(3), 0, ember.tensor([2, 0]), ember.tensor([5.0, 6.0]))
    tensor([6., 0., 5.])
    """
    if src is None:
        if value is None:
            raise EmberValueError("scatter: expected a src tensor or a value")
        src = value
    return _scatter("scatter", input, dim, index, src, reduce)


def scatter_add(input, dim: int, index, src):
    """``scatter`` that adds ``src`` into ``input`` (repeated indices accumulate).

    >>> import ember
    >>> ember.scatter_add(ember.zeros(2), 0, ember.tensor([1, 1, 0]), ember.ones(3))
    tensor([1., 2.])
    """
    if not isinstance(src, Tensor):
        raise DTypeError(f"scatter_add: src must be a tensor, got {type(src).__name__}")
    return _scatter("scatter_add", input, dim, index, src, "add")


# ---- index_select / take / masked_* --------------------------------------------------------


def index_select(input, dim: int, index):
    """The entries of ``input`` at the positions ``index`` (a vector) along ``dim``.

    >>> import ember
    >>> ember.index_select(ember.tensor([[1, 2], [3, 4]]), 1, ember.tensor([1, 1, 0]))
    tensor([[2, 2, 1],
            [4, 4, 3]])
    """
    idx = _vector("index_select", _index_data("index_select", index))
    if input.ndim == 0:
        if idx.size != 1:
            raise EmberIndexError(
                f"index_select: index to a 0-dim tensor can have only 1 value, got {idx.size}"
            )
        return _reshape(index_select(_reshape(input, shape=(1,)), 0, index), shape=())
    d = prefixed("index_select", rules.norm_dim, dim, input.ndim)
    idx = _own(check_bounds("index_select", idx, input.shape[d], d, wrap=False), index, input)
    follow(index._data, idx)
    return P.index(input, idx, key=(Ellipsis,), dims=(d,))


def take(input, index):
    """``input`` read as a flat vector at ``index`` (int64; negative counts from the end);
    the result has ``index``'s shape.

    >>> import ember
    >>> ember.take(ember.tensor([[1, 2], [3, 4]]), ember.tensor([0, -1]))
    tensor([1, 4])
    """
    idx = _index_data("take", index, INTS[1:])
    n = input.numel()
    flat = _reshape(input, shape=(n,))
    idx = check_bounds("take", idx, n, 0, wrap=True, where=f"range for a tensor of {n} elements")
    idx = _own(idx, index, input)
    follow(index._data, idx)
    return P.index(flat, idx, key=(Ellipsis,), dims=(0,))


def _mask_data(op: str, mask) -> np.ndarray:
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        what = mask.dtype.name if isinstance(mask, Tensor) else type(mask).__name__
        raise DTypeError(f"{op}: expected a bool tensor for mask, got {what}")
    return mask._data


def masked_fill(input, mask, value):
    """``value`` (a number or 0-dim tensor, cast to ``input``'s dtype) where ``mask`` is
    true; the result has the broadcast shape of ``input`` and ``mask``.

    >>> import ember
    >>> ember.masked_fill(ember.zeros(3), ember.tensor([True, False, True]), 2.0)
    tensor([2., 0., 2.])
    """
    m = _mask_data("masked_fill", mask)
    value = _scalar("masked_fill", value)
    if isinstance(value, Tensor) and value.ndim:
        raise ShapeError(
            f"masked_fill: only a 0-dimensional value tensor is supported, got shape "
            f"{tuple(value.shape)}"
        )
    prefixed("masked_fill", rules.broadcast, input.shape, m.shape)
    m2 = _own(m, mask, input, value)
    follow(m, m2)
    return P.masked_fill(input, m2, value)


def masked_select(input, mask):
    """The entries of ``input`` where ``mask`` (broadcast together) is true, as a vector.

    >>> import ember
    >>> ember.masked_select(ember.tensor([[1, 2], [3, 4]]), ember.tensor([True, False]))
    tensor([1, 3])
    """
    m = _mask_data("masked_select", mask)
    refuse_mask("masked_select")
    shape = prefixed("masked_select", rules.broadcast, input.shape, m.shape)
    shape1 = shape or (1,)
    x = input if input.shape == shape1 else _expand(input, shape1)
    m = np.broadcast_to(m, shape1)
    return P.index(x, *np.nonzero(m), key=(Ellipsis,), dims=tuple(range(len(shape1))))


def _expand(x, shape):
    from ember.ops.movement import expand

    if x.ndim == 0:
        x = _reshape(x, shape=(1,) * len(shape))
    return expand(x, shape=shape)


# ---- index_add / index_fill / index_put ------------------------------------------------------


def index_add(input, dim: int, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at the positions ``index`` (a vector) names
    along ``dim``; repeated indices accumulate.

    >>> import ember
    >>> ember.index_add(ember.zeros(3), 0, ember.tensor([0, 0, 2]), ember.ones(3))
    tensor([2., 0., 1.])
    """
    idx = _vector("index_add", _index_data("index_add", index))
    if not isinstance(source, Tensor) or source._data.dtype != input._data.dtype:
        what = source.dtype.name if isinstance(source, Tensor) else type(source).__name__
        raise DTypeError(
            f"index_add: input ({input.dtype.name}) and source ({what}) must have the same dtype"
        )
    x = input if input.ndim else _reshape(input, shape=(1,))
    d = prefixed("index_add", rules.norm_dim, dim, x.ndim)
    want = x.shape[:d] + (idx.size,) + x.shape[d + 1 :]
    if source.shape != want and not (source.ndim == 0 and want == (1,)):
        raise ShapeError(
            f"index_add: source shape {tuple(source.shape)} must match input shape "
            f"{tuple(input.shape)} except along dim {d}, where it must be {idx.size} (the "
            "number of indices)"
        )
    idx = _own(check_bounds("index_add", idx, x.shape[d], d, wrap=False), index, input, source)
    follow(index._data, idx)
    if isinstance(alpha, float) and not input.is_floating_point():
        raise DTypeError(
            f"index_add: alpha must not be a floating point number for an {input.dtype.name} "
            f"input, got {alpha}"
        )
    if alpha != 1:
        source = source * alpha
    out = P.index_put(x, source, idx, key=(Ellipsis,), dims=(d,), accumulate=True)
    return out if input.ndim else _reshape(out, shape=())


def index_fill(input, dim: int, index, value):
    """``input`` with ``value`` (a number or 0-dim tensor) written at the positions ``index``
    (an int64 vector; negative counts from the end) names along ``dim``.

    >>> import ember
    >>> ember.index_fill(ember.zeros(2, 3), 1, ember.tensor([0, -1]), 7.0)
    tensor([[7., 0., 7.],
            [7., 0., 7.]])
    """
    idx = _vector("index_fill", _index_data("index_fill", index, INTS[1:]))
    value = _scalar("index_fill", value)
    if isinstance(value, Tensor):
        if value.ndim:
            raise ShapeError(
                f"index_fill: only a 0-dimensional value tensor is supported, got shape "
                f"{tuple(value.shape)}"
            )
        if value._data.dtype != input._data.dtype:
            value = cast(value, dtype=input._data.dtype)
    x = input if input.ndim else _reshape(input, shape=(1,))
    d = prefixed("index_fill", rules.norm_dim, dim, x.ndim)
    idx = _own(check_bounds("index_fill", idx, x.shape[d], d, wrap=True), index, input, value)
    follow(index._data, idx)
    out = P.index_put(x, value, idx, key=(Ellipsis,), dims=(d,), accumulate=False)
    return out if input.ndim else _reshape(out, shape=())


def index_put(input, indices, values, accumulate: bool = False):
    """``input`` with ``values`` written (or added, with ``accumulate``) at
    ``input[indices]``, where ``indices`` is a tuple of index tensors, one per leading dim.

    >>> import ember
    >>> ember.index_put(ember.zeros(3), (ember.tensor([0, 0]),), ember.tensor(1.0), True)
    tensor([2., 0., 0.])
    """
    if not isinstance(values, Tensor):
        raise DTypeError(f"index_put: values must be a tensor, got {type(values).__name__}")
    if values._data.dtype != input._data.dtype:
        raise DTypeError(
            f"index_put: values dtype {values.dtype.name} must match the input dtype "
            f"{input.dtype.name}"
        )
    own = _enabled[0] and (input._rg or values._rg)
    key, dims, arrays = split_key(input, tuple(indices), "index_put", own=own)
    region = region_of("index_put", input.shape, key, dims, [a.shape for a in arrays])
    values = fit_value("index_put", values, region)
    return P.index_put(input, values, *arrays, key=key, dims=dims, accumulate=bool(accumulate))


register_methods(
    __getitem__=_getitem,
    __setitem__=setitem,
    gather=gather,
    scatter=scatter,
    scatter_add=scatter_add,
    index_select=index_select,
    take=take,
    masked_fill=masked_fill,
    masked_select=masked_select,
    index_add=index_add,
    index_fill=index_fill,
    index_put=index_put,
    scatter_=inplace(scatter, "scatter_"),
    scatter_add_=inplace(scatter_add, "scatter_add_"),
    masked_fill_=inplace(masked_fill, "masked_fill_"),
    index_add_=inplace(index_add, "index_add_"),
    index_fill_=inplace(index_fill, "index_fill_"),
    index_put_=inplace(index_put, "index_put_"),
)
