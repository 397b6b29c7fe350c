"""The graph IR: typed SSA values produced by nodes, each node one registry op.

A ``Graph`` is a list of ``Node``s in execution order over ``Value``s. Every value is defined
once: by the graph's inputs, by a constant, or by exactly one node. A node's inputs are values
or Python literals (the scalar operands ops accept: ``x * 2.0`` records ``mul(%x, 2.0)``), its
attributes are the keyword arguments of the op's NumPy forward, and it remembers the user's
source line that created it, so errors and printed graphs point at the user's code.

>>> import numpy as np
>>> from ember.ir import Graph
>>> g = Graph()
>>> x = g.add_input(np.float32, (2, 3), "x")
>>> y = g.add_node("exp", [x]).outputs[0]
>>> z = g.add_node("sum", [y], {"axis": (1,), "keepdims": False}).outputs[0]
>>> g.outputs = [z]
>>> print(g)
graph(%x: f32[2, 3]) -> (f32[2]) {
  %0: f32[2, 3] = exp(%x)
  %1: f32[2] = sum(%0, axis=(1,), keepdims=False)
  return (%1)
}
"""

from __future__ import annotations

import numpy as np

from ember.ops import registry

# Python literals a node may take as an input in place of a value.
LITERALS = (bool, int, float, type(None))


class Value:
    """One SSA value: dtype, shape (ints, or strings for symbolic dims) and its definition.

    ``producer`` is the node that defines it (None for graph inputs and constants); ``const``
    holds a constant's array.
    """

    __slots__ = ("name", "dtype", "shape", "producer", "const", "__weakref__")

    def __init__(self, dtype, shape, name=None, producer=None, const=None):
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        self.name = name
        self.producer = producer
        self.const = const

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_const(self) -> bool:
        return self.const is not None

    def type_str(self) -> str:
        from ember.ir.printer import type_str

        return type_str(self)

    def __repr__(self) -> str:
        return f"%{self.name}: {self.type_str()}"


class Node:
    """One op application. ``loc`` is the user's ``SourceLocation`` (file, line, function)."""

    __slots__ = ("op", "inputs", "attrs", "outputs", "subgraphs", "loc")

    def __init__(self, op: str, inputs, attrs=None, outputs=(), subgraphs=None, loc=None):
        self.op = op
        self.inputs = list(inputs)
        self.attrs = dict(attrs or {})
        self.outputs = list(outputs)
        self.subgraphs = dict(subgraphs or {})
        self.loc = loc

    def input_values(self):
        """The inputs that are values (not literals)."""
        return [v for v in self.inputs if isinstance(v, Value)]

    def __repr__(self) -> str:
        from ember.ir.printer import node_str

        return node_str(self)


class Graph:
    """A typed SSA graph. Build it with ``add_input`` / ``add_const`` / ``add_node``."""

    def __init__(self, name: str = "graph"):
        self.name = name
        self.inputs: list[Value] = []
        self.outputs: list = []  # values (or literals, for a graph that returns a constant)
        self.nodes: list[Node] = []
        self.constants: list[Value] = []
        self._counter = 0
        # {output position: input position}: the output is the new value of the input's
        # array (a write-back), so the planner may compute it in that array (passes.memory)
        self.donations: dict = {}

    # ---- building ---------------------------------------------------------------------

    def fresh_name(self) -> str:
        n = self._counter
        self._counter += 1
        return str(n)

    def add_input(self, dtype, shape, name: str | None = None) -> Value:
        v = Value(dtype, shape, name or f"in{len(self.inputs)}")
        self.inputs.append(v)
        return v

    def add_const(self, array, name: str | None = None) -> Value:
        array = np.asarray(array)
        v = Value(array.dtype, array.shape, name or f"c{len(self.constants)}", const=array)
        self.constants.append(v)
        return v

    def add_node(self, op: str, inputs, attrs=None, *, shape=None, dtype=None, loc=None) -> Node:
        """Append ``op(inputs, **attrs)``. Without ``shape``/``dtype`` the op's rules infer
        the output's type (the rules are the ones eager dispatch and the verifier use)."""
        if shape is None or dtype is None:
            shape, dtype = infer(op, inputs, attrs or {})
        node = Node(op, inputs, attrs, loc=loc)
        node.outputs = [Value(dtype, shape, self.fresh_name(), producer=node)]
        self.nodes.append(node)
        return node

    # ---- queries ----------------------------------------------------------------------

    def users(self) -> dict:
        """``{value: [nodes that read it]}`` (graph outputs are not nodes: see ``live_out``)."""
        out: dict = {}
        for n in self.nodes:
            for v in n.inputs:
                if isinstance(v, Value):
                    out.setdefault(v, []).append(n)
        return out

    def copy(self) -> Graph:
        """A structural copy: new nodes and values, shared constant arrays."""
        from ember.ir.clone import clone_graph

        return clone_graph(self)

    def copy_with(self, mapping: dict) -> Graph:
        """``copy()``, filling ``mapping`` with ``{old value: new value}``."""
        from ember.ir.clone import clone_graph

        return clone_graph(self, mapping)

    def print(self, file=None, source: bool = True) -> None:
        """Print the text form (with each node's source line as a comment when ``source``)."""
        from ember.ir.printer import format_graph

        print(format_graph(self, source=source), file=file)

    def __str__(self) -> str:
        from ember.ir.printer import format_graph

        return format_graph(self, source=False)

    def __repr__(self) -> str:
        return f"<Graph {self.name}: {len(self.inputs)} inputs, {len(self.nodes)} nodes>"


def infer(op: str, inputs, attrs) -> tuple:
    """(shape, dtype) of ``op`` applied to ``inputs`` by its shape and dtype rules."""
    o = registry.OPS[op]
    shapes = [v.shape if isinstance(v, Value) else () for v in inputs]
    dtypes = [v.dtype if isinstance(v, Value) else type(v) for v in inputs]
    return tuple(o.shape(*shapes, **attrs)), np.dtype(o.dtype(*dtypes, **attrs))
