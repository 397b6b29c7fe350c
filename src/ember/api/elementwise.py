"""Elementwise math: integer division and remainders, powers, ``abs``/``sign``, ``maximum``,
``clamp``, ``where``, the exp/log/trig family, rounding, and the activations PyTorch has at top
level (``relu``, ``sigmoid``, ``tanh``), with their Tensor methods, operators and in-place forms.

>>> import ember
>>> x = ember.tensor([-1.5, 0.0, 2.0])
>>> abs(x), x.clamp(min=-1.0) ** 2
(tensor([1.5000, 0.0000, 2.0000]), tensor([1., 0., 4.]))
>>> ember.tensor([7, -7]) // 2, ember.tensor([7, -7]) % 3
(tensor([ 3, -4]), tensor([1, 2]))
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as D
from ember.api.arith import exp  # noqa: F401 - the exp/log family reads as one module
from ember.core.dispatch import method, rmethod, unary_method
from ember.core.inplace import inplace
from ember.core.tensor import Tensor, _wrap, register_methods
from ember.errors import DTypeError, EmberValueError
from ember.ops import activation as A
from ember.ops import elementwise as P

__all__ = [
    "floor_divide",
    "remainder",
    "fmod",
    "pow",
    "abs",
    "absolute",
    "sign",
    "sgn",
    "maximum",
    "minimum",
    "clamp",
    "clip",
    "clamp_min",
    "clamp_max",
    "where",
    "log",
    "log1p",
    "log2",
    "expm1",
    "sqrt",
    "rsqrt",
    "reciprocal",
    "square",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "erf",
    "floor",
    "ceil",
    "round",
    "trunc",
    "fix",
    "relu",
    "relu_",
    "sigmoid_",
    "tanh_",
]

_SCALARS = (bool, int, float)


# ---- division and powers ---------------------------------------------------------------------


def floor_divide(input, other):
    """Division rounded toward -inf, like Python's ``//`` (integer division by zero raises).

    >>> import ember
    >>> ember.floor_divide(ember.tensor([7.0, -7.0]), 2)
    tensor([ 3., -4.])
    """
    return P.floor_divide(input, other)


def trunc_divide(input, other):
    """Division rounded toward zero: ``div(input, other, rounding_mode='trunc')``.

    >>> import ember
    >>> trunc_divide(ember.tensor([7, -7]), 2)
    tensor([ 3, -3])
    """
    return P.trunc_divide(input, other)


def remainder(input, other):
    """Python's ``%``: ``input - floor(input / other) * other`` (sign of ``other``).

    >>> import ember
    >>> ember.remainder(ember.tensor([-3.0, 3.0]), 2)
    tensor([1., 1.])
    """
    return P.remainder(input, other)


def fmod(input, other):
    """C's ``fmod``: ``input - trunc(input / other) * other`` (sign of ``input``).

    >>> import ember
    >>> ember.fmod(ember.tensor([-3.0, 3.0]), 2)
    tensor([-1.,  1.])
    """
    return P.fmod(input, other)


def pow(input, exponent):
    """``input ** exponent``; either may be a Python number. Integer tensors to a negative
    Python integer power raise, as in PyTorch.

    >>> import ember
    >>> ember.pow(ember.tensor([1.0, 2.0, 3.0]), 2), ember.pow(2, ember.tensor([0, 3]))
    (tensor([1., 4., 9.]), tensor([1, 8]))
    """
    if not (isinstance(input, Tensor) or isinstance(exponent, Tensor)):
        raise DTypeError(
            f"pow: expected a tensor as input or exponent, got {type(input).__name__} and "
            f"{type(exponent).__name__}"
        )
    return P.pow_(input, exponent)


def square(input):
    """``input ** 2`` (bool becomes int64, as in PyTorch).

    >>> import ember
    >>> ember.square(ember.tensor([-2, 3]))
    tensor([4, 9])
    """
    return P.pow_(input, 2)


# ---- sign, extrema, clamp ---------------------------------------------------------------------


def abs(input):
    """Absolute value (the gradient at 0 is 0).

    >>> import ember
    >>> ember.abs(ember.tensor([-2, 3]))
    tensor([2, 3])
    """
    return P.abs_(input)


def sign(input):
    """-1, 0 or 1 by sign (0 for NaN; bools stay bool).

    >>> import ember
    >>> ember.sign(ember.tensor([-2.5, 0.0, 4.0]))
    tensor([-1.,  0.,  1.])
    """
    return P.sign(input)


def maximum(input, other):
    """Elementwise maximum (NaN propagates); equal inputs share the gradient half and half.

    >>> import ember
    >>> ember.maximum(ember.tensor([1.0, 4.0]), ember.tensor([3.0, 2.0]))
    tensor([3., 4.])
    """
    return P.maximum(input, other)


def minimum(input, other):
    """Elementwise minimum (NaN propagates); equal inputs share the gradient half and half.

    >>> import ember
    >>> ember.minimum(ember.tensor([1.0, 4.0]), ember.tensor([3.0, 2.0]))
    tensor([1., 2.])
    """
    return P.minimum(input, other)


def clamp(input, min=None, max=None):
    """Clamp into ``[min, max]`` (numbers or tensors; either may be None). Where min > max
    the result is max. The gradient passes where ``min <= input <= max``.

    >>> import ember
    >>> ember.clamp(ember.tensor([-2.0, 0.5, 3.0]), -1, 1)
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min is None and max is None:
        raise EmberValueError("clamp: at least one of 'min' or 'max' must not be None")
    return P.clamp(input, min, max)


def clamp_min(input, min):
    """``clamp(input, min=min)``.

    >>> import ember
    >>> ember.clamp_min(ember.tensor([-2.0, 3.0]), 0)
    tensor([0., 3.])
    """
    return P.clamp(input, min, None)


def clamp_max(input, max):
    """``clamp(input, max=max)``.

    >>> import ember
    >>> ember.clamp_max(ember.tensor([-2.0, 3.0]), 0)
    tensor([-2.,  0.])
    """
    return P.clamp(input, None, max)


# ---- where -----------------------------------------------------------------------------------


def _result_type(a, b) -> np.dtype:
    dims, zeros, scalars = [], [], []
    for v in (a, b):
        if isinstance(v, Tensor):
            (dims if v._data.ndim else zeros).append(v._data.dtype)
        elif isinstance(v, _SCALARS):
            scalars.append(D.scalar_np_dtype(v))
        else:
            raise DTypeError(
                f"where: input and other must be tensors or Python numbers, got {type(v).__name__}"
            )
    return D.result_np_dtype(dims, zeros, scalars)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` is True, else ``other`` (tensors or numbers, promoted to
    one dtype). ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``.

    >>> import ember
    >>> c = ember.tensor([True, False, True])
    >>> ember.where(c, ember.tensor([1.0, 2.0, 3.0]), 0)
    tensor([1., 0., 3.])
    """
    if not isinstance(condition, Tensor) or condition._data.dtype != np.bool_:
        got = condition.dtype.name if isinstance(condition, Tensor) else type(condition).__name__
        raise DTypeError(f"where: expected condition to be a bool tensor, got {got}")
    if input is None and other is None:
        return tuple(_wrap(i) for i in np.nonzero(condition._data))
    if input is None or other is None:
        raise EmberValueError("where: pass both input and other, or neither")
    input, other = (v.item() if isinstance(v, np.generic) else v for v in (input, other))
    target = _result_type(input, other)
    if isinstance(input, _SCALARS) and isinstance(other, _SCALARS):
        input, other = np.asarray(input, target), np.asarray(other, target)
    else:
        # a Python number next to a tensor of the target dtype stays a number: NumPy gives it
        # that dtype, and the VJP then knows it needs no gradient
        input = P.cast(input, dtype=target) if _needs_cast(input, target) else input
        other = P.cast(other, dtype=target) if _needs_cast(other, target) else other
    return P.where(condition, input, other)


def _needs_cast(v, target) -> bool:
    return isinstance(v, Tensor) and v._data.dtype != target


# ---- floating-point math ---------------------------------------------------------------------


def log(input):
    """Natural logarithm (integers become the default float).

    >>> import ember
    >>> ember.log(ember.tensor([1.0, 4.0]))
    tensor([0.0000, 1.3863])
    """
    return P.log(input)


def log1p(input):
    """``log(1 + input)``, accurate near 0.

    >>> import ember
    >>> ember.log1p(ember.tensor([0.0, 1.0]))
    tensor([0.0000, 0.6931])
    """
    return P.log1p(input)


def log2(input):
    """Base-2 logarithm.

    >>> import ember
    >>> ember.log2(ember.tensor([1, 8]))
    tensor([0., 3.])
    """
    return P.log2(input)


def expm1(input):
    """``exp(input) - 1``, accurate near 0.

    >>> import ember
    >>> ember.expm1(ember.tensor([0.0]))
    tensor([0.])
    """
    return P.expm1(input)


def sqrt(input):
    """Square root (NaN below 0; integers become the default float).

    >>> import ember
    >>> ember.sqrt(ember.tensor([4, 9]))
    tensor([2., 3.])
    """
    return P.sqrt(input)


def rsqrt(input):
    """``1 / sqrt(input)``.

    >>> import ember
    >>> ember.rsqrt(ember.tensor([4.0, 0.25]))
    tensor([0.5000, 2.0000])
    """
    return P.rsqrt(input)


def reciprocal(input):
    """``1 / input`` (integers become the default float).

    >>> import ember
    >>> ember.reciprocal(ember.tensor([2, 4]))
    tensor([0.5000, 0.2500])
    """
    return P.reciprocal(input)


def sin(input):
    """Sine.

    >>> import ember
    >>> ember.sin(ember.tensor([0.0]))
    tensor([0.])
    """
    return P.sin(input)


def cos(input):
    """Cosine.

    >>> import ember
    >>> ember.cos(ember.tensor([0.0]))
    tensor([1.])
    """
    return P.cos(input)


def tanh(input):
    """Hyperbolic tangent.

    >>> import ember
    >>> ember.tanh(ember.tensor([0.0]))
    tensor([0.])
    """
    return P.tanh(input)


def sigmoid(input):
    """Logistic function ``1 / (1 + exp(-input))``.

    >>> import ember
    >>> ember.sigmoid(ember.tensor([0.0]))
    tensor([0.5000])
    """
    return P.sigmoid(input)


def erf(input):
    """Error function.

    >>> import ember
    >>> ember.erf(ember.tensor([0.0, 10.0]))
    tensor([0., 1.])
    """
    return P.erf(input)


def relu(input):
    """``max(input, 0)`` (integer tensors stay integer; the gradient at 0 is 0).

    >>> import ember
    >>> ember.relu(ember.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return A.relu(input)


# ---- rounding --------------------------------------------------------------------------------


def floor(input):
    """Round toward -inf (integers are returned unchanged).

    >>> import ember
    >>> ember.floor(ember.tensor([-1.5, 1.5]))
    tensor([-2.,  1.])
    """
    return P.floor(input)


def ceil(input):
    """Round toward +inf.

    >>> import ember
    >>> ember.ceil(ember.tensor([-1.5, 1.5]))
    tensor([-1.,  2.])
    """
    return P.ceil(input)


def trunc(input):
    """Round toward zero.

    >>> import ember
    >>> ember.trunc(ember.tensor([-1.5, 1.5]))
    tensor([-1.,  1.])
    """
    return P.trunc(input)


def round(input, *, decimals=0):
    """Round half to even, to ``decimals`` decimal places.

    >>> import ember
    >>> ember.round(ember.tensor([0.5, 1.5, 2.567])), ember.round(ember.tensor([2.567]), decimals=2)
    (tensor([0., 2., 3.]), tensor([2.5700]))
    """
    return P.round_(input, decimals=int(decimals))


absolute = abs
sgn = sign
clip = clamp
fix = trunc
relu_ = inplace(relu)
sigmoid_ = inplace(sigmoid)
tanh_ = inplace(tanh)


def _where_method(self, condition, other):
    return where(condition, self, other)


# Tensor methods, each with its in-place twin (``x.sqrt_()``); torch has no maximum_/minimum_.
_METHODS = (
    "abs absolute sign sgn log log1p log2 expm1 sqrt rsqrt reciprocal square sin cos tanh sigmoid "
    "erf floor ceil trunc fix round relu floor_divide remainder fmod pow clamp clip clamp_min "
    "clamp_max"
).split()
register_methods(**{n: globals()[n] for n in _METHODS}, maximum=maximum, minimum=minimum)
# methods whose API function is only ``op(input)`` skip that frame (a tenth of a tiny op)
_PASS_THROUGH = dict(
    abs=P.abs_, sign=P.sign, log=P.log, log1p=P.log1p, log2=P.log2, expm1=P.expm1,
    sqrt=P.sqrt, rsqrt=P.rsqrt, reciprocal=P.reciprocal, sin=P.sin, cos=P.cos,
    tanh=P.tanh, sigmoid=P.sigmoid, erf=P.erf, relu=A.relu, floor=P.floor, ceil=P.ceil,
    trunc=P.trunc,
)  # fmt: skip
register_methods(**{n: unary_method(op, globals()[n]) for n, op in _PASS_THROUGH.items()})
register_methods(**{n + "_": inplace(globals()[n], n + "_") for n in _METHODS})
register_methods(
    where=_where_method,
    __abs__=abs,
    __floordiv__=method(P.floor_divide),
    __rfloordiv__=rmethod(P.floor_divide),
    __ifloordiv__=inplace(floor_divide),
    __mod__=method(P.remainder),
    __rmod__=rmethod(P.remainder),
    __imod__=inplace(remainder),
    __pow__=method(P.pow_),
    __rpow__=rmethod(P.pow_),
    __ipow__=inplace(pow),
)
