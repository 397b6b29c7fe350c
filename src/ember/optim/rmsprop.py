"""RMSprop and Adagrad, as PyTorch computes them."""

from __future__ import annotations

from ember.optim import _math as M
from ember.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (optionally centered, with momentum)."""

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        *,
        maximize=False,
    ):
        if alpha < 0 or eps < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError("RMSprop: alpha, eps, momentum and weight_decay must be >= 0")
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, group, param, grad, state):
        alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
        if not state:
            state["step"] = 0.0
            state["square_avg"] = M.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = M.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = M.zeros_like(param)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * (grad * grad)
        if group["centered"]:
            ga = state["grad_avg"]
            ga += (1 - alpha) * (grad - ga)
            avg = M.sqrt(sq - ga * ga)
        else:
            avg = M.sqrt(sq)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / avg)


class Adagrad(Optimizer):
    """Adagrad with learning-rate decay."""

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        *,
        maximize=False,
    ):
        if lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0 or eps < 0:
            raise ValueError("Adagrad: lr_decay, weight_decay, accumulator and eps must be >= 0")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            eps=eps,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, group, param, grad, state):
        if not state:
            state["step"] = 0.0
            state["sum"] = M.full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += grad * grad
        std = M.sqrt(s)
        std += group["eps"]
        param -= clr * (grad / std)
