"""Movement primitives: reshape, expand, permute ... (views where NumPy gives views)."""

from __future__ import annotations

import math

import numpy as np

from ember.errors import ShapeError
from ember.ops import rules
from ember.ops.registry import OPS, primitive


def infer_shape(numel: int, shape) -> tuple:
    """Resolve one -1 in ``shape`` against ``numel`` elements, or raise a ShapeError."""
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"only one dimension can be inferred, got shape {shape}")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise ShapeError(f"shape {shape} is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise ShapeError(f"shape {shape} is invalid for input of size {numel}")
    return shape


def _reshape_shape(x, *, shape):
    return infer_shape(math.prod(x), shape)


@primitive("reshape", shape=_reshape_shape, dtype=rules.same_dtype, save="meta", view=True)
def reshape(x, *, shape):
    """Reshape (a view when the layout allows, else a copy); ``shape`` may hold one -1."""
    return np.reshape(x, shape)


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
