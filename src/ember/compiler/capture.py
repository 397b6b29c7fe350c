"""Trace one call of a function into a ``Program``: a graph plus how to feed and unpack it.

The call runs eagerly under a ``Tracer`` (so its results and side effects are eager mode's);
afterwards the graph's outputs are the function's tensor results, then the new contents of
every tensor the call changed in place (parameters after ``optimizer.step()``, running
statistics, optimizer state), then every ``.grad`` the call set.
"""

from __future__ import annotations

import inspect

from ember.compiler.autodiff import record_backward, split
from ember.compiler.diff_program import DiffProgram
from ember.compiler.program import Program
from ember.compiler.pytree import flatten
from ember.core import grad_mode
from ember.core.tensor import Tensor
from ember.ir.errors import TraceError
from ember.ir.tracer import Tracer, tracing


def trace(fn, args, kwargs, leaves, name: str):
    """Run ``fn(*args, **kwargs)`` once, recording it. Returns (program, eager result)."""
    tracer = Tracer(name)
    _name_state(tracer, fn)
    for t, label in zip(leaves, _arg_names(fn, args, kwargs, len(leaves))):
        tracer.add_arg(t, label)
    with tracing(tracer):
        result = fn(*args, **kwargs)
        out_leaves, out_spec = flatten(result)
        outputs = [tracer.value_of(t) for t in out_leaves]
        bt = None
        if grad_mode._enabled[0] and not tracer.ran_backward:
            bt = record_backward(tracer, out_leaves)
        writes, grads = tracer.effects()
    graph = tracer.graph
    graph.outputs = outputs + [v for _, v in writes] + [v for _, v in grads if v is not None]
    parts = (
        tracer.captures,
        out_spec,
        [w for w, _ in writes],
        [(_grad_target(t, tracer), v is not None) for t, v in grads],
        tracer.guards,
    )
    if bt is None:
        program = Program(graph, *parts, n_args=len(leaves))
    else:
        fwd, bwd, saved = split(graph, bt)
        pos = {id(v): i for i, v in enumerate(graph.inputs)}
        saved_inputs = [_input_target(pos[id(v)], tracer) for v in saved if id(v) in pos]
        program = DiffProgram(
            fwd,
            *parts,
            n_args=len(leaves),
            backward=bt,
            n_saved=len(saved),
            saved_inputs=saved_inputs,
        )
        program.bwd_graph = bwd
    program.reusable = not tracer.unstable
    return program, result


def _grad_target(t, tracer):
    """An argument's ``.grad`` is set on the argument of each call, not the traced one."""
    for i, (_, a) in enumerate(tracer.args):
        if a is t:
            return ("arg", i)
    return t


def _input_target(i: int, tracer):
    n = len(tracer.args)
    return ("arg", i) if i < n else tracer.captures[i - n]


def _arg_names(fn, args, kwargs, n: int) -> list[str]:
    """``x``, ``y`` ... from the signature where each tensor argument is a plain parameter."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        if i < len(params) and params[i].kind <= params[i].POSITIONAL_OR_KEYWORD:
            base = params[i].name
        else:
            base = "x" if len(args) == 1 else f"x{i}"
        _leaf_names(a, base, names)
    for k, a in kwargs.items():
        _leaf_names(a, k, names)
    if len(names) != n:  # a structure the names cannot follow: number the inputs
        return [f"arg{i}" for i in range(n)]
    return names


def _leaf_names(obj, base: str, out: list) -> None:
    if isinstance(obj, Tensor):
        out.append(base)
    elif isinstance(obj, (tuple, list)):
        for i, x in enumerate(obj):
            _leaf_names(x, f"{base}_{i}", out)
    elif isinstance(obj, dict):
        for k, x in obj.items():
            _leaf_names(x, f"{base}_{k}", out)


def _name_state(tracer: Tracer, fn) -> None:
    """Readable input names for the parameters and buffers of the modules ``fn`` uses."""
    from ember.nn.module import Module

    for obj in _referenced_objects(fn):
        if isinstance(obj, Module):
            for n, p in obj.named_parameters():
                tracer.names.setdefault(id(p), n)
            for n, b in obj.named_buffers():
                tracer.names.setdefault(id(b), n)


def _referenced_objects(fn) -> list:
    """The module itself, its bound ``self``, closure cells and globals ``fn`` names."""
    objs = [fn, getattr(fn, "__self__", None)]
    code = getattr(fn, "__code__", None)
    if code is not None:
        for cell in fn.__closure__ or ():
            try:
                objs.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        g = getattr(fn, "__globals__", {})
        objs += [g[n] for n in code.co_names if n in g]
    return [o for o in objs if o is not None]


__all__ = ["TraceError", "trace"]
