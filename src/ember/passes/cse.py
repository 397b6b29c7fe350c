"""Common-subexpression elimination: equal nodes and equal constants are computed once.

Two nodes are equal when they apply the same op to the same inputs (the same ``Value``
objects, or literals of the same type and bits) with equal attributes and the same result
types. Every registry op is pure, so the second node's readers can read the first node's
result. Constants with the same dtype, shape and bytes are merged too.

Attributes are compared through ``attr_key``, a canonical hashable form that is stricter
than Python's ``==``: ``True`` and ``1`` differ, ``0.0`` and ``-0.0`` differ, NaN equals a
NaN with the same bits, NumPy arrays and dtypes are compared by contents, and objects it
does not know are compared by identity (never merged by a doubtful ``==``).

>>> import numpy as np
>>> from ember.ir import Graph
>>> g = Graph()
>>> x = g.add_input(np.float32, (3,), "x")
>>> a = g.add_node("mul", [x, 2.0]).outputs[0]
>>> b = g.add_node("mul", [x, 2.0]).outputs[0]
>>> g.outputs = [g.add_node("add", [a, b]).outputs[0]]
>>> print(cse(g))
graph(%x: f32[3]) -> (f32[3]) {
  %0: f32[3] = mul(%x, 2.0)
  %2: f32[3] = add(%0, %0)
  return (%2)
}
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np

from ember.ir.graph import Value


def cse(graph):
    """Merge equal nodes and equal constants (a new graph; the input is untouched)."""
    g = graph.copy()
    repl = _merge_constants(g)
    seen: dict = {}
    kept = []
    for node in g.nodes:
        node.inputs = [repl.get(x, x) if isinstance(x, Value) else x for x in node.inputs]
        key = _node_key(node)
        first = None if key is None else seen.setdefault(key, node)
        if first is None or first is node:
            kept.append(node)
            continue
        for old, new in zip(node.outputs, first.outputs):
            repl[old] = new
    g.nodes = kept
    g.outputs = [repl.get(x, x) if isinstance(x, Value) else x for x in g.outputs]
    return g


def _node_key(node):
    """The hashable identity of what ``node`` computes, or None for nodes never merged
    (nodes holding sub-graphs: their bodies are not compared)."""
    if node.subgraphs:
        return None
    ins = tuple(("v", id(x)) if isinstance(x, Value) else attr_key(x) for x in node.inputs)
    attrs = tuple(sorted((k, attr_key(v)) for k, v in node.attrs.items()))
    types = tuple((o.dtype.str, o.shape) for o in node.outputs)
    return (node.op, ins, attrs, types)


def _merge_constants(g) -> dict:
    """Drop constants equal to an earlier one; returns ``{dropped: kept}``."""
    repl: dict = {}
    seen: dict = {}
    kept = []
    for c in g.constants:
        key = _const_key(c.const)
        first = seen.setdefault(key, c) if key is not None else c
        if first is c or not _same_bytes(first.const, c.const):
            kept.append(c)
        else:
            repl[c] = first
    g.constants = kept
    return repl


def _const_key(a):
    a = np.asarray(a)
    if a.dtype.hasobject:
        return None  # object arrays hold pointers: their bytes say nothing
    digest = hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest()
    return (a.dtype.str, a.shape, digest)


def _same_bytes(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def attr_key(v):
    """A hashable canonical form of an attribute or literal input: equal keys mean the op
    sees the same thing.

    >>> attr_key(1) == attr_key(True), attr_key(0.0) == attr_key(-0.0)
    (False, False)
    >>> attr_key(float("nan")) == attr_key(float("nan"))
    True
    >>> attr_key([1, slice(None, 2)]) == attr_key([1, slice(None, 2)])
    True
    """
    t = type(v)
    simple = _SIMPLE.get(t)
    if simple is not None:
        return simple(v)
    if t is tuple or t is list:
        return (t.__name__, tuple(attr_key(x) for x in v))
    if t is dict:
        return ("dict", tuple(sorted((repr(k), attr_key(x)) for k, x in v.items())))
    if t is slice:
        return ("slice", attr_key(v.start), attr_key(v.stop), attr_key(v.step))
    if isinstance(v, np.dtype):
        return ("dtype", v.str, v.descr if v.fields else None)
    if isinstance(v, (np.ndarray, np.generic)):
        key = _const_key(v)
        return ("id", id(v)) if key is None else (t.__name__, key)
    if isinstance(v, type):
        return ("type", v.__module__, v.__qualname__)
    return ("id", id(v))  # unknown objects: only the same object is the same attribute


def _float_bits(x: float) -> tuple:
    # The bits, not the value: 0.0 and -0.0 differ, and NaN equals itself.
    return ("float", struct.pack("<d", x))


_SIMPLE = {
    bool: lambda v: ("bool", v),
    int: lambda v: ("int", v),
    float: _float_bits,
    complex: lambda v: ("complex", struct.pack("<dd", v.real, v.imag)),
    str: lambda v: ("str", v),
    bytes: lambda v: ("bytes", v),
    type(None): lambda v: ("none",),
    type(Ellipsis): lambda v: ("ellipsis",),
}
