"""Pointwise losses (a loss per element of ``input`` and ``target``, then reduced):
``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``, ``kl_div``, ``poisson_nll_loss``,
``soft_margin_loss``, ``margin_ranking_loss`` and ``hinge_embedding_loss``.

They are composites of elementwise ops, so gradients flow to the target too (as in PyTorch)
and to any order. A target of another (broadcastable) size warns and broadcasts, as in PyTorch.

>>> import ember
>>> import ember.nn.functional as F
>>> F.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([0.0, 0.0]))
tensor(2.5000)
"""

from __future__ import annotations

import math

from ember.api import elementwise as E
from ember.core.tensor import Tensor
from ember.errors import DTypeError, EmberValueError, ShapeError
from ember.nn.functional import _loss_utils as U
from ember.ops import activation as A
from ember.ops.rules import broadcast

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "poisson_nll_loss",
    "soft_margin_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _tensors(name: str, **named) -> None:
    for what, x in named.items():
        if not isinstance(x, Tensor):
            raise DTypeError(f"{name}: expected {what} to be a Tensor, got {type(x).__name__}")


def _float_result(name: str, loss, input, target):
    if loss._data.dtype.kind != "f":
        raise DTypeError(
            f"{name}: expected floating-point input or target, got {input.dtype.name} and "
            f"{target.dtype.name}"
        )
    return loss


def _diff(name: str, input, target):
    _tensors(name, input=input, target=target)
    U.same_size(name, input, target)
    return _float_result(name, input - target, input, target)


def _weighted(name, loss, weight, input, reduction, by_weight: bool):
    """Apply a per-element ``weight`` (the input's shape); 'mean' divides by the total weight
    (``by_weight``, as PyTorch's mse/l1) or by the number of elements (huber)."""
    if weight is None:
        return U.reduce_loss(loss, reduction)
    _tensors(name, weight=weight)
    if weight.shape != input.shape:
        raise ShapeError(
            f"{name}: weight shape {tuple(weight.shape)} must be the same as input shape "
            f"{tuple(input.shape)}"
        )
    loss = loss * weight
    if reduction != "mean" or not by_weight or not loss._data.size:
        return U.reduce_loss(loss, reduction)
    return U.sum_all(loss) / U.sum_all(weight)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target) ** 2``; with ``weight`` (the input's shape),
    'mean' is the weighted average ``sum(w * e) / sum(w)``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.mse_loss(ember.tensor([1.0, 3.0]), ember.tensor([0.0, 0.0]), reduction="none")
    tensor([1., 9.])
    """
    name = "mse_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    d = _diff(name, input, target)
    return _weighted(name, d * d, weight, input, reduction, True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|``; ``weight`` as in ``mse_loss``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.l1_loss(ember.tensor([1.0, -3.0]), ember.tensor([0.0, 0.0]))
    tensor(2.)
    """
    name = "l1_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    d = _diff(name, input, target)
    return _weighted(name, E.abs(d), weight, input, reduction, True)


def _smooth(d, beta: float, scale: float):
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - beta / 2``; times ``scale``."""
    ad = E.abs(d)
    if beta == 0:
        return ad
    return E.where(ad < beta, d * d * (0.5 * scale / beta), (ad - 0.5 * beta) * scale)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """L1 loss made quadratic (``0.5 d**2 / beta``) where ``|d| < beta``; ``beta=0`` is L1.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.smooth_l1_loss(ember.tensor([0.5, 3.0]), ember.zeros(2), reduction="none")
    tensor([0.1250, 2.5000])
    """
    name = "smooth_l1_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    if beta < 0:
        raise EmberValueError(f"{name}: beta must be non-negative, got {beta}")
    d = _diff(name, input, target)
    return U.reduce_loss(_smooth(d, float(beta), 1.0), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d**2`` where ``|d| < delta``, else ``delta * (|d| - delta / 2)``: ``delta`` times
    ``smooth_l1_loss`` with ``beta=delta``. With ``weight``, 'mean' averages ``w * loss``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.huber_loss(ember.tensor([0.5, 3.0]), ember.zeros(2), reduction="none", delta=2.0)
    tensor([0.1250, 4.0000])
    """
    name = "huber_loss"
    reduction = U.reduction_mode(name, reduction)
    if not delta > 0:
        raise EmberValueError(f"{name}: delta must be positive, got {delta}")
    d = _diff(name, input, target)
    return _weighted(name, _smooth(d, float(delta), float(delta)), weight, input, reduction, False)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence ``target * (log(target) - input)`` with ``input`` given as
    log-probabilities (and ``target`` too when ``log_target``). ``reduction='batchmean'``
    divides the sum by the batch size, which is the mathematical KL divergence.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> p = ember.tensor([[0.5, 0.5]])
    >>> F.kl_div(p.log(), p, reduction="batchmean")
    tensor(0.)
    """
    name = "kl_div"
    reduction = U.reduction_mode(name, reduction, size_average, reduce, extra=("batchmean",))
    _tensors(name, input=input, target=target)
    if log_target:
        loss = E.exp(target) * (target - input)
    else:
        # xlogy(t, t): 0 where t == 0 (the log of a stand-in 1 keeps gradients finite there)
        loss = target * (E.log(E.where(target == 0, 1.0, target)) - input)
    loss = _float_result(name, loss, input, target)
    if reduction != "batchmean":
        return U.reduce_loss(loss, reduction)
    total = U.sum_all(loss)
    return U.mean_by(total, input.shape[0]) if input.ndim else total


def poisson_nll_loss(
    input,
    target,
    log_input=True,
    full=False,
    size_average=None,
    eps=1e-8,
    reduce=None,
    reduction="mean",
):
    """Negative log likelihood of ``target`` under a Poisson distribution of rate
    ``exp(input)`` (``log_input``) or ``input``; ``full`` adds the Stirling term of
    ``log(target!)`` where ``target > 1``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.poisson_nll_loss(ember.tensor([0.0]), ember.tensor([1.0]))
    tensor(1.)
    """
    name = "poisson_nll_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    _tensors(name, input=input, target=target)
    if log_input:
        loss = E.exp(input) - target * input
    else:
        loss = input - target * E.log(input + eps)
    if full:
        big = target > 1
        t = E.where(big, target, 1.0)  # keeps log finite where the term is masked out
        stirling = t * E.log(t) - t + 0.5 * E.log(t) + _HALF_LOG_2PI
        loss = loss + E.where(big, stirling, 0.0)
    return U.reduce_loss(_float_result(name, loss, input, target), reduction)


def _fits(name: str, shape, *others) -> None:
    """Each of ``others`` must broadcast to ``shape`` (the input's)."""
    for what, other in others:
        try:
            ok = broadcast(shape, other.shape) == tuple(shape)
        except ShapeError:
            ok = False
        if not ok:
            raise ShapeError(
                f"{name}: {what} of shape {tuple(other.shape)} does not broadcast to the input "
                f"shape {tuple(shape)}"
            )


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss ``log(1 + exp(-target * input))`` for targets of +1 / -1.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.soft_margin_loss(ember.tensor([0.0]), ember.tensor([1.0]))
    tensor(0.6931)
    """
    name = "soft_margin_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    _tensors(name, input=input, target=target)
    _fits(name, input.shape, ("target", target))
    U.constant_weight(name, target, "target")
    z = _float_result(name, -(target * input), input, target)
    return U.reduce_loss(A.softplus(z, beta=1.0, threshold=math.inf), reduction)


def margin_ranking_loss(
    input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"
):
    """``max(0, -target * (input1 - input2) + margin)``: rank ``input1`` above ``input2`` where
    ``target`` is 1 and below where it is -1.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.margin_ranking_loss(ember.tensor([1.0]), ember.tensor([2.0]), ember.tensor([1.0]))
    tensor(1.)
    """
    name = "margin_ranking_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    _tensors(name, input1=input1, input2=input2, target=target)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ShapeError(
            f"{name}: all input tensors should have the same number of dimensions, got shapes "
            f"input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)}, target "
            f"{tuple(target.shape)}"
        )
    d = _float_result(name, input1 - input2, input1, input2)
    return U.reduce_loss(E.clamp_min(margin - target * d, 0.0), reduction)


def hinge_embedding_loss(
    input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"
):
    """``input`` where ``target`` is 1 and ``max(0, margin - input)`` where it is -1 (e.g. for
    distances between pairs that should be close or at least ``margin`` apart).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.hinge_embedding_loss(ember.tensor([0.3, 0.3]), ember.tensor([1.0, -1.0]))
    tensor(0.5000)
    """
    name = "hinge_embedding_loss"
    reduction = U.reduction_mode(name, reduction, size_average, reduce)
    _tensors(name, input=input, target=target)
    U.same_size(name, input, target)
    hinge = _float_result(name, E.clamp_min(margin - input, 0.0), input, target)
    loss = E.where(target != 1, hinge, 0.0) + E.where(target != -1, input, 0.0)
    return U.reduce_loss(loss, reduction)
