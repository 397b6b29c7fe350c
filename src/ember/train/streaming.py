"""The ``Metric`` protocol and the mean-like metrics (accuracy, top-k, errors, wrappers).

Updates run in NumPy on the raw arrays (``Tensor``s are unwrapped without a copy), so a metric
costs a few microseconds per batch.

>>> import numpy as np
>>> from ember.train import metrics
>>> acc = metrics.Accuracy()
>>> acc.update_state(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
>>> acc.update_state(np.array([[0.3, 0.7]]), np.array([1]))
>>> round(acc.result(), 4)
0.6667
"""

from __future__ import annotations

import numpy as np

from ember.core.tensor import Tensor, _wrap
from ember.errors import EmberValueError

__all__ = [
    "Accuracy",
    "Mean",
    "MeanAbsoluteError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "TopKAccuracy",
]


def _np(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


class Metric:
    """Base class: implement ``update_state(y_pred, y_true)``, ``result()``, ``reset_state()``.

    ``direction`` is ``'up'`` when larger is better, ``'down'`` when smaller is (callbacks in
    ``mode='auto'`` read it; ``None``: unknown).

    >>> from ember.train.metrics import Metric
    >>> class Count(Metric):
    ...     def reset_state(self):
    ...         self.n = 0
    ...     def update_state(self, y_pred, y_true):
    ...         self.n += len(y_true)
    ...     def result(self):
    ...         return float(self.n)
    >>> c = Count("count"); c.update_state([0, 1], [0, 1]); c.result()
    2.0
    """

    direction: str | None = None

    def __init__(self, name: str | None = None):
        self.name = name or _snake(type(self).__name__)
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, y_pred, y_true) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


class Mean(Metric):
    """The weighted mean of the values given to ``update_state(value, weight=1)``.

    ``fit`` tracks the loss with one: each batch's mean loss weighted by its batch size, so the
    epoch loss is the mean over samples.

    >>> from ember.train.metrics import Mean
    >>> m = Mean("loss"); m.update_state(1.0, 3); m.update_state(3.0, 1); m.result()
    1.5
    """

    direction = "down"

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0

    def update_state(self, value, weight=1) -> None:
        self.total += float(value) * weight
        self.count += weight

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Metric):
    """A function ``fn(y_pred, y_true)`` (Tensors in) made into an exact streaming metric.

    A scalar result counts as the mean over the batch (weighted by the batch size); a result
    with one value per sample is summed. ``direction`` (``'up'``/``'down'``) tells callbacks
    in ``mode='auto'`` which way is better; left ``None`` they ask for an explicit mode.

    >>> import ember
    >>> from ember.train.metrics import MeanMetricWrapper
    >>> def err(y_pred, y_true):
    ...     return (y_pred - y_true).abs()
    >>> m = MeanMetricWrapper(err)
    >>> m.update_state(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.0])); m.name, m.result()
    ('err', 1.0)
    """

    def __init__(self, fn, name: str | None = None, direction: str | None = None):
        self.fn = fn
        self.direction = direction
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0

    def update_state(self, y_pred, y_true) -> None:
        yp, yt = _np(y_pred), _np(y_true)
        value = _np(self.fn(_wrap(yp), _wrap(yt)))
        if value.ndim == 0:
            n = len(yp) if yp.ndim else 1
            self.total += float(value) * n
            self.count += n
        else:
            self.total += float(value.sum())
            self.count += value.size

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


def _like(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Targets (N,) against outputs (N, 1) are compared row by row, not broadcast to (N, N)."""
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
        return y_true.reshape(y_pred.shape)
    return y_true


class _MeanError(Metric):
    direction = "down"

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0

    def update_state(self, y_pred, y_true) -> None:
        yp = _np(y_pred)
        diff = yp - _like(_np(y_true), yp)
        self.total += float(self._reduce(diff))
        self.count += diff.size

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanAbsoluteError(_MeanError):
    """Mean of ``|y_pred - y_true|`` over every element seen.

    >>> import numpy as np
    >>> from ember.train.metrics import MeanAbsoluteError
    >>> m = MeanAbsoluteError(); m.update_state(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    >>> m.name, m.result()
    ('mae', 2.0)
    """

    def __init__(self, name: str = "mae"):
        super().__init__(name)

    @staticmethod
    def _reduce(diff):
        return np.abs(diff).sum()


class MeanSquaredError(_MeanError):
    """Mean of ``(y_pred - y_true)**2`` over every element seen.

    >>> import numpy as np
    >>> from ember.train.metrics import MeanSquaredError
    >>> m = MeanSquaredError(); m.update_state(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    >>> m.result()
    5.0
    """

    def __init__(self, name: str = "mse"):
        super().__init__(name)

    @staticmethod
    def _reduce(diff):
        return np.square(diff).sum()


def is_single_column(y_pred: np.ndarray) -> bool:
    return y_pred.ndim == 1 or (y_pred.ndim == 2 and y_pred.shape[1] == 1)


def class_labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Class indices from integer labels, or from one-hot/probability rows shaped like y_pred."""
    if y_true.shape == y_pred.shape and y_true.ndim >= 2:
        return y_true.argmax(axis=1)
    return y_true.reshape(y_pred.shape[:1] + y_pred.shape[2:])


def logit_threshold(threshold: float, from_logits: bool) -> float:
    """The cut on the raw output: sigmoid(z) > t  <=>  z > log(t / (1 - t))."""
    if not 0.0 < threshold < 1.0:
        raise EmberValueError(f"metrics: threshold must be in (0, 1), got {threshold}")
    return float(np.log(threshold / (1.0 - threshold))) if from_logits else threshold


class Accuracy(Metric):
    """Fraction of correct predictions.

    Multi-class outputs (N, C, ...) are compared by ``argmax`` over dim 1 (labels are class
    indices, or one-hot rows); a single output column (N,) / (N, 1), or ``binary=True``
    (elementwise, for multi-label sigmoid outputs), counts ``y_pred > threshold`` (on the
    sigmoid of the output when ``from_logits``) against 0/1 labels.

    >>> import numpy as np
    >>> from ember.train.metrics import Accuracy
    >>> m = Accuracy(); m.update_state(np.array([0.2, 0.7, 0.9]), np.array([0, 1, 0]))
    >>> round(m.result(), 4)
    0.6667
    """

    direction = "up"

    def __init__(self, name="accuracy", threshold=0.5, from_logits=False, binary=None):
        self.cut = logit_threshold(threshold, from_logits)
        self.binary = binary
        super().__init__(name)

    def reset_state(self) -> None:
        self.correct = 0
        self.count = 0

    def update_state(self, y_pred, y_true) -> None:
        yp, yt = _np(y_pred), _np(y_true)
        binary = self.binary if self.binary is not None else is_single_column(yp)
        if binary:
            hits = (yp > self.cut) == (_like(yt, yp) > 0.5)
        else:
            hits = yp.argmax(axis=1) == class_labels(yt, yp)
        self.correct += int(np.count_nonzero(hits))
        self.count += hits.size

    def result(self) -> float:
        return self.correct / self.count if self.count else 0.0


class TopKAccuracy(Metric):
    """Fraction of samples whose true class is among the ``k`` highest-scoring classes.

    A sample counts when fewer than ``k`` classes score strictly higher than its true class.

    >>> import numpy as np
    >>> from ember.train.metrics import TopKAccuracy
    >>> m = TopKAccuracy(k=2)
    >>> m.update_state(np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]), np.array([1, 0]))
    >>> m.result()
    0.5
    """

    direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_accuracy"):
        if k < 1:
            raise EmberValueError(f"TopKAccuracy: k must be >= 1, got {k}")
        self.k = k
        super().__init__(name)

    def reset_state(self) -> None:
        self.correct = 0
        self.count = 0

    def update_state(self, y_pred, y_true) -> None:
        yp, yt = _np(y_pred), _np(y_true)
        if yp.ndim != 2:
            raise EmberValueError(
                f"TopKAccuracy: expected outputs of shape (N, C), got {tuple(yp.shape)}"
            )
        labels = class_labels(yt, yp).astype(np.intp, copy=False)
        true_score = np.take_along_axis(yp, labels[:, None], axis=1)
        higher = np.count_nonzero(yp > true_score, axis=1)
        self.correct += int(np.count_nonzero(higher < self.k))
        self.count += len(labels)

    def result(self) -> float:
        return self.correct / self.count if self.count else 0.0
