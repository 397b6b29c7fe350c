"""Shape and movement functions: ``reshape``, ``view``, ``permute``, ``transpose``, ``expand``.

>>> import ember
>>> ember.arange(6).reshape(2, 3).T
tensor([[0, 3],
        [1, 4],
        [2, 5]])
"""

from __future__ import annotations

import numpy as np

from ember.core.tensor import Tensor, register_methods
from ember.errors import ShapeError
from ember.ops import movement as P
from ember.ops.movement import infer_shape
from ember.ops.rules import norm_dim

__all__ = [
    "reshape",
    "view",
    "permute",
    "transpose",
    "t",
    "expand",
    "broadcast_to",
    "expand_as",
    "reshape_as",
    "view_as",
]


def _shape_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(input, *shape):
    """A tensor with the same data and ``shape`` (one dim may be -1); a view when possible."""
    return P.reshape(input, shape=infer_shape(input.numel(), _shape_args(shape)))


def view(input, *shape):
    """Like ``reshape`` but never copies: raises when the strides do not allow a view."""
    shape = infer_shape(input.numel(), _shape_args(shape))
    try:
        np.reshape(input._data, shape, copy=False)
    except ValueError:
        raise ShapeError(
            f"view: view size {shape} is not compatible with input tensor's size "
            f"{tuple(input.shape)} and stride {input.stride()}; use .reshape(...) instead"
        ) from None
    return P.reshape(input, shape=shape)


def permute(input, *dims):
    dims = tuple(norm_dim(d, input.ndim) for d in _shape_args(dims))
    return P.permute(input, dims=dims)


def transpose(input, dim0: int, dim1: int):
    """Swap two dimensions (a view)."""
    n = input.ndim
    d0, d1 = norm_dim(dim0, n), norm_dim(dim1, n)
    if n < 2 or d0 == d1:
        return P.permute(input, dims=tuple(range(n)))
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return P.permute(input, dims=tuple(dims))


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


register_methods(
    reshape=reshape,
    view=view,
    permute=permute,
    transpose=transpose,
    t=t,
    expand=expand,
    broadcast_to=broadcast_to,
    expand_as=expand_as,
    reshape_as=reshape_as,
    view_as=view_as,
    T=property(lambda self: permute(self, tuple(reversed(range(self.ndim))))),
    mT=property(lambda self: transpose(self, -2, -1)),
)

_ = Tensor  # re-exported for type checkers
