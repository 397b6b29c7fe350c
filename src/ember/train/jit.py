"""``model.compile(..., jit=True)``: ``fit`` runs each train step through ``ember.compile``.

The compiled part is the step's tensor work (forward, loss, zero_grad, backward, optimizer
step); metric updates read values into Python and stay outside it. The step is traced once
per batch signature (the last, smaller batch of an epoch gets its own graph) and the traced
calls are eager mode's own, so ``History``, metrics and callbacks see what an eager ``fit``
sees.

A step that cannot be traced (a forward that calls ``.item()``, a Python ``if`` on a tensor)
raises ``TraceError`` while tracing: the step then warns once, naming the reason, undoes what
the partial traced call changed (weights, buffers, gradients, the random state) and trains
eagerly from then on.

>>> import ember
>>> _ = ember.manual_seed(0)
>>> x, y = ember.randn(32, 4), ember.randint(0, 2, (32,))
>>> model = ember.nn.Linear(4, 2)
>>> model.compile("sgd", "cross_entropy", jit=True)
>>> h = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
>>> len(model.compiled.jit_step.fn.programs) >= 1
True
"""

from __future__ import annotations

import warnings

import numpy as np

from ember.core import random as _random
from ember.ir.errors import TraceError

__all__ = ["JitFallbackWarning", "JitStep"]


class JitFallbackWarning(UserWarning):
    """``fit`` with ``jit=True`` could not compile the train step and trains eagerly."""


class JitStep:
    """The compiled core of ``train_step`` for one model (built by the first step)."""

    def __init__(self, model, compiled):
        from ember.compiler.api import compile as ember_compile

        self.model = model
        self.compiled = compiled
        self.fn = ember_compile(self.core)
        self.failed: str | None = None  # why tracing failed, once it has
        self.calls: dict = {}  # batch signature -> calls so far (the first ones may trace)

    def core(self, x, y):
        """Forward, loss, backward and update: the part of the step that is compiled."""
        from ember.train.model_api import _forward

        c = self.compiled
        y_pred = _forward(self.model, x)
        loss = c.loss(y_pred, y)
        opt = c.optimizer
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss, y_pred

    def __call__(self, x, y):
        """``(loss, y_pred)`` of a compiled step, or None when the step must run eagerly."""
        if self.failed is not None:
            return None
        sig = _signature((x, y))
        n = self.calls.get(sig, 0)
        self.calls[sig] = n + 1
        # The first two calls of a signature trace (the optimizer's first step is not
        # cached): only those can fail, so only those pay for a snapshot.
        saved = _snapshot(self.model) if n < 2 else None
        try:
            return self.fn(x, y)
        except TraceError as exc:
            if saved is None:
                raise
            _restore(saved)
            self.failed = str(exc)
            warnings.warn(
                f"fit: jit=True could not compile the train step, training eagerly instead: {exc}",
                JitFallbackWarning,
                stacklevel=4,
            )
            return None


def _signature(obj):
    from ember.compiler.pytree import flatten

    leaves, spec = flatten(obj)
    return spec, tuple((t._data.shape, t._data.dtype) for t in leaves)


def _snapshot(model):
    """What a partial traced call may have changed: parameter and buffer contents, the
    ``.grad`` objects and their contents, and the default generator's state."""
    tensors = [t for t in list(model.parameters()) + list(model.buffers()) if t is not None]
    data = [(t, t._data.copy()) for t in tensors]
    grads = [(t, t._grad, None if t._grad is None else t._grad._data.copy()) for t in tensors]
    return data, grads, _random.get_rng_state()


def _restore(saved) -> None:
    data, grads, rng = saved
    for t, a in data:
        np.copyto(t._data, a)
    for t, g, a in grads:
        t._grad = g
        if g is not None:
            np.copyto(g._data, a)
    _random.set_rng_state(rng)
