"""Indexing primitives: getitem (basic and advanced), index_put, gather, scatter, masked_fill.

Index arrays travel as plain NumPy int arrays among the positional inputs, after the tensor
operands: they are constants of the graph, so ``save="meta"`` keeps them for the VJP while the
data operands are reduced to their shapes. Arrays that reach a VJP or an accumulating kernel
have been bounds-checked and made non-negative by the API layer (repeats are found by sorting,
so ``-1`` and ``n - 1`` must not both appear); a forward-only ``index`` may get raw arrays,
which NumPy checks.

An indexing key is split as PyTorch does it: a *basic* part ``key`` (ints, slices, None and one
Ellipsis: a NumPy view) and an *advanced* part, index arrays applied to the dims ``dims`` of
that view. So ``x[0, :, [1, 2]]`` is ``x[0, ...]`` then arrays on dim 1 of the view, and ints
never count as advanced indices (NumPy differs there).
"""

from __future__ import annotations

import numpy as np

from ember.errors import AutogradError, DTypeError, EmberIndexError, ShapeError
from ember.ops import rules
from ember.ops.index_kernels import accumulate, flat_positions, region_shape
from ember.ops.registry import OPS, Meta, primitive

# ---- shape rules ---------------------------------------------------------------------------


def basic_shape(x, key) -> tuple:
    """The shape of ``x[key]`` for a basic key; raises as PyTorch does for a bad key."""
    x = tuple(x)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise EmberIndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if consumed > len(x):
        raise EmberIndexError(f"too many indices for tensor of dimension {len(x)}")
    out, d = [], 0
    for k in key:
        if k is Ellipsis:
            take = len(x) - consumed
            out += x[d : d + take]
            d += take
        elif k is None:
            out.append(1)
        elif isinstance(k, slice):
            if k.step == 0:
                raise ShapeError("slice step cannot be zero")
            out.append(len(range(*k.indices(x[d]))))
            d += 1
        else:
            n = x[d]
            if not -n <= k < n:
                raise EmberIndexError(f"index {k} is out of bounds for dim {d} with size {n}")
            d += 1
    return tuple(out) + x[d:]


def _getitem_shape(x, *, key):
    return basic_shape(x, key)


def _index_shape(x, *arrays, key, dims, **_):
    return region_shape(basic_shape(x, key), dims, arrays)


def _index_backward_shape(g, *arrays, key, dims, shape):
    return tuple(shape)


def _first(x, *rest, **_):
    return x


# ---- basic and advanced getitem ------------------------------------------------------------


@primitive("getitem", shape=_getitem_shape, dtype=_first, save="meta", view=True)
def getitem(x, *, key):
    """``x[key]`` for a basic key (ints, slices, None, Ellipsis): always a view of ``x``."""
    return x[key]


@getitem.defvjp
def _(g, out, x, *, key):
    return OPS["index_backward"](g, key=key, dims=(), shape=x.shape)


def _take(v, dims, arrays):
    if len(arrays) == 1:
        return np.take(v, arrays[0], axis=dims[0])  # faster than fancy indexing
    full = [slice(None)] * v.ndim
    for d, a in zip(dims, arrays):
        full[d] = a
    return v[tuple(full)]


@primitive("index", shape=_index_shape, dtype=_first, save="meta")
def index(x, *arrays, key, dims):
    """``x[key]`` (a basic view) indexed by integer ``arrays`` on the view dims ``dims``
    (NumPy placement: adjacent dims are replaced in place, otherwise they go first)."""
    return _take(x[key], dims, arrays)


@index.defvjp
def _(g, out, x, *arrays, key, dims):
    gx = OPS["index_backward"](g, *arrays, key=key, dims=dims, shape=x.shape)
    return (gx,) + (None,) * len(arrays)


@primitive("index_backward", shape=_index_backward_shape, dtype=_first, save="meta")
def index_backward(g, *arrays, key, dims, shape):
    """Zeros of ``shape`` with ``g`` added at ``[key][arrays at dims]`` (repeats accumulate):
    the gradient of getitem/index."""
    z = np.zeros(shape, g.dtype)
    if not arrays:
        z[key] = g
    else:
        accumulate(z, key, dims, arrays, g)
    return z


@index_backward.defvjp
def _(g, out, gin, *arrays, key, dims, shape):
    if not arrays:
        return OPS["getitem"](g, key=key)
    return (OPS["index"](g, *arrays, key=key, dims=dims),) + (None,) * len(arrays)


# ---- index_put (setitem) -------------------------------------------------------------------


def _index_put_shape(x, v, *arrays, key, dims, accumulate):
    region = region_shape(basic_shape(x, key), dims, arrays)
    if rules.broadcast(v, region) != region:
        raise ShapeError(
            f"shape mismatch: value tensor of shape {tuple(v)} cannot be broadcast to indexing "
            f"result of shape {region}"
        )
    return tuple(x)


@primitive("index_put", shape=_index_put_shape, dtype=_first, save="meta")
def index_put(x, v, *arrays, key, dims, accumulate):
    """A copy of ``x`` with ``v`` (broadcast) written, or added if ``accumulate``, at
    ``[key][arrays at dims]``; ``v`` must already have ``x``'s dtype (or be a scalar)."""
    out = x.copy()
    write(out, v, key, dims, arrays, accumulate)
    return out


def write(out, v, key, dims, arrays, add=False) -> None:
    """Write (or add) ``v`` into ``out`` at the split key, in place."""
    view = out[key]
    if not arrays:
        if add:
            view += v
        else:
            view[...] = v
    elif add:
        if not out.flags.c_contiguous:
            raise ValueError("accumulate needs a C-contiguous destination")
        vals = np.broadcast_to(v, region_shape(view.shape, dims, [a.shape for a in arrays]))
        accumulate(out, key, dims, arrays, vals)
    else:
        full = [slice(None)] * view.ndim
        for d, a in zip(dims, arrays):
            full[d] = a
        view[tuple(full)] = v


@index_put.defvjp
def _(g, out, x, v, *arrays, key, dims, accumulate):
    gx = g if accumulate else OPS["index_put"](g, 0, *arrays, key=key, dims=dims, accumulate=False)
    gv = None
    if isinstance(v, Meta):
        gv = (
            OPS["getitem"](g, key=key)
            if not arrays
            else OPS["index"](g, *arrays, key=key, dims=dims)
        )
    return (gx, gv) + (None,) * len(arrays)


# ---- gather / scatter ----------------------------------------------------------------------


def gather_shape(x, index, *, dim):
    """Shape rule shared by gather and scatter: PyTorch's size checks on ``index``."""
    x, index = tuple(x), tuple(index)
    if len(index) != len(x):
        raise ShapeError(f"index {index} must have the same number of dimensions as input {x}")
    for d, (n, m) in enumerate(zip(index, x)):
        if d != dim and n > m:
            raise ShapeError(
                f"size does not match at dimension {d}: expected index {index} to be no larger "
                f"than input {x} apart from dimension {dim}"
            )
    return index


def _gather_shape(x, index, *, dim):
    return gather_shape(x, index, dim=dim)


def _sub(shape, dim):
    """The slices cutting an array down to ``shape`` in every dim but ``dim``."""
    return tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(shape))


@primitive("gather", shape=_gather_shape, dtype=_first, save="meta")
def gather(x, index, *, dim):
    """``out[i][j] = x[index[i][j]][j]`` (for dim 0): values of ``x`` along ``dim``."""
    return np.take_along_axis(x[_sub(index.shape, dim)], index, axis=dim)


@gather.defvjp
def _(g, out, x, index, *, dim):
    return OPS["scatter"](np.zeros(x.shape, x.dtype), index, g, dim=dim, reduce="add"), None


def _scatter_shape(x, index, src, *, dim, reduce):
    gather_shape(x, index, dim=dim)
    if len(src) and any(n > m for n, m in zip(index, src)):
        raise ShapeError(
            f"expected index {tuple(index)} to be no larger than src {tuple(src)} in every "
            "dimension"
        )
    return tuple(x)


@primitive("scatter", shape=_scatter_shape, dtype=_first, save="meta")
def scatter(x, index, src, *, dim, reduce):
    """A copy of ``x`` with ``src`` (an array at least as large as ``index``, or a scalar)
    written (``reduce=None``), added (``"add"``) or multiplied (``"multiply"``) at the
    positions ``index`` names along ``dim``."""
    out = x.copy()
    flat = out.reshape(-1)
    pos = flat_positions(out.shape, index, dim)
    if isinstance(src, np.ndarray):
        src = src[tuple(slice(0, n) for n in index.shape)]
    else:
        src = cast_scalar(src, out.dtype)
    if reduce is None:
        flat[pos] = src
    elif reduce == "add":
        np.add.at(flat, pos, src)
    else:
        np.multiply.at(flat, pos, src)
    return out


@scatter.defvjp
def _(g, out, x, index, src, *, dim, reduce):
    if reduce == "multiply":
        raise AutogradError("scatter: the derivative for reduce='multiply' is not implemented")
    gx = g if reduce == "add" else OPS["scatter"](g, index, 0, dim=dim, reduce=None)
    gs = None
    if isinstance(src, Meta):
        gs = OPS["gather"](g, index, dim=dim)
        if tuple(src.shape) != tuple(index.shape):  # src larger than index: zeros elsewhere
            key = tuple(slice(0, n) for n in index.shape) + (Ellipsis,)
            gs = OPS["index_backward"](gs, key=key, dims=(), shape=src.shape)
    return gx, None, gs


# ---- masked_fill ---------------------------------------------------------------------------


def _masked_fill_shape(x, mask, value):
    if len(value):
        raise ShapeError(
            f"only a 0-dimensional value tensor is supported, got shape {tuple(value)}"
        )
    return rules.broadcast(x, mask)


@primitive("masked_fill", shape=_masked_fill_shape, dtype=_first, save="meta")
def masked_fill(x, mask, value):
    """``value`` where the bool array ``mask`` (broadcast with ``x``) is true, else ``x``;
    the value is cast to ``x``'s dtype."""
    if isinstance(value, np.ndarray):
        if value.ndim:
            raise ShapeError(
                f"only a 0-dimensional value tensor is supported, got shape {value.shape}"
            )
        value = value.astype(x.dtype)
    else:
        value = cast_scalar(value, x.dtype)
    return np.where(mask, value, x)


def cast_scalar(value, dtype):
    """A Python number as a NumPy scalar of ``dtype`` (truncating floats for integer dtypes,
    as PyTorch does), or a DTypeError when it does not fit."""
    try:
        return dtype.type(value)
    except OverflowError:
        raise DTypeError(f"value {value} cannot be converted to {dtype} without overflow") from None


@masked_fill.defvjp
def _(g, out, x, mask, value):
    # where(mask, g, 0), not masked_fill(g, ~mask, 0): the NumPy ``~`` would be a constant
    # of a traced backward
    gv = OPS["where"](mask, g, 0) if isinstance(value, Meta) else None
    return OPS["masked_fill"](g, mask, 0), None, gv
