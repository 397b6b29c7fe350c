"""``ModelCheckpoint``: save the model (weights, or a full resumable checkpoint) during ``fit``.

>>> import ember, os, tempfile
>>> from ember.train.callbacks import ModelCheckpoint
>>> folder = tempfile.mkdtemp()
>>> model = ember.nn.Linear(2, 1)
>>> cb = ModelCheckpoint(os.path.join(folder, "w-{epoch:02d}-{val_loss:.2f}.safetensors"),
...                      save_weights_only=True, save_best_only=True)
>>> cb.set_model(model); cb.on_train_begin()
>>> for epoch, loss in enumerate([0.5, 0.7, 0.25]):
...     cb.on_epoch_end(epoch, {"val_loss": loss})
>>> sorted(os.listdir(folder))
['w-01-0.50.safetensors', 'w-03-0.25.safetensors']
"""

from __future__ import annotations

import os
import warnings

from ember.errors import EmberValueError
from ember.io import save
from ember.train.callbacks.base import Callback
from ember.train.callbacks.monitor import check_mode, maximize
from ember.train.checkpoint import save_checkpoint


class ModelCheckpoint(Callback):
    """Keras's ``ModelCheckpoint``, writing atomic safetensors files.

    ``filepath`` is formatted with ``epoch`` (1-based), the logs (``{val_loss:.2f}``) and, when
    saving every ``save_freq`` batches, ``batch`` (1-based). With ``save_best_only`` a file is
    written only when ``monitor`` beats the best value so far (``initial_value_threshold``
    at first). ``save_weights_only=True`` writes ``model.state_dict()`` (load it with
    ``model.load_state_dict(ember.load(path))``); otherwise a full checkpoint (model,
    optimizer, ``scheduler`` if given, RNG state, and the number of finished epochs) that
    ``ember.train.load_checkpoint`` restores for ``fit(..., initial_epoch=...)``.
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
        scheduler=None,
    ):
        super().__init__()
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq < 1):
            raise EmberValueError(
                f"ModelCheckpoint: save_freq must be 'epoch' or a positive integer, got "
                f"{save_freq!r}"
            )
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode, self.save_freq = check_mode(mode, "ModelCheckpoint"), save_freq
        self.initial_value_threshold, self.scheduler = initial_value_threshold, scheduler
        self.best = initial_value_threshold
        self._epoch = 0
        self._since_save = 0

    def on_train_begin(self, logs=None):
        self._max = None
        if self.save_best_only:
            self._max = maximize(self.monitor, self.mode, self.model, "ModelCheckpoint")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._since_save += 1
        if self._since_save >= self.save_freq:
            self._since_save = 0
            self._save(self._epoch, batch, logs, finished=self._epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs, finished=epoch + 1)

    def _path(self, epoch, batch, logs) -> str:
        fields = dict(logs or {})
        if batch is not None:
            fields.setdefault("batch", batch + 1)
        try:
            return self.filepath.format(epoch=epoch + 1, **fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise EmberValueError(
                f"ModelCheckpoint: cannot format filepath {self.filepath!r} with epoch and "
                f"logs {sorted(fields)}: {exc!r}"
            ) from None

    def _wanted(self, epoch, logs, path) -> bool:
        if not self.save_best_only:
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"ModelCheckpoint: can save the best model only with {self.monitor!r} in the "
                "logs; saving anyway",
                stacklevel=3,
            )
            return True
        better = self.best is None or (current > self.best if self._max else current < self.best)
        if self.verbose > 0:
            was = "None" if self.best is None else f"{self.best:.5f}"
            print(
                f"Epoch {epoch + 1}: {self.monitor} improved from {was} to {current:.5f}, saving "
                f"model to {path}"
                if better
                else f"Epoch {epoch + 1}: {self.monitor} did not improve from {was}"
            )
        if better:
            self.best = current
        return better

    def _save(self, epoch, batch, logs, finished: int) -> None:
        path = self._path(epoch, batch, logs)
        if not self._wanted(epoch, logs, path):
            return
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            save(self.model.state_dict(), path)
        else:
            compiled = self.model.__dict__.get("compiled")
            opt = compiled.optimizer if compiled is not None else None
            save_checkpoint(path, self.model, opt, self.scheduler, epoch=finished)
        if self.verbose > 0 and not self.save_best_only:
            print(f"Epoch {epoch + 1}: saving model to {path}")
