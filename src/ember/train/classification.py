"""Classification metrics over an epoch: ``Precision``, ``Recall``, ``F1Score`` (from
accumulated confusion counts) and ``AUC`` (exact ROC AUC from every score seen).

``average`` follows scikit-learn: ``'binary'`` (class 1 of a single output column),
``'macro'`` (unweighted mean over the classes present in labels or predictions), ``'micro'``
and ``'weighted'`` (by support). The default, ``'auto'``, is ``'binary'`` for a single output
column (N,) / (N, 1) and ``'macro'`` for multi-class outputs (N, C). A score whose
denominator is zero counts as 0 (scikit-learn's ``zero_division=0``).

>>> import numpy as np
>>> from ember.train.classification import F1Score
>>> f1 = F1Score()
>>> f1.update_state(np.array([0.9, 0.8, 0.1]), np.array([1, 0, 1]))
>>> f1.result()
0.5
"""

from __future__ import annotations

import numpy as np

from ember.errors import EmberValueError
from ember.train.streaming import (
    Metric,
    _like,
    _np,
    class_labels,
    is_single_column,
    logit_threshold,
)

__all__ = ["AUC", "F1Score", "Precision", "Recall"]

_AVERAGES = ("auto", "binary", "macro", "micro", "weighted")


class _Confusion(Metric):
    """Per-class true-positive / predicted / actual counts, grown as classes appear."""

    direction = "up"

    def __init__(self, name=None, average="auto", threshold=0.5, from_logits=False):
        if average not in _AVERAGES:
            raise EmberValueError(
                f"{type(self).__name__}: average must be one of {_AVERAGES}, got {average!r}"
            )
        self.average = average
        self.cut = logit_threshold(threshold, from_logits)
        super().__init__(name)

    def reset_state(self) -> None:
        self.tp = np.zeros(0, np.int64)
        self.predicted = np.zeros(0, np.int64)
        self.actual = np.zeros(0, np.int64)
        self._binary = None

    def update_state(self, y_pred, y_true) -> None:
        yp, yt = _np(y_pred), _np(y_true)
        single = is_single_column(yp)
        if self.average == "binary" and not single:
            raise EmberValueError(
                f"{type(self).__name__}: average='binary' needs a single output column, got "
                f"outputs of shape {tuple(yp.shape)} (use average='macro' for multi-class)"
            )
        if single:
            pred = (yp > self.cut).astype(np.int64).ravel()
            true = (_like(yt, yp) > 0.5).astype(np.int64).ravel()
            n = 2
        else:
            pred = yp.argmax(axis=1).ravel()
            true = class_labels(yt, yp).astype(np.int64, copy=False).ravel()
            n = max(yp.shape[1], int(true.max(initial=-1)) + 1)
        self._binary = single and self.average in ("auto", "binary")
        self._add("tp", np.bincount(true[pred == true], minlength=n))
        self._add("predicted", np.bincount(pred, minlength=n))
        self._add("actual", np.bincount(true, minlength=n))

    def _add(self, field: str, counts: np.ndarray) -> None:
        have = getattr(self, field)
        if len(have) < len(counts):
            have = np.concatenate([have, np.zeros(len(counts) - len(have), np.int64)])
        have[: len(counts)] += counts
        setattr(self, field, have)

    def result(self) -> float:
        tp, pred, true = self.tp, self.predicted, self.actual
        if not len(tp):
            return 0.0
        if self._binary:
            return float(self._score(tp[1:], pred[1:], true[1:])[0])
        if self.average == "micro":
            return float(
                self._score(
                    tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
                )[0]
            )
        present = (pred + true) > 0
        scores = self._score(tp, pred, true)[present]
        if self.average == "weighted":
            weight = true[present]
            return float((scores * weight).sum() / weight.sum()) if weight.sum() else 0.0
        return float(scores.mean()) if scores.size else 0.0

    @staticmethod
    def _ratio(num, den) -> np.ndarray:
        num, den = num.astype(np.float64), den.astype(np.float64)
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


class Precision(_Confusion):
    """tp / (tp + fp); see the module docstring for ``average``, ``threshold``, ``from_logits``.

    >>> import numpy as np
    >>> from ember.train.classification import Precision
    >>> m = Precision(); m.update_state(np.array([0.9, 0.8, 0.1]), np.array([1, 0, 1]))
    >>> m.result()
    0.5
    """

    def __init__(self, name="precision", average="auto", threshold=0.5, from_logits=False):
        super().__init__(name, average, threshold, from_logits)

    def _score(self, tp, pred, true):
        return self._ratio(tp, pred)


class Recall(_Confusion):
    """tp / (tp + fn); see the module docstring for ``average``, ``threshold``, ``from_logits``.

    >>> import numpy as np
    >>> from ember.train.classification import Recall
    >>> m = Recall(); m.update_state(np.array([0.9, 0.8, 0.1]), np.array([1, 0, 1]))
    >>> m.result()
    0.5
    """

    def __init__(self, name="recall", average="auto", threshold=0.5, from_logits=False):
        super().__init__(name, average, threshold, from_logits)

    def _score(self, tp, pred, true):
        return self._ratio(tp, true)


class F1Score(_Confusion):
    """2 tp / (2 tp + fp + fn), per class before averaging (scikit-learn's macro F1).

    >>> import numpy as np
    >>> from ember.train.classification import F1Score
    >>> m = F1Score(average="macro")
    >>> m.update_state(np.array([[2.0, 1.0], [0.0, 1.0], [3.0, 0.0]]), np.array([0, 1, 1]))
    >>> round(m.result(), 4)
    0.6667
    """

    def __init__(self, name="f1", average="auto", threshold=0.5, from_logits=False):
        super().__init__(name, average, threshold, from_logits)

    def _score(self, tp, pred, true):
        return self._ratio(2 * tp, pred + true)


class AUC(Metric):
    """Exact area under the ROC curve over every sample seen (ties count one half).

    A single output column is a binary score against 0/1 labels; multi-class outputs (N, C)
    give the macro average of the one-vs-rest AUCs (scikit-learn's ``multi_class='ovr'``),
    computed on ``softmax`` probabilities when ``from_logits``. Classes without both positive
    and negative samples are left out; with none left the result is ``nan``.

    >>> import numpy as np
    >>> from ember.train.classification import AUC
    >>> m = AUC(); m.update_state(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    >>> m.result()
    0.75
    """

    direction = "up"

    def __init__(self, name: str = "auc", from_logits: bool = False):
        self.from_logits = from_logits
        super().__init__(name)

    def reset_state(self) -> None:
        self.scores: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []

    def update_state(self, y_pred, y_true) -> None:
        yp, yt = _np(y_pred), _np(y_true)
        if is_single_column(yp):
            self.scores.append(yp.ravel().copy())
            self.labels.append(_like(yt, yp).ravel() > 0.5)
            return
        if self.from_logits:
            e = np.exp(yp - yp.max(axis=1, keepdims=True))
            yp = e / e.sum(axis=1, keepdims=True)
        self.scores.append(np.array(yp, copy=True))
        self.labels.append(class_labels(yt, yp).astype(np.int64, copy=False).ravel())

    def result(self) -> float:
        if not self.scores:
            return float("nan")
        scores, labels = np.concatenate(self.scores), np.concatenate(self.labels)
        if scores.ndim == 1:
            return roc_auc(scores, labels)
        aucs = [roc_auc(scores[:, c], labels == c) for c in range(scores.shape[1])]
        aucs = [a for a in aucs if a == a]
        return float(np.mean(aucs)) if aucs else float("nan")


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic: (rank sum of positives - n+(n+ + 1)/2) / (n+ n-),
    with tied scores sharing their average rank."""
    n_pos = int(np.count_nonzero(positive))
    n_neg = len(scores) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    ranked = scores[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(ranked)]
    group = np.repeat(np.arange(len(starts)), ends - starts)
    avg_rank = (starts + ends + 1) / 2.0
    rank_sum = avg_rank[group][positive[order]].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
