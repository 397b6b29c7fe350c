"""Linear algebra: ``matmul`` (and ``@``).

>>> import ember
>>> a = ember.ones(2, 3)
>>> (a @ ember.ones(3)).tolist()
[3.0, 3.0]
"""

from __future__ import annotations

from ember.core.dispatch import method, rmethod
from ember.core.tensor import register_methods
from ember.ops import linalg as P

__all__ = ["matmul", "mm"]


def matmul(input, other):
    """Matrix product: 1-D operands are vectors, batch dims broadcast (as in PyTorch)."""
    return P.matmul(input, other)


def mm(input, mat2):
    """Product of two 2-D matrices."""
    if input.ndim != 2 or mat2.ndim != 2:
        from ember.errors import ShapeError

        raise ShapeError(
            f"mm: expected 2-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}"
        )
    return P.matmul(input, mat2)


register_methods(
    matmul=matmul,
    mm=mm,
    __matmul__=method(P.matmul),
    __rmatmul__=rmethod(P.matmul),
)
