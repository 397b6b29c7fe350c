"""The straight-line node sequence a graph executes, with fused nodes opened up.

A fused node (``op == "fused"``) holds its elementwise chain as the sub-graph ``body``. The
memory planner and the code generator both see the chain's nodes one by one, with the body's
inputs and outputs renamed to the fused node's operands and results, so a chain's temporaries
get buffers (and in-place updates) like any other value.

>>> import numpy as np
>>> from ember.ir import Graph
>>> g = Graph()
>>> x = g.add_input(np.float32, (3,), "x")
>>> g.outputs = [g.add_node("exp", [x]).outputs[0]]
>>> [(n.op, ins, outs) for n, ins, outs in flat_nodes(g)] == [("exp", [x], g.outputs)]
True
"""

from __future__ import annotations

from ember.ir.graph import Value

FUSED = "fused"


def flat_nodes(graph, keep=()):
    """Yield ``(node, inputs, outputs)`` in execution order (see the module docstring); the
    fused nodes in ``keep`` (run by one generated kernel) stay whole."""
    for node in graph.nodes:
        if node.op != FUSED or node in keep:
            yield node, node.inputs, node.outputs
            continue
        body = node.subgraphs["body"]
        rename = dict(zip(body.inputs, node.inputs))
        rename.update(zip(body.outputs, node.outputs))
        for inner in body.nodes:
            ins = [rename.get(x, x) if isinstance(x, Value) else x for x in inner.inputs]
            yield inner, ins, [rename.get(o, o) for o in inner.outputs]
