"""Softmax and loss primitives: ``softmax``, ``log_softmax``, the ``nll_loss`` family,
``softmax_cross_entropy`` and ``binary_cross_entropy``.

The softmaxes are primitives rather than composites because the max-shift that keeps them
stable and the single pass over the data are what make them fast; their VJPs are written with
ops, so second derivatives work.

``nll_loss`` picks ``-weight[t] * logp[n, t, ...]`` along class dim 1 and reduces it as
PyTorch does (one op for the whole loss: the hot path of classification). Its VJP scatters the
gradient back into the picked positions with ``nll_loss_backward``; the two are linear and
adjoint to each other, so each one's VJP is the other and gradients of any order follow.

``softmax_cross_entropy`` is ``nll_loss(log_softmax(x))`` for the common case of (N, C)
logits and unweighted class indices, fused: ``F.cross_entropy`` takes it there.

``binary_cross_entropy`` is a primitive because PyTorch's clamps (logs at -100, the gradient's
denominator at 1e-12) are not the derivative of any composite; its backward ops are primitives
with VJPs written with ops.
"""

from __future__ import annotations

import numpy as np

from ember.errors import EmberIndexError, EmberValueError, ShapeError
from ember.native import rows as native_rows
from ember.ops import rules
from ember.ops.registry import OPS, grad_enabled, needs_input_grad, primitive
from ember.ops.row_sum import row_sum

FLOATS = (np.float16, np.float32, np.float64)
_F16 = np.dtype(np.float16)


def _work(x):
    # float16 is accumulated in float32, as PyTorch's CPU kernels do.
    return x.astype(np.float32) if x.dtype == _F16 else x


def _last_axis(x, axis) -> bool:
    """Whether ``axis`` is the last dim: the rows the native kernels take."""
    return x.ndim > 0 and tuple(axis) == (x.ndim - 1,)


@primitive("softmax", shape=rules.same_shape, dtype=rules.same_dtype, save="out", dtypes=FLOATS)
def softmax(x, *, axis):
    """Softmax over ``axis`` (``(dim,)``, or ``()`` for a 0-dim input), shifted by the max."""
    if x.size == 0:
        return x.copy()
    w = _work(x)
    if _last_axis(w, axis) and (y := native_rows.softmax(np.ascontiguousarray(w))) is not None:
        return y.astype(x.dtype, copy=False)
    with np.errstate(invalid="ignore"):  # rows of -inf give nan, silently as in PyTorch
        e = np.asarray(w - np.max(w, axis=axis, keepdims=True))  # asarray: 0-dim gives scalars
        np.exp(e, out=e)
        e /= row_sum(e, axis, True)
    return e.astype(x.dtype, copy=False)


@softmax.defvjp
def _(g, out, x, *, axis):
    if isinstance(g, np.ndarray):  # eager first-order backward
        return softmax_rows_grad(g, out, axis)
    if not grad_enabled[0] and g.dtype == out.dtype:  # a traced first-order backward
        return OPS["softmax_grad"](g, out, axis=axis)
    return _softmax_grad_formula(g, out, axis)  # create_graph: ops, differentiable again


def _softmax_grad_formula(g, out, axis):
    """The softmax VJP with ops: on Tensors (differentiable) or on arrays."""
    gy = g * out
    return gy - out * OPS["sum"](gy, axis=axis, keepdims=True)


def softmax_rows_grad(g, out, axis):
    """``g * out - out * sum(g * out)`` over ``axis``: the softmax VJP on arrays, one pass of
    the native kernel over last-axis rows. Eager and compiled backward both run it."""
    if _last_axis(out, axis) and g.dtype == out.dtype:
        gx = native_rows.softmax_grad(np.ascontiguousarray(g), np.ascontiguousarray(out))
        if gx is not None:
            return gx
    return _softmax_grad_formula(g, out, axis)


def _pair_shape(g, out, *, axis):
    if tuple(g) != tuple(out):
        raise ShapeError(f"softmax_grad: gradient shape {tuple(g)} != output {tuple(out)}")
    return tuple(out)


@primitive("softmax_grad", shape=_pair_shape, dtype=rules.same_dtype, save="none", dtypes=FLOATS)
def softmax_grad(g, out, *, axis):
    """The softmax VJP (``softmax_rows_grad``) as one node of a compiled backward. It has no
    VJP: ``create_graph`` backward differentiates the op formula instead."""
    return softmax_rows_grad(g, out, axis)


@primitive("log_softmax", shape=rules.same_shape, dtype=rules.same_dtype, save="out", dtypes=FLOATS)
def log_softmax(x, *, axis):
    """``x - logsumexp(x)`` over ``axis`` (``(dim,)``, or ``()`` for a 0-dim input)."""
    if x.size == 0:
        return x.copy()
    w = _work(x)
    if _last_axis(w, axis) and (y := native_rows.log_softmax(np.ascontiguousarray(w))) is not None:
        return y.astype(x.dtype, copy=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.asarray(w - np.max(w, axis=axis, keepdims=True))
        s -= np.log(row_sum(np.exp(s), axis, True))
    return s.astype(x.dtype, copy=False)


@log_softmax.defvjp
def _(g, out, x, *, axis):
    return g - OPS["exp"](out) * OPS["sum"](g, axis=axis, keepdims=True)


# ---- negative log likelihood ----------------------------------------------------------------


def check_classes(op: str, target, classes: int, ignore_index) -> None:
    """Raise unless every target is a class in [0, classes) or ``ignore_index``. The ops
    check for themselves (nn.functional checks too, naming the function): a compiled graph
    runs them on each call's targets, and their kernels index rows by target."""
    t = np.asarray(target)
    # one pass: seen as uint64, negative indices are huge, so max >= n flags both ends
    u = t.view(np.uint64) if t.dtype == np.int64 else t.astype(np.uint64)
    if t.size and u.max() >= classes:
        bad = t[((t < 0) | (t >= classes)) & (t != ignore_index)]
        if bad.size:
            raise EmberIndexError(
                f"{op}: target {int(bad.flat[0])} is out of bounds for {classes} classes "
                f"(ignore_index={ignore_index})"
            )


def _valid_targets(target, ignore_index):
    """The targets with ignored entries replaced by class 0, and the ignore mask (or None)."""
    ignored = target == ignore_index
    if not ignored.any():
        return target, None
    return np.where(ignored, 0, target), ignored


def _nll_shape(logp, target, weight, *, ignore_index, reduction):
    if len(logp) < 2 or tuple(target) != tuple(logp[:1]) + tuple(logp[2:]):
        raise ShapeError(
            f"target shape {rules.fmt(target)} does not match input shape {rules.fmt(logp)}"
        )
    return tuple(target) if reduction == "none" else ()


def _total_weight(t, ignored, weight, picked_w):
    """The 'mean' divisor: the summed weight of the non-ignored targets (float64)."""
    if weight is None:
        return float(t.size - (0 if ignored is None else np.count_nonzero(ignored)))
    if picked_w is None:
        picked_w = weight[t]
    keep = True if ignored is None else ~ignored
    return float(np.sum(picked_w, where=keep, dtype=np.float64))


def _reduced(out, total, reduction):
    acc = np.float32 if out.dtype == _F16 else out.dtype  # float16 sums in float32
    s = out.sum(dtype=acc)  # the method: 2.5 us less than np.sum here, the same loop
    if reduction == "mean":
        s = s / total if total else np.nan  # 0/0 is nan, silently, as in PyTorch
    return np.asarray(s, out.dtype)


@primitive("nll_loss", shape=_nll_shape, dtype=rules.same_dtype)
def nll_loss(logp, target, weight, *, ignore_index, reduction):
    """``-weight[t] * logp[n, t, ...]`` (class dim 1), 0 where t == ignore_index, per element
    (``reduction='none'``) or summed ('sum'), or divided by the total weight ('mean').

    ``weight`` is a (C,) array or None; targets must be valid class indices or ignore_index.
    """
    check_classes("nll_loss", target, logp.shape[1], ignore_index)
    t, ignored = _valid_targets(target, ignore_index)
    if logp.ndim == 2:  # the common (N, C) case: plain fancy indexing is several times faster
        out = logp[np.arange(len(t)), t]
    else:
        out = np.take_along_axis(logp, t[:, None], axis=1).reshape(t.shape)
    picked_w = None
    if weight is not None:
        picked_w = weight[t]
        out *= picked_w
    np.negative(out, out=out)
    if ignored is not None:
        out[ignored] = 0
    if reduction == "none":
        return out
    total = _total_weight(t, ignored, weight, picked_w) if reduction == "mean" else 1.0
    return _reduced(out, total, reduction)


@nll_loss.defvjp
def _(g, out, logp, target, weight, *, ignore_index, reduction):
    gx = OPS["nll_loss_backward"](
        g,
        target,
        weight,
        ignore_index=ignore_index,
        reduction=reduction,
        num_classes=logp.shape[1],
    )
    return gx, None, None


def _scatter_shape(g, target, weight, *, ignore_index, reduction, num_classes):
    return tuple(target[:1]) + (num_classes,) + tuple(target[1:])


@primitive("nll_loss_backward", shape=_scatter_shape, dtype=rules.same_dtype)
def nll_loss_backward(g, target, weight, *, ignore_index, reduction, num_classes):
    """The adjoint of ``nll_loss``: ``-weight[t] * g`` (divided by the total weight for
    'mean') placed at class ``t`` along dim 1."""
    check_classes("nll_loss_backward", target, num_classes, ignore_index)
    t, ignored = _valid_targets(target, ignore_index)
    vals = np.negative(g) if weight is None else g * -weight[t]
    if reduction == "mean":
        total = _total_weight(t, ignored, weight, None)
        vals = vals / total if total else vals * np.nan  # 0/0 is nan, silently
    if vals.shape != t.shape:  # a reduced loss: one upstream value for every element
        vals = np.full(t.shape, vals, g.dtype)
    if ignored is not None:
        vals[ignored] = 0  # assignment, not a product: a nan upstream must not leak in
    out = np.zeros(t.shape[:1] + (num_classes,) + t.shape[1:], g.dtype)
    if t.ndim == 1:
        out[np.arange(len(t)), t] = vals
    else:
        np.put_along_axis(out, t[:, None], vals[:, None], axis=1)
    return out


@nll_loss_backward.defvjp
def _(gg, out, g, target, weight, *, ignore_index, reduction, num_classes):
    nll = OPS["nll_loss"](gg, target, weight, ignore_index=ignore_index, reduction=reduction)
    return nll, None, None


def _scalar_shape(*shapes, **_):
    return ()


@primitive("nll_loss_scale", shape=_scalar_shape, dtype=rules.same_dtype, save="none")
def nll_loss_scale(logp, target, weight, *, ignore_index):
    """``1 / total weight`` of the non-ignored targets, the factor of the 'mean' reduction
    (nan when every target is ignored, as PyTorch's 0/0). Not differentiable: PyTorch gives
    no gradient for class weights."""
    total = _total_weight(*_valid_targets(target, ignore_index), weight, None)
    return np.asarray(1.0 / total if total else np.nan, logp.dtype)


@primitive("nll_loss_keep", shape=lambda logp, target, **_: tuple(target), dtype=rules.same_dtype)
def nll_loss_keep(logp, target, *, ignore_index):
    """1 where the target is not ``ignore_index``, else 0, in the dtype of ``logp``."""
    return (target != ignore_index).astype(logp.dtype)


# ---- softmax cross entropy ------------------------------------------------------------------


def _ce_shape(x, target, *, ignore_index, reduction):
    if len(x) != 2 or tuple(target) != tuple(x[:1]):
        raise ShapeError(
            f"expected (N, C) logits and (N,) targets, got {rules.fmt(x)} and {rules.fmt(target)}"
        )
    return tuple(target) if reduction == "none" else ()


@primitive("softmax_cross_entropy", shape=_ce_shape, dtype=rules.same_dtype)
def softmax_cross_entropy(x, target, *, ignore_index, reduction):
    """``nll_loss(log_softmax(x), target)`` of (N, C) logits and int64 class indices (valid or
    ``ignore_index``), without weights: the classifier's loss in one op, one pass per row
    instead of the composite's two ops and five passes. Same values as the composite."""
    check_classes("cross_entropy", target, x.shape[1], ignore_index)
    res = native_rows.cross_entropy(x, target, ignore_index)
    if res is None:
        logp = log_softmax.forward(x, axis=(1,))
        return nll_loss.forward(logp, target, None, ignore_index=ignore_index, reduction=reduction)
    losses, kept = res
    if reduction == "none":
        return losses
    return _reduced(losses, float(kept) if reduction == "mean" else 1.0, reduction)


@softmax_cross_entropy.defvjp
def _(g, out, x, target, *, ignore_index, reduction):
    if isinstance(g, np.ndarray):  # eager first-order backward
        return softmax_cross_entropy_grad(g, x, target, ignore_index, reduction), None
    if not grad_enabled[0]:  # a traced first-order backward: one node
        gx = OPS["softmax_cross_entropy_backward"](
            g, x, target, ignore_index=ignore_index, reduction=reduction
        )
        return gx, None
    # create_graph: the composite's VJP with ops, differentiable again
    logp = OPS["log_softmax"](x, axis=(1,))
    n = x.shape[1]
    gl = OPS["nll_loss_backward"](
        g, target, None, ignore_index=ignore_index, reduction=reduction, num_classes=n
    )
    return gl - OPS["exp"](logp) * OPS["sum"](gl, axis=(1,), keepdims=True), None


def kept_count(t, ignored, reduction):
    """The 'mean' divisor of an unweighted loss: the number of targets kept (1.0 for the
    other reductions, which divide by nothing)."""
    return _total_weight(t, ignored, None, None) if reduction == "mean" else 1.0


def grad_scale(g, total, reduction):
    """The factor of each row's ``softmax - onehot``: ``g``, divided by ``total`` (the number
    of targets kept) for 'mean', as nll_loss_backward does."""
    if reduction != "mean":
        return g
    return g / total if total else g * np.nan  # 0/0 is nan, silently (every row ignored)


def softmax_cross_entropy_grad(g, x, target, ignore_index, reduction):
    """``(softmax(x) - onehot(target)) * g`` per row (divided by the number of targets kept
    for 'mean'), 0 in ignored rows: the VJP of ``softmax_cross_entropy`` on arrays."""
    check_classes("cross_entropy_backward", target, x.shape[1], ignore_index)
    t, ignored = _valid_targets(target, ignore_index)
    scale = grad_scale(g, kept_count(t, ignored, reduction), reduction)
    gx = native_rows.cross_entropy_grad(x, target, scale, ignore_index)
    if gx is not None:
        return gx
    p = np.asarray(softmax.forward(x, axis=(1,)))
    p[np.arange(len(t)), t] -= 1
    gx = p * np.asarray(scale, x.dtype).reshape(-1, 1)
    if ignored is not None:
        gx[ignored] = 0  # assignment, not a product: a nan upstream must not leak in
    return gx


def _ce_grad_shape(g, x, target, *, ignore_index, reduction):
    return tuple(x)


@primitive("softmax_cross_entropy_backward", shape=_ce_grad_shape, dtype=rules.same_dtype)
def softmax_cross_entropy_backward(g, x, target, *, ignore_index, reduction):
    """The VJP of ``softmax_cross_entropy`` (``softmax_cross_entropy_grad``) as one node of a
    compiled backward. It has no VJP: ``create_graph`` backward differentiates the composite."""
    return softmax_cross_entropy_grad(g, x, target, ignore_index, reduction)


# ---- binary cross entropy -------------------------------------------------------------------


def _bce_checked(x):
    if not ((x >= 0) & (x <= 1)).all():
        raise EmberValueError("all elements of input should be between 0 and 1")
    return _work(x)


@primitive("binary_cross_entropy", shape=rules.broadcast, dtype=rules.same_dtype)
def binary_cross_entropy(x, y):
    """``-(y log x + (1 - y) log(1 - x))`` with each log clamped at -100, as PyTorch does."""
    w = _bce_checked(x)
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(w), -100.0)
        log_1mx = np.maximum(np.log1p(-w), -100.0)
    return np.asarray(-(log_1mx + y * (log_x - log_1mx))).astype(x.dtype, copy=False)


@binary_cross_entropy.defvjp
def _(g, out, x, y):
    gx = OPS["binary_cross_entropy_backward"](g, x, y) if needs_input_grad(0) else None
    if not needs_input_grad(1):  # a constant target: skip two logs per element
        return gx, None
    return gx, OPS["binary_cross_entropy_target_backward"](g, x)


# PyTorch's floor is the float32 constant 1e-12f, whatever the dtype
_BCE_EPS = float(np.float32(1e-12))


@primitive("binary_cross_entropy_backward", shape=rules.broadcast, dtype=rules.same_dtype)
def binary_cross_entropy_backward(g, x, y):
    """``g * (x - y) / max(x (1 - x), 1e-12)``: PyTorch's gradient of the clamped loss."""
    w = _work(x)
    return np.asarray(g * (w - y) / np.maximum(w * (1 - w), _BCE_EPS)).astype(x.dtype, copy=False)


@binary_cross_entropy_backward.defvjp
def _(gg, out, g, x, y):
    # second order ignores the 1e-12 floor, which only acts within 1e-12 of 0 and 1
    d = x * (1 - x)
    r = gg / d
    diff = x - y
    return r * diff, r * g * (1 - diff * (1 - 2 * x) / d), -(r * g)


@primitive("binary_cross_entropy_target_backward", shape=rules.broadcast, dtype=rules.same_dtype)
def binary_cross_entropy_target_backward(g, x):
    """``g * (log(1 - x) - log(x))``: the target gradient, unclamped as in PyTorch."""
    w = _work(x)
    with np.errstate(divide="ignore"):
        return np.asarray(g * (np.log1p(-w) - np.log(w))).astype(x.dtype, copy=False)


@binary_cross_entropy_target_backward.defvjp
def _(gg, out, g, x):
    return OPS["binary_cross_entropy_target_backward"](gg, x), -(gg * g) / (x * (1 - x))


from ember.ops import loss_with_grad as _loss_with_grad  # noqa: E402,F401  (registers its op)
