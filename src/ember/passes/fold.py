"""Constant folding: a node whose inputs are all constants (or literals) becomes a constant.

The node is evaluated at compile time with its op's NumPy forward, the same function the
executors call, so the constant holds exactly the bits the node would have computed. With
``ember.compile(..., freeze=True)`` parameters are constants, so everything that depends on
weights alone (a transposed weight, a pre-scaled bias) is computed once.

Limits (why a foldable node may stay):

* size: a result larger than ``SMALL_BYTES`` (64 KiB) is folded only when it is at most
  ``GROWTH`` (2) times the bytes of the node's constant inputs. Folding a transpose or a
  cast of a big frozen weight is worth it; an ``expand`` of a scalar to a large shape would
  only swap a cheap broadcast view for a large array held by the program for its lifetime.
* failures: a node whose forward raises (an integer division by zero) or whose result does
  not have the node's dtype and shape is left alone, to fail or run at run time as before.
* nodes with sub-graphs (control flow) and ops outside the registry are never folded.

The folded array keeps the layout the forward returned (a folded ``permute`` stays a strided
view of its input), so the ops that read it see the same memory layout as before folding and
give bitwise the same results.

>>> import numpy as np
>>> from ember.ir import Graph
>>> g = Graph()
>>> x = g.add_input(np.float32, (2,), "x")
>>> w = g.add_const(np.array([1.0, 2.0], np.float32), "w")
>>> w2 = g.add_node("mul", [w, 3.0]).outputs[0]
>>> g.outputs = [g.add_node("add", [x, w2]).outputs[0]]
>>> print(fold(g))
graph(%x: f32[2]) -> (f32[2]) {
  %c1: f32[2] = const([3.0, 6.0])
  %1: f32[2] = add(%x, %c1)
  return (%1)
}
"""

from __future__ import annotations

import math

import numpy as np

from ember.ir.graph import Value
from ember.ops import registry

# Results up to this size always fold; larger ones only when they do not grow (see above).
SMALL_BYTES = 64 * 1024
GROWTH = 2


def fold(graph):
    """Replace every all-constant node by its constant result (a new graph)."""
    g = graph.copy()
    repl: dict = {}
    names = {v.name for v in g.inputs + g.constants}
    kept = []
    for node in g.nodes:
        node.inputs = [repl.get(x, x) if isinstance(x, Value) else x for x in node.inputs]
        array = _evaluate(node)
        if array is None:
            kept.append(node)
            continue
        out = node.outputs[0]
        c = g.add_const(array, _fresh(names, len(g.constants)))
        repl[out] = c
    g.nodes = kept
    g.outputs = [repl.get(x, x) if isinstance(x, Value) else x for x in g.outputs]
    # the constants only folded nodes read go too (the arrays folded from them stay)
    read = {id(x) for n in kept for x in n.inputs} | {id(x) for x in g.outputs}
    g.constants = [c for c in g.constants if id(c) in read]
    return g


def foldable(node) -> bool:
    """Whether ``node`` reads only constants and literals and its result is small enough."""
    if node.subgraphs or len(node.outputs) != 1 or node.op not in registry.OPS:
        return False
    consts = [x for x in node.inputs if isinstance(x, Value)]
    if any(not x.is_const for x in consts):
        return False
    out = node.outputs[0]
    if not all(type(d) is int for d in out.shape):
        return False  # symbolic dims: the size is not known yet
    size = math.prod(out.shape) * out.dtype.itemsize
    return size <= SMALL_BYTES or size <= GROWTH * sum(np.asarray(c.const).nbytes for c in consts)


def _evaluate(node):
    """The node's result as an array of its declared type, or None when it must stay."""
    if not foldable(node):
        return None
    args = [x.const if isinstance(x, Value) else x for x in node.inputs]
    try:
        with np.errstate(all="ignore"):  # a compile-time warning would name no user line
            result = np.asarray(registry.OPS[node.op].forward(*args, **node.attrs))
    except Exception:  # noqa: BLE001 - the node stays and reports its error at run time
        return None
    out = node.outputs[0]
    if result.dtype != out.dtype or result.shape != tuple(out.shape):
        return None
    return result


def _fresh(names: set, n: int) -> str:
    """A constant name not used yet (the CSE pass may have dropped earlier constants)."""
    while f"c{n}" in names:
        n += 1
    name = f"c{n}"
    names.add(name)
    return name
