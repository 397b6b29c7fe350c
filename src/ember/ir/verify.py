"""The verifier: every value defined once before use, every node's type re-derived by its
op's shape and dtype rules (the same rules eager dispatch uses).

>>> import numpy as np
>>> from ember.ir import Graph
>>> from ember.ir.verify import verify
>>> g = Graph()
>>> x = g.add_input(np.float32, (2, 3), "x")
>>> g.outputs = [g.add_node("exp", [x]).outputs[0]]
>>> verify(g)
"""

from __future__ import annotations

import numpy as np

from ember.errors import EmberError
from ember.ir.errors import GraphError, where
from ember.ir.graph import Value, infer
from ember.ops import registry

# Ops defined outside the registry (fused kernels, control flow) verify themselves: name ->
# rule(node) raising GraphError.
CUSTOM: dict = {}


def verify(graph, after: str | None = None) -> None:
    """Raise ``GraphError`` naming the first node that breaks an invariant."""
    ctx = f" after pass {after!r}" if after else ""
    defined = set()
    for v in graph.inputs + graph.constants:
        if id(v) in defined:
            raise GraphError(f"verify{ctx}: %{v.name} is defined twice")
        defined.add(id(v))
    for node in graph.nodes:
        for x in node.inputs:
            if isinstance(x, Value) and id(x) not in defined:
                raise GraphError(
                    f"verify{ctx}: node {node.op} (%{_out(node)}, created at "
                    f"{where(node.loc)}) reads %{x.name} before it is defined"
                )
        _check_types(node, ctx)
        for o in node.outputs:
            if id(o) in defined:
                raise GraphError(f"verify{ctx}: %{o.name} is defined twice")
            defined.add(id(o))
    for x in graph.outputs:
        if isinstance(x, Value) and id(x) not in defined:
            raise GraphError(f"verify{ctx}: the graph returns %{x.name}, which is not defined")


def _check_types(node, ctx: str) -> None:
    rule = CUSTOM.get(node.op)
    if rule is not None:
        rule(node)
        return
    if node.op not in registry.OPS:
        raise GraphError(f"verify{ctx}: unknown op {node.op!r} (node %{_out(node)})")
    try:
        shape, dtype = infer(node.op, node.inputs, node.attrs)
    except EmberError as exc:
        raise GraphError(
            f"verify{ctx}: node %{_out(node)} = {node.op}: its rule rejects the inputs: {exc}"
            f" (created at {where(node.loc)})"
        ) from None
    out = node.outputs[0]
    if tuple(shape) != tuple(out.shape) or np.dtype(dtype) != out.dtype:
        raise GraphError(
            f"verify{ctx}: node %{out.name} = {node.op} is typed {out.type_str()} but its "
            f"rule gives {np.dtype(dtype).name}{list(shape)} (created at {where(node.loc)})"
        )


def _out(node) -> str:
    return node.outputs[0].name if node.outputs else "?"
