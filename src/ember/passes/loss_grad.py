"""Pair a classifier's loss with its gradient: ``softmax_cross_entropy(x, t)`` and a
``softmax_cross_entropy_backward(g, x, t)`` of the same logits, targets and attributes become
one ``softmax_cross_entropy_with_grad`` node (one pass over the logits instead of two, one
call instead of two), placed where the loss was and taken apart by views.

The pair is merged only when ``g`` is known where the loss is computed (a constant, a graph
input, or a value computed before it): a ``g`` that depends on the loss itself (``loss**2``)
leaves both nodes as they are. The results are bitwise those of the two nodes.

>>> import numpy as np
>>> from ember.ir import Graph
>>> import ember.ops.loss
>>> g = Graph()
>>> x = g.add_input(np.float32, (4, 3), "x")
>>> t = g.add_input(np.int64, (4,), "t")
>>> kw = {"ignore_index": -100, "reduction": "mean"}
>>> loss = g.add_node("softmax_cross_entropy", [x, t], kw).outputs[0]
>>> one = g.add_const(np.float32(1.0))
>>> gx = g.add_node("softmax_cross_entropy_backward", [one, x, t], kw).outputs[0]
>>> g.outputs = [loss, gx]
>>> [n.op for n in loss_grad(g).nodes]
['softmax_cross_entropy_with_grad', 'narrow', 'reshape', 'narrow', 'reshape']
"""

from __future__ import annotations

from ember.ir.graph import Value
from ember.ops.loss_with_grad import loss_size

_FORWARD, _BACKWARD = "softmax_cross_entropy", "softmax_cross_entropy_backward"


def _key(node, logits, target):
    return id(logits), id(target), node.attrs["ignore_index"], node.attrs["reduction"]


def _pairs(g) -> dict:
    """{forward node: backward node} for the pairs that can be merged."""
    produced = {v: i for i, node in enumerate(g.nodes) for v in node.outputs}
    forwards = {}
    for i, node in enumerate(g.nodes):
        if node.op == _FORWARD:
            forwards.setdefault(_key(node, *node.inputs), (i, node))
    pairs = {}
    for node in g.nodes:
        if node.op != _BACKWARD:
            continue
        seed, logits, target = node.inputs
        at, forward = forwards.get(_key(node, logits, target), (None, None))
        if forward is None or forward in pairs:
            continue
        if not all(type(d) is int for d in logits.shape):
            continue  # a symbolic batch: the packed layout needs concrete sizes
        if isinstance(seed, Value) and produced.get(seed, -1) >= at:
            continue  # the seed is computed from the loss (or after it)
        pairs[forward] = node
    return pairs


def loss_grad(graph):
    """Merge each pair above (a new graph; the input is untouched)."""
    g = graph.copy()
    pairs = _pairs(g)
    if not pairs:
        return g
    backwards = set(pairs.values())
    repl: dict = {}
    nodes = []
    for node in list(g.nodes):  # add_node appends to g.nodes: walk the original ones
        node.inputs = [repl.get(x, x) if isinstance(x, Value) else x for x in node.inputs]
        if node in backwards:
            continue
        if node not in pairs:
            nodes.append(node)
            continue
        backward = pairs[node]
        logits, target = node.inputs
        rows, classes = logits.shape
        grads = rows * classes
        start = len(g.nodes)
        packed = g.add_node(
            "softmax_cross_entropy_with_grad",
            [backward.inputs[0], logits, target],
            dict(node.attrs),
            loc=node.loc,
        ).outputs[0]
        size = loss_size(rows, node.attrs["reduction"])
        for out, first, length in ((node, grads, size), (backward, 0, grads)):
            want = out.outputs[0]
            part = g.add_node(
                "narrow", [packed], {"dim": 0, "start": first, "length": length}, loc=out.loc
            ).outputs[0]
            shape = tuple(want.shape)
            repl[want] = g.add_node("reshape", [part], {"shape": shape}, loc=out.loc).outputs[0]
        nodes.extend(g.nodes[start:])
    g.nodes = nodes
    g.outputs = [repl.get(x, x) if isinstance(x, Value) else x for x in g.outputs]
    return g
