"""Flatten nested call arguments and results (tuples, lists, dicts, tensors, Python values).

A compiled function takes and returns ordinary Python structures. Tensors are its leaves;
everything else (ints, floats, strings, None, modules) is part of the structure and so of the
cache key: a traced graph is specialised to the Python values it saw.
"""

from __future__ import annotations

from ember.core.tensor import Tensor

TENSOR = "T"  # the structure's placeholder for a tensor leaf


def flatten(obj) -> tuple[list, object]:
    """(tensor leaves in order, a hashable description of everything else)."""
    leaves: list = []
    return leaves, _flatten(obj, leaves)


def _flatten(obj, leaves):
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return TENSOR
    if isinstance(obj, (tuple, list)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return (kind, tuple(_flatten(x, leaves) for x in obj))
    if isinstance(obj, dict):
        keys = tuple(obj)
        return ("dict", keys, tuple(_flatten(obj[k], leaves) for k in keys))
    return ("value", _hashable(obj))


class _ById:
    """An unhashable leaf (a module, an optimizer, an array) compared by identity."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _ById) and other.obj is self.obj


def _hashable(obj):
    try:
        hash(obj)
    except TypeError:
        return _ById(obj)
    return obj


def unflatten(spec, leaves) -> object:
    """Rebuild a structure described by ``flatten`` from new leaves (an iterator)."""
    it = iter(leaves)
    return _unflatten(spec, it)


def _unflatten(spec, it):
    if spec == TENSOR:
        return next(it)
    kind = spec[0]
    if kind == "tuple":
        return tuple(_unflatten(s, it) for s in spec[1])
    if kind == "list":
        return [_unflatten(s, it) for s in spec[1]]
    if kind == "dict":
        return {k: _unflatten(s, it) for k, s in zip(spec[1], spec[2])}
    v = spec[1]
    return v.obj if isinstance(v, _ById) else v
