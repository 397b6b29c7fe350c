"""Differentiable compiled functions: the traced backward, split into its own graph.

When a compiled function's outputs require grad (a model's forward in training), the tracer
also records the backward pass: at trace time it runs ``autograd.grad`` of the outputs with
respect to every input that requires grad (arguments and captured parameters), seeded with
fresh *cotangent* inputs. The joint graph is then split: nodes that depend on a cotangent
form the backward graph; the rest is the forward graph, which additionally returns the
values the backward reads (the saved activations). At run time the forward graph's outputs
are joined to the caller's autograd graph by one node whose VJP runs the backward graph, so
``loss.backward()`` outside the compiled function works as in eager mode.
"""

from __future__ import annotations

import numpy as np

from ember.core.tensor import Tensor, _wrap
from ember.ir.graph import Graph, Node, Value


class BackwardTrace:
    """What ``record_backward`` adds to a trace."""

    def __init__(self, diff_outputs, targets, tensors, cotangents, grads):
        self.diff_outputs = diff_outputs  # indices of the user outputs that require grad
        self.targets = targets  # ("arg", i) or Capture, one per differentiable input
        self.tensors = tensors  # the differentiable inputs at trace time
        self.cotangents = cotangents  # graph input values, one per differentiable output
        self.grads = grads  # value (or None when unused), one per differentiable input


def record_backward(tracer, out_leaves) -> BackwardTrace | None:
    """Trace the gradient of the outputs that require grad (inside ``tracing``)."""
    from ember.core.autograd import grad

    diff_outputs = [i for i, t in enumerate(out_leaves) if t._rg]
    targets, tensors = [], []
    for i, (_, t) in enumerate(tracer.args):
        if t._rg:
            targets.append(("arg", i))
            tensors.append(t)
    for c in tracer.captures:
        if c.tensor is not None and c.tensor._rg:
            targets.append(c)
            tensors.append(c.tensor)
    if not diff_outputs or not tensors:
        return None
    cotangents, seeds = [], []
    for k in diff_outputs:
        a = out_leaves[k]._data
        seed = np.ones(a.shape, a.dtype)
        v = tracer.graph.add_input(a.dtype, a.shape, f"ct{len(cotangents)}")
        tracer._bind(seed, v)
        cotangents.append(v)
        seeds.append(_wrap(seed))
    before = tracer.ran_backward
    grads = grad(
        [out_leaves[k] for k in diff_outputs],
        tensors,
        grad_outputs=seeds,
        retain_graph=True,
        allow_unused=True,
    )
    tracer.ran_backward = before
    values = [None if g is None else tracer.value_of(g) for g in grads]
    return BackwardTrace(diff_outputs, targets, tensors, cotangents, values)


def split(graph: Graph, bt: BackwardTrace) -> tuple[Graph, Graph, list]:
    """(forward graph, backward graph, saved values of the joint graph).

    The forward graph has the joint graph's inputs without the cotangents and returns the
    joint graph's outputs followed by the saved values; the backward graph takes the saved
    values then the cotangents and returns one gradient per differentiable input."""
    tainted = {id(v) for v in bt.cotangents}
    fwd_nodes, bwd_nodes = [], []
    for n in graph.nodes:
        if any(id(x) in tainted for x in n.input_values()):
            bwd_nodes.append(n)
            tainted.update(id(o) for o in n.outputs)
        else:
            fwd_nodes.append(n)
    for v in graph.outputs:
        if isinstance(v, Value) and id(v) in tainted:
            raise AssertionError("a forward output depends on a cotangent")
    bwd_defined = {id(o) for n in bwd_nodes for o in n.outputs} | {id(v) for v in bt.cotangents}
    saved: list = []
    seen = set()
    reads = [x for n in bwd_nodes for x in n.input_values()]
    reads += [g for g in bt.grads if g is not None]
    for x in reads:
        if id(x) not in bwd_defined and id(x) not in seen and not x.is_const:
            seen.add(id(x))
            saved.append(x)
    fwd_inputs = [v for v in graph.inputs if id(v) not in {id(c) for c in bt.cotangents}]
    fwd = _subgraph(graph, fwd_inputs, fwd_nodes, list(graph.outputs) + saved, "")
    bwd = _subgraph(graph, saved + bt.cotangents, bwd_nodes, list(bt.grads), "_backward")
    return fwd, bwd, saved


def _subgraph(graph: Graph, inputs, nodes, outputs, suffix: str) -> Graph:
    g = Graph(graph.name + suffix)
    g._counter = graph._counter
    m: dict = {}
    for v in inputs:
        m[id(v)] = nv = Value(v.dtype, v.shape, v.name)
        g.inputs.append(nv)

    def get(x):
        if not isinstance(x, Value):
            return x
        if id(x) not in m:  # a constant
            m[id(x)] = c = Value(x.dtype, x.shape, x.name, const=x.const)
            g.constants.append(c)
        return m[id(x)]

    for n in nodes:
        node = Node(n.op, [get(x) for x in n.inputs], n.attrs, loc=n.loc)
        node.subgraphs = dict(n.subgraphs)
        for o in n.outputs:
            m[id(o)] = no = Value(o.dtype, o.shape, o.name, producer=node)
            node.outputs.append(no)
        g.nodes.append(node)
    g.outputs = [get(x) for x in outputs]
    return g


def targets_tensors(targets, leaves) -> list[Tensor]:
    """The live differentiable inputs of one call."""
    return [leaves[t[1]] if isinstance(t, tuple) else t.tensor for t in targets]
