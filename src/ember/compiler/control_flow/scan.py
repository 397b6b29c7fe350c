"""``ember.scan``: a loop over slices of tensors with a carried state, one node when compiled.

Eagerly it is a Python loop (differentiable like any eager code). Inside ``ember.compile``
the combine function is traced once into a sub-graph and the ``scan`` node runs it for every
slice. Its gradient is a reverse scan (see ``_rule``).
"""

from __future__ import annotations

import numpy as np

from ember.compiler.control_flow import subgraph as sg
from ember.compiler.control_flow.grad import attach, is_float, vjp_call
from ember.compiler.control_flow.runtime import interpreted, run_scan
from ember.core import trace_hooks
from ember.core.creation import zeros_like
from ember.core.tensor import Tensor, _wrap
from ember.ir import verify as _verify
from ember.ir.errors import GraphError, TraceError


def scan(combine_fn, init, xs, dim: int = 0, reverse: bool = False):
    """Fold ``combine_fn(carry, x_slice) -> (new_carry, y_slice)`` over dim ``dim`` of ``xs``.

    ``init`` and ``xs`` are tensors or tuples of tensors (every ``xs`` tensor has the same
    length along ``dim``). Returns ``(final_carry, ys)`` with the ``y_slice``s stacked along
    ``dim``; ``ys[i]`` is the output of the step that read ``xs[i]`` (``reverse=True`` runs
    the steps from the last slice to the first). Differentiable.

    >>> import ember
    >>> xs = ember.tensor([1.0, 2.0, 3.0])
    >>> ember.scan(lambda c, x: (c + x, c * x), ember.tensor(0.0), xs)
    (tensor(6.), tensor([0., 2., 9.]))
    """
    c_leaves, c_spec = sg.tensor_leaves(init, "scan: init")
    x_leaves, x_spec = sg.tensor_leaves(xs, "scan: xs")
    n = _length(x_leaves, dim)
    fn = _flat_body(combine_fn, c_spec, x_spec, len(c_leaves))
    if trace_hooks.tracer[0] is None:
        outs = _eager(fn, c_leaves, x_leaves, n, dim, reverse)
        y_spec = outs.pop()
    else:
        outs, y_spec = _traced(fn, c_leaves, x_leaves, n, dim, reverse)
    nc = len(c_leaves)
    return sg.unflatten(c_spec, outs[:nc]), sg.unflatten(y_spec, outs[nc:])


def _length(xs, dim) -> int:
    if not xs:
        raise ValueError("scan: xs must hold at least one tensor")
    lengths = set()
    for i, x in enumerate(xs):
        if x._data.ndim == 0 or not -x._data.ndim <= dim < x._data.ndim:
            raise ValueError(f"scan: xs[{i}] of shape {tuple(x.shape)} has no dim {dim}")
        lengths.add(x._data.shape[dim])
    if len(lengths) != 1:
        raise ValueError(f"scan: the xs have different lengths along dim {dim}: {sorted(lengths)}")
    (n,) = lengths
    if n == 0:
        raise ValueError(f"scan: xs have length 0 along dim {dim}: nothing to scan")
    return n


def _flat_body(combine_fn, c_spec, x_spec, nc):
    """combine_fn as a function of leaves: (*carry, *x) -> (carry leaves, y leaves, y spec)."""

    def fn(*leaves):
        res = combine_fn(sg.unflatten(c_spec, leaves[:nc]), sg.unflatten(x_spec, leaves[nc:]))
        if not isinstance(res, tuple) or len(res) != 2:
            raise TraceError("scan: combine_fn must return a pair (new_carry, y)")
        new, new_spec = sg.tensor_leaves(res[0], "scan: combine_fn's new carry")
        ys, y_spec = sg.tensor_leaves(res[1], "scan: combine_fn's y")
        if new_spec != c_spec or len(new) != nc:
            raise TraceError("scan: combine_fn's new carry must have the structure of init")
        for i, (a, b) in enumerate(zip(new, leaves[:nc])):
            if sg.meta_str(a) != sg.meta_str(b):
                raise TraceError(
                    f"scan: carry {i} enters combine_fn as {sg.meta_str(b)} but comes back "
                    f"as {sg.meta_str(a)}; the carry must keep its shape and dtype"
                )
        return new, ys, y_spec

    return fn


def _slice(x, dim, i):
    d = dim % (x._data if isinstance(x, Tensor) else x).ndim
    return x[(slice(None),) * d + (i,)]


def _eager(fn, carry, xs, n, dim, reverse) -> list:
    from ember.api.joining import stack

    steps: list = [None] * n
    for i in range(n - 1, -1, -1) if reverse else range(n):
        carry, ys, y_spec = fn(*carry, *(_slice(x, dim, i) for x in xs))
        steps[i] = ys
    ys = [stack([s[j] for s in steps], dim=dim % (y.ndim + 1)) for j, y in enumerate(steps[0])]
    return [*carry, *ys, y_spec]


def _traced(fn, carry, xs, n, dim, reverse):
    first = n - 1 if reverse else 0
    slices = [_wrap(np.array(_slice(x._data, dim, first))) for x in xs]
    spec_box = []

    def flat(*leaves):
        new, ys, y_spec = fn(*leaves)
        spec_box.append(y_spec)
        return [*new, *ys]

    tr = sg.trace_fn(flat, [*carry, *slices], "combine_fn", "scan: combine_fn", _as_list)
    caps = sg.close([tr])
    nc, nx = len(carry), len(xs)
    attrs = {"dim": dim, "reverse": reverse, "n_carry": nc, "n_xs": nx}
    body = interpreted(tr.graph)
    arrays = sg.fresh(run_scan(body, _data(carry), _data(xs), _data(caps), dim, reverse))
    inputs = [*carry, *xs, *caps]
    sg.record("scan", inputs, attrs, {"combine_fn": tr.graph}, arrays)
    return attach(_rule(tr.graph, attrs), inputs, arrays), spec_box[-1]


def _as_list(r):
    return list(r), None


def _data(ts) -> list:
    return [t._data for t in ts]


def _rule(graph, attrs):
    """The backward: a scan recomputing the carry before each step, then a scan in the
    opposite direction pulling the cotangents back through each step (both along dim 0 of
    tensors moved there, so slices and stacks line up whatever their rank)."""
    nc, nx, dim, reverse = (attrs[k] for k in ("n_carry", "n_xs", "dim", "reverse"))

    def rule(inputs, cts):
        from ember.api.shape import movedim

        carry, xs, caps = inputs[:nc], inputs[nc : nc + nx], inputs[nc + nx :]
        fc = [i for i in range(nc) if is_float(carry[i])]
        fx = [i for i in range(nx) if is_float(xs[i])]
        fcap = [j for j, t in enumerate(caps) if is_float(t)]
        fy = [j for j in range(len(cts) - nc) if cts[nc + j] is not None]
        if not (fc or fx or fcap):
            return [None] * len(inputs)
        xs0 = [movedim(x, dim % x.ndim, 0) for x in xs]
        _, hist = scan(_hist_step(graph, nc, caps), tuple(carry), tuple(xs0), 0, reverse)
        cty = [movedim(cts[nc + j], dim % cts[nc + j].ndim, 0) for j in fy]
        state = (*(cts[i] for i in fc), *(zeros_like(caps[j]) for j in fcap))
        back = _back_step(graph, (nc, nx), (fc, fx, fcap, fy), caps)
        final, gxs = scan(back, state, (*xs0, *hist, *cty), 0, not reverse)
        grads = [None] * len(inputs)
        for i, g in zip(fc, final[: len(fc)]):
            grads[i] = g
        for i, g in zip(fx, gxs):
            grads[nc + i] = movedim(g, 0, dim % xs[i].ndim)
        for j, g in zip(fcap, final[len(fc) :]):
            grads[nc + nx + j] = g
        return grads

    return rule


def _hist_step(graph, nc, caps):
    """combine step whose y is the carry it was given (the carries before each step)."""

    def step(c, x):
        out = sg.replay(graph, [*c, *x, *caps])
        return tuple(out[:nc]), tuple(c)

    return step


def _back_step(graph, counts, floats, caps):
    """One reverse step: state = (carry cotangents, capture gradient sums); slice = (x, the
    carry before the step, y cotangent); y = the x gradient."""
    nc, nx = counts
    fc, fx, fcap, fy = floats
    diff_in = fc + [nc + i for i in fx] + [nc + nx + j for j in fcap]
    diff_out = fc + [nc + j for j in fy]
    k1, k2 = len(fc), len(fc) + len(fx)

    def step(state, sl):
        x, c, cty = sl[:nx], sl[nx : nx + nc], sl[nx + nc :]
        ins = [*c, *x, *caps]
        gs = vjp_call(sg.graph_fn(graph), ins, diff_in, diff_out, [*state[:k1], *cty])
        acc = [a + g for a, g in zip(state[k1:], gs[k2:])]
        return (*gs[:k1], *acc), tuple(gs[k1:k2])

    return step


def _replay(node, args):
    nc, nx = node.attrs["n_carry"], node.attrs["n_xs"]
    graph, caps = node.subgraphs["combine_fn"], args[nc + nx :]

    def step(c, x):
        out = sg.replay(graph, [*c, *x, *caps])
        return tuple(out[:nc]), tuple(out[nc:])

    carry, ys = scan(
        step, tuple(args[:nc]), tuple(args[nc : nc + nx]), node.attrs["dim"], node.attrs["reverse"]
    )
    return [*carry, *ys]


def _verify_scan(node) -> None:
    g = node.subgraphs.get("combine_fn")
    if g is None:
        raise GraphError("verify: scan node has no combine_fn sub-graph")
    nc = node.attrs["n_carry"]
    if len(g.inputs) != len(node.inputs) or len(g.outputs) != len(node.outputs):
        raise GraphError(
            f"verify: scan: combine_fn takes {len(g.inputs)} inputs and returns "
            f"{len(g.outputs)} for a node of {len(node.inputs)} inputs, {len(node.outputs)} outputs"
        )
    nx = node.attrs["n_xs"]
    carry_in = _Part(g.inputs[:nc] + g.inputs[nc + nx :], "inputs")
    sg.check_types("scan", carry_in, node.inputs[:nc] + node.inputs[nc + nx :], "inputs")
    sg.check_types("scan", _Part(g.outputs[:nc], "outputs"), node.outputs[:nc], "outputs")
    _verify.verify(g)


class _Part:
    """A slice of a sub-graph's inputs or outputs, for ``check_types``."""

    name = "combine_fn"

    def __init__(self, values, side):
        setattr(self, side, values)


sg.REPLAY["scan"] = _replay
_verify.CUSTOM["scan"] = _verify_scan
