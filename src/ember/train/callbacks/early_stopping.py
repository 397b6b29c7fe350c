"""``EarlyStopping``: stop ``fit`` when a monitored quantity stops improving (Keras's rules).

>>> import ember
>>> from ember.train.callbacks import EarlyStopping
>>> model = ember.nn.Linear(2, 1)
>>> es = EarlyStopping(monitor="val_loss", patience=1)
>>> es.set_model(model); model.stop_training = False; es.on_train_begin()
>>> for epoch, loss in enumerate([1.0, 0.8, 0.9, 0.85]):
...     es.on_epoch_end(epoch, {"val_loss": loss})
...     if model.stop_training:
...         break
>>> epoch, es.best, es.best_epoch
(2, 0.8, 1)
"""

from __future__ import annotations

import warnings

from ember.train.callbacks.base import Callback
from ember.train.callbacks.monitor import check_mode, maximize


def get_weights(model) -> dict:
    """A detached copy of every parameter and buffer."""
    return {k: v._data.copy() for k, v in model.state_dict().items()}


def set_weights(model, weights: dict) -> None:
    model.load_state_dict(weights)


class EarlyStopping(Callback):
    """Keras's ``EarlyStopping``.

    At each epoch end from ``start_from_epoch`` on, the value is an improvement when it beats
    the best so far by more than ``min_delta`` (``current - min_delta > best`` when
    maximizing, ``current + min_delta < best`` when minimizing). The wait count restarts on
    an improvement that also beats ``baseline`` (when given); training stops once ``patience``
    epochs have passed without one (never on epoch 0). With ``restore_best_weights`` the
    weights of the best epoch are put back when training ends (the first monitored epoch's if
    none improved). ``mode='auto'`` minimizes losses and errors and maximizes accuracy-like
    metrics (or what a compiled metric's ``direction`` says).
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.min_delta, self.mode = abs(min_delta), check_mode(mode, "EarlyStopping")
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()
        self._max = maximize(self.monitor, self.mode, self.model, "EarlyStopping")

    def _improves(self, value, reference) -> bool:
        if reference is None:
            return True
        if self._max:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping: monitor {self.monitor!r} is not in the logs (available: "
                f"{', '.join(logs or {})})",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = get_weights(self.model), epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = get_weights(self.model)
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                epoch = self.best_epoch + 1
                print(f"Restoring model weights from the end of the best epoch: {epoch}.")
            set_weights(self.model, self.best_weights)
