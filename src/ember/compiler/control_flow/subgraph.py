"""Sub-graphs for the control-flow primitives: trace a Python function into a closed graph,
replay a graph on Tensors, and record one node holding sub-graphs in the active trace.

A branch or loop body is traced by a fresh ``Tracer`` whose inputs are the primitive's
operands. Tensors the function reads from outside (parameters, tensors in closures, values
computed earlier in the outer trace) are captured by that tracer; ``close`` turns every
capture into an extra input of each sub-graph (the same list for all sub-graphs of a node),
so a sub-graph is a pure function of its inputs and the node's inputs are the operands
followed by the captured tensors, which the outer tracer maps to its own values.
"""

from __future__ import annotations

import numpy as np

from ember.core import trace_hooks
from ember.core.grad_mode import _enabled, no_grad
from ember.core.source import user_location
from ember.core.tensor import Tensor, _wrap
from ember.ir.errors import TraceError
from ember.ir.graph import Node, Value
from ember.ir.printer import type_str
from ember.ir.tracer import Tracer, tracing
from ember.ops import registry

# Ops replayed by their primitive rather than by a registry op: name -> fn(node, tensors)
# returning the node's output tensors (filled by the primitives' modules).
REPLAY: dict = {}


# ---- structures of tensors ----------------------------------------------------------------


def tensor_leaves(obj, what: str) -> tuple[list, object]:
    """(tensor leaves, spec) of a tensor or a (nested) tuple/list of tensors."""
    leaves: list = []
    return leaves, _flatten(obj, leaves, what)


def _flatten(obj, leaves, what):
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return None
    if isinstance(obj, (tuple, list)):
        return (type(obj), tuple(_flatten(x, leaves, what) for x in obj))
    raise TypeError(f"{what} must be a Tensor or a tuple of Tensors, got {type(obj).__name__}")


def unflatten(spec, leaves):
    it = iter(leaves)
    return _unflatten(spec, it)


def _unflatten(spec, it):
    if spec is None:
        return next(it)
    kind, items = spec
    return kind(_unflatten(s, it) for s in items)


def meta_str(a) -> str:
    a = a._data if isinstance(a, Tensor) else a
    return f"{a.dtype.name}{list(a.shape)}"


def check_same(what: str, names, got, expected) -> None:
    """Raise naming the first output whose structure, shape or dtype differs."""
    (n1, n2), (s1, s2) = names, (got[1], expected[1])
    if s1 != s2 or len(got[0]) != len(expected[0]):
        raise TraceError(
            f"{what}: {n1} and {n2} must return the same structure of tensors; {n1} returned "
            f"{_describe(s1, got[0])} and {n2} {_describe(s2, expected[0])}"
        )
    for i, (a, b) in enumerate(zip(got[0], expected[0])):
        if meta_str(a) != meta_str(b):
            raise TraceError(
                f"{what}: output {i} of {n1} is {meta_str(a)} but output {i} of {n2} is "
                f"{meta_str(b)}; shapes and dtypes must match"
            )


def _describe(spec, leaves) -> str:
    return f"{len(leaves)} tensor(s) ({', '.join(meta_str(t) for t in leaves)})"


# ---- tracing a function into a sub-graph ---------------------------------------------------


class SubTrace:
    """One traced function: ``graph`` (inputs: the arguments, then the captures after
    ``close``), the arrays it returned, and the structure of its result."""

    def __init__(self, tracer, arrays, spec, leaves):
        self.tracer = tracer
        self.graph = tracer.graph
        self.arrays = arrays
        self.spec = spec
        self.leaves = leaves
        self.n_args = len(tracer.args)


def trace_fn(fn, args, name: str, what: str, flatten=None) -> SubTrace:
    """Run ``fn(*args)`` on detached copies of ``args`` under a fresh tracer.

    ``flatten(result)`` gives the (leaves, spec) of the result (tensor_leaves by default)."""
    sub = Tracer(name)
    # New array objects (views): the tracer keys values by array identity, and the function
    # may also capture an argument's tensor by closure, which must stay the outer value
    # (``while_loop(..., body=lambda y: (y + a / y), (a,))`` divides by the initial ``a``).
    inner = [_wrap(t._data.view()) for t in args]
    for i, t in enumerate(inner):
        sub.add_arg(t, f"a{i}")
    flatten = flatten or (lambda r: tensor_leaves(r, f"{what} result"))
    with no_grad(), tracing(sub):
        result = fn(*inner)
        leaves, spec = flatten(result)
        outs = [sub.value_of(t) for t in leaves]
        writes, grads = sub.effects()
    if writes or grads:
        raise TraceError(
            f"{what} changes a tensor in place (or sets a .grad); control-flow functions "
            "must be pure: return the new value instead"
        )
    sub.graph.outputs = outs
    outer = trace_hooks.tracer[0]
    if outer is not None and sub.unstable:
        outer.unstable = True
    return SubTrace(sub, [t._data for t in leaves], spec, leaves)


def close(traces) -> list:
    """Give every sub-graph the union of all captures as extra inputs, in one order.

    Returns the captured sources (Tensors, or arrays for state read without a tensor)."""
    keys: dict = {}
    sources: list = []
    for tr in traces:
        for c in tr.tracer.captures:
            if id(c.array) not in keys:
                keys[id(c.array)] = len(sources)
                sources.append(c.tensor if c.tensor is not None else c.array)
    for tr in traces:
        have = {id(c.array): c.value for c in tr.tracer.captures}
        g = tr.graph
        extra = []
        for j, src in enumerate(sources):
            v = have.get(id(_array(src)))
            if v is None:  # read by another sub-graph only
                a = _array(src)
                v = Value(a.dtype, a.shape, f"unused{j}")
            extra.append(v)
        g.inputs = g.inputs[: tr.n_args] + extra
    return [s if isinstance(s, Tensor) else _wrap(s) for s in sources]


def _array(src):
    return src._data if isinstance(src, Tensor) else src


# ---- replaying a closed graph on Tensors ---------------------------------------------------


def replay(graph, inputs) -> list:
    """Run ``graph`` on Tensors op by op through eager dispatch (so autograd and an active
    tracer see every op): a sub-graph as a differentiable Python function."""
    env = dict(zip(graph.inputs, inputs))
    tracer = trace_hooks.tracer[0]
    for c in graph.constants:
        t = _wrap(c.const)
        if tracer is not None:
            tracer.constant(t)
        env[c] = t
    for node in graph.nodes:
        args = [env[x] if isinstance(x, Value) else x for x in node.inputs]
        rep = REPLAY.get(node.op)
        if rep is not None:
            outs = rep(node, args)
        elif node.op == "fused":
            outs = replay(node.subgraphs["body"], args)
        else:
            out = registry.OPS[node.op](*args, **node.attrs)
            if not isinstance(out, Tensor):  # no tensor argument: NumPy ran directly
                out = _wrap(np.asarray(out))
                if tracer is not None:
                    tracer.constant(out)
            outs = [out]
        env.update(zip(node.outputs, outs))
    return [env[x] if isinstance(x, Value) else x for x in graph.outputs]


def graph_fn(graph):
    """``replay`` as a function of separate arguments returning a tuple."""

    def fn(*args):
        return tuple(replay(graph, list(args)))

    return fn


# ---- recording the node in the active trace ------------------------------------------------


def record(op: str, inputs, attrs: dict, subgraphs: dict, arrays) -> list:
    """Append ``op`` with ``subgraphs`` to the active trace; its outputs are bound to
    ``arrays`` (fresh arrays: the eager result). Returns the output values."""
    tracer = trace_hooks.tracer[0]
    ins = [tracer.operand(x) for x in inputs]
    node = Node(op, ins, attrs, subgraphs=subgraphs, loc=tracer.vjp_loc or user_location(2))
    for a in arrays:
        v = Value(a.dtype, a.shape, tracer.graph.fresh_name(), producer=node)
        node.outputs.append(v)
        tracer._bind(a, v)
    tracer.graph.nodes.append(node)
    return node.outputs


def fresh(arrays) -> list:
    """Copies that no tracer has bound yet (a result may be one of the inputs)."""
    return [np.array(a, copy=True) for a in arrays]


def needs_grad(inputs) -> bool:
    return _enabled[0] and any(isinstance(t, Tensor) and t._rg for t in inputs)


def check_types(what: str, graph, values, side: str) -> None:
    """A sub-graph's inputs or outputs must have the node's types (verifier helper)."""
    from ember.ir.errors import GraphError

    got = [type_str(v) for v in getattr(graph, side)]
    want = [type_str(v) if isinstance(v, Value) else repr(v) for v in values]
    if got != want:
        raise GraphError(f"verify: {what}: sub-graph {graph.name} {side} {got} != {want}")
