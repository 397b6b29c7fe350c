"""Loss functions of ``ember.nn.functional``, with PyTorch's names, arguments and reductions.

Every loss takes ``reduction='mean' | 'sum' | 'none'`` (and the deprecated ``size_average`` /
``reduce`` flags where PyTorch still has them).

>>> import ember
>>> import ember.nn.functional as F
>>> logits = ember.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
>>> F.cross_entropy(logits, ember.tensor([0, 2]))
tensor(0.2395)
"""

from __future__ import annotations

import math

import numpy as np

from ember.api import elementwise as E
from ember.core.tensor import Tensor
from ember.errors import DTypeError, EmberIndexError, EmberValueError, ShapeError
from ember.nn.functional import _loss_utils as U
from ember.nn.functional.loss_pointwise import (
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
)
from ember.ops import activation as A
from ember.ops import loss as P
from ember.ops import reduce as R

__all__ = [
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "multilabel_soft_margin_loss",
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "poisson_nll_loss",
    "soft_margin_loss",
    "margin_ranking_loss",
]

_INT64 = np.dtype(np.int64)


# ---- class-index targets ----------------------------------------------------------------------


def _check_weight(name: str, weight, input, n_classes: int, constant: bool = True) -> None:
    if weight is None:
        return
    U.float_input(name, "weight", weight)
    if constant:
        U.constant_weight(name, weight)
    if weight.shape != (n_classes,):
        raise ShapeError(
            f"{name}: weight should have one entry per class ({n_classes}), got weight of "
            f"shape {tuple(weight.shape)}"
        )
    if weight._data.dtype != input._data.dtype:
        raise DTypeError(
            f"{name}: weight dtype {weight.dtype.name} does not match input dtype "
            f"{input.dtype.name}"
        )


def _check_classes(name: str, input, target, ignore_index: int) -> None:
    """Class-index targets: int64, shape (N, d1, ...) for input (N, C, d1, ...), each in
    [0, C) or equal to ignore_index."""
    if target._data.dtype != _INT64:
        raise DTypeError(
            f"{name}: expected class-index targets of dtype int64, got {target.dtype.name}"
        )
    shape = input.shape[:1] + input.shape[2:]
    if target.shape != shape:
        raise ShapeError(
            f"{name}: target shape {tuple(target.shape)} does not match input shape "
            f"{tuple(input.shape)} (expected target shape {shape})"
        )
    t = target._data
    n = input.shape[1]
    # one pass: seen as uint64, negative indices are huge, so max >= n flags both ends
    if t.size and t.view(np.uint64).max() >= n:
        bad = t[((t < 0) | (t >= n)) & (t != ignore_index)]
        if bad.size:
            raise EmberIndexError(
                f"{name}: target {int(bad.flat[0])} is out of bounds for {n} classes "
                f"(ignore_index={ignore_index})"
            )


def _batched(name: str, input, target, target_is_class: bool):
    """(input, target) with a batch dim added to unbatched (C,) inputs."""
    if not isinstance(target, Tensor):
        raise DTypeError(f"{name}: expected target to be a Tensor, got {type(target).__name__}")
    U.float_input(name, "input", input)
    if input.ndim == 0:
        raise ShapeError(f"{name}: expected input of shape (C,) or (N, C, ...), got shape ()")
    if input.ndim > 1:
        return input, target
    t_shape = () if target_is_class else input.shape
    if target.shape != t_shape:
        raise ShapeError(
            f"{name}: target shape {tuple(target.shape)} does not match unbatched input shape "
            f"{tuple(input.shape)} (expected target shape {t_shape})"
        )
    return input.reshape(1, -1), target.reshape((1,) + t_shape)


def _nll(logp, target, weight, ignore_index, reduction, smoothing=0.0):
    if not smoothing:
        return P.nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    losses = P.nll_loss(logp, target, weight, ignore_index=ignore_index, reduction="none")
    n = logp.shape[1]
    wl = logp if weight is None else logp * weight.reshape((n,) + (1,) * (logp.ndim - 2))
    spread = R.sum_(wl, axis=(1,), keepdims=False)
    spread = spread * P.nll_loss_keep(logp, target, ignore_index=ignore_index)
    losses = losses * (1.0 - smoothing) - spread * (smoothing / n)
    if reduction == "none":
        return losses
    total = U.sum_all(losses)
    if reduction == "sum":
        return total
    return total * P.nll_loss_scale(logp, target, weight, ignore_index=ignore_index)


def _unbatch(loss, input, reduction):
    return loss.reshape(()) if input.ndim == 1 and reduction == "none" else loss


def nll_loss(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
):
    """Negative log likelihood of class-index ``target`` under log-probabilities ``input``.

    ``input`` is (C,), (N, C) or (N, C, d1, ...); ``target`` holds int64 class indices of
    shape (), (N,) or (N, d1, ...). ``weight`` (C,) rescales each class; targets equal to
    ``ignore_index`` contribute nothing, and 'mean' divides by the total weight of the rest.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.nll_loss(ember.tensor([[-0.5, -1.0], [-2.0, -0.1]]), ember.tensor([0, 1]))
    tensor(0.3000)
    """
    name = "nll_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    x, t = _batched(name, input, target, True)
    _check_classes(name, x, t, ignore_index)
    _check_weight(name, weight, x, x.shape[1])
    return _unbatch(_nll(x, t, weight, ignore_index, reduction), input, reduction)


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Cross entropy between logits ``input`` and ``target`` (``log_softmax`` + ``nll_loss``).

    ``target`` holds either class indices (int64, shape (N,) / (N, d1, ...) / () for an
    unbatched (C,) input) or class probabilities (float, the shape of ``input``).
    ``label_smoothing`` mixes the target with the uniform distribution, as in PyTorch.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.cross_entropy(ember.tensor([[0.0, 0.0]]), ember.tensor([[0.5, 0.5]]))
    tensor(0.6931)
    """
    name = "cross_entropy"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise EmberValueError(
            f"{name}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        )
    probs = isinstance(target, Tensor) and tuple(target.shape) == tuple(input.shape)
    x, t = _batched(name, input, target, not probs)
    _check_weight(name, weight, x, x.shape[1], constant=not probs)
    if not probs:
        _check_classes(name, x, t, ignore_index)
        if weight is None and not label_smoothing and x.ndim == 2:  # the classifier's loss
            loss = P.softmax_cross_entropy(x, t, ignore_index=ignore_index, reduction=reduction)
        else:
            logp = P.log_softmax(x, axis=(1,))
            loss = _nll(logp, t, weight, ignore_index, reduction, label_smoothing)
        return _unbatch(loss, input, reduction)
    logp = P.log_softmax(x, axis=(1,))
    if t._data.dtype.kind != "f":
        raise DTypeError(
            f"{name}: expected floating-point class probabilities for a target of the input's "
            f"shape {tuple(input.shape)}, got {target.dtype.name}"
        )
    return _unbatch(
        _soft_cross_entropy(logp, t, weight, reduction, label_smoothing), input, reduction
    )


def _soft_cross_entropy(logp, target, weight, reduction, smoothing):
    n = logp.shape[1]
    if smoothing:
        target = target * (1.0 - smoothing) + smoothing / n
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((n,) + (1,) * (logp.ndim - 2))
    losses = -R.sum_(prod, axis=(1,), keepdims=False)
    if reduction == "none":
        return losses
    total = U.sum_all(losses)
    return total if reduction == "sum" else U.mean_by(total, losses._data.size)


# ---- binary targets ---------------------------------------------------------------------------


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"
):
    """Binary cross entropy between probabilities ``input`` (in [0, 1]) and ``target``.

    Each log is clamped at -100, as in PyTorch, so a certain wrong answer costs 100, not inf.
    ``weight`` rescales each element (it broadcasts to the input's shape).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.binary_cross_entropy(ember.tensor([0.5, 1.0]), ember.tensor([1.0, 0.0]))
    tensor(50.3466)
    """
    name = "binary_cross_entropy"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    U.check_pair_dtype(name, input, target)
    U.same_size(name, input, target, strict=True)
    if weight is not None:
        U.constant_weight(name, weight)
    loss = P.binary_cross_entropy(input, target)
    return U.reduce_loss(U.apply_weight(name, loss, weight), reduction)


def binary_cross_entropy_with_logits(
    input,
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight=None,
):
    """Binary cross entropy of ``sigmoid(input)``, computed stably from the logits.

    ``pos_weight`` multiplies the loss of positive targets (it broadcasts along the last
    dimension: one entry per class); ``weight`` rescales each element.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(ember.tensor([0.0, 100.0]), ember.tensor([1.0, 0.0]))
    tensor(50.3466)
    """
    name = "binary_cross_entropy_with_logits"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    U.check_pair_dtype(name, input, target)
    U.same_size(name, input, target, strict=True)
    # (1 - y) x - log(sigmoid(x)) with log(sigmoid(x)) = -softplus(-x): no overflow for any
    # x, and PyTorch's formula, so float16 rounds the same way
    neg_log_sigmoid = _softplus(-input)
    if pos_weight is not None:
        U.constant_weight(name, pos_weight, "pos_weight")
        pw = U.apply_weight(name, target, pos_weight, "pos_weight")  # pos_weight * target
        neg_log_sigmoid = neg_log_sigmoid * (pw - target + 1.0)
    loss = (1.0 - target) * input + neg_log_sigmoid
    if weight is not None:
        U.constant_weight(name, weight)
    return U.reduce_loss(U.apply_weight(name, loss, weight), reduction)


def multilabel_soft_margin_loss(
    input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"
):
    """Binary logistic loss of each class of ``input`` (N, C) against 0/1 ``target``, averaged
    over the classes; ``weight`` rescales the classes.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.multilabel_soft_margin_loss(ember.zeros(1, 2), ember.tensor([[1.0, 0.0]]))
    tensor(0.6931)
    """
    name = "multilabel_soft_margin_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    U.float_input(name, "input", input)
    if not isinstance(target, Tensor):
        raise DTypeError(f"{name}: expected target to be a Tensor, got {type(target).__name__}")
    if input.ndim == 0:
        raise ShapeError(f"{name}: expected input of shape (C,) or (N, C), got shape ()")
    U.same_size(name, input, target, strict=True)
    # -(y log sigmoid(x) + (1 - y) log sigmoid(-x)), with -log sigmoid(x) = softplus(-x)
    loss = target * _softplus(-input) + (1.0 - target) * _softplus(input)
    loss = U.apply_weight(name, loss, weight)
    per_sample = R.sum_(loss, axis=(input.ndim - 1,), keepdims=False) / input.shape[-1]
    return U.reduce_loss(per_sample, reduction)


def _softplus(x):
    return A.softplus(x, beta=1.0, threshold=math.inf)


# PyTorch's epsilon added to each squared norm, so zero vectors give a finite cosine
_COS_EPS = 1e-12


def cosine_embedding_loss(
    input1,
    input2,
    target,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
):
    """``1 - cos(x1, x2)`` where ``target`` is 1 and ``max(0, cos(x1, x2) - margin)`` where it
    is -1, for pairs of rows (N, D) with targets (N,), or one pair (D,) with a 0-dim target.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> a = ember.tensor([[1.0, 0.0]])
    >>> F.cosine_embedding_loss(a, ember.tensor([[0.0, 1.0]]), ember.tensor([1.0]))
    tensor(1.)
    """
    name = "cosine_embedding_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    U.float_input(name, "input1", input1)
    U.float_input(name, "input2", input2)
    if not isinstance(target, Tensor) or target.ndim > 1:
        got = tuple(target.shape) if isinstance(target, Tensor) else type(target).__name__
        raise ShapeError(f"{name}: expected a 0-dim or 1-dim target, got {got}")
    want = target.ndim + 1
    if input1.ndim != want or input2.ndim != want or input1.shape != input2.shape:
        raise ShapeError(
            f"{name}: a {target.ndim}-dim target expects two {want}-dim inputs of one shape, "
            f"got {tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    if input1.shape[:-1] != target.shape:
        raise ShapeError(
            f"{name}: target shape {tuple(target.shape)} does not match the {input1.shape[0]} "
            f"input pairs"
        )
    feature = (input1.ndim - 1,)
    dot = R.sum_(input1 * input2, axis=feature, keepdims=False)
    sq1 = R.sum_(input1 * input1, axis=feature, keepdims=False) + _COS_EPS
    sq2 = R.sum_(input2 * input2, axis=feature, keepdims=False) + _COS_EPS
    cos = dot / E.sqrt(sq1 * sq2)
    loss = E.where(target == 1, 1.0 - cos, 0.0) + E.where(
        target == -1, E.clamp_min(cos - margin, 0.0), 0.0
    )
    return U.reduce_loss(loss, reduction)
