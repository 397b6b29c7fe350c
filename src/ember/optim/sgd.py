"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from ember.native import optim as native_optim
from ember.optim import _math as M
from ember.optim.optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's SGD.

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([0.8000], requires_grad=True)
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        *,
        maximize=False,
    ):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid momentum {momentum} or weight_decay {weight_decay}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, group, param, grad, state):
        wd, momentum = group["weight_decay"], group["momentum"]
        if wd != 0:
            grad = grad + wd * param
        if isinstance(param, np.ndarray) and self._native(group, param, grad, state):
            return
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = M.copy(grad)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad if group["dampening"] else grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * grad

    def _native(self, group, param, grad, state) -> bool:
        """The update of `_update` in one C pass (same bits), when the kernel applies."""
        momentum = group["momentum"]
        buf = state.get("momentum_buffer")
        first = momentum != 0 and buf is None
        if first:
            buf = np.empty(param.shape, param.dtype)
        done = native_optim.sgd_step(
            param,
            grad,
            buf,
            lr=group["lr"],
            momentum=momentum,
            dampening=group["dampening"],
            nesterov=group["nesterov"],
            first=first,
        )
        if done and first:
            state["momentum_buffer"] = buf
        return done
