"""The ``Callback`` protocol (Keras's) and ``CallbackList``, which fans one event out to many.

>>> from ember.train.callbacks import Callback
>>> class Count(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         self.seen = epoch
>>> cb = Count()
>>> cb.on_epoch_end(3, {"loss": 0.5}); cb.seen
3
"""

from __future__ import annotations


class Callback:
    """Base class of training callbacks: override the hooks you need, the rest do nothing.

    ``fit``/``evaluate``/``predict`` call ``set_model(model)`` and ``set_params(params)``
    (``{"epochs", "steps", "verbose"}``) before the first hook. Epoch-end ``logs`` hold
    ``'loss'``, the metric names, ``'val_loss'``, ``'val_<metric>'`` and ``'lr'``; batch-end
    logs hold the running ``'loss'`` and metrics. Setting ``self.model.stop_training = True``
    stops ``fit`` after the current epoch.

    >>> cb = Callback()
    >>> cb.set_params({"epochs": 2, "steps": 10, "verbose": 0}); cb.params["epochs"]
    2
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList(Callback):
    """Several callbacks behaving as one; hooks no callback overrides cost nothing per batch.

    >>> from ember.train.callbacks import Callback, CallbackList
    >>> class Log(Callback):
    ...     def on_train_begin(self, logs=None):
    ...         print("begin")
    >>> CallbackList([Log(), Log()]).on_train_begin()
    begin
    begin
    """

    def __init__(self, callbacks=()):
        super().__init__()
        self.callbacks = list(callbacks)
        for name in _HOOKS:
            # Bind only the overriding callbacks, so un-used batch hooks are a cheap no-op loop.
            base = getattr(Callback, name)
            bound = [
                getattr(cb, name)
                for cb in self.callbacks
                if getattr(getattr(cb, name), "__func__", None) is not base
            ]
            setattr(self, name, _fanout(bound))

    def append(self, callback: Callback) -> None:
        self.__init__(self.callbacks + [callback])

    def set_model(self, model) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)


def _fanout(bound):
    if not bound:
        return lambda *args, **kwargs: None

    def call(*args, **kwargs):
        for fn in bound:
            fn(*args, **kwargs)

    return call
