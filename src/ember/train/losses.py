"""Losses by name for ``compile(loss=...)``: each is ``loss(y_pred, y_true) -> scalar Tensor``.

Names (Keras aliases in brackets): ``'cross_entropy'`` (logits against class indices or
class probabilities; ``'sparse_categorical_crossentropy'`` insists on indices,
``'categorical_crossentropy'`` on one-hot/probability rows), ``'mse'``
(``'mean_squared_error'``), ``'mae'`` (``'mean_absolute_error'``), ``'bce'``
(``'binary_crossentropy'``, on probabilities), ``'bce_with_logits'``, ``'huber'``. Any callable
``(y_pred, y_true) -> scalar Tensor`` works too (an ``nn`` loss module, a function).

Targets are adapted the way Keras users expect: integer class labels of any integer dtype are
used as int64; for the regression and binary losses, targets (N,) against outputs (N, 1) are
reshaped (not broadcast to (N, N)) and cast to the output dtype.

>>> import ember
>>> from ember.train import losses
>>> mse = losses.get("mse")
>>> mse(ember.tensor([[1.0], [3.0]]), ember.tensor([0, 1]))
tensor(2.5000)
"""

from __future__ import annotations

import numpy as np

import ember.nn.functional as F
from ember.core.tensor import Tensor, _wrap
from ember.errors import DTypeError, EmberValueError

__all__ = ["Loss", "get"]


class Loss:
    """A named loss: ``fn(y_pred, y_true)`` plus what kind of labels it accepts.

    ``labels`` is ``'index'`` (integer class indices), ``'probs'`` (float rows shaped like the
    output), ``'class'`` (either), or ``None`` (anything).
    """

    def __init__(self, name: str, fn, labels: str | None = None):
        self.name, self.fn, self.labels = name, fn, labels

    def __call__(self, y_pred, y_true):
        return self.fn(y_pred, y_true)

    def check_labels(self, dtype: np.dtype, ndim: int, where: str) -> None:
        """Raise before training when labels (``ndim`` counting the batch dim) cannot fit."""
        kind = np.dtype(dtype).kind
        integer = kind in "iu"
        if (
            self.labels == "index"
            and not integer
            or (self.labels == "class" and not integer and ndim < 2)
        ):
            raise DTypeError(
                f"{where}: loss {self.name!r} expects integer class indices as labels, got "
                f"{np.dtype(dtype).name} labels with {ndim} dim(s); convert them to int64 "
                "(or pass one-hot/probability rows of shape (N, C) with "
                "loss='categorical_crossentropy')"
            )
        if self.labels == "probs" and kind != "f":
            raise DTypeError(
                f"{where}: loss {self.name!r} expects float one-hot/probability labels of shape "
                f"(N, C), got {np.dtype(dtype).name} labels; for class indices use "
                "loss='sparse_categorical_crossentropy'"
            )

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


def _tensor(y) -> Tensor:
    return y if isinstance(y, Tensor) else _wrap(np.asarray(y))


def _index_target(y) -> Tensor:
    y = _tensor(y)
    a = y._data
    if a.dtype != np.int64 and a.dtype.kind in "iu":
        return _wrap(a.astype(np.int64))
    return y


def _float_target(y_pred: Tensor, y) -> Tensor:
    a = _tensor(y)._data
    want = y_pred._data
    if a.shape != want.shape and a.size == want.size:
        a = a.reshape(want.shape)
    if a.dtype != want.dtype:
        a = a.astype(want.dtype)
    return y if isinstance(y, Tensor) and a is y._data else _wrap(a)


def _cross_entropy(y_pred, y_true):
    return F.cross_entropy(y_pred, _index_target(y_true))


def _pointwise(fn):
    def loss(y_pred, y_true):
        return fn(y_pred, _float_target(y_pred, y_true))

    return loss


_REGISTRY = {
    "cross_entropy": (_cross_entropy, "class"),
    "sparse_categorical_crossentropy": (_cross_entropy, "index"),
    "categorical_crossentropy": (_cross_entropy, "probs"),
    "mse": (_pointwise(F.mse_loss), None),
    "mae": (_pointwise(F.l1_loss), None),
    "bce": (_pointwise(F.binary_cross_entropy), None),
    "bce_with_logits": (_pointwise(F.binary_cross_entropy_with_logits), None),
    "huber": (_pointwise(F.huber_loss), None),
}
_ALIASES = {
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "binary_crossentropy": "bce",
    "binary_cross_entropy": "bce",
    "binary_cross_entropy_with_logits": "bce_with_logits",
}


def get(loss) -> Loss:
    """The ``Loss`` for a name, a ``Loss`` or a callable ``(y_pred, y_true) -> scalar``.

    >>> from ember.train import losses
    >>> losses.get("binary_crossentropy").name
    'bce'
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        key = _ALIASES.get(loss, loss)
        if key not in _REGISTRY:
            known = ", ".join(sorted(_REGISTRY) + sorted(_ALIASES))
            raise EmberValueError(f"compile: unknown loss {loss!r}; known losses: {known}")
        fn, labels = _REGISTRY[key]
        return Loss(key, fn, labels)
    if callable(loss):
        name = getattr(loss, "__name__", None) or type(loss).__name__
        return Loss(name, loss)
    raise EmberValueError(
        f"compile: loss must be a name or a callable (y_pred, y_true) -> scalar, got "
        f"{type(loss).__name__}"
    )
