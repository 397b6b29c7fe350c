"""Autograd for traced control-flow primitives.

Inside a trace the primitive's result is not computed by ops that autograd records (the
branch ran under its own tracer), so the result gets one autograd node whose backward is a
*rule*: a Python function of the node's inputs and the output cotangents that computes the
input gradients with the primitives themselves (cond's backward is a cond of the branches'
VJPs, scan's a reverse scan). Because the engine runs VJPs on Tensors while tracing, the
backward primitive is recorded as a node of the traced graph too.
"""

from __future__ import annotations

import numpy as np

from ember.core import trace_hooks
from ember.core.autograd import grad as autograd_grad
from ember.core.creation import zeros_like
from ember.core.function import Function
from ember.core.grad_mode import enable_grad
from ember.core.tensor import Tensor, _wrap


class _Diff(Function):
    """forward(ctx, rule, arrays, *inputs): the precomputed result; backward: the rule."""

    @staticmethod
    def forward(ctx, rule, arrays, *inputs):
        ctx.set_materialize_grads(False)
        ctx.rule = rule
        ctx.inputs = inputs
        ctx.metas = [(a.shape, a.dtype) for a in arrays]
        tracer = trace_hooks.tracer[0]
        ctx.tracer = tracer
        ctx.values = [tracer.values.get(id(t._data)) if tracer else None for t in inputs]
        return tuple(_wrap(a) for a in arrays)

    @staticmethod
    def backward(ctx, *cts):
        cts = [
            c if c is not None or np.dtype(d).kind != "f" else _zeros(s, d)
            for c, (s, d) in zip(cts, ctx.metas)
        ]
        grads = ctx.rule(_inputs_now(ctx), cts)
        return (None, None, *grads)


def attach(rule, inputs, arrays) -> list:
    """Tensors holding ``arrays``; differentiable through ``rule(inputs, cts)`` when grad
    mode is on and an input requires grad."""
    if not arrays:
        return []
    if any(isinstance(t, Tensor) and t._rg for t in inputs):
        from ember.core.grad_mode import _enabled

        if _enabled[0]:
            return list(_Diff.apply(rule, arrays, *inputs))
    return [_wrap(a) for a in arrays]


def _inputs_now(ctx) -> list:
    """The forward's inputs as tensors that hold, in the active trace, the values they held
    when the forward was recorded (an in-place change in between rebinds their arrays)."""
    tracer = trace_hooks.tracer[0]
    out = []
    for t, v in zip(ctx.inputs, ctx.values):
        if tracer is not None and tracer is ctx.tracer and v is not None:
            if tracer.values.get(id(t._data)) is not v:
                a = t._data.copy()
                tracer._bind(a, v)
                t = _wrap(a)
        out.append(t)
    return out


def _zeros(shape, dtype) -> Tensor:
    t = _wrap(np.zeros(shape, dtype))
    tracer = trace_hooks.tracer[0]
    if tracer is not None:
        tracer.constant(t)
    return t


def is_float(t) -> bool:
    a = t._data if isinstance(t, Tensor) else t
    return a.dtype.kind == "f"


def vjp_call(fn, inputs, diff_in, diff_out, cts) -> list:
    """Gradients of ``fn(*inputs)`` (a list of tensors) with respect to ``inputs[i]`` for i
    in ``diff_in``, seeded with ``cts`` for outputs ``diff_out``; zeros where unused."""
    ins = list(inputs)
    with enable_grad():
        for i in diff_in:
            ins[i] = ins[i].detach().requires_grad_()
        outs = fn(*ins)
        pairs = [(outs[j], c) for j, c in zip(diff_out, cts) if outs[j]._rg]
        if pairs and diff_in:
            gs = autograd_grad(
                [o for o, _ in pairs],
                [ins[i] for i in diff_in],
                [c for _, c in pairs],
                allow_unused=True,
            )
        else:
            gs = [None] * len(diff_in)
    return [zeros_like(ins[i]) if g is None else g for i, g in zip(diff_in, gs)]
