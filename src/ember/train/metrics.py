"""Streaming metrics: ``update_state(y_pred, y_true)`` per batch, ``result()`` exact over all the
batches since ``reset_state()`` (counts, sums and, for AUC, every score are accumulated; never
averages of batch averages).

String names for ``compile(metrics=[...])``: ``'accuracy'``, ``'top_k_accuracy'`` (k=5),
``'precision'``, ``'recall'``, ``'f1'``, ``'auc'``, ``'mae'``, ``'mse'``; any callable
``(y_pred, y_true) -> Tensor`` or ``Metric`` subclass works too.

>>> import numpy as np
>>> from ember.train import metrics
>>> acc = metrics.Accuracy()
>>> acc.update_state(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
>>> acc.update_state(np.array([[0.3, 0.7]]), np.array([1]))
>>> round(acc.result(), 4)
0.6667
"""

from ember.train.classification import AUC, F1Score, Precision, Recall
from ember.train.streaming import (
    Accuracy,
    Mean,
    MeanAbsoluteError,
    MeanMetricWrapper,
    MeanSquaredError,
    Metric,
    TopKAccuracy,
)

__all__ = [
    "AUC",
    "Accuracy",
    "F1Score",
    "Mean",
    "MeanAbsoluteError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "Recall",
    "TopKAccuracy",
]
