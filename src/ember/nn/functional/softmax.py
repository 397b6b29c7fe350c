"""``softmax``, ``log_softmax`` and ``softmin`` over one dimension (also ``ember.softmax``,
``ember.log_softmax`` and the Tensor methods ``x.softmax(dim)``, ``x.log_softmax(dim)``).

>>> import ember
>>> x = ember.tensor([[1.0, 2.0, 3.0]])
>>> x.softmax(dim=1)
tensor([[0.0900, 0.2447, 0.6652]])
"""

from __future__ import annotations

import warnings

from ember.core.tensor import register_methods
from ember.errors import ShapeError
from ember.ops import elementwise as E
from ember.ops import loss as P
from ember.ops.rules import norm_dim

__all__ = ["softmax", "log_softmax", "softmin"]


def _axis(name: str, input, dim, stacklevel: int) -> tuple:
    ndim = input.ndim
    if dim is None:
        # PyTorch's deprecated implicit choice, kept for compatibility
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.",
            stacklevel=stacklevel + 1,
        )
        dim = 0 if ndim in (0, 1, 3) else 1
    try:
        d = norm_dim(dim, ndim)
    except ShapeError as e:
        raise ShapeError(f"{name}: {e}") from None
    return (d,) if ndim else ()


def _cast(input, dtype):
    return input if dtype is None else input.to(dtype)


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """``exp(x) / exp(x).sum(dim)``, computed stably; ``dtype`` casts the input first.

    >>> import ember
    >>> ember.softmax(ember.tensor([0.0, 0.0]), dim=0)
    tensor([0.5000, 0.5000])
    """
    return P.softmax(_cast(input, dtype), axis=_axis("softmax", input, dim, 2))


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """``x - logsumexp(x, dim)``: the log of ``softmax``, without its underflow.

    >>> import ember
    >>> ember.log_softmax(ember.tensor([0.0, 1000.0]), dim=0)
    tensor([-1000.,     0.])
    """
    return P.log_softmax(_cast(input, dtype), axis=_axis("log_softmax", input, dim, 2))


def softmin(input, dim=None, _stacklevel: int = 3, dtype=None):
    """``softmax(-x)``: weights that favour the smallest entries.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.softmin(ember.tensor([1.0, 2.0]), dim=0)
    tensor([0.7311, 0.2689])
    """
    return P.softmax(E.neg(_cast(input, dtype)), axis=_axis("softmin", input, dim, 2))


def tensor_softmax(input, dim, dtype=None):
    """``ember.softmax`` and ``Tensor.softmax``: PyTorch's ``torch.softmax(input, dim, dtype)``.

    >>> import ember
    >>> ember.softmax(ember.tensor([1.0, 1.0]), 0, ember.float64)
    tensor([0.5000, 0.5000], dtype=ember.float64)
    """
    return P.softmax(_cast(input, dtype), axis=_axis("softmax", input, dim, 2))


def tensor_log_softmax(input, dim, dtype=None):
    """``ember.log_softmax`` and ``Tensor.log_softmax``: ``torch.log_softmax(input, dim, dtype)``.

    >>> import ember
    >>> ember.tensor([0.0, 0.0]).log_softmax(0)
    tensor([-0.6931, -0.6931])
    """
    return P.log_softmax(_cast(input, dtype), axis=_axis("log_softmax", input, dim, 2))


register_methods(softmax=tensor_softmax, log_softmax=tensor_log_softmax)
