"""``TensorBoard``: event files that TensorBoard reads (Keras's callback and file layout).

Scalars go to ``<log_dir>/train`` and ``<log_dir>/validation`` (one run each, so TensorBoard
draws the training and validation curves of a metric on one chart): ``epoch_<name>`` at every
epoch end, ``epoch_learning_rate`` in the train run, ``batch_<name>`` every ``update_freq``
batches when that is a number. ``histogram_freq=N`` adds a histogram of every parameter every
N epochs. The files are written by ``tensorboardX`` (``pip install 'ember[train]'``).

>>> import os, tempfile
>>> from ember.train.callbacks import TensorBoard
>>> log_dir = tempfile.mkdtemp()
>>> tb = TensorBoard(log_dir)
>>> tb.on_train_begin()
>>> tb.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
>>> tb.on_train_end()
>>> sorted(os.listdir(log_dir))
['train', 'validation']
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from ember.train.callbacks.base import Callback

_LR_KEYS = ("lr", "learning_rate")


class TensorBoard(Callback):
    """Log metrics, the learning rate and weight histograms for TensorBoard.

    Args:
        log_dir: the folder to write to; view it with ``tensorboard --logdir <log_dir>``.
        histogram_freq: write a histogram of every parameter every this many epochs
            (0: never).
        write_graph: drawing the model graph needs ember's graph compiler, which is not
            available yet: ``True`` raises ``NotImplementedError``.
        update_freq: ``'epoch'`` writes scalars once per epoch; ``'batch'`` or an integer N
            also writes the running batch-level ``batch_<metric>`` values every N batches.

    >>> TensorBoard("logs", write_graph=True)
    Traceback (most recent call last):
    ...
    NotImplementedError: TensorBoard: write_graph=True needs ember's graph compiler, ...
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=False, update_freq="epoch"):
        super().__init__()
        if write_graph:
            raise NotImplementedError(
                "TensorBoard: write_graph=True needs ember's graph compiler, which is not "
                "available yet; pass write_graph=False"
            )
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(
                f"TensorBoard: histogram_freq must be an int >= 0, got {histogram_freq!r}"
            )
        self.update_freq = _check_update_freq(update_freq)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = False
        self._writer_cls = _summary_writer()
        self._writers: dict = {}
        self._train_step = 0

    def _writer(self, run: str):
        if run not in self._writers:
            self._writers[run] = self._writer_cls(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_train_begin(self, logs=None):
        os.makedirs(self.log_dir, exist_ok=True)

    def on_train_batch_end(self, batch, logs=None):
        self._train_step += 1
        if self.update_freq == "epoch" or self._train_step % self.update_freq:
            return
        writer = self._writer("train")
        for name, value in _scalars(logs).items():
            if name not in _LR_KEYS:
                writer.add_scalar(f"batch_{name}", value, self._train_step)

    def on_epoch_end(self, epoch, logs=None):
        train, val = {}, {}
        for name, value in _scalars(logs).items():
            if name in _LR_KEYS:
                continue
            if name.startswith("val_"):
                val[name[4:]] = value
            else:
                train[name] = value
        lr = self._learning_rate(logs)
        if lr is not None:
            train["learning_rate"] = lr
        for run, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(run)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_histograms(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _learning_rate(self, logs):
        for key in _LR_KEYS:
            if logs and key in logs:
                return float(logs[key])
        compiled = getattr(self.model, "compiled", None)
        optimizer = getattr(compiled, "optimizer", None) or getattr(self.model, "optimizer", None)
        groups = getattr(optimizer, "param_groups", None)
        if groups and "lr" in groups[0]:
            return float(groups[0]["lr"])
        return None

    def _write_histograms(self, epoch):
        named = getattr(self.model, "named_parameters", None)
        if named is None:
            return
        writer = self._writer("train")
        for name, param in named():
            values = np.asarray(param.detach().numpy(), dtype=np.float64).ravel()
            if values.size and np.isfinite(values).all():
                writer.add_histogram(name, values, epoch)

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _check_update_freq(update_freq):
    if update_freq == "batch":
        return 1
    if update_freq == "epoch":
        return "epoch"
    if isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0:
        return update_freq
    raise ValueError(
        f"TensorBoard: update_freq must be 'epoch', 'batch' or an int > 0, got {update_freq!r}"
    )


def _scalars(logs) -> dict[str, float]:
    out = {}
    for name, value in (logs or {}).items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):  # a non-scalar log entry has no scalar chart
            continue
    return out


@contextlib.contextmanager
def _torch_hidden():
    # tensorboardX imports torch when it is installed only to accept torch tensors, which costs
    # seconds; ember hands it NumPy arrays, so the import is skipped unless torch is loaded.
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None
    try:
        yield
    finally:
        sys.modules.pop("torch", None)


def _summary_writer():
    try:
        with _torch_hidden():
            from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError(
            "TensorBoard: needs the tensorboardX package: pip install tensorboardX "
            "(or pip install 'ember[train]')"
        ) from None
    return SummaryWriter
