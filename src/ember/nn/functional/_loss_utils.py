"""Argument handling shared by the loss functions: reductions, dtype and size checks."""

from __future__ import annotations

import math
import warnings

from ember.core.grad_mode import _enabled
from ember.core.tensor import Tensor
from ember.errors import AutogradError, DTypeError, EmberValueError, ShapeError
from ember.ops import reduce as R
from ember.ops.rules import broadcast


def reduction_mode(name: str, reduction: str, size_average=None, reduce=None, extra=()) -> str:
    if size_average is not None or reduce is not None:
        # PyTorch's legacy flags: reduce=False wins, then size_average picks mean or sum
        if reduce is False:
            return "none"
        return "sum" if size_average is False else "mean"
    if reduction not in ("none", "mean", "sum") + extra:
        allowed = ", ".join(repr(r) for r in ("none", "mean", "sum") + extra)
        raise EmberValueError(
            f"{name}: {reduction!r} is not a valid value for reduction (expected one of {allowed})"
        )
    return reduction


def sum_all(loss):
    return R.sum_(loss, axis=tuple(range(loss.ndim)), keepdims=False)


def mean_by(total, count):
    # 0/0 is nan in PyTorch; multiplying avoids NumPy's divide warning
    return total / count if count else total * math.nan


def reduce_loss(loss, reduction: str):
    if reduction == "none":
        return loss
    total = sum_all(loss)
    return total if reduction == "sum" else mean_by(total, loss._data.size)


def float_input(name: str, what: str, x) -> None:
    if not isinstance(x, Tensor):
        raise DTypeError(f"{name}: expected {what} to be a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{name}: expected a floating-point {what}, got {x.dtype.name}")


def same_size(name: str, input, target, *, strict: bool = False):
    """PyTorch's rule for elementwise losses: a target of another size warns and broadcasts
    (raises when ``strict``)."""
    if input.shape == target.shape:
        return
    if strict:
        raise ShapeError(
            f"{name}: target shape {tuple(target.shape)} must be the same as input shape "
            f"{tuple(input.shape)}"
        )
    try:
        broadcast(input.shape, target.shape)
    except ShapeError as e:
        raise ShapeError(f"{name}: input and target: {e}") from None
    warnings.warn(
        f"{name}: using a target size {tuple(target.shape)} that is different to the input "
        f"size {tuple(input.shape)}; this will likely lead to incorrect results due to "
        "broadcasting. Please ensure they have the same size.",
        stacklevel=3,
    )


def constant_weight(name: str, weight, what: str = "weight") -> None:
    """PyTorch gives no gradient for class/element weights and refuses ones that need it."""
    if weight._rg and _enabled[0]:
        raise AutogradError(
            f"{name}: the loss is not differentiable with respect to {what}; {what} cannot "
            "require grad (detach() it)"
        )


def check_pair_dtype(name: str, input, target) -> None:
    float_input(name, "input", input)
    float_input(name, "target", target)
    if target._data.dtype != input._data.dtype:
        raise DTypeError(
            f"{name}: target dtype {target.dtype.name} does not match input dtype "
            f"{input.dtype.name}"
        )


def apply_weight(name: str, loss, weight, what: str = "weight"):
    if weight is None:
        return loss
    float_input(name, what, weight)
    if weight._data.dtype != loss._data.dtype:
        weight = weight.to(loss.dtype)  # PyTorch computes in the input's dtype
    try:
        fits = broadcast(weight.shape, loss.shape) == tuple(loss.shape)
    except ShapeError:
        fits = False
    if not fits:
        raise ShapeError(
            f"{name}: {what} of shape {tuple(weight.shape)} cannot be broadcast to the loss "
            f"shape {tuple(loss.shape)}"
        )
    return loss * weight
