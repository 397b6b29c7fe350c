"""User-defined differentiable functions: ``ember.autograd.Function``.

>>> import ember
>>> class Cube(ember.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x * x
...     @staticmethod
...     def backward(ctx, grad):
...         (x,) = ctx.saved_tensors
...         return grad * 3 * x * x
>>> x = ember.tensor([2.0], requires_grad=True)
>>> Cube.apply(x).sum().backward()
>>> x.grad
tensor([12.])
"""

from __future__ import annotations

import weakref

import numpy as np

from ember.core import anomaly
from ember.core.autograd import Node, edge_to
from ember.core.grad_mode import _enabled, no_grad
from ember.core.tensor import Tensor, _wrap
from ember.errors import AutogradError


class _SavedOutput:
    """An output saved with ``save_for_backward``: kept as its array (not the Tensor, which
    refers to the node that refers to the ctx: a reference cycle that would keep the graph
    alive until the garbage collector runs)."""

    __slots__ = ("data", "vc", "idx")

    def __init__(self, t: Tensor, idx: int):
        self.data, self.vc, self.idx = t._data, t._vc, idx


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``."""

    def __init__(self, needs_input_grad, name: str = "Function"):
        self.needs_input_grad = needs_input_grad
        self._name = name
        self._saved = ()
        self._versions = ()
        self._node = None  # weakref to the node, set when the outputs are saved
        self._non_diff = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors
        self._versions = tuple(t._vc[0] if isinstance(t, Tensor) else 0 for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise AutogradError(
                f"{self._name}: the saved tensors were freed after backward; pass "
                "retain_graph=True to backward through the function again"
            )
        out = []
        for i, (t, v) in enumerate(zip(self._saved, self._versions)):
            if isinstance(t, _SavedOutput):
                t = self._output(t)
            if isinstance(t, Tensor) and t._vc[0] != v:
                raise AutogradError(
                    f"{self._name}: tensor {i} saved by save_for_backward was modified by an "
                    f"in-place operation (version {v} when saved, now {t._vc[0]})"
                )
            out.append(t)
        return tuple(out)

    def _output(self, saved: _SavedOutput) -> Tensor:
        t = _wrap(saved.data)
        t._vc = saved.vc
        node = self._node() if self._node is not None else None
        if node is not None:  # part of the graph, so a create_graph backward can use it
            t._node, t._rg, t._out_idx = node, True, saved.idx
        return t

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = {id(t) for t in tensors}


class _FunctionNode(Node):
    """The node of a Function call: its saved tensors live on the ctx."""

    def name(self) -> str:
        return self.op.name + "Backward"

    def release(self) -> None:
        ctx = self.attrs["ctx"]
        if ctx._saved:
            ctx._saved = None
            self.freed = True


class _FunctionOp:
    """Adapts a Function subclass to the engine's op interface."""

    save_in = save_out = False

    def __init__(self, cls):
        self.cls = cls
        self.name = cls.__name__

    def vjp(self, g, out, *ins, ctx, n_in, metas):
        gs = g if isinstance(g, list) else [g]
        tensor_mode = any(isinstance(x, Tensor) for x in gs)
        if ctx.materialize_grads:
            gs = [np.zeros(s, d) if x is None else x for x, (s, d) in zip(gs, metas)]
        gs = [x if x is None or isinstance(x, Tensor) else _wrap(np.asarray(x)) for x in gs]
        res = self.cls.backward(ctx, *gs)
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != n_in:
            raise AutogradError(
                f"{self.name}.backward returned {len(res)} gradients but forward took {n_in} inputs"
            )
        for i, r in enumerate(res):
            if r is not None and not isinstance(r, Tensor):
                raise AutogradError(
                    f"{self.name}.backward: gradient {i} must be a Tensor or None, got "
                    f"{type(r).__name__}"
                )
        if tensor_mode:
            return res
        return tuple(r._data if r is not None else None for r in res)


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``apply``. ``backward`` returns one gradient (or None) per ``forward`` argument."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        needs = tuple(isinstance(a, Tensor) and a._rg for a in args)
        ctx = FunctionCtx(needs, cls.__name__)
        with no_grad():
            out = cls.forward(ctx, *args)
        if not (_enabled[0] and any(needs)):
            return out
        outs = out if isinstance(out, tuple) else (out,)
        if not all(isinstance(o, Tensor) for o in outs):
            raise AutogradError(
                f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors"
            )
        node = _make_node(cls, ctx, args, outs)
        results = []
        for i, o in enumerate(outs):
            src = o
            if o._node is not None or o._rg or any(o is a for a in args):
                o = _wrap(o._data)  # a fresh tensor object owns the new graph position
                o._vc, o._base = src._vc, src._base  # same storage: same version counter
            if id(src) not in ctx._non_diff and o._data.dtype.kind == "f":
                o._node, o._rg, o._out_idx = node, True, i
            results.append(o)
        _save_outputs(ctx, node, outs)
        return tuple(results) if isinstance(out, tuple) else results[0]


def _make_node(cls, ctx, args, outs) -> _FunctionNode:
    op = cls.__dict__.get("_ember_op")
    if op is None:
        op = _FunctionOp(cls)
        cls._ember_op = op
    edges = [edge_to(a) for a in args]
    metas = [(o._data.shape, o._data.dtype) for o in outs]
    attrs = {"ctx": ctx, "n_in": len(args), "metas": metas}
    node = _FunctionNode(op, attrs, tuple(edges), metas[0][0], metas[0][1])
    if anomaly._enabled[0]:
        node.src = anomaly.capture()
    if len(outs) > 1:
        node.n_out = len(outs)
        node.out_metas = metas
    return node


def _save_outputs(ctx, node, outs) -> None:
    """Replace saved outputs by their arrays (see ``_SavedOutput``)."""
    if not ctx._saved:
        return
    ids = {id(o): i for i, o in enumerate(outs)}
    saved = list(ctx._saved)
    for k, t in enumerate(saved):
        if isinstance(t, Tensor) and id(t) in ids:
            saved[k] = _SavedOutput(t, ids[id(t)])
            ctx._node = weakref.ref(node)
    ctx._saved = tuple(saved)
