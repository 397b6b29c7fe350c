"""Movement primitives: reshape, expand, permute ... (views where NumPy gives views)."""

from __future__ import annotations

import math
import operator

import numpy as np

from ember.errors import ShapeError
from ember.ops import rules
from ember.ops.registry import OPS, primitive


def infer_shape(numel: int, shape, op: str = "reshape") -> tuple:
    """Resolve one -1 in ``shape`` against ``numel`` elements, or raise a ShapeError that
    names ``op``."""
    if shape.__class__ is tuple and -1 not in shape and math.prod(shape) == numel:
        return shape  # the common case, checked cheaply (ints only: prod of others differs)
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise ShapeError(f"{op}: a shape is a sequence of ints, got {shape!r}") from None
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred, got shape {shape}")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise ShapeError(f"{op}: shape {shape} is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise ShapeError(f"{op}: shape {shape} is invalid for input of size {numel}")
    return shape


def _reshape_shape(x, *, shape):
    return infer_shape(math.prod(x), shape)


@primitive("reshape", shape=_reshape_shape, dtype=rules.same_dtype, save="meta", view=True)
def reshape(x, *, shape):
    """Reshape (a view when the layout allows, else a copy); ``shape`` may hold one -1."""
    return x.reshape(shape)


@reshape.defvjp
def _(g, out, x, *, shape):
    return OPS["reshape"](g, shape=x.shape)


def _expand_shape(x, *, shape):
    shape = tuple(shape)
    if len(shape) < len(x):
        raise ShapeError(f"cannot expand shape {tuple(x)} to {shape}: too few dimensions")
    lead = len(shape) - len(x)
    for i, n in enumerate(x):
        if n != 1 and n != shape[lead + i]:
            raise ShapeError(
                f"cannot expand shape {tuple(x)} to {shape}: dim {i} has size {n}, "
                f"expected 1 or {shape[lead + i]}"
            )
    return shape


@primitive("expand", shape=_expand_shape, dtype=rules.same_dtype, save="none", view=True)
def expand(x, *, shape):
    """Broadcast to ``shape`` (a read-only view, as broadcasting never copies)."""
    return np.broadcast_to(x, shape)


@expand.defvjp
def _(g, out, x, *, shape):
    return g  # the engine sums the broadcast dimensions back


def _permute_shape(x, *, dims):
    if sorted(dims) != list(range(len(x))):
        raise ShapeError(f"dims {tuple(dims)} is not a permutation of {len(x)} dimensions")
    return tuple(x[d] for d in dims)


@primitive("permute", shape=_permute_shape, dtype=rules.same_dtype, save="none", view=True)
def permute(x, *, dims):
    """Reorder dimensions: output dim i is input dim ``dims[i]``."""
    return np.transpose(x, dims)


@permute.defvjp
def _(g, out, x, *, dims):
    return OPS["permute"](g, dims=tuple(int(i) for i in np.argsort(dims)))


@primitive("clone", shape=rules.same_shape, dtype=rules.same_dtype, save="none")
def clone(x):
    """A copy with its own storage (C-contiguous)."""
    return np.array(x, copy=True, order="C")


@clone.defvjp
def _(g, out, x):
    return g


def _ix(dim: int, s) -> tuple:
    """The index that applies ``s`` to dimension ``dim`` (and takes every other dim whole)."""
    return (slice(None),) * dim + (s,)


# ---- slicing and joining -------------------------------------------------------------------


def _narrow_shape(x, *, dim, start, length):
    if not (0 <= dim < len(x) and 0 <= start and 0 <= length and start + length <= x[dim]):
        raise ShapeError(
            f"cannot take {length} elements from {start} along dim {dim} of shape {tuple(x)}"
        )
    return tuple(x[:dim]) + (length,) + tuple(x[dim + 1 :])


@primitive("narrow", shape=_narrow_shape, dtype=rules.same_dtype, save="meta", view=True)
def narrow(x, *, dim, start, length):
    """Elements ``start:start + length`` of dimension ``dim`` (a view)."""
    return x[_ix(dim, slice(start, start + length))]


@narrow.defvjp
def _(g, out, x, *, dim, start, length):
    pad = [(0, 0)] * x.ndim
    pad[dim] = (start, x.shape[dim] - start - length)
    return OPS["pad"](g, pad=tuple(pad), mode="constant", value=0)


def _select_shape(x, *, dim, index):
    if not (0 <= dim < len(x) and 0 <= index < x[dim]):
        raise ShapeError(f"index {index} is out of range for dim {dim} of shape {tuple(x)}")
    return tuple(x[:dim]) + tuple(x[dim + 1 :])


@primitive("select", shape=_select_shape, dtype=rules.same_dtype, save="meta", view=True)
def select(x, *, dim, index):
    """The slice at position ``index`` of dimension ``dim``, which is removed (a view)."""
    return x[_ix(dim, index)]


@select.defvjp
def _(g, out, x, *, dim, index):
    n = x.shape[dim]
    g = OPS["reshape"](g, shape=tuple(x.shape[:dim]) + (1,) + tuple(x.shape[dim + 1 :]))
    pad = [(0, 0)] * x.ndim
    pad[dim] = (index, n - index - 1)
    return OPS["pad"](g, pad=tuple(pad), mode="constant", value=0)


def _cat_shape(*shapes, dim):
    first = tuple(shapes[0])
    for i, s in enumerate(shapes):
        if len(s) != len(first):
            raise ShapeError(
                f"tensors must have the same number of dimensions: tensor 0 has shape {first} "
                f"but tensor {i} has shape {tuple(s)}"
            )
        for d, (a, b) in enumerate(zip(first, s)):
            if d != dim and a != b:
                raise ShapeError(
                    f"sizes of tensors must match except in dimension {dim}: tensor 0 has shape "
                    f"{first} but tensor {i} has shape {tuple(s)} (size {b} != {a} in dim {d})"
                )
    if not 0 <= dim < len(first):
        raise ShapeError(f"dim {dim} is out of range for tensors of shape {first}")
    return first[:dim] + (sum(s[dim] for s in shapes),) + first[dim + 1 :]


@primitive("cat", shape=_cat_shape, dtype=rules.same_dtype, save="meta", promote=True)
def cat(*xs, dim):
    """Concatenate along ``dim``; dispatch first promotes the inputs to their result type."""
    return np.concatenate(xs, axis=dim)


@cat.defvjp
def _(g, out, *xs, dim):
    grads = []
    start = 0
    for x in xs:
        n = x.shape[dim]
        grads.append(OPS["narrow"](g, dim=dim, start=start, length=n))
        start += n
    return tuple(grads)


def _stack_shape(*shapes, dim):
    first = tuple(shapes[0])
    for i, s in enumerate(shapes):
        if tuple(s) != first:
            raise ShapeError(
                f"expects each tensor to be equal size, but got {first} at entry 0 and "
                f"{tuple(s)} at entry {i}"
            )
    if not 0 <= dim <= len(first):
        raise ShapeError(f"dim {dim} is out of range for stacking tensors of shape {first}")
    return first[:dim] + (len(shapes),) + first[dim:]


# One op rather than reshape + cat: stacking many small tensors (collating a batch) is common.
@primitive("stack", shape=_stack_shape, dtype=rules.same_dtype, save="none", promote=True)
def stack(*xs, dim):
    """Join equally shaped tensors along a new dimension ``dim``."""
    return np.stack(xs, axis=dim)


@stack.defvjp
def _(g, out, *xs, dim):
    return tuple(OPS["select"](g, dim=dim, index=i) for i in range(len(xs)))


# ---- repetition, reversal, rotation --------------------------------------------------------


def _tile_shape(x, *, reps):
    lead = len(reps) - len(x)
    if lead < 0 or any(r < 0 for r in reps):
        raise ShapeError(f"cannot tile shape {tuple(x)} by {tuple(reps)}")
    return tuple(r * n for r, n in zip(reps, (1,) * lead + tuple(x)))


@primitive("tile", shape=_tile_shape, dtype=rules.same_dtype, save="meta")
def tile(x, *, reps):
    """Repeat the whole tensor ``reps[i]`` times along dim i (``len(reps) >= x.ndim``)."""
    return np.tile(x, reps)


@tile.defvjp
def _(g, out, x, *, reps):
    # Split each output dim into (repeat, size) and sum over the repeats.
    padded = (1,) * (len(reps) - x.ndim) + tuple(x.shape)
    axes = tuple(2 * i for i, r in enumerate(reps) if r != 1)
    if axes:
        inter = tuple(k for pair in zip(reps, padded) for k in pair)
        g = OPS["sum"](OPS["reshape"](g, shape=inter), axis=axes, keepdims=False)
    return OPS["reshape"](g, shape=tuple(x.shape))


def _check_dims(x, dims):
    if any(not 0 <= d < len(x) for d in dims):
        raise ShapeError(f"dims {tuple(dims)} are out of range for shape {tuple(x)}")
    return tuple(x)


@primitive(
    "flip", shape=lambda x, *, dims: _check_dims(x, dims), dtype=rules.same_dtype, save="none"
)
def flip(x, *, dims):
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    if x.ndim == 0:
        return x.copy()
    index = [slice(None)] * x.ndim
    for d in dims:
        index[d] = slice(None, None, -1)
    return x[tuple(index)].copy()


@flip.defvjp
def _(g, out, x, *, dims):
    return OPS["flip"](g, dims=dims)


def _roll_shape(x, *, shifts, dims):
    if len(shifts) != len(dims):
        raise ShapeError(f"shifts {tuple(shifts)} and dims {tuple(dims)} must have equal lengths")
    return _check_dims(x, dims)


@primitive("roll", shape=_roll_shape, dtype=rules.same_dtype, save="none")
def roll(x, *, shifts, dims):
    """Rotate elements by ``shifts[i]`` positions along ``dims[i]`` (a copy)."""
    out = x
    for s, d in zip(shifts, dims):
        n = x.shape[d]
        s = s % n if n else 0
        if s:  # two slab copies: much cheaper than np.roll's general machinery
            out = np.concatenate((out[_ix(d, slice(n - s, n))], out[_ix(d, slice(0, n - s))]), d)
    return out.copy() if out is x else out


@roll.defvjp
def _(g, out, x, *, shifts, dims):
    return OPS["roll"](g, shifts=tuple(-s for s in shifts), dims=dims)


# ---- triangles and diagonals ---------------------------------------------------------------


def _matrix_shape(x, **_):
    if len(x) < 2:
        raise ShapeError(f"input must have at least 2 dimensions, got shape {tuple(x)}")
    return tuple(x)


@primitive("tril", shape=_matrix_shape, dtype=rules.same_dtype, save="none")
def tril(x, *, diagonal):
    """Zero the elements above diagonal ``diagonal`` of the last two dims."""
    return np.tril(x, diagonal)


@tril.defvjp
def _(g, out, x, *, diagonal):
    return OPS["tril"](g, diagonal=diagonal)


@primitive("triu", shape=_matrix_shape, dtype=rules.same_dtype, save="none")
def triu(x, *, diagonal):
    """Zero the elements below diagonal ``diagonal`` of the last two dims."""
    return np.triu(x, diagonal)


@triu.defvjp
def _(g, out, x, *, diagonal):
    return OPS["triu"](g, diagonal=diagonal)


def _diagonal_shape(x, *, offset, dim1, dim2):
    if dim1 == dim2 or not (0 <= dim1 < len(x) and 0 <= dim2 < len(x)):
        raise ShapeError(f"invalid diagonal dims {dim1} and {dim2} for shape {tuple(x)}")
    n1, n2 = x[dim1], x[dim2]
    length = min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2)
    rest = tuple(n for i, n in enumerate(x) if i != dim1 and i != dim2)
    return rest + (max(length, 0),)


def _writable_diagonal(a, offset, dim1, dim2):
    d = np.diagonal(a, offset, dim1, dim2)
    if a.flags.writeable:
        d.flags.writeable = True  # NumPy's diagonal view is read-only; PyTorch's is writable
    return d


@primitive("diagonal", shape=_diagonal_shape, dtype=rules.same_dtype, save="meta", view=True)
def diagonal(x, *, offset, dim1, dim2):
    """The diagonal ``offset`` of the (dim1, dim2) planes, as the last dim (a view)."""
    return _writable_diagonal(x, offset, dim1, dim2)


@diagonal.defvjp
def _(g, out, x, *, offset, dim1, dim2):
    return OPS["diagonal_embed"](g, shape=tuple(x.shape), offset=offset, dim1=dim1, dim2=dim2)


def _diagonal_embed_shape(x, *, shape, offset, dim1, dim2):
    if _diagonal_shape(shape, offset=offset, dim1=dim1, dim2=dim2) != tuple(x):
        raise ShapeError(
            f"shape {tuple(x)} is not the shape of diagonal {offset} of dims ({dim1}, {dim2}) "
            f"of shape {tuple(shape)}"
        )
    return tuple(shape)


@primitive("diagonal_embed", shape=_diagonal_embed_shape, dtype=rules.same_dtype, save="none")
def diagonal_embed(x, *, shape, offset, dim1, dim2):
    """Zeros of ``shape`` with ``x`` written on diagonal ``offset`` of the (dim1, dim2) planes
    (the transpose of ``diagonal``)."""
    out = np.zeros(shape, x.dtype)
    _writable_diagonal(out, offset, dim1, dim2)[...] = x
    return out


@diagonal_embed.defvjp
def _(g, out, x, *, shape, offset, dim1, dim2):
    return OPS["diagonal"](g, offset=offset, dim1=dim1, dim2=dim2)


from ember.ops import pad as _pad  # noqa: E402, F401 - registers pad and pad_fold
