"""Arithmetic: ``add``, ``sub``, ``mul``, ``div`` ... and the Python operators, reflected and
in-place.

>>> import ember
>>> x = ember.tensor([1.0, 2.0])
>>> 2 * x + 1
tensor([3., 5.])
>>> x += 1
>>> x
tensor([2., 3.])
"""

from __future__ import annotations

from ember.core.dispatch import method, rmethod, unary_method
from ember.core.inplace import inplace
from ember.core.tensor import register_methods
from ember.ops import elementwise as P

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "exp",
    "true_divide",
    "divide",
    "multiply",
    "subtract",
    "negative",
]


def add(input, other, *, alpha=1):
    """``input + alpha * other``."""
    return P.add(input, other if alpha == 1 else P.mul(other, alpha))


def sub(input, other, *, alpha=1):
    """``input - alpha * other``."""
    return P.sub(input, other if alpha == 1 else P.mul(other, alpha))


def mul(input, other):
    return P.mul(input, other)


def div(input, other, *, rounding_mode=None):
    """True division, or floor/trunc division with ``rounding_mode``."""
    if rounding_mode is None:
        return P.div(input, other)
    from ember.api import elementwise as E

    if rounding_mode == "floor":
        return E.floor_divide(input, other)
    if rounding_mode == "trunc":
        return E.trunc_divide(input, other)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def neg(input):
    return P.neg(input)


def exp(input):
    return P.exp(input)


true_divide = divide = div
multiply = mul
subtract = sub
negative = neg

register_methods(
    add=add,
    sub=sub,
    mul=mul,
    div=div,
    neg=unary_method(P.neg, neg),
    exp=unary_method(P.exp, exp),
    true_divide=div,
    divide=div,
    multiply=mul,
    subtract=sub,
    negative=neg,
    __add__=method(P.add),
    __radd__=rmethod(P.add),
    __sub__=method(P.sub),
    __rsub__=rmethod(P.sub),
    __mul__=method(P.mul),
    __rmul__=rmethod(P.mul),
    __truediv__=method(P.div),
    __rtruediv__=rmethod(P.div),
    __neg__=neg,
    __pos__=lambda a: a,
    add_=inplace(add),
    sub_=inplace(sub),
    mul_=inplace(mul),
    div_=inplace(div),
    neg_=inplace(neg),
    exp_=inplace(exp),
    __iadd__=inplace(add),
    __isub__=inplace(sub),
    __imul__=inplace(mul),
    __itruediv__=inplace(div),
)
