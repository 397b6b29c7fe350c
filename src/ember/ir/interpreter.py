"""The reference executor: runs a graph node by node with each op's NumPy forward.

It is the specification every other executor is tested against, and the fallback that names
the failing node: an exception raised by a node is re-raised as an ``ExecutionError`` naming
the node, its op, its input shapes and the user's source line that created it.

>>> import numpy as np
>>> from ember.ir import Graph, run_graph
>>> g = Graph()
>>> x = g.add_input(np.float64, (3,), "x")
>>> g.outputs = [g.add_node("mul", [x, 2.0]).outputs[0]]
>>> run_graph(g, [np.arange(3.0)])
[array([0., 2., 4.])]
"""

from __future__ import annotations

import numpy as np

from ember.ir.errors import node_error
from ember.ir.graph import Value
from ember.ops import registry

# Ops the interpreter runs itself (structured control flow with sub-graphs); filled by the
# modules that define them.
SPECIAL: dict = {}

# Ops whose node holds a sub-graph to run in place of the node, node by node with the same
# ``check`` (fused elementwise chains): name -> body(node). A failing body node is named
# itself, with its own source line.
INLINE: dict = {}


def run_graph(graph, inputs, check=None) -> list:
    """Run ``graph`` on NumPy ``inputs``; returns the outputs (arrays or literals).

    ``check(node, out)`` is called after every node when given (debug mode)."""
    if len(inputs) != len(graph.inputs):
        raise ValueError(f"{graph.name}: expected {len(graph.inputs)} inputs, got {len(inputs)}")
    env = {}
    for v, a in zip(graph.inputs, inputs):
        env[v] = a
    for c in graph.constants:
        env[c] = c.const
    ops = registry.OPS
    for node in graph.nodes:
        args = [env[x] if isinstance(x, Value) else x for x in node.inputs]
        inline = INLINE.get(node.op)
        if inline is not None:
            outs = run_graph(inline(node), args, check)
            for o, a in zip(node.outputs, outs):
                env[o] = a
            continue
        try:
            special = SPECIAL.get(node.op)
            if special is not None:
                outs = special(node, args)
            else:
                outs = (np.asarray(ops[node.op].forward(*args, **node.attrs)),)
        except Exception as exc:  # noqa: BLE001 - every failure names the node
            raise node_error(node, args, exc) from exc
        for o, a in zip(node.outputs, outs):
            env[o] = a
        if check is not None:
            check(node, outs)
    return [env[x] if isinstance(x, Value) else x for x in graph.outputs]
