"""Dead-code elimination: drop nodes whose results no output depends on.

Every registry op is pure (effects are graph outputs), so a node is live exactly when a graph
output depends on it.

>>> import numpy as np
>>> from ember.ir import Graph
>>> from ember.passes.dce import dce
>>> g = Graph()
>>> x = g.add_input(np.float32, (3,), "x")
>>> _ = g.add_node("exp", [x])                    # unused
>>> g.outputs = [g.add_node("neg", [x]).outputs[0]]
>>> [n.op for n in dce(g).nodes]
['neg']
"""

from __future__ import annotations

from ember.ir.graph import Value


def dce(graph):
    g = graph.copy()
    live = {id(v) for v in g.outputs if isinstance(v, Value)}
    kept = []
    for node in reversed(g.nodes):
        if any(id(o) in live for o in node.outputs):
            kept.append(node)
            for v in node.inputs:
                if isinstance(v, Value):
                    live.add(id(v))
    kept.reverse()
    g.nodes = kept
    g.constants = [c for c in g.constants if id(c) in live]
    return g
