"""Activation functions of ``ember.nn.functional``, with PyTorch's signatures (``inplace=True``
applies the function in place and returns ``input``).

>>> import ember
>>> import ember.nn.functional as F
>>> x = ember.tensor([-2.0, 0.0, 2.0])
>>> F.leaky_relu(x, 0.1), F.hardtanh(x)
(tensor([-0.2000,  0.0000,  2.0000]), tensor([-1.,  0.,  1.]))
"""

from __future__ import annotations

from ember.api.elementwise import sigmoid, tanh
from ember.core.dispatch import _NO_ATTRS, apply
from ember.core.inplace import inplace as _make_inplace
from ember.core.tensor import Tensor
from ember.errors import EmberValueError
from ember.ops import activation as A

__all__ = [
    "relu",
    "relu_",
    "relu6",
    "leaky_relu",
    "leaky_relu_",
    "elu",
    "elu_",
    "gelu",
    "silu",
    "softplus",
    "hardtanh",
    "hardtanh_",
    "hardsigmoid",
    "hardswish",
    "sigmoid",
    "tanh",
]


def _leaky(input, negative_slope):
    return A.leaky_relu(input, negative_slope=float(negative_slope))


def _elu(input, alpha):
    return A.elu(input, alpha=float(alpha))


def _hardtanh(input, min_val, max_val):
    if min_val > max_val:
        raise EmberValueError(
            f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, "
            f"max_val={max_val}"
        )
    return A.hardtanh(input, min_val=float(min_val), max_val=float(max_val))


_relu_ = _make_inplace(A.relu, "relu_")
_leaky_ = _make_inplace(_leaky, "leaky_relu_")
_elu_ = _make_inplace(_elu, "elu_")
_hardtanh_ = _make_inplace(_hardtanh, "hardtanh_")
_silu_ = _make_inplace(A.silu, "silu_")
_hardsigmoid_ = _make_inplace(A.hardsigmoid, "hardsigmoid_")
_hardswish_ = _make_inplace(A.hardswish, "hardswish_")


def relu(input, inplace=False):
    """``max(input, 0)``; integer tensors stay integer and the gradient at 0 is 0.

    >>> import ember
    >>> ember.nn.functional.relu(ember.tensor([-1, 3]))
    tensor([0, 3])
    """
    if inplace:
        return _relu_(input)
    if input.__class__ is Tensor:  # straight to dispatch: relu is the hottest activation
        return apply(A.relu, (input,), _NO_ATTRS)
    return A.relu(input)


def relu_(input):
    """In-place ``relu``."""
    return _relu_(input)


def relu6(input, inplace=False):
    """``min(max(input, 0), 6)`` (``hardtanh(input, 0, 6)``).

    >>> import ember
    >>> ember.nn.functional.relu6(ember.tensor([-1.0, 3.0, 8.0]))
    tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, else ``negative_slope * input`` (gradient ``negative_slope``
    at 0).

    >>> import ember
    >>> ember.nn.functional.leaky_relu(ember.tensor([-1.0, 3.0]), 0.2)
    tensor([-0.2000,  3.0000])
    """
    return _leaky_(input, negative_slope) if inplace else _leaky(input, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    """In-place ``leaky_relu``."""
    return _leaky_(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """``input`` where positive, else ``alpha * (exp(input) - 1)``.

    >>> import ember
    >>> ember.nn.functional.elu(ember.tensor([0.0, 2.0]))
    tensor([0., 2.])
    """
    return _elu_(input, alpha) if inplace else _elu(input, alpha)


def elu_(input, alpha=1.0):
    """In-place ``elu``."""
    return _elu_(input, alpha)


def gelu(input, approximate="none"):
    """``input * Phi(input)`` with ``Phi`` the standard normal CDF; ``approximate='tanh'`` uses
    ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``.

    >>> import ember
    >>> ember.nn.functional.gelu(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise EmberValueError(
            f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}"
        )
    return A.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    """``input * sigmoid(input)`` (also called swish).

    >>> import ember
    >>> ember.nn.functional.silu(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7311])
    """
    return _silu_(input) if inplace else A.silu(input)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * input)) / beta``, linear where ``beta * input > threshold``.

    >>> import ember
    >>> ember.nn.functional.softplus(ember.tensor([0.0, 30.0]))
    tensor([ 0.6931, 30.0000])
    """
    return A.softplus(input, beta=float(beta), threshold=float(threshold))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``input`` clamped to ``[min_val, max_val]``; the gradient is 0 at both bounds.

    >>> import ember
    >>> ember.nn.functional.hardtanh(ember.tensor([-3.0, 0.5, 3.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if inplace:
        return _hardtanh_(input, min_val, max_val)
    return _hardtanh(input, min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place ``hardtanh``."""
    return _hardtanh_(input, min_val, max_val)


def hardsigmoid(input, inplace=False):
    """``clamp(input + 3, 0, 6) / 6``.

    >>> import ember
    >>> ember.nn.functional.hardsigmoid(ember.tensor([-4.0, 0.0, 4.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    return _hardsigmoid_(input) if inplace else A.hardsigmoid(input)


def hardswish(input, inplace=False):
    """``input * clamp(input + 3, 0, 6) / 6``.

    >>> import ember
    >>> ember.nn.functional.hardswish(ember.tensor([-4.0, 0.0, 4.0]))
    tensor([-0., 0., 4.])
    """
    return _hardswish_(input) if inplace else A.hardswish(input)


_ = (sigmoid, tanh)  # re-exported: F.sigmoid and F.tanh are ember.sigmoid and ember.tanh
