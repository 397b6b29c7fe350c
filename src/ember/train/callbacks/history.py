"""``History``: every epoch's logs, kept by ``fit`` (which returns it).

>>> from ember.train.callbacks import History
>>> h = History()
>>> h.on_train_begin()
>>> for e, loss in enumerate([0.9, 0.5]):
...     h.on_epoch_end(e, {"loss": loss})
>>> h.epoch, h.history
([0, 1], {'loss': [0.9, 0.5]})
"""

from __future__ import annotations

from ember.train.callbacks.base import Callback


class History(Callback):
    """``history`` maps each log name (``'loss'``, metrics, ``'val_*'``, ``'lr'``) to its list
    of per-epoch values; ``epoch`` lists the epoch indices."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def plot(self, path, dpi: int = 100, panel_size=(4.0, 3.0)) -> str:
        """Save a PNG of the loss and each metric per epoch, training and validation, one
        panel each in a row (``panel_size`` inches at ``dpi``); written atomically. Returns
        the path. See ``ember.train.plot.plot_history``."""
        from ember.train.plot import plot_history

        return plot_history(self, path, dpi=dpi, panel_size=panel_size)
