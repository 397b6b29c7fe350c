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

from ember.core.tensor import Tensor, _wrap
from ember.errors import ShapeError

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _params(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale gradients in place so that their joint ``norm_type``-norm is at most ``max_norm``.

    Returns the norm before clipping; the scale is ``max_norm / (norm + 1e-6)`` clamped to 1,
    as in PyTorch.
    """
    grads = [p.grad._data for p in _params(parameters) if p.grad is not None]
    if not grads:
        return _wrap(np.zeros((), np.float32))
    norm_type = float(norm_type)
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


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    for p in _params(parameters):
        if p.grad is not None:
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
