"""Elementwise fusion: chains of elementwise ops of one shape become one ``fused`` node.

The fused node holds its chain as the sub-graph ``body`` (printed under the node by
``graph.print()``, run node by node by the interpreter, checked by the verifier). Its inputs
are the values the chain reads from outside, its outputs the chain's values read after it or
returned by the graph. NumPy cannot fuse loops, so the backend opens the chain up again
(``ember.backends.numpy.flat``): what fusion buys is that the chain's temporaries die inside
it, so the memory planner runs the chain in place in one preallocated buffer.

A node joins the group of a value it reads when it has the group's shape and no node outside
the group has read the group's values yet (emitting the group at its last member's position
must not move a value after one of its readers). A node reading two such groups joins them
into one: Adam's two moment updates and its parameter update become a single chain.

A ``linear(x, w, b)`` read by an elementwise node is first split into ``linear(x, w)`` and
``add(_, b)``, so the bias joins the chain after it (bias + relu in one pass). The bits are
the same: the registry's linear adds its bias after the GEMM as its own step.

A chain may end in column sums: a float ``sum`` over the leading axes of one of its values
(a bias gradient, summed over the batch) is moved up to just after the node that computes
that value (it reads nothing else, so the move is legal) and joins its chain. The C backend
then adds each row into the sums while the values are still in registers, in the order the
eager ``sum`` adds them (``ember.ops.row_sum``: rows in order), so the bits stay the same.

>>> import numpy as np
>>> from ember.ir import Graph, run_graph
>>> g = Graph()
>>> x = g.add_input(np.float32, (3,), "x")
>>> a = g.add_node("mul", [x, 2.0]).outputs[0]
>>> g.outputs = [g.add_node("exp", [a]).outputs[0]]
>>> f = fuse(g)
>>> [n.op for n in f.nodes], [n.op for n in f.nodes[0].subgraphs["body"].nodes]
(['fused'], ['mul', 'exp'])
>>> xs = [np.arange(3, dtype=np.float32)]
>>> np.testing.assert_array_equal(run_graph(f, xs)[0], run_graph(g, xs)[0])
"""

from __future__ import annotations

import numpy as np

from ember.backends.numpy.flat import FUSED
from ember.ir import interpreter, verify
from ember.ir.errors import GraphError, where
from ember.ir.graph import Graph, Node, Value
from ember.ops import registry

# Ops that compute each output element from the same element of their (broadcast) inputs.
ELEMENTWISE = frozenset(
    [n for n, o in registry.OPS.items() if isinstance(o.forward, np.ufunc)]
    + ["relu", "where", "div", "cast", "sigmoid"]
)


def fuse(graph):
    """Group elementwise chains into ``fused`` nodes (a new graph; the input is untouched)."""
    g = graph.copy()
    _split_biases(g)
    _hoist_column_sums(g)
    groups = _groups(g)
    escaping = {v for v in g.outputs if isinstance(v, Value)}
    readers = _readers(g)
    nodes = []
    for node in g.nodes:
        group = groups.get(node)
        if group is None or len(group) < 2:
            nodes.append(node)
        elif node is group[-1]:
            nodes.append(_fused_node(group, readers, escaping))
    g.nodes = nodes
    return g


def _split_biases(g) -> None:
    """Split, in place, each float linear with a bias that an elementwise node reads."""
    readers = _readers(g)
    nodes = []
    for node in g.nodes:
        y = node.outputs[0] if node.op == "linear" and len(node.inputs) == 3 else None
        if y is None or not any(_fusible(r) for r in readers.get(y, ())):
            nodes.append(node)
            continue
        x, w, b = node.inputs
        if y.dtype.kind != "f" or y.dtype.itemsize < 4 or b.shape != (w.shape[0],):
            nodes.append(node)  # float16 adds its bias in float32 before rounding
            continue
        gemm = Node("linear", [x, w], node.attrs, loc=node.loc)
        gemm.outputs = [Value(y.dtype, y.shape, g.fresh_name(), producer=gemm)]
        bias = Node("add", [gemm.outputs[0], b], loc=node.loc)
        bias.outputs = [y]
        y.producer = bias
        nodes += [gemm, bias]
    g.nodes = nodes


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def column_sum_split(node):
    """``k`` when ``node`` sums a float32/64 value over its leading ``k`` axes with at least
    two columns (the trailing dims, static), else None: the sums a chain may end in. One
    column is left out, as ``row_sum`` leaves it to NumPy's pairwise sum."""
    if node.op != "sum" or set(node.attrs) != {"axis", "keepdims"} or len(node.inputs) != 1:
        return None
    x, axis = node.inputs[0], node.attrs["axis"]
    if not isinstance(x, Value) or x.dtype not in _FLOATS or not isinstance(axis, tuple):
        return None
    k = len(axis)
    if not 0 < k < x.ndim or axis != tuple(range(k)):
        return None
    cols = x.shape[k:]
    if not all(isinstance(d, int) for d in cols) or int(np.prod(cols)) < 2:
        return None
    return k


def _hoist_column_sums(g) -> None:
    """Move, in place, each column sum of an elementwise node's result to just after that
    node, so that no outside reader of the chain comes between them."""
    after: dict = {}  # producer -> the sums moved behind it
    for node in g.nodes:
        if column_sum_split(node) is not None:
            p = node.inputs[0].producer
            if p is not None and _fusible(p):
                after.setdefault(p, []).append(node)
    moved = {id(n) for sums in after.values() for n in sums}
    nodes = []
    for node in g.nodes:
        if id(node) not in moved:
            nodes.append(node)
            nodes.extend(after.get(node, ()))
    g.nodes = nodes


def _groups(g) -> dict:
    """{node: its group (a list of nodes in order)} for the elementwise nodes."""
    group_of: dict = {}  # node -> group
    sealed: set = set()  # ids of groups some outside node has read
    position = {node: i for i, node in enumerate(g.nodes)}
    for node in g.nodes:
        producers = [x.producer for x in node.input_values() if x.producer in group_of]
        joined = None
        if _fusible(node):
            open_groups: list = []  # the unsealed groups of this shape it reads, latest first
            for p in reversed(producers):
                grp = group_of[p]
                fits = grp[0].outputs[0].shape == node.outputs[0].shape
                if fits and id(grp) not in sealed and all(grp is not o for o in open_groups):
                    open_groups.append(grp)
            joined = open_groups[0] if open_groups else []
            # Chains that meet here become one (Adam's two moments and its update): no
            # outside node has read either yet, so both can run at this node's position.
            for other in open_groups[1:]:
                joined += other
                for member in other:
                    group_of[member] = joined
            if len(open_groups) > 1:
                joined.sort(key=position.__getitem__)
            joined.append(node)
            group_of[node] = joined
        elif column_sum_split(node) is not None and producers:
            grp = group_of[producers[0]]
            if id(grp) not in sealed and grp[0].outputs[0].shape == node.inputs[0].shape:
                joined = grp  # the chain's last member (see _hoist_column_sums)
                joined.append(node)
                group_of[node] = joined
        for p in producers:
            if group_of[p] is not joined:
                sealed.add(id(group_of[p]))
    return group_of


def _fusible(node) -> bool:
    if node.op not in ELEMENTWISE or len(node.outputs) != 1 or node.subgraphs:
        return False
    o = node.outputs[0]
    return o.ndim > 0 and all(v.dtype.kind in "biuf" for v in node.input_values())


def _readers(g) -> dict:
    out: dict = {}
    for n in g.nodes:
        for x in n.input_values():
            out.setdefault(x, set()).add(n)
    return out


def _fused_node(group, readers, escaping) -> Node:
    members = set(group)
    body = Graph(FUSED)
    inner: dict = {}  # outer value -> body value
    ext = []
    for n in group:
        for x in n.input_values():
            if x not in inner and x.producer not in members:
                inner[x] = body.add_input(x.dtype, x.shape, f"a{len(ext)}")
                ext.append(x)
        ins = [inner[x] if isinstance(x, Value) else x for x in n.inputs]
        o = n.outputs[0]
        b = body.add_node(n.op, ins, n.attrs, shape=o.shape, dtype=o.dtype, loc=n.loc)
        inner[o] = b.outputs[0]
    outs = [
        n.outputs[0]
        for n in group
        if n.outputs[0] in escaping or any(r not in members for r in readers.get(n.outputs[0], ()))
    ]
    body.outputs = [inner[o] for o in outs]
    fused = Node(FUSED, ext, subgraphs={"body": body}, loc=group[-1].loc)
    for o in outs:
        o.producer = fused
    fused.outputs = outs
    return fused


def _body(node):
    return node.subgraphs["body"]


def _verify_fused(node) -> None:
    body = node.subgraphs.get("body")
    if body is None:
        raise GraphError(f"verify: fused node (created at {where(node.loc)}) has no body")
    try:
        verify.verify(body)
    except GraphError as exc:
        raise GraphError(
            f"in the body of fused node (created at {where(node.loc)}): {exc}"
        ) from None
    pairs = list(zip(node.inputs, body.inputs)) + list(zip(node.outputs, body.outputs))
    if len(node.inputs) != len(body.inputs) or len(node.outputs) != len(body.outputs):
        raise GraphError(
            f"verify: fused node (created at {where(node.loc)}) has {len(node.inputs)} inputs "
            f"and {len(node.outputs)} outputs, its body {len(body.inputs)} and "
            f"{len(body.outputs)}"
        )
    for outer, b in pairs:
        if not isinstance(outer, Value) or outer.type_str() != b.type_str():
            raise GraphError(
                f"verify: fused node (created at {where(node.loc)}) passes {outer!r} where its "
                f"body expects %{b.name}: {b.type_str()}"
            )
    shape = body.nodes[0].outputs[0].shape if body.nodes else None
    for n in body.nodes:
        if n.op in ELEMENTWISE:
            continue
        if column_sum_split(n) is None or n.inputs[0].shape != shape:
            raise GraphError(
                f"verify: fused body holds {n.op}, which is neither elementwise nor a sum "
                f"of the chain's values over their leading axes"
            )


interpreter.INLINE[FUSED] = _body
verify.CUSTOM[FUSED] = _verify_fused
