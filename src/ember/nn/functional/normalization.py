"""Normalisation functions: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``,
``normalize``, ``local_response_norm``, ``cosine_similarity`` and ``pairwise_distance``.

The batch/layer/group/instance norms share one fused op (``standardize``: statistics, scale
and shift in one forward, a closed-form backward); running statistics are plain tensors
updated in place outside autograd, exactly as PyTorch updates them.

>>> import ember
>>> import ember.nn.functional as F
>>> F.layer_norm(ember.tensor([[1.0, 3.0]]), (2,))
tensor([[-1.0000,  1.0000]])
"""

from __future__ import annotations

import math

import numpy as np

from ember.core.grad_mode import no_grad
from ember.core.inplace import write_into
from ember.core.tensor import Tensor
from ember.core.trace_hooks import tracer as _tracer
from ember.errors import DTypeError, EmberValueError, ShapeError
from ember.ops import elementwise as E
from ember.ops import movement as M
from ember.ops import nn as P
from ember.ops import norm_kernels as K
from ember.ops import running_stats as RS
from ember.ops.registry import OPS
from ember.ops.rules import broadcast, norm_dim

__all__ = [
    "batch_norm",
    "layer_norm",
    "group_norm",
    "instance_norm",
    "normalize",
    "local_response_norm",
    "cosine_similarity",
    "pairwise_distance",
]

_F16 = np.dtype(np.float16)


def _check_float(name, input, **params):
    dt = input._data.dtype
    if dt.kind != "f":
        raise DTypeError(f"{name}: expected a floating-point input, got {input.dtype.name}")
    for what, t in params.items():
        if t is None:
            continue
        pd = t._data.dtype
        if pd != dt and not (dt == _F16 and pd == np.float32):
            raise DTypeError(
                f"{name}: {what} has dtype {t.dtype.name} but input has dtype "
                f"{input.dtype.name} (expected the same dtype, or float32 for a float16 input)"
            )


def _check_channels(name, input, n, **params):
    for what, t in params.items():
        if t is not None and t.numel() != n:
            raise ShapeError(
                f"{name}: {what} should contain {n} elements not {t.numel()} (shape "
                f"{tuple(t.shape)}; input shape {tuple(input.shape)})"
            )


def _fused(input, weight, bias, axis, eps, pshape):
    """The fused standardize op with weight/bias reshaped to ``pshape``."""
    params = [M.reshape(p, shape=pshape) for p in (weight, bias) if p is not None]
    return P.standardize(
        input,
        *params,
        axis=axis,
        eps=float(eps),
        weight=weight is not None,
        bias=bias is not None,
    )


def _update_running(input, axis, keep, running_mean, running_var, momentum, count=None):
    """running = (1 - momentum) * running + momentum * batch statistic (unbiased variance),
    in place and outside autograd; ``keep`` = dims averaged after the per-group moments.
    Called right after the fused forward, whose moments it reuses. While tracing, the update
    is the ``running_stat`` op written back with ``copy_``, so a compiled step performs it;
    ``count`` (the ``num_batches_tracked`` tensor) then stands for ``momentum = 1/count``."""
    if _tracer[0] is not None:
        if isinstance(momentum, Tensor):  # BatchNorm's momentum=None: the batch count
            momentum, count = 0.0, momentum
        _traced_update(input, axis, keep, running_mean, running_var, momentum, count)
        return
    x = input._data
    last, K.last_moments[0] = K.last_moments[0], None
    if last is not None and last[0] == id(x):
        mean, var = last[1], last[2]
    else:
        mean, var = RS.batch_moments(x, axis)
    n = math.prod(x.shape[a] for a in axis)
    with no_grad():
        for stat, use_var in ((running_var, True), (running_mean, False)):
            if stat is not None:
                new = RS.blend(stat._data, mean, var, n, keep, momentum, use_var)
                write_into(stat, new, "batch_norm")


def _traced_update(input, axis, keep, running_mean, running_var, momentum, count):
    K.last_moments[0] = None
    extra = () if count is None else (count,)
    with no_grad():
        for stat, use_var in ((running_var, True), (running_mean, False)):
            if stat is not None:
                new = RS.running_stat(
                    stat, input, *extra, axis=axis, keep=keep, momentum=momentum, var=use_var
                )
                stat.copy_(new)


def _eval_norm(input, running_mean, running_var, weight, bias, eps, pshape):
    """``(x - running_mean) / sqrt(running_var + eps) * weight + bias`` as ``x * scale +
    shift``: the statistics are constants, so only the per-channel vectors are differentiable."""
    dt = input._data.dtype
    cdt = np.float32 if dt == _F16 else dt
    if _tracer[0] is not None:  # the statistics are graph inputs: they change between calls
        rstd = E.div(1.0, E.sqrt(E.add(_flat(running_var, cdt), eps)))
        mean = _flat(running_mean, cdt)
    else:
        rstd = 1.0 / np.sqrt(running_var._data.astype(cdt).reshape(-1) + eps)
        mean = running_mean._data.astype(cdt).reshape(-1)
    scale = rstd if weight is None else E.mul(_as(weight, cdt), rstd)
    if bias is None:
        shift = -mean * rstd if weight is None else E.mul(scale, -mean)
    else:
        shift = E.sub(_as(bias, cdt), mean * rstd if weight is None else E.mul(scale, mean))
    scale, shift = (_shaped(v, pshape, dt) for v in (scale, shift))
    return E.add(E.mul(input, scale), shift)


def _flat(t, dt):
    return M.reshape(_as(t, dt), shape=(t.numel(),))


def _as(t, dt):
    return t if t._data.dtype == dt else E.cast(t, dtype=np.dtype(dt))


def _shaped(v, pshape, dt):
    if isinstance(v, np.ndarray):
        return v.astype(dt, copy=False).reshape(pshape)
    return M.reshape(_as(v, dt), shape=pshape)


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
):
    """Normalise each channel (dim 1) of ``(N, C, *)`` input.

    Training uses the batch mean and biased variance and updates ``running_mean`` /
    ``running_var`` (when given) in place with the unbiased variance:
    ``running = (1 - momentum) * running + momentum * batch``. Evaluation uses the running
    statistics.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> rm, rv = ember.zeros(2), ember.ones(2)
    >>> y = F.batch_norm(ember.tensor([[1.0, 2.0], [3.0, 6.0]]), rm, rv, training=True)
    >>> rm
    tensor([0.2000, 0.4000])
    """
    _check_float("batch_norm", input, weight=weight, bias=bias)
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C, *), got shape {shape}")
    c = shape[1]
    _check_channels(
        "batch_norm", input, c, running_mean=running_mean, running_var=running_var,
        weight=weight, bias=bias,
    )  # fmt: skip
    axis = (0,) + tuple(range(2, len(shape)))
    pshape = (c,) + (1,) * (len(shape) - 2)
    if training:
        if math.prod(shape[a] for a in axis) == 1:
            raise ShapeError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {shape}"
            )
        out = _fused(input, weight, bias, axis, eps, pshape)
        if (running_mean is not None or running_var is not None) and input.numel():
            _update_running(input, axis, (), running_mean, running_var, momentum)
        return out
    if running_mean is None or running_var is None:
        raise EmberValueError(
            "batch_norm: running_mean and running_var must be defined in evaluation mode"
        )
    return _eval_norm(input, running_mean, running_var, weight, bias, eps, pshape)


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
):
    """Normalise each (sample, channel) plane of ``(N, C, *)`` input over its spatial dims;
    running statistics (when given) are updated with the batch average of the instance
    statistics.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.instance_norm(ember.tensor([[[1.0, 3.0]]])).tolist()
    [[[-0.99999..., 0.99999...]]]
    """
    _check_float("instance_norm", input, weight=weight, bias=bias)
    shape = tuple(input.shape)
    if len(shape) < 3:
        raise ShapeError(f"instance_norm: expected input of shape (N, C, *), got shape {shape}")
    c = shape[1]
    _check_channels(
        "instance_norm", input, c, running_mean=running_mean, running_var=running_var,
        weight=weight, bias=bias,
    )  # fmt: skip
    axis = tuple(range(2, len(shape)))
    pshape = (c,) + (1,) * (len(shape) - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise EmberValueError(
                "instance_norm: running_mean and running_var must be defined when "
                "use_input_stats is False"
            )
        return _eval_norm(input, running_mean, running_var, weight, bias, eps, pshape)
    if math.prod(shape[2:]) == 1:
        raise ShapeError(
            f"instance_norm: expected more than 1 spatial element when training, got input of "
            f"shape {shape}"
        )
    out = _fused(input, weight, bias, axis, eps, pshape)
    if running_mean is not None or running_var is not None:
        _update_running(input, axis, (0,), running_mean, running_var, momentum)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise over the trailing ``normalized_shape`` dims, then scale by ``weight`` and
    shift by ``bias`` (both of shape ``normalized_shape``).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.layer_norm(ember.tensor([[0.0, 2.0, 4.0]]), 3, bias=ember.ones(3))
    tensor([[-0.2247,  1.0000,  2.2247]])
    """
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    ns = tuple(int(n) for n in ns)
    shape = tuple(input.shape)
    if not ns:
        raise ShapeError(
            "layer_norm: expected normalized_shape to be at least 1-dimensional, got ()"
        )
    if len(shape) < len(ns) or shape[len(shape) - len(ns) :] != ns:
        raise ShapeError(
            f"layer_norm: given normalized_shape={list(ns)}, expected input with shape "
            f"[*, {', '.join(map(str, ns))}], but got input of size {list(shape)}"
        )
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise ShapeError(
                f"layer_norm: expected {what} to be of same shape as normalized_shape, but got "
                f"{what} of shape {list(t.shape)} and normalized_shape={list(ns)}"
            )
    _check_float("layer_norm", input, weight=weight, bias=bias)
    axis = tuple(range(len(shape) - len(ns), len(shape)))
    return _fused(input, weight, bias, axis, eps, ns)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Split the channels of ``(N, C, *)`` input into ``num_groups`` groups, normalise each
    (sample, group) over its channels and spatial dims, then apply a per-channel affine map.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.group_norm(ember.tensor([[1.0, 3.0, 5.0, 9.0]]), 2).tolist()
    [[-0.99999..., 0.99999..., -0.99999..., 0.99999...]]
    """
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ShapeError(
            f"group_norm: expected at least 2 dimensions for input tensor but received "
            f"{len(shape)} (shape {shape})"
        )
    n, c = shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ShapeError(
            f"group_norm: expected number of channels in input to be divisible by num_groups, "
            f"but got input of shape {shape} and num_groups={num_groups}"
        )
    _check_channels("group_norm", input, c, weight=weight, bias=bias)
    _check_float("group_norm", input, weight=weight, bias=bias)
    g = num_groups
    x = M.reshape(input, shape=(n, g, c // g, math.prod(shape[2:])))
    y = _fused(x, weight, bias, (2, 3), eps, (g, c // g, 1))
    return M.reshape(y, shape=shape)


def _reduce_dim(name, input, dim):
    try:
        return (norm_dim(dim, input.ndim),) if input.ndim else ()
    except ShapeError as e:
        raise ShapeError(f"{name}: {e}") from None


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """``input / max(||input||_p, eps)`` with the norm taken over ``dim``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.normalize(ember.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    _check_float("normalize", input)
    if out is not None:
        raise EmberValueError("normalize: out= is not supported")
    axis = _reduce_dim("normalize", input, dim)
    n = OPS["norm"](input, p=float(p), axis=axis, keepdims=True)
    return E.div(input, E.clamp(n, float(eps), None))


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (inputs broadcast); each
    norm is raised to at least ``eps`` (a value-only floor, as in PyTorch).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.cosine_similarity(ember.tensor([[1.0, 0.0]]), ember.tensor([[1.0, 1.0]]))
    tensor([0.7071])
    """
    _check_float("cosine_similarity", x1)
    _check_float("cosine_similarity", x2)
    try:
        shape = broadcast(x1.shape, x2.shape)
    except ShapeError as e:
        raise ShapeError(f"cosine_similarity: {e}") from None
    x1, x2 = (t if t.shape == shape else M.expand(t, shape=shape) for t in (x1, x2))
    axis = _reduce_dim("cosine_similarity", x1, dim)
    units = []
    for t in (x1, x2):
        n = OPS["norm"](t, p=2.0, axis=axis, keepdims=True)
        # lifts the value, leaves the gradient; ops on the detached norm, so that a traced
        # graph computes the floor of every call's inputs instead of baking in the first's
        plain = n.detach()
        floor = E.sub(OPS["maximum"](plain, eps), plain)
        units.append(E.div(t, E.add(n, floor)))
    return OPS["sum"](E.mul(*units), axis=axis, keepdims=False)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """``||x1 - x2 + eps||_p`` over the last dim (inputs broadcast).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.pairwise_distance(ember.tensor([[0.0, 0.0]]), ember.tensor([[3.0, 4.0]]), eps=0.0)
    tensor([5.])
    """
    _check_float("pairwise_distance", x1)
    _check_float("pairwise_distance", x2)
    try:
        nd = len(broadcast(x1.shape, x2.shape))
    except ShapeError as e:
        raise ShapeError(f"pairwise_distance: {e}") from None
    diff = E.add(E.sub(x1, x2), float(eps))
    axis = (nd - 1,) if nd else ()
    return OPS["norm"](diff, p=float(p), axis=axis, keepdims=keepdim)


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """``x / (k + alpha * mean of x**2 over a window of size channels) ** beta``; the window
    is centred on each channel and zero-padded (PyTorch's definition).

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.local_response_norm(ember.ones(1, 3, 2), 2).shape
    (1, 3, 2)
    """
    _check_float("local_response_norm", input)
    if input.ndim < 3:
        raise ShapeError(
            f"local_response_norm: expected 3D or higher dimensional input, got shape "
            f"{tuple(input.shape)}"
        )
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = E.mul(input, input)
    pad = [(0, 0)] * input.ndim
    pad[1] = (size // 2, (size - 1) // 2)
    padded = OPS["pad"](sq, pad=tuple(pad), mode="constant", value=0.0)
    total = None
    for i in range(size):  # a sum of `size` shifted views: size is a small window
        part = OPS["narrow"](padded, dim=1, start=i, length=c)
        total = part if total is None else E.add(total, part)
    div = E.add(E.mul(total, alpha / size), k)
    return E.div(input, OPS["pow"](div, beta))
