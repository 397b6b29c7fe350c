"""Learning-rate callbacks: ``LearningRateScheduler``, ``ReduceLROnPlateau`` (Keras's), and
``SchedulerCallback`` to drive an ``ember.optim.lr_scheduler`` object from ``fit``.

They act on every parameter group of ``model.compiled.optimizer``.

>>> import ember
>>> from ember.train.callbacks import LearningRateScheduler
>>> model = ember.nn.Linear(2, 1)
>>> model.compile("sgd", "mse")
>>> cb = LearningRateScheduler(lambda epoch, lr: lr * 0.5)
>>> cb.set_model(model)
>>> for epoch in range(3):
...     cb.on_epoch_begin(epoch)
>>> model.compiled.optimizer.param_groups[0]["lr"]
0.00125
"""

from __future__ import annotations

import numbers
import warnings

from ember.errors import EmberValueError
from ember.train.callbacks.base import Callback
from ember.train.callbacks.monitor import check_mode, maximize


def _optimizer(model, who: str):
    compiled = model.__dict__.get("compiled") if model is not None else None
    if compiled is None or compiled.optimizer is None:
        raise EmberValueError(f"{who}: the model has no optimizer (compile it first)")
    return compiled.optimizer


def get_lr(model, who: str) -> float:
    return float(_optimizer(model, who).param_groups[0]["lr"])


def set_lr(model, lr: float, who: str) -> None:
    for group in _optimizer(model, who).param_groups:
        group["lr"] = lr


class LearningRateScheduler(Callback):
    """At each epoch start, set the lr to ``schedule(epoch, lr)`` (or ``schedule(epoch)`` for a
    one-argument function); ``epoch`` counts from 0."""

    def __init__(self, schedule, verbose: int = 0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = get_lr(self.model, "LearningRateScheduler")
        try:
            new = self.schedule(epoch, lr)
        except TypeError:  # Keras also accepts schedule(epoch)
            new = self.schedule(epoch)
        if not isinstance(new, numbers.Real) or isinstance(new, bool):
            raise EmberValueError(
                f"LearningRateScheduler: schedule must return a float, got {new!r}"
            )
        set_lr(self.model, float(new), "LearningRateScheduler")
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")


class ReduceLROnPlateau(Callback):
    """Keras's ``ReduceLROnPlateau``: multiply the lr by ``factor`` (down to ``min_lr``) once
    ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs, then wait
    ``cooldown`` epochs before counting again."""

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        super().__init__()
        if factor >= 1.0:
            raise EmberValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode, self.min_delta = check_mode(mode, "ReduceLROnPlateau"), min_delta
        self.cooldown, self.min_lr = cooldown, min_lr
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = None

    def on_train_begin(self, logs=None):
        self._reset()
        self._max = maximize(self.monitor, self.mode, self.model, "ReduceLROnPlateau")

    def _improves(self, current) -> bool:
        if self.best is None:
            return True
        if self._max:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau: monitor {self.monitor!r} is not in the logs (available: "
                f"{', '.join(logs or {})})",
                stacklevel=2,
            )
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improves(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _reduce(self, epoch: int) -> None:
        old = get_lr(self.model, "ReduceLROnPlateau")
        if old > self.min_lr:
            new = max(old * self.factor, self.min_lr)
            set_lr(self.model, new, "ReduceLROnPlateau")
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0


class SchedulerCallback(Callback):
    """Step an ``ember.optim.lr_scheduler`` scheduler from ``fit``: after every epoch
    (``interval='epoch'``, PyTorch's usual place) or every batch (``interval='step'``, e.g. for
    ``OneCycleLR``). A scheduler whose ``step`` takes a metric (``ReduceLROnPlateau``) is
    given the logs' ``monitor`` value (default ``'val_loss'``)."""

    def __init__(self, scheduler, interval: str = "epoch", monitor: str | None = None):
        super().__init__()
        if interval not in ("epoch", "step"):
            raise EmberValueError(
                f"SchedulerCallback: interval must be 'epoch' or 'step', got {interval!r}"
            )
        self.scheduler, self.interval = scheduler, interval
        needs_metric = type(scheduler).__name__ == "ReduceLROnPlateau"
        self.monitor = monitor or ("val_loss" if needs_metric else None)

    def _step(self, logs) -> None:
        if self.monitor is None:
            self.scheduler.step()
            return
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise EmberValueError(
                f"SchedulerCallback: monitor {self.monitor!r} is not in the logs (available: "
                f"{', '.join(logs or {})})"
            )
        self.scheduler.step(value)

    def on_train_batch_end(self, batch, logs=None):
        if self.interval == "step":
            self._step(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.interval == "epoch":
            self._step(logs)
