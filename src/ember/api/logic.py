"""Comparisons (``==``, ``<`` ...), logical and bitwise functions and operators, and the
NaN/inf tests. Comparisons promote their operands as arithmetic does and return bool.

>>> import ember
>>> x = ember.tensor([1, 2, 3])
>>> x >= 2, (x > 1) & (x < 3), ~(x == 2)
(tensor([False,  True,  True]), tensor([False,  True, False]), tensor([ True, False,  True]))
"""

from __future__ import annotations

import numpy as np

from ember.core.dispatch import apply, method, rmethod
from ember.core.inplace import inplace
from ember.core.tensor import Tensor, register_methods
from ember.ops import logic as P

__all__ = [
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "isnan",
    "isinf",
    "isfinite",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
]


def eq(input, other):
    """``input == other`` elementwise (bool).

    >>> import ember
    >>> ember.eq(ember.tensor([1, 2]), 2)
    tensor([False,  True])
    """
    return P.eq(input, other)


def ne(input, other):
    """``input != other`` elementwise (bool).

    >>> import ember
    >>> ember.ne(ember.tensor([1, 2]), 2)
    tensor([ True, False])
    """
    return P.ne(input, other)


def lt(input, other):
    """``input < other`` elementwise (bool).

    >>> import ember
    >>> ember.lt(ember.tensor([1, 2]), 1.5)
    tensor([ True, False])
    """
    return P.lt(input, other)


def le(input, other):
    """``input <= other`` elementwise (bool).

    >>> import ember
    >>> ember.le(ember.tensor([1, 2]), 1)
    tensor([ True, False])
    """
    return P.le(input, other)


def gt(input, other):
    """``input > other`` elementwise (bool).

    >>> import ember
    >>> ember.gt(ember.tensor([1, 2]), 1)
    tensor([False,  True])
    """
    return P.gt(input, other)


def ge(input, other):
    """``input >= other`` elementwise (bool).

    >>> import ember
    >>> ember.ge(ember.tensor([1, 2]), 2)
    tensor([False,  True])
    """
    return P.ge(input, other)


def logical_and(input, other):
    """True where both are non-zero.

    >>> import ember
    >>> ember.logical_and(ember.tensor([0, 1, 2]), ember.tensor([1.0, 1.0, 0.0]))
    tensor([False,  True, False])
    """
    return P.logical_and(input, other)


def logical_or(input, other):
    """True where either is non-zero.

    >>> import ember
    >>> ember.logical_or(ember.tensor([0, 0, 2]), ember.tensor([0, 1, 0]))
    tensor([False,  True,  True])
    """
    return P.logical_or(input, other)


def logical_xor(input, other):
    """True where exactly one is non-zero.

    >>> import ember
    >>> ember.logical_xor(ember.tensor([0, 1, 2]), ember.tensor([0, 1, 0]))
    tensor([False, False,  True])
    """
    return P.logical_xor(input, other)


def logical_not(input):
    """True where ``input`` is zero.

    >>> import ember
    >>> ember.logical_not(ember.tensor([0.0, 2.0]))
    tensor([ True, False])
    """
    return P.logical_not(input)


def isnan(input):
    """True where ``input`` is NaN.

    >>> import ember
    >>> ember.isnan(ember.tensor([1.0, float("nan")]))
    tensor([False,  True])
    """
    return P.isnan(input)


def isinf(input):
    """True where ``input`` is +inf or -inf.

    >>> import ember
    >>> ember.isinf(ember.tensor([1.0, float("-inf")]))
    tensor([False,  True])
    """
    return P.isinf(input)


def isfinite(input):
    """True where ``input`` is neither NaN nor infinite.

    >>> import ember
    >>> ember.isfinite(ember.tensor([1.0, float("inf")]))
    tensor([ True, False])
    """
    return P.isfinite(input)


def bitwise_and(input, other):
    """Bitwise AND of bool or integer tensors (``&``).

    >>> import ember
    >>> ember.bitwise_and(ember.tensor([12, 10]), 6)
    tensor([4, 2])
    """
    return P.bitwise_and(input, other)


def bitwise_or(input, other):
    """Bitwise OR of bool or integer tensors (``|``).

    >>> import ember
    >>> ember.bitwise_or(ember.tensor([12, 10]), 1)
    tensor([13, 11])
    """
    return P.bitwise_or(input, other)


def bitwise_xor(input, other):
    """Bitwise XOR of bool or integer tensors (``^``).

    >>> import ember
    >>> ember.bitwise_xor(ember.tensor([True, False]), True)
    tensor([False,  True])
    """
    return P.bitwise_xor(input, other)


def bitwise_not(input):
    """Bitwise NOT of a bool or integer tensor (``~``): logical NOT for bool.

    >>> import ember
    >>> ember.bitwise_not(ember.tensor([0, 5]))
    tensor([-1, -6])
    """
    return P.bitwise_not(input)


greater = gt
greater_equal = ge
less = lt
less_equal = le
not_equal = ne

# What a comparison operator accepts; anything else returns NotImplemented, so that
# ``tensor == None`` or ``tensor == "a"`` is False, as for other Python objects.
_OPERANDS = (Tensor, bool, int, float, np.ndarray, np.generic)
_NO_ATTRS: dict = {}


def _comparison(op):
    def fn(self, other):
        if isinstance(other, _OPERANDS):
            return apply(op, (self, other), _NO_ATTRS)
        return NotImplemented

    fn.__name__ = op.name
    return fn


_FUNCS = dict(
    eq=eq,
    ne=ne,
    lt=lt,
    le=le,
    gt=gt,
    ge=ge,
    greater=gt,
    greater_equal=ge,
    less=lt,
    less_equal=le,
    not_equal=ne,
    logical_and=logical_and,
    logical_or=logical_or,
    logical_xor=logical_xor,
    logical_not=logical_not,
    bitwise_and=bitwise_and,
    bitwise_or=bitwise_or,
    bitwise_xor=bitwise_xor,
    bitwise_not=bitwise_not,
)
register_methods(**_FUNCS, isnan=isnan, isinf=isinf, isfinite=isfinite)
register_methods(**{name + "_": inplace(fn, name + "_") for name, fn in _FUNCS.items()})
register_methods(
    __eq__=_comparison(P.eq),
    __ne__=_comparison(P.ne),
    __lt__=_comparison(P.lt),
    __le__=_comparison(P.le),
    __gt__=_comparison(P.gt),
    __ge__=_comparison(P.ge),
    __and__=method(P.bitwise_and),
    __rand__=rmethod(P.bitwise_and),
    __iand__=inplace(bitwise_and),
    __or__=method(P.bitwise_or),
    __ror__=rmethod(P.bitwise_or),
    __ior__=inplace(bitwise_or),
    __xor__=method(P.bitwise_xor),
    __rxor__=rmethod(P.bitwise_xor),
    __ixor__=inplace(bitwise_xor),
    __invert__=bitwise_not,
)
