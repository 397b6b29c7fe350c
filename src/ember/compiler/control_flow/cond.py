"""``ember.cond``: a data-dependent branch that compiles into one graph node.

Eagerly it is a Python ``if``. Inside ``ember.compile`` both branches are traced into
sub-graphs and one ``cond`` node chooses between them at run time, so one cached graph serves
both outcomes. Its gradient is a ``cond`` of the branches' VJPs.
"""

from __future__ import annotations

import numpy as np

from ember.compiler.control_flow import subgraph as sg
from ember.compiler.control_flow.grad import attach, is_float, vjp_call
from ember.core import trace_hooks
from ember.core.tensor import Tensor
from ember.ir import verify as _verify
from ember.ir.errors import GraphError


def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``.

    ``pred`` is a Python bool or a one-element tensor (bool or number); both branches must
    return the same structure of tensors with the same shapes and dtypes. Differentiable.

    >>> import ember
    >>> x = ember.tensor([1.0, -2.0])
    >>> ember.cond(x.sum() > 0, lambda x: x * 2, lambda x: -x, (x,))
    tensor([-1.,  2.])
    >>> f = ember.compile(lambda x: ember.cond(x.sum() > 0, lambda x: x * 2, lambda x: -x, (x,)))
    >>> f(ember.tensor([3.0, 1.0])), f(x)
    (tensor([6., 2.]), tensor([-1.,  2.]))
    """
    operands = _operands(operands)
    if not isinstance(pred, Tensor):
        if not isinstance(pred, (bool, int, np.bool_, np.integer)):
            raise TypeError(
                f"cond: pred must be a Python bool or a one-element tensor, got "
                f"{type(pred).__name__}"
            )
        return true_fn(*operands) if pred else false_fn(*operands)
    if pred._data.size != 1:
        raise ValueError(
            f"cond: pred must have exactly one element, got shape {tuple(pred._data.shape)}"
        )
    if trace_hooks.tracer[0] is None:
        return true_fn(*operands) if bool(pred._data.reshape(-1)[0]) else false_fn(*operands)
    return _traced(pred, true_fn, false_fn, operands)


def _operands(operands) -> list:
    if isinstance(operands, Tensor):
        operands = (operands,)
    if not isinstance(operands, (tuple, list)):
        raise TypeError(f"cond: operands must be a tuple of tensors, got {type(operands).__name__}")
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"cond: operand {i} must be a Tensor, got {type(t).__name__}")
    return list(operands)


def _traced(pred, true_fn, false_fn, operands):
    tt = sg.trace_fn(true_fn, operands, "true_fn", "cond: true_fn")
    with np.errstate(all="ignore"):  # the branch not taken may see data it is not meant for
        tf = sg.trace_fn(false_fn, operands, "false_fn", "cond: false_fn")
    sg.check_same("cond", ("true_fn", "false_fn"), (tt.leaves, tt.spec), (tf.leaves, tf.spec))
    caps = sg.close([tt, tf])
    arrays = sg.fresh((tt if bool(pred._data.reshape(-1)[0]) else tf).arrays)
    inputs = [pred, *operands, *caps]
    subgraphs = {"true_fn": tt.graph, "false_fn": tf.graph}
    sg.record("cond", inputs, {}, subgraphs, arrays)
    outs = attach(_rule(tt.graph, tf.graph), inputs, arrays)
    return sg.unflatten(tt.spec, outs)


def _rule(g_true, g_false):
    """The backward: ``cond(pred, vjp(true_fn), vjp(false_fn), operands + cotangents)``."""

    def rule(inputs, cts):
        pred, args = inputs[0], inputs[1:]
        diff_in = [i for i, t in enumerate(args) if is_float(t)]
        diff_out = [j for j, c in enumerate(cts) if c is not None]
        seeds = [cts[j] for j in diff_out]
        if not diff_in:
            return [None] * len(inputs)
        n = len(args)

        def branch_vjp(graph):
            def fn(*a):
                return tuple(vjp_call(sg.graph_fn(graph), a[:n], diff_in, diff_out, a[n:]))

            return fn

        gs = cond(pred, branch_vjp(g_true), branch_vjp(g_false), (*args, *seeds))
        gs = [gs] if isinstance(gs, Tensor) else list(gs)
        out = [None] * len(inputs)
        for i, g in zip(diff_in, gs):
            out[1 + i] = g
        return out

    return rule


def _replay(node, args):
    fns = [sg.graph_fn(node.subgraphs[k]) for k in ("true_fn", "false_fn")]
    out = cond(args[0], *fns, tuple(args[1:]))
    return [out] if isinstance(out, Tensor) else list(out)


def _verify_cond(node) -> None:
    for key in ("true_fn", "false_fn"):
        g = node.subgraphs.get(key)
        if g is None:
            raise GraphError(f"verify: cond node %{node.outputs[0].name} has no {key} sub-graph")
        sg.check_types("cond", g, node.inputs[1:], "inputs")
        sg.check_types("cond", g, node.outputs, "outputs")
        _verify.verify(g)


sg.REPLAY["cond"] = _replay
_verify.CUSTOM["cond"] = _verify_cond
