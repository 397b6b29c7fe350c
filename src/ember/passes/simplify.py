"""Algebraic simplification: rewrite nodes that compute their input, or chains that compose.

Every rewrite is exact: the graph gives bitwise the results it gave before. So a rule fires
only when the node's result has exactly its input's shape and dtype (``x + 0.0`` on an int
tensor promotes to float, ``x * ones((4, 3))`` broadcasts ``x`` of shape (3,): both stay),
and IEEE signed zeros are respected: ``x + 0.0`` turns ``-0.0`` into ``0.0``, so for floats
only ``x + (-0.0)`` and ``x - 0.0`` are identities (integer zeros always are). ``x * 0`` is
never 0 (NaN and inf), ``0 - x`` is not ``-x`` (``0 - 0.0`` is ``0.0``), and a sum over no
axes is not ``x`` (it adds a ``0.0``); none of these are rewritten.

The rules:

* ``x * 1``, ``1 * x``, ``x / 1``, ``x + (-0)``, ``(-0) + x``, ``x - 0`` -> ``x`` (the 1 or 0
  a literal or a constant holding only that value);
* ``neg(neg(x))`` -> ``x``; ``cast(x, dtype=x.dtype)`` -> ``x``;
* ``permute`` with the identity order -> ``x``; ``permute(permute(x, p), q)`` -> one permute
  (or ``x`` when they cancel, as in linear's backward ``W.T.T``);
* ``reshape`` to ``x``'s own shape -> ``x``; ``reshape(reshape(x))`` -> one reshape when
  nothing else reads the inner one (when something does, the chain stays: if ``x`` is not
  contiguous the inner reshape is a copy and the outer one a free view of it, where a merged
  reshape would copy ``x`` a second time, as a Transformer's backward did with the attention
  output); ``expand`` to ``x``'s own shape -> ``x``;
* ``pad(a) + pad(b)``, zero paddings of disjoint slabs of one dim (the gradient of a tensor
  that was chunked or split) -> ``slab_sum(a, b)``, one pass instead of a padded copy of
  each piece and an add per piece.

A replaced reshape or permute was a view of its input in NumPy; the generated code never
writes into graph values in place, so reading the input itself is the same.

>>> import numpy as np
>>> from ember.ir import Graph
>>> g = Graph()
>>> x = g.add_input(np.float32, (2, 3), "x")
>>> t = g.add_node("permute", [x], {"dims": (1, 0)}).outputs[0]
>>> tt = g.add_node("permute", [t], {"dims": (1, 0)}).outputs[0]
>>> g.outputs = [g.add_node("mul", [tt, 1.0]).outputs[0]]
>>> print(simplify(g))
graph(%x: f32[2, 3]) -> (f32[2, 3]) {
  %0: f32[3, 2] = permute(%x, dims=(1, 0))
  return (%x)
}
"""

from __future__ import annotations

import numpy as np

from ember.ir.graph import Value

_INT_KINDS = "biu"


def simplify(graph):
    """Apply the rules above until no node changes (a new graph; the input is untouched)."""
    g = graph.copy()
    readers = _count_readers(g)
    repl: dict = {}
    kept = []
    for node in g.nodes:
        node.inputs = [repl.get(x, x) if isinstance(x, Value) else x for x in node.inputs]
        same = _rewrite(node, readers)
        if same is None:
            kept.append(node)
        else:
            repl[node.outputs[0]] = same
    g.nodes = kept
    g.outputs = [repl.get(x, x) if isinstance(x, Value) else x for x in g.outputs]
    return g


def _count_readers(g) -> dict:
    """How many nodes (and graph outputs) read each value."""
    counts: dict = {}
    for node in g.nodes:
        for x in node.input_values():
            counts[x] = counts.get(x, 0) + 1
    for x in g.outputs:
        if isinstance(x, Value):
            counts[x] = counts.get(x, 0) + 1
    return counts


def _rewrite(node, readers):
    """Rewrite ``node`` in place (a composed chain) and return the value it equals, if any
    (``readers``: how many nodes read each value)."""
    if node.subgraphs or len(node.outputs) != 1:
        return None
    for _ in range(4):  # a composed node may become an identity: look again
        rule = RULES.get(node.op)
        if rule is None:
            return None
        result = rule(node, readers)
        if result is not _CHANGED:
            return result
    return None


_CHANGED = object()  # a rule's answer: the node was rewritten (look at it again)


def _passes_through(node, x) -> bool:
    """``x`` is a value whose type the node's result has exactly (nothing broadcast or
    promoted)."""
    out = node.outputs[0]
    return isinstance(x, Value) and x.shape == out.shape and x.dtype == out.dtype


def _all_equal(c, value, negative_zero=None) -> bool:
    """``c`` (a literal or a constant value) holds only ``value``; for a zero,
    ``negative_zero`` also asks for its sign bit (None: either sign)."""
    if isinstance(c, Value):
        if not c.is_const:
            return False
        a = np.asarray(c.const)
        if a.dtype.kind not in _INT_KINDS + "f" or a.size == 0:
            return False
    elif type(c) in (bool, int, float):
        a = np.asarray(float(c) if type(c) is float else int(c))
    else:
        return False
    if not bool(np.all(a == value)):
        return False
    if negative_zero is None:
        return True
    # an integer zero meets a float operand as +0.0
    signs = np.signbit(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    return bool(np.all(signs == negative_zero))


def _zero_sign(x):
    """The sign of zero that is an identity for ``x + zero`` (-0.0 for floats)."""
    return True if x.dtype.kind == "f" else None


def _mul(node, readers):
    a, b = node.inputs
    if _all_equal(b, 1) and _passes_through(node, a):
        return a
    if _all_equal(a, 1) and _passes_through(node, b):
        return b
    return None


def _div(node, readers):
    a, b = node.inputs
    # true division of integers is float whatever the node's declared type says
    ok = _passes_through(node, a) and a.dtype.kind == "f" and _all_equal(b, 1)
    return a if ok else None


def _add(node, readers):
    a, b = node.inputs
    if _passes_through(node, a) and _all_equal(b, 0, _zero_sign(a)):
        return a
    if _passes_through(node, b) and _all_equal(a, 0, _zero_sign(b)):
        return b
    return _add_slabs(node)


def _add_slabs(node):
    """``pad(a) + pad(b)`` of zero-padded slabs of one dim that do not overlap (the backward
    of ``chunk``/``split``) -> one ``slab_sum`` node, which computes every element as the add
    did (``piece + 0``) in one pass. A ``slab_sum`` operand merges its pieces in, so a chain of
    adds becomes a single node."""
    out = node.outputs[0]
    if out.dtype.kind != "f" or not all(_passes_through(node, x) for x in node.inputs):
        return None
    slabs = [_slabs_of(x) for x in node.inputs]
    if None in slabs or slabs[0][0] != slabs[1][0]:
        return None
    dim = slabs[0][0]
    pieces = sorted(slabs[0][1] + slabs[1][1], key=lambda piece: piece[1])
    end = 0
    for value, start in pieces:
        if start < end:
            return None  # overlapping slabs really add
        end = start + value.shape[dim]
    node.op = "slab_sum"
    node.inputs = [value for value, _ in pieces]
    node.attrs = {"dim": dim, "starts": tuple(start for _, start in pieces), "size": out.shape[dim]}
    return _CHANGED


def _slabs_of(x):
    """(dim, [(piece, start), ...]) when ``x`` is a zero padding along one dim or a
    ``slab_sum``, else None."""
    p = x.producer
    if p is None or not _concrete(x.shape):
        return None
    if p.op == "slab_sum":
        return p.attrs["dim"], list(zip(p.inputs, p.attrs["starts"]))
    if p.op != "pad" or p.attrs["mode"] != "constant" or not isinstance(p.inputs[0], Value):
        return None
    if not _all_equal(p.attrs["value"], 0, False):
        return None  # a -0.0 fill would make piece + fill differ from piece + 0
    padded = [d for d, pair in enumerate(p.attrs["pad"]) if tuple(pair) != (0, 0)]
    if len(padded) != 1 or min(p.attrs["pad"][padded[0]]) < 0:
        return None  # several dims, or a crop
    return padded[0], [(p.inputs[0], p.attrs["pad"][padded[0]][0])]


def _sub(node, readers):
    a, b = node.inputs
    # x - (+0.0) keeps -0.0 as -0.0; x - (-0.0) would turn it into 0.0
    ok = _passes_through(node, a) and _all_equal(b, 0, False if a.dtype.kind == "f" else None)
    return a if ok else None


def _neg(node, readers):
    (x,) = node.inputs
    inner = _producer(x, "neg")
    return inner.inputs[0] if inner is not None and _passes_through(node, inner.inputs[0]) else None


def _cast(node, readers):
    (x,) = node.inputs
    return x if _passes_through(node, x) and np.dtype(node.attrs["dtype"]) == x.dtype else None


def _permute(node, readers):
    (x,) = node.inputs
    dims = tuple(int(d) for d in node.attrs["dims"])
    if dims == tuple(range(len(dims))):
        return x if _passes_through(node, x) else None
    inner = _producer(x, "permute")
    if inner is None:
        return None
    first = tuple(int(d) for d in inner.attrs["dims"])
    # output dim i is x's dim dims[i], which is the source's dim first[dims[i]]
    node.inputs = [inner.inputs[0]]
    node.attrs = {**node.attrs, "dims": tuple(first[d] for d in dims)}
    return _CHANGED


def _reshape(node, readers):
    (x,) = node.inputs
    if not _concrete(node.outputs[0].shape) or not _concrete(x.shape):
        return None
    if _passes_through(node, x):
        return x
    inner = _producer(x, "reshape")
    if inner is None or not _concrete(inner.inputs[0].shape) or readers.get(x, 0) > 1:
        return None
    node.inputs = [inner.inputs[0]]
    return _CHANGED


def _expand(node, readers):
    (x,) = node.inputs
    return x if _passes_through(node, x) and _concrete(x.shape) else None


def _producer(x, op: str):
    """The node of op ``op`` that defines ``x``, if it is one (single input, no sub-graphs)."""
    if not isinstance(x, Value) or x.producer is None:
        return None
    p = x.producer
    if p.op != op or len(p.inputs) != 1 or not isinstance(p.inputs[0], Value):
        return None
    return p


def _concrete(shape) -> bool:
    return all(type(d) is int for d in shape)


# op name -> rule(node, readers): the value the node equals, _CHANGED after rewriting it, or None
RULES = {
    "mul": _mul,
    "div": _div,
    "add": _add,
    "sub": _sub,
    "neg": _neg,
    "cast": _cast,
    "permute": _permute,
    "reshape": _reshape,
    "expand": _expand,
}
