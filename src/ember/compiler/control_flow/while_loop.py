"""``ember.while_loop``: a loop with a data-dependent trip count, one node when compiled.

Eagerly it is a Python ``while`` (and so differentiable like any eager code). Inside
``ember.compile`` the condition and the body are traced into sub-graphs and the ``while_loop``
node runs them until the condition is false, so one graph serves every trip count.

Gradients through a compiled while_loop use ``backward.while_vjp``: the backward counts the
trips, then walks them in reverse, recomputing each step's carry from the initial one (the
forward saves nothing: O(n^2) body evaluations for n trips, fine for short loops such as
Newton iterations; a long differentiable loop is better written with ``ember.scan``).
"""

from __future__ import annotations

from ember.compiler.control_flow import subgraph as sg
from ember.compiler.control_flow.grad import attach
from ember.compiler.control_flow.runtime import interpreted, run_while
from ember.core import trace_hooks
from ember.core.tensor import Tensor
from ember.ir import verify as _verify
from ember.ir.errors import GraphError, TraceError


def while_loop(cond_fn, body_fn, carried_inputs):
    """Repeat ``carried = body_fn(*carried)`` while ``cond_fn(*carried)`` is true.

    ``carried_inputs`` is a tuple of tensors; ``cond_fn`` returns a one-element tensor (bool
    or number); ``body_fn`` returns new values with the same shapes and dtypes. Returns the
    final carried values (a tuple).

    >>> import ember
    >>> def count(x, limit):
    ...     return ember.while_loop(lambda i, x: x < limit, lambda i, x: (i + 1, x * 2),
    ...                             (ember.tensor(0), x))
    >>> count(ember.tensor(3.0), 100.0)
    (tensor(6), tensor(192.))
    >>> fast = ember.compile(count)
    >>> fast(ember.tensor(3.0), 100.0)[0], fast(ember.tensor(60.0), 100.0)[0]
    (tensor(6), tensor(1))
    """
    carried = _carried(carried_inputs)
    if trace_hooks.tracer[0] is None:
        return _eager(cond_fn, body_fn, carried)
    return _traced(cond_fn, body_fn, carried)


def _carried(carried) -> tuple:
    if isinstance(carried, Tensor):
        carried = (carried,)
    if not isinstance(carried, (tuple, list)) or not all(isinstance(t, Tensor) for t in carried):
        raise TypeError("while_loop: carried_inputs must be a tuple of tensors")
    return tuple(carried)


def _eager(cond_fn, body_fn, carried):
    carry = carried
    while _pred(cond_fn(*carry), "while_loop: cond_fn"):
        new = body_fn(*carry)
        new = (new,) if isinstance(new, Tensor) else tuple(new)
        _check_body(new, carry)
        carry = new
    return carry


def _pred(p, what: str) -> bool:
    if isinstance(p, (bool, int)):
        return bool(p)
    if not isinstance(p, Tensor) or p._data.size != 1:
        shape = tuple(p._data.shape) if isinstance(p, Tensor) else type(p).__name__
        raise TypeError(f"{what} must return a one-element tensor, got {shape}")
    return bool(p._data.reshape(-1)[0])


def _check_body(new, carry) -> None:
    if len(new) != len(carry):
        raise TraceError(
            f"while_loop: body_fn returned {len(new)} values for {len(carry)} carried inputs"
        )
    for i, (a, b) in enumerate(zip(new, carry)):
        if not isinstance(a, Tensor) or sg.meta_str(a) != sg.meta_str(b):
            got = sg.meta_str(a) if isinstance(a, Tensor) else type(a).__name__
            raise TraceError(
                f"while_loop: body_fn output {i} is {got} but carried input {i} is "
                f"{sg.meta_str(b)}; the body must keep shapes and dtypes"
            )


def _traced(cond_fn, body_fn, carried):
    tc = sg.trace_fn(cond_fn, carried, "cond_fn", "while_loop: cond_fn", _cond_out)
    tb = sg.trace_fn(body_fn, carried, "body_fn", "while_loop: body_fn", _body_out)
    _check_body(tb.leaves, carried)
    caps = sg.close([tc, tb])
    n = len(carried)
    run = _runner(tc.graph, tb.graph, n)
    arrays = sg.fresh(run(*(t._data for t in carried), *(c._data for c in caps)))
    inputs = [*carried, *caps]
    subgraphs = {"cond_fn": tc.graph, "body_fn": tb.graph}
    sg.record("while_loop", inputs, {"n_carry": n}, subgraphs, arrays)
    from ember.compiler.control_flow.while_grad import while_rule

    return tuple(attach(while_rule(tc.graph, tb.graph, n), inputs, arrays))


def _runner(g_cond, g_body, n):
    c, b = interpreted(g_cond), interpreted(g_body)
    return lambda *a: run_while(c, b, a[:n], a[n:])


def _cond_out(p):
    if not isinstance(p, Tensor) or p._data.size != 1:
        shape = tuple(p._data.shape) if isinstance(p, Tensor) else type(p).__name__
        raise TraceError(f"while_loop: cond_fn must return a one-element tensor, got {shape}")
    return [p], None


def _body_out(r):
    return sg.tensor_leaves((r,) if isinstance(r, Tensor) else tuple(r), "while_loop: body_fn")


def _replay(node, args):
    n = node.attrs["n_carry"]
    c, b = (sg.graph_fn(node.subgraphs[k]) for k in ("cond_fn", "body_fn"))
    caps = tuple(args[n:])
    return list(while_loop(lambda *a: c(*a, *caps)[0], lambda *a: b(*a, *caps), tuple(args[:n])))


def _verify_while(node) -> None:
    n = node.attrs.get("n_carry")
    for key in ("cond_fn", "body_fn"):
        g = node.subgraphs.get(key)
        if g is None:
            raise GraphError(f"verify: while_loop node has no {key} sub-graph")
        sg.check_types("while_loop", g, node.inputs, "inputs")
        _verify.verify(g)
    sg.check_types("while_loop", node.subgraphs["body_fn"], node.outputs, "outputs")
    if len(node.outputs) != n:
        raise GraphError(f"verify: while_loop has {len(node.outputs)} outputs, n_carry={n}")
    (p,) = node.subgraphs["cond_fn"].outputs
    if p.ndim and p.shape != (1,) * p.ndim:
        raise GraphError(f"verify: while_loop cond_fn returns {p.type_str()}, not one element")


sg.REPLAY["while_loop"] = _replay
_verify.CUSTOM["while_loop"] = _verify_while
