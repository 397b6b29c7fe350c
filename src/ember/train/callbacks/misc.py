"""Small callbacks: ``TerminateOnNaN`` and ``LambdaCallback``.

>>> from ember.train.callbacks import LambdaCallback
>>> seen = []
>>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, logs["loss"])))
>>> cb.on_epoch_end(0, {"loss": 0.5}); seen
[(0, 0.5)]
"""

from __future__ import annotations

import math

from ember.errors import EmberValueError
from ember.train.callbacks.base import _HOOKS, Callback


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's running loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: pass any hook by name, e.g.
    ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``; the rest do nothing."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if name not in _HOOKS:
                raise EmberValueError(
                    f"LambdaCallback: unknown hook {name!r}; hooks are {', '.join(_HOOKS)}"
                )
            if fn is not None:
                setattr(self, name, fn)
