"""``ProgressBar``: training progress on stdout.

On a terminal (``verbose=1``) a tqdm bar is redrawn in place during each epoch: step/total,
elapsed and ETA, steps/s and samples/s, and the running loss and metrics; when the epoch ends
it is replaced by the epoch's summary line. Otherwise (stdout is a file or a pipe, or
``verbose=2``) only the summary line is printed, one clean line per epoch::

    Epoch 3/10 - 45/45 - 0.2s - 4.1ms/step - 7,710 samples/s - loss: 0.3121 - accuracy: 0.8890

Per batch the bar costs one clock read; logs are only read when a redraw is due (every
``refresh`` seconds).

>>> import io
>>> from ember.train.callbacks import ProgressBar
>>> out = io.StringIO()
>>> bar = ProgressBar(stream=out)
>>> bar.set_params({"epochs": 2, "steps": 3, "verbose": 1, "batch_size": 4, "samples": 10})
>>> bar.on_train_begin(); bar.on_epoch_begin(0)
>>> for step in range(3):
...     bar.on_train_batch_end(step, {"loss": 0.5})
>>> bar.on_epoch_end(0, {"loss": 0.25, "lr": 0.1})
>>> out.getvalue().startswith("Epoch 1/2 - 3/3 - ") and out.getvalue().endswith("loss: 0.2500\\n")
True
"""

from __future__ import annotations

import math
import sys
from time import perf_counter

from ember.train.callbacks.base import Callback


def format_value(v) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        a = abs(v)
        if a == 0 or (1e-3 <= a < 1e5) or not math.isfinite(v):
            return f"{v:.4f}"
        return f"{v:.4e}"
    return str(v)


def format_logs(logs) -> str:
    if not logs:
        return ""
    return " - ".join(f"{k}: {format_value(logs[k])}" for k in logs if k not in ("lr", "size"))


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressBar(Callback):
    """Progress of ``fit`` (per epoch), and of ``evaluate``/``predict`` when called alone.

    ``stream`` defaults to ``sys.stdout`` at the time training starts; ``refresh`` is the
    minimum number of seconds between redraws of the live bar.
    """

    def __init__(self, stream=None, refresh: float = 0.1):
        super().__init__()
        self.stream = stream
        self.refresh = refresh
        self._in_fit = False
        self._bar = None

    # ---- fit ----------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}")

    def on_train_batch_end(self, batch, logs=None):
        self._step(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    # ---- evaluate / predict outside fit (fit's validation pass stays quiet) -----------------

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start("Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._step(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start("Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._step(batch, None)

    def on_predict_end(self, logs=None):
        self._finish(None)

    # ---- drawing --------------------------------------------------------------------------------

    def _start(self, title: str) -> None:
        self._out = self.stream or sys.stdout
        self._title, self._total = title, self.params.get("steps")
        self._done = 0
        self._t0 = self._last = perf_counter()
        self._bar = None
        if self.params.get("verbose", 1) == 1 and _isatty(self._out):
            try:
                from tqdm import tqdm
            except ImportError:  # without tqdm: one line per epoch, as off a terminal
                return
            self._bar = tqdm(
                total=self._total,
                desc=title,
                file=self._out,
                unit="step",
                dynamic_ncols=True,
                mininterval=0,
                leave=False,
            )

    def _step(self, batch: int, logs) -> None:
        self._done = batch + 1
        if self._bar is None:
            return
        now = perf_counter()
        if now - self._last < self.refresh:
            return
        self._last = now
        self._bar.set_postfix_str(self._postfix(now, logs), refresh=False)
        self._bar.update(self._done - self._bar.n)

    def _samples_per_s(self, now: float) -> str:
        bs, n = self.params.get("batch_size"), self.params.get("samples")
        if not bs or now <= self._t0:
            return ""
        seen = self._done * bs if n is None else min(self._done * bs, n)
        return f"{seen / (now - self._t0):,.0f} samples/s"

    def _postfix(self, now: float, logs) -> str:
        return " - ".join(p for p in (self._samples_per_s(now), format_logs(logs)) if p)

    def _finish(self, logs) -> None:
        now = perf_counter()
        if self._bar is not None:  # the live bar gives way to the full (untruncated) line
            self._bar.close()
            self._bar = None
        elapsed = now - self._t0
        total = self._total if self._total is not None else self._done
        parts = [self._title, f"{self._done}/{total}", f"{elapsed:.1f}s"]
        if self._done:
            parts.append(f"{1000 * elapsed / self._done:.1f}ms/step")
        parts.append(self._samples_per_s(now))
        parts.append(format_logs(logs))
        self._out.write(" - ".join(p for p in parts if p) + "\n")
        self._out.flush()
