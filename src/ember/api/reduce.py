"""Reductions with ``dim`` (int or tuple) and ``keepdim``, as in PyTorch.

>>> import ember
>>> x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> x.sum(dim=0)
tensor([4., 6.])
"""

from __future__ import annotations

from ember.core.tensor import register_methods
from ember.ops import reduce as P
from ember.ops.rules import norm_dims

__all__ = ["sum"]


def _axis(input, dim):
    return norm_dims(dim, input.ndim)


def sum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Sum over ``dim`` (all dims by default); ints and bools sum to int64."""
    out = P.sum_(input, axis=_axis(input, dim), keepdims=keepdim)
    return out if dtype is None else out.to(dtype)


register_methods(sum=sum)
