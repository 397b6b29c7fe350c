"""Shape and movement functions: ``reshape``, ``view``, ``permute``, ``transpose``, ``flatten``,
``squeeze``, ``movedim``, ``repeat``, ``flip``, ``roll``, ``tril`` ... and (from
``ember.api.joining``) ``cat``, ``stack``, ``split``, ``chunk``, ``unbind``, ``narrow``.

Functions that PyTorch implements as views (reshape when the layout allows, view, permute,
transpose, squeeze, unsqueeze, flatten, unflatten, movedim, expand, narrow, split, diagonal)
return tensors sharing storage and version counter with their input.

>>> import ember
>>> ember.arange(6).reshape(2, 3).T
tensor([[0, 3],
        [1, 4],
        [2, 5]])
"""

from __future__ import annotations

import math

import numpy as np

from ember.api.joining import *  # noqa: F403 - cat, stack, split ... are shape functions too
from ember.api.joining import __all__ as _joining_names
from ember.api.joining import _dim
from ember.core.dispatch import apply
from ember.core.inplace import inplace
from ember.core.tensor import Tensor, register_methods
from ember.errors import EmberIndexError, EmberValueError, ShapeError
from ember.native.dispatch import tensor_method
from ember.ops import movement as P
from ember.ops.movement import infer_shape

__all__ = [
    "reshape",
    "view",
    "permute",
    "transpose",
    "swapaxes",
    "swapdims",
    "t",
    "expand",
    "broadcast_to",
    "expand_as",
    "reshape_as",
    "view_as",
    "flatten",
    "unflatten",
    "squeeze",
    "unsqueeze",
    "movedim",
    "moveaxis",
    "tile",
    "repeat_interleave",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "tril",
    "triu",
    "diagonal",
    "diag",
    "diag_embed",
    *_joining_names,
]


def _shape_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _dims(name: str, dims, ndim: int) -> tuple:
    """Normalised dims in the given order; a dim named twice is an error."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = tuple(_dim(name, d, ndim) for d in dims)
    for i, d in enumerate(out):
        if d in out[:i]:
            raise ShapeError(f"{name}: dim {d} appears multiple times in the list of dims {dims}")
    return out


def reshape(input, *shape):
    """A tensor with the same data and ``shape`` (one dim may be -1); a view when possible.

    >>> import ember
    >>> ember.arange(6).reshape(2, -1).shape
    (2, 3)
    """
    shape = infer_shape(input._data.size, _shape_args(shape))
    return apply(P.reshape, (input,), {"shape": shape})  # straight to dispatch


def view(input, *shape):
    """Like ``reshape`` but never copies: raises when the strides do not allow a view."""
    shape = infer_shape(input.numel(), _shape_args(shape), "view")
    try:
        np.reshape(input._data, shape, copy=False)
    except ValueError:
        raise ShapeError(
            f"view: view size {shape} is not compatible with input tensor's size "
            f"{tuple(input.shape)} and stride {input.stride()}; use .reshape(...) instead"
        ) from None
    return P.reshape(input, shape=shape)


def permute(input, *dims):
    return P.permute(input, dims=_dims("permute", _shape_args(dims), input.ndim))


def transpose(input, dim0: int, dim1: int):
    """Swap two dimensions (a view).

    >>> import ember
    >>> ember.zeros(2, 3, 4).transpose(0, -1).shape
    (4, 3, 2)
    """
    n = input.ndim
    d0, d1 = _dim("transpose", dim0, n), _dim("transpose", dim1, n)
    dims = list(range(n))
    if n >= 2:
        dims[d0], dims[d1] = dims[d1], dims[d0]
    return P.permute(input, dims=tuple(dims))


swapaxes = swapdims = transpose


def t(input):
    """Transpose of a matrix (0-D and 1-D tensors are returned as they are)."""
    if input.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dimensions, got {input.ndim}")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def expand(input, *sizes):
    """Broadcast to ``sizes`` (-1 keeps a dimension) without copying."""
    sizes = _shape_args(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise ShapeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({input.ndim})"
        )
    shape = tuple(
        input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes)
    )
    return P.expand(input, shape=shape)


def broadcast_to(input, shape):
    return expand(input, tuple(shape))


def expand_as(input, other):
    return expand(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def view_as(input, other):
    return view(input, other.shape)


# ---- adding and removing dimensions ---------------------------------------------------------


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dims ``start_dim..end_dim`` into one (a view when the layout allows).

    >>> import ember
    >>> ember.zeros(2, 3, 4).flatten(1).shape
    (2, 12)
    """
    shape = input.shape
    if not shape:
        return P.reshape(input, shape=(1,))
    s, e = _dim("flatten", start_dim, len(shape)), _dim("flatten", end_dim, len(shape))
    if s > e:
        raise ShapeError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}"
        )
    return P.reshape(input, shape=shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


def unflatten(input, dim: int, sizes):
    """Split dim ``dim`` into ``sizes`` (one entry may be -1).

    >>> import ember
    >>> ember.zeros(2, 12).unflatten(1, (3, -1)).shape
    (2, 3, 4)
    """
    shape = input.shape
    d = _dim("unflatten", dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise ShapeError("unflatten: sizes must be non-empty")
    n = shape[d] if shape else 1
    known = math.prod(s for s in sizes if s != -1)
    if (
        sizes.count(-1) > 1
        or (-1 in sizes and (known == 0 or n % known))
        or (-1 not in sizes and known != n)
    ):
        raise ShapeError(
            f"unflatten: sizes {list(sizes)} don't multiply up to the size of dim {dim} ({n}) "
            f"of input shape {shape}"
        )
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return P.reshape(input, shape=shape[:d] + sizes + shape[d + 1 :])


def squeeze(input, dim=None):
    """Remove size-1 dims (all of them, or those among ``dim``; other dims are left alone).

    >>> import ember
    >>> ember.zeros(1, 3, 1).squeeze().shape
    (3,)
    >>> ember.zeros(1, 3, 1).squeeze((0, 1)).shape
    (3, 1)
    """
    shape = input.shape
    if dim is None:
        new = tuple(n for n in shape if n != 1)
    else:
        dims = _dims("squeeze", dim, len(shape))
        new = tuple(n for i, n in enumerate(shape) if n != 1 or i not in dims)
    return P.reshape(input, shape=new)


def unsqueeze(input, dim: int):
    """Insert a size-1 dim at position ``dim`` (in ``[-ndim-1, ndim]``).

    >>> import ember
    >>> ember.zeros(3).unsqueeze(-1).shape
    (3, 1)
    """
    shape = input.shape
    d = _dim("unsqueeze", dim, len(shape) + 1)
    return P.reshape(input, shape=shape[:d] + (1,) + shape[d:])


def movedim(input, source, destination):
    """Move dims ``source`` to positions ``destination``; the others keep their order.

    >>> import ember
    >>> ember.zeros(2, 3, 4).movedim(0, -1).shape
    (3, 4, 2)
    """
    n = input.ndim
    src = _dims("movedim", source, n)
    dst = _dims("movedim", destination, n)
    if len(src) != len(dst):
        raise ShapeError(
            f"movedim: source {source} and destination {destination} must name the same "
            "number of dims"
        )
    order = [-1] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    return P.permute(input, dims=tuple(o if o >= 0 else next(rest) for o in order))


moveaxis = movedim


# ---- repetition, reversal, rotation ---------------------------------------------------------


def _check_reps(name, reps):
    if any(r < 0 for r in reps):
        raise ShapeError(f"{name}: repeats must be non-negative, got {reps}")


def repeat(input, *sizes):
    """Tile the tensor ``sizes[i]`` times along dim i (PyTorch's ``Tensor.repeat``; NumPy's
    ``tile``). ``len(sizes)`` must be at least ``ndim``; extra sizes add leading dims.

    >>> import ember
    >>> ember.tensor([1, 2]).repeat(2, 2)
    tensor([[1, 2, 1, 2],
            [1, 2, 1, 2]])
    """
    sizes = tuple(int(s) for s in _shape_args(sizes))
    if len(sizes) < input.ndim:
        raise ShapeError(
            f"repeat: the number of repeat dims ({len(sizes)}) can not be smaller than the "
            f"number of dimensions of the tensor ({input.ndim}, shape {tuple(input.shape)})"
        )
    _check_reps("repeat", sizes)
    return P.tile(input, reps=sizes)


def tile(input, *dims):
    """Like ``repeat``, but fewer ``dims`` than ``ndim`` are padded with leading 1s.

    >>> import ember
    >>> ember.tensor([[1, 2]]).tile(2).shape
    (1, 4)
    """
    dims = tuple(int(s) for s in _shape_args(dims))
    _check_reps("tile", dims)
    return P.tile(input, reps=(1,) * (input.ndim - len(dims)) + dims)


def repeat_interleave(input, repeats, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (the flattened input if None).

    >>> import ember
    >>> ember.tensor([1, 2]).repeat_interleave(2)
    tensor([1, 1, 2, 2])
    """
    if isinstance(repeats, Tensor):
        if repeats.numel() != 1:
            raise EmberValueError(
                "repeat_interleave: a tensor of per-element repeats is not supported yet "
                f"(got shape {tuple(repeats.shape)}); pass an int"
            )
        repeats = repeats.item()
    r = int(repeats)
    _check_reps("repeat_interleave", (r,))
    if dim is None:
        input, d = flatten(input), 0
    elif input.ndim == 0:
        raise EmberIndexError(f"repeat_interleave: dim {dim} is out of range for a 0-d tensor")
    else:
        d = _dim("repeat_interleave", dim, input.ndim)
    shape = input.shape
    if output_size is not None and output_size != shape[d] * r:
        raise ShapeError(
            f"repeat_interleave: output_size {output_size} != {shape[d]} * {r} repeats"
        )
    wide = P.expand(
        P.reshape(input, shape=shape[: d + 1] + (1,) + shape[d + 1 :]),
        shape=shape[: d + 1] + (r,) + shape[d + 1 :],
    )
    out = P.reshape(wide, shape=shape[:d] + (shape[d] * r,) + shape[d + 1 :])
    # A reshape that needed no copy is still a (read-only) view of the input: copy it.
    return out if out._data.flags.writeable else P.clone(out)


def flip(input, *dims):
    """Reverse the order of elements along ``dims`` (a copy).

    >>> import ember
    >>> ember.arange(3).flip(0)
    tensor([2, 1, 0])
    """
    dims = _dims("flip", _shape_args(dims), input.ndim)
    return P.flip(input, dims=tuple(sorted(dims)) if input.ndim else ())


def fliplr(input):
    if input.ndim < 2:
        raise ShapeError(f"fliplr: input must be at least 2-D, got shape {tuple(input.shape)}")
    return P.flip(input, dims=(1,))


def flipud(input):
    if input.ndim < 1:
        raise ShapeError(f"flipud: input must be at least 1-D, got shape {tuple(input.shape)}")
    return P.flip(input, dims=(0,))


def roll(input, shifts, dims=None):
    """Rotate elements by ``shifts`` along ``dims`` (the flattened tensor when dims is None).

    >>> import ember
    >>> ember.arange(4).roll(1)
    tensor([3, 0, 1, 2])
    """
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"roll: shifts {shifts} need dims when there is more than one shift")
        flat = P.reshape(input, shape=(input.numel(),))
        return P.reshape(roll(flat, shifts, 0), shape=input.shape)
    if input.ndim == 0:
        raise EmberIndexError(f"roll: dims {dims} given but the tensor has no dimensions")
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    dims = tuple(_dim("roll", d, input.ndim) for d in dims)
    shape = input.shape
    shifts = tuple(s % shape[d] if shape[d] else 0 for s, d in zip(shifts, dims))
    return P.roll(input, shifts=shifts, dims=dims)


# ---- triangles and diagonals ---------------------------------------------------------------


def _matrix(name, input):
    if input.ndim < 2:
        raise ShapeError(
            f"{name}: input must have at least 2 dimensions, got shape {tuple(input.shape)}"
        )


def tril(input, diagonal: int = 0):
    """The lower triangle (elements on and below ``diagonal``) of the last two dims.

    >>> import ember
    >>> ember.ones(2, 2).tril()
    tensor([[1., 0.],
            [1., 1.]])
    """
    _matrix("tril", input)
    return P.tril(input, diagonal=int(diagonal))


def triu(input, diagonal: int = 0):
    """The upper triangle (elements on and above ``diagonal``) of the last two dims."""
    _matrix("triu", input)
    return P.triu(input, diagonal=int(diagonal))


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """Diagonal ``offset`` of the (dim1, dim2) planes, appended as the last dim (a view).

    >>> import ember
    >>> ember.arange(9).reshape(3, 3).diagonal(1)
    tensor([1, 5])
    """
    d1, d2 = _dim("diagonal", dim1, input.ndim), _dim("diagonal", dim2, input.ndim)
    if d1 == d2 or input.ndim < 2:
        raise ShapeError(
            f"diagonal: dims {dim1} and {dim2} must name two different dims of shape "
            f"{tuple(input.shape)}"
        )
    return P.diagonal(input, offset=int(offset), dim1=d1, dim2=d2)


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Matrices whose diagonal ``offset`` (in output dims dim1, dim2) holds the last dim of
    ``input``.

    >>> import ember
    >>> ember.tensor([1, 2]).diag_embed()
    tensor([[1, 0],
            [0, 2]])
    """
    n = input.ndim + 1
    d1, d2 = _dim("diag_embed", dim1, n), _dim("diag_embed", dim2, n)
    if d1 == d2:
        raise ShapeError(f"diag_embed: dims {dim1} and {dim2} must name two different dims")
    if input.ndim == 0:
        raise ShapeError("diag_embed: input must have at least 1 dimension")
    size = input.shape[-1] + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(size if i in (d1, d2) else next(rest) for i in range(n))
    return P.diagonal_embed(input, shape=shape, offset=int(offset), dim1=d1, dim2=d2)


def diag(input, diagonal: int = 0):
    """A 1-D input becomes a square matrix with it on ``diagonal``; a 2-D input gives a copy
    of its ``diagonal``.

    >>> import ember
    >>> ember.diag(ember.tensor([[1, 2], [3, 4]]))
    tensor([1, 4])
    """
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return P.clone(P.diagonal(input, offset=int(diagonal), dim1=0, dim2=1))
    raise ShapeError(f"diag: supports 1-D or 2-D tensors, got shape {tuple(input.shape)}")


register_methods(
    reshape=tensor_method("reshape", reshape),  # its common call in C (dispatch.c)
    view=view,
    permute=permute,
    transpose=transpose,
    swapaxes=swapaxes,
    swapdims=swapdims,
    t=t,
    expand=expand,
    broadcast_to=broadcast_to,
    expand_as=expand_as,
    reshape_as=reshape_as,
    view_as=view_as,
    flatten=flatten,
    unflatten=unflatten,
    squeeze=squeeze,
    unsqueeze=unsqueeze,
    movedim=movedim,
    moveaxis=moveaxis,
    repeat=repeat,
    tile=tile,
    repeat_interleave=repeat_interleave,
    flip=flip,
    fliplr=fliplr,
    flipud=flipud,
    roll=roll,
    tril=tril,
    triu=triu,
    tril_=inplace(tril),
    triu_=inplace(triu),
    diagonal=diagonal,
    diag=diag,
    diag_embed=diag_embed,
    T=property(lambda self: permute(self, tuple(reversed(range(self.ndim))))),
    mT=property(lambda self: transpose(self, -2, -1)),
)
