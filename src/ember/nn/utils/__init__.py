"""``ember.nn.utils``: gradient clipping and flat parameter vectors.

>>> import ember
>>> w = ember.tensor([3.0, 4.0], requires_grad=True)
>>> w.grad = ember.tensor([3.0, 4.0])
>>> ember.nn.utils.clip_grad_norm_([w], max_norm=1.0)
tensor(5.)
>>> w.grad
tensor([0.6000, 0.8000])
"""

from __future__ import annotations

import math

import numpy as np

from ember.core.grad_mode import no_grad
from ember.core.tensor import Tensor, _wrap
from ember.core.trace_hooks import tracer as _tracer
from ember.errors import ShapeError
from ember.ops import elementwise as E
from ember.ops import movement as MV
from ember.ops import reduce_norm as RN

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]

_F64 = np.dtype(np.float64)


def _zero():
    return _wrap(np.zeros((), np.float64))


def _params(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale gradients in place so that their joint ``norm_type``-norm is at most ``max_norm``.

    Returns the norm before clipping; the scale is ``max_norm / (norm + 1e-6)`` clamped to 1,
    as in PyTorch. Inside ``ember.compile`` the same arithmetic runs as ops (the norm never
    becomes a Python number), so a compiled step clips exactly as the eager one does.
    """
    params = [p for p in _params(parameters) if p.grad is not None]
    if not params:
        return _wrap(np.zeros((), np.float32))
    norm_type = float(norm_type)
    if _tracer[0] is not None:
        return _traced_clip_norm(params, float(max_norm), norm_type, error_if_nonfinite)
    grads = [p._grad._data for p in params]
    if math.isinf(norm_type):
        norms = [np.abs(g).max() if g.size else 0.0 for g in grads]
        total = max(norms)
    else:
        norms = [np.linalg.norm(g.ravel(), norm_type) for g in grads]
        total = np.linalg.norm(np.asarray(norms, np.float64), norm_type)
    dtype = grads[0].dtype
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite"
        )
    coef = min(max_norm / (float(total) + 1e-6), 1.0)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return _wrap(np.asarray(total, dtype))


def _traced_clip_norm(params, max_norm, norm_type, error_if_nonfinite) -> Tensor:
    """The eager arithmetic in ops: per-gradient norms, their norm in float64, the clamped
    coefficient cast to the gradients' dtype (as NumPy casts a Python float). The scaled
    gradient replaces ``.grad`` (a gradient may be a view in the graph, which cannot be
    changed in place there); the compiled step sets ``.grad`` from its output either way."""
    if error_if_nonfinite:
        _tracer[0].read_grad(params[0])
        from ember.core.trace_hooks import value_read

        value_read[0](
            "clip_grad_norm_",
            "error_if_nonfinite=True reads the norm into Python, which a compiled function "
            "cannot do; pass error_if_nonfinite=False",
        )
    grads = [p.grad for p in params]
    dtype = grads[0]._data.dtype
    with no_grad():
        norms = [_vector_norm(g, norm_type) for g in grads]
        flat = MV.cat(*[MV.reshape(E.cast(n, dtype=_F64), shape=(1,)) for n in norms], dim=0)
        total = _vector_norm(flat, norm_type)
        coef = E.minimum(E.div(max_norm, E.add(total, 1e-6)), 1.0)
        coef = E.cast(coef, dtype=dtype)
        for p, g in zip(params, grads):
            p._grad = E.mul(g, coef)
        return E.cast(total, dtype=dtype)


def _vector_norm(t, norm_type):
    if math.isinf(norm_type) and t.numel() == 0:
        return E.cast(_zero(), dtype=t._data.dtype)
    return RN.norm(t, p=norm_type, axis=tuple(range(t.ndim)), keepdims=False)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    tracer = _tracer[0]
    for p in _params(parameters):
        if p.grad is None:
            continue
        if tracer is not None:  # an op, so the compiled step clamps too (see above)
            with no_grad():
                p._grad = E.clamp(p.grad, -clip_value, clip_value)
        else:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and concatenated into one (differentiable) vector."""
    from ember.api.shape import cat

    return cat([p.reshape(-1) for p in _params(parameters)])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy slices of ``vec`` into the parameters (in place, outside autograd)."""
    params = _params(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ShapeError(
            f"vector_to_parameters: expected a 1-D vector of {total} elements, got shape "
            f"{tuple(vec.shape)}"
        )
    offset = 0
    for p in params:
        n = p.numel()
        p._data[...] = vec._data[offset : offset + n].reshape(p.shape)
        p._vc[0] += 1
        offset += n
