"""Dynamic batch dimensions: one symbolic graph from two concrete traces.

Tracing is concrete: a trace at batch 32 records ``reshape(x, shape=(32, 784))`` and, in
the backward of a mean, ``mul(g, 0.03125)``. With ``dynamic=True`` the compiler traces a
second batch size, walks the two graphs in parallel, and turns every number that differs
into a function of the batch symbol ``B``: integers as ``k*B + c`` (shapes, reshape sizes,
slice bounds), floats as ``1.0 / (k*B + c)`` or ``float(k*B + c)`` (the counts and
reciprocals that means and their gradients compute). Anything else that differs (a
constant array, an op, a non-affine size) means the function's structure depends on the
batch size: the graphs stay per-shape.

The symbolic graph is the one IR every batch size shares; each new size instantiates it
(substituting ``B``, re-checked by the verifier's shape rules, so a wrong fit is caught
rather than run) and gets its own executable, because planned buffers have concrete
shapes. No user code runs again for a new batch size.

>>> from ember.compiler.dynamic import Dim, unify_scalar
>>> d = unify_scalar(64, 32, 16, 8)        # 64 at B=16, 32 at B=8
>>> d, d.at(5)
(4*B, 20)
"""

from __future__ import annotations

import numpy as np

from ember.ir.graph import Graph, Node, Value

SYMBOL = "B"


class Dim:
    """``k*B + c`` for the batch symbol ``B``."""

    __slots__ = ("k", "c")

    def __init__(self, k: int, c: int):
        self.k, self.c = k, c

    def at(self, b: int) -> int:
        return self.k * b + self.c

    def __eq__(self, other):
        return isinstance(other, Dim) and (self.k, self.c) == (other.k, other.c)

    def __hash__(self):
        return hash(("Dim", self.k, self.c))

    def __repr__(self) -> str:
        s = SYMBOL if self.k == 1 else f"{self.k}*{SYMBOL}"
        if self.c:
            s += f"{'+' if self.c > 0 else '-'}{abs(self.c)}"
        return s


class FloatDim:
    """``1.0 / (k*B + c)`` (``reciprocal``) or ``float(k*B + c)``, computed as eager
    mode computes it, so results stay bitwise equal."""

    __slots__ = ("dim", "reciprocal")

    def __init__(self, dim: Dim, reciprocal: bool):
        self.dim, self.reciprocal = dim, reciprocal

    def at(self, b: int) -> float:
        n = self.dim.at(b)
        return 1.0 / n if self.reciprocal else float(n)

    def __eq__(self, other):
        return isinstance(other, FloatDim) and (self.dim, self.reciprocal) == (
            other.dim,
            other.reciprocal,
        )

    def __hash__(self):
        return hash(("FloatDim", self.dim, self.reciprocal))

    def __repr__(self) -> str:
        return f"1.0/({self.dim!r})" if self.reciprocal else f"float({self.dim!r})"


class Mismatch(Exception):
    """The two traces differ in more than batch-dependent numbers."""


def unify_scalar(a, b, b1: int, b2: int):
    """The symbolic form of a number that is ``a`` at batch ``b1`` and ``b`` at ``b2``."""
    if type(a) is not type(b):
        raise Mismatch(f"{a!r} vs {b!r}")
    if a == b and not (isinstance(a, float) and np.signbit(a) != np.signbit(b)):
        return a
    if isinstance(a, int) and not isinstance(a, bool):
        return _affine(a, b, b1, b2)
    if isinstance(a, float):
        return _float(a, b, b1, b2)
    raise Mismatch(f"{a!r} vs {b!r}")


def _affine(a: int, b: int, b1: int, b2: int) -> Dim:
    k, r = divmod(b - a, b2 - b1)
    if r:
        raise Mismatch(f"{a} at B={b1} and {b} at B={b2} is not k*B + c")
    return Dim(k, a - k * b1)


def _float(a: float, b: float, b1: int, b2: int) -> FloatDim:
    for reciprocal in (True, False):
        try:
            n1, n2 = (round(1.0 / a), round(1.0 / b)) if reciprocal else (round(a), round(b))
            d = FloatDim(_affine(int(n1), int(n2), b1, b2), reciprocal)
            if d.at(b1) == a and d.at(b2) == b:
                return d
        except (Mismatch, ZeroDivisionError, OverflowError, ValueError):
            continue
    raise Mismatch(f"{a!r} at B={b1} and {b!r} at B={b2}")


def unify_value(a, b, b1: int, b2: int):
    """Attributes and literal inputs, recursively (tuples, lists, dicts, slices)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        if len(a) != len(b):
            raise Mismatch(f"{a!r} vs {b!r}")
        return tuple(unify_value(x, y, b1, b2) for x, y in zip(a, b))
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise Mismatch(f"{a!r} vs {b!r}")
        return [unify_value(x, y, b1, b2) for x, y in zip(a, b)]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            raise Mismatch(f"{a!r} vs {b!r}")
        return {k: unify_value(a[k], b[k], b1, b2) for k in a}
    if isinstance(a, slice) and isinstance(b, slice):
        return slice(*(unify_value(x, y, b1, b2) for x, y in _slice_parts(a, b)))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return unify_scalar(a, b, b1, b2)
    if type(a) is not type(b) or not _same(a, b):
        raise Mismatch(f"{a!r} vs {b!r}")
    return a


def _slice_parts(a, b):
    return [(a.start, b.start), (a.stop, b.stop), (a.step, b.step)]


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - objects without a usable ==
        return a is b


def unify(g1: Graph, g2: Graph, b1: int, b2: int) -> Graph:
    """The symbolic graph of two traces of one function at batch sizes ``b1`` != ``b2``."""
    if (len(g1.inputs), len(g1.constants), len(g1.nodes)) != (
        len(g2.inputs),
        len(g2.constants),
        len(g2.nodes),
    ):
        raise Mismatch("the graphs have different sizes")
    g = Graph(g2.name)
    g._counter = g2._counter
    m1: dict = {}
    m2: dict = {}

    def typed(v1, v2, **kw):
        if v1.dtype != v2.dtype or len(v1.shape) != len(v2.shape):
            raise Mismatch(f"%{v2.name}: {v1.type_str()} vs {v2.type_str()}")
        shape = tuple(unify_scalar(x, y, b1, b2) for x, y in zip(v1.shape, v2.shape))
        v = Value(v2.dtype, shape, v2.name, **kw)
        m1[id(v1)] = m2[id(v2)] = v
        return v

    for v1, v2 in zip(g1.inputs, g2.inputs):
        g.inputs.append(typed(v1, v2))
    for c1, c2 in zip(g1.constants, g2.constants):
        if not _same(c1.const, c2.const):
            raise Mismatch(f"constant %{c2.name} depends on the batch size")
        g.constants.append(typed(c1, c2, const=c2.const))
    for n1, n2 in zip(g1.nodes, g2.nodes):
        g.nodes.append(_unify_node(n1, n2, m1, m2, typed, b1, b2))
    if len(g1.outputs) != len(g2.outputs):
        raise Mismatch("different numbers of outputs")
    g.outputs = [_operand(x, y, m1, m2, b1, b2) for x, y in zip(g1.outputs, g2.outputs)]
    return g


def _unify_node(n1, n2, m1, m2, typed, b1, b2) -> Node:
    if n1.op != n2.op or len(n1.inputs) != len(n2.inputs) or n1.subgraphs or n2.subgraphs:
        raise Mismatch(f"node {n1.op} vs {n2.op}")
    inputs = [_operand(x, y, m1, m2, b1, b2) for x, y in zip(n1.inputs, n2.inputs)]
    attrs = unify_value(n1.attrs, n2.attrs, b1, b2)
    node = Node(n2.op, inputs, attrs, loc=n2.loc)
    for o1, o2 in zip(n1.outputs, n2.outputs):
        node.outputs.append(typed(o1, o2, producer=node))
    return node


def _operand(x, y, m1, m2, b1, b2):
    if isinstance(x, Value) and isinstance(y, Value):
        v = m1.get(id(x))
        if v is None or v is not m2.get(id(y)):
            raise Mismatch(f"%{x.name} and %{y.name} are wired differently")
        return v
    if isinstance(x, Value) or isinstance(y, Value):
        raise Mismatch("a value in one trace is a literal in the other")
    return unify_value(x, y, b1, b2)


# ---- instantiation --------------------------------------------------------------------------


def is_symbolic(graph: Graph) -> bool:
    return any(isinstance(d, Dim) for v in graph.inputs for d in v.shape)


def instantiate(graph: Graph, b: int) -> Graph:
    """A concrete copy of a symbolic graph for batch size ``b``."""
    g = Graph(graph.name)
    g._counter = graph._counter
    m: dict = {}

    def conc(v, **kw):
        nv = Value(v.dtype, tuple(_at(d, b) for d in v.shape), v.name, **kw)
        m[id(v)] = nv
        return nv

    g.inputs = [conc(v) for v in graph.inputs]
    g.constants = [conc(c, const=c.const) for c in graph.constants]
    for n in graph.nodes:
        node = Node(
            n.op,
            [m[id(x)] if isinstance(x, Value) else _at(x, b) for x in n.inputs],
            _at(n.attrs, b),
            loc=n.loc,
        )
        node.outputs = [conc(o, producer=node) for o in n.outputs]
        g.nodes.append(node)
    g.outputs = [m[id(x)] if isinstance(x, Value) else _at(x, b) for x in graph.outputs]
    return g


def _at(x, b):
    if isinstance(x, (Dim, FloatDim)):
        return x.at(b)
    if isinstance(x, tuple):
        return tuple(_at(v, b) for v in x)
    if isinstance(x, list):
        return [_at(v, b) for v in x]
    if isinstance(x, dict):
        return {k: _at(v, b) for k, v in x.items()}
    if isinstance(x, slice):
        return slice(_at(x.start, b), _at(x.stop, b), _at(x.step, b))
    return x
