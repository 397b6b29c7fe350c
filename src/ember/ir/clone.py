"""Structural copies of graphs (passes work on copies and never mutate their input)."""

from __future__ import annotations

from ember.ir.graph import Graph, Node, Value


def clone_graph(graph: Graph, mapping: dict | None = None) -> Graph:
    """A copy with new nodes and values; constant arrays are shared. ``mapping`` receives
    ``{old value: new value}``."""
    new = Graph(graph.name)
    new._counter = graph._counter
    m = {} if mapping is None else mapping

    def get(x):
        return m[x] if isinstance(x, Value) else x

    for v in graph.inputs:
        m[v] = Value(v.dtype, v.shape, v.name)
        new.inputs.append(m[v])
    for c in graph.constants:
        m[c] = Value(c.dtype, c.shape, c.name, const=c.const)
        new.constants.append(m[c])
    for n in graph.nodes:
        node = Node(n.op, [get(x) for x in n.inputs], n.attrs, loc=n.loc)
        node.subgraphs = {k: clone_graph(g) for k, g in n.subgraphs.items()}
        for o in n.outputs:
            m[o] = Value(o.dtype, o.shape, o.name, producer=node)
            node.outputs.append(m[o])
        new.nodes.append(node)
    new.outputs = [get(x) for x in graph.outputs]
    new.donations = dict(graph.donations)
    return new
