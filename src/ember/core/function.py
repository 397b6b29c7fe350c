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

import numpy as np

from ember.core import anomaly
from ember.core.autograd import Node
from ember.core.grad_mode import _enabled, no_grad
from ember.core.tensor import Tensor, _wrap
from ember.errors import AutogradError


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._versions = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors
        self._versions = tuple(t._vc[0] if isinstance(t, Tensor) else 0 for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise AutogradError(
                "saved_tensors: the saved tensors were freed after backward; pass "
                "retain_graph=True to backward through the function again"
            )
        for i, (t, v) in enumerate(zip(self._saved, self._versions)):
            if isinstance(t, Tensor) and t._vc[0] != v:
                raise AutogradError(
                    f"saved_tensors: tensor {i} saved by save_for_backward was modified by an "
                    f"in-place operation (version {v} when saved, now {t._vc[0]})"
                )
        return self._saved

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = {id(t) for t in tensors}


class _FunctionOp:
    """Adapts a Function subclass to the engine's op interface."""

    save_in = save_out = False

    def __init__(self, cls):
        self.cls = cls
        self.name = cls.__name__

    def vjp(self, g, out, *ins, ctx, n_in):
        tensor_mode = isinstance(g, Tensor) or (isinstance(g, list) and isinstance(g[0], Tensor))
        gs = g if isinstance(g, list) else [g]
        gs = [x if isinstance(x, Tensor) else _wrap(np.asarray(x)) for x in gs]
        res = self.cls.backward(ctx, *gs)
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != n_in:
            raise AutogradError(
                f"{self.name}.backward returned {len(res)} gradients but forward took {n_in} inputs"
            )
        if tensor_mode:
            return res
        return tuple(r._data if isinstance(r, Tensor) else r for r in res)


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
        ctx = FunctionCtx(needs)
        with no_grad():
            out = cls.forward(ctx, *args)
        if not (_enabled[0] and any(needs)):
            return out
        outs = out if isinstance(out, tuple) else (out,)
        if not all(isinstance(o, Tensor) for o in outs):
            raise AutogradError(
                f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors"
            )
        op = cls.__dict__.get("_ember_op") or _FunctionOp(cls)
        cls._ember_op = op
        edges = []
        for a in args:
            if isinstance(a, Tensor) and a._rg:
                n = a._node
                edges.append(a if n is None else (n if n.n_out == 1 else (n, a._out_idx)))
            else:
                edges.append(None)
        node = Node(
            op, {"ctx": ctx, "n_in": len(args)}, tuple(edges), outs[0].shape, outs[0]._data.dtype
        )
        if anomaly._enabled[0]:
            node.src = anomaly.capture()
        if len(outs) > 1:
            node.n_out = len(outs)
            node.out_metas = [(o._data.shape, o._data.dtype) for o in outs]
        non_diff = getattr(ctx, "_non_diff", ())
        results = []
        for i, o in enumerate(outs):
            if o._node is not None or o._rg or any(o is a for a in args):
                o = _wrap(o._data)  # a fresh tensor object owns the new graph position
            if id(outs[i]) not in non_diff and o._data.dtype.kind == "f":
                o._node, o._rg, o._out_idx = node, True, i
            results.append(o)
        return tuple(results) if isinstance(out, tuple) else results[0]
