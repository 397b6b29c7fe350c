"""``CSVLogger``: one CSV row per epoch with every value in the epoch-end logs (Keras's callback).

>>> import os, tempfile
>>> from ember.train.callbacks import CSVLogger
>>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
>>> log = CSVLogger(path)
>>> log.on_train_begin()
>>> log.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
>>> log.on_epoch_end(1, {"loss": 0.25, "val_loss": 0.5})
>>> log.on_train_end()
>>> print(open(path).read().strip())
epoch,loss,val_loss
0,0.5,0.75
1,0.25,0.5
"""

from __future__ import annotations

import csv
import io
import os
import warnings

import numpy as np

from ember.train.callbacks.base import Callback

_MISSING = "NA"


class CSVLogger(Callback):
    """Stream epoch results to a CSV file: a header naming the columns (``epoch`` then the log
    keys in sorted order), then one row per epoch.

    Args:
        filename: the CSV file (its folder is created if needed).
        separator: the column separator.
        append: keep an existing file and add rows to it (no second header; the columns of the
            existing header are kept). Otherwise the file is overwritten when training begins.

    Each row is written with a single ``write`` and flushed at once, so a run that crashes or is
    stopped leaves every finished epoch in the file and no half row. Values missing from an
    epoch's logs (say ``val_loss`` on an epoch without validation) are written as ``NA``.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> for run in range(2):
    ...     log = CSVLogger(path, separator=";", append=True)
    ...     log.on_train_begin()
    ...     log.on_epoch_end(run, {"loss": 1.0 / (run + 1)})
    ...     log.on_train_end()
    >>> open(path).read().splitlines()
    ['epoch;loss', '0;1.0', '1;0.5']
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self._file = None
        self._dropped: set[str] = set()

    def on_train_begin(self, logs=None):
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.keys = None
        self._dropped = set()
        if self.append and os.path.exists(self.filename):
            self.keys = self._existing_keys()
            mode = "a"
        else:
            mode = "w"
        self._file = open(self.filename, mode, newline="", encoding="utf-8")

    def _existing_keys(self) -> list[str] | None:
        with open(self.filename, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f, delimiter=self.sep), None)
        if not header:
            return None
        if header[0] != "epoch":
            raise ValueError(
                f"CSVLogger: cannot append to {self.filename}: its first column is "
                f"{header[0]!r}, not 'epoch' (was it written with another separator?)"
            )
        return header[1:]

    def on_epoch_end(self, epoch, logs=None):
        if self._file is None:  # used without fit: open lazily
            self.on_train_begin()
        logs = dict(logs or {})
        lines = []
        if self.keys is None:
            self.keys = sorted(logs)
            lines.append(["epoch", *self.keys])
        extra = set(logs) - set(self.keys) - self._dropped
        if extra:
            self._dropped |= extra
            warnings.warn(
                f"CSVLogger: {sorted(extra)} not in the columns of {self.filename} "
                f"({self.keys}); they are not logged",
                stacklevel=2,
            )
        lines.append([epoch, *(_format(logs.get(k, _MISSING)) for k in self.keys)])
        buf = io.StringIO()
        csv.writer(buf, delimiter=self.sep, lineterminator="\n").writerows(lines)
        self._file.write(buf.getvalue())
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _format(value):
    if isinstance(value, str):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # Tensors, NumPy scalars
        value = value.item()
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        flat = np.asarray(value.tolist() if hasattr(value, "tolist") else value).ravel()
        return "[" + ", ".join(str(v) for v in flat.tolist()) + "]"
    return value
