"""Adam and AdamW (with amsgrad), as PyTorch computes them."""

from __future__ import annotations

import numpy as np

from ember.native import optim as native_optim
from ember.optim import _math as M
from ember.optim.optimizer import Optimizer


class Adam(Optimizer):
    """Adam; weight decay is added to the gradient (L2), as in PyTorch's Adam.

    >>> import ember
    >>> w = ember.tensor([1.0], requires_grad=True)
    >>> opt = ember.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([0.9000], requires_grad=True)
    """

    decoupled = False

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        *,
        maximize=False,
    ):
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"{type(self).__name__}: invalid betas {betas}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(
                f"{type(self).__name__}: invalid eps {eps} or weight_decay {weight_decay}"
            )
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, group, param, grad, state):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = M.zeros_like(param)
            state["exp_avg_sq"] = M.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = M.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if wd != 0:
            if self.decoupled:
                param *= 1 - lr * wd
            else:
                grad = grad + wd * param
        m, v = state["exp_avg"], state["exp_avg_sq"]
        step_size = lr / (1 - b1**step)
        bc2_sqrt = M.sqrt(1 - b2**step)
        if isinstance(param, np.ndarray):
            self._update_arrays(group, param, grad, state, step_size, bc2_sqrt)
            return
        m += (1 - b1) * (grad - m)  # lerp, as PyTorch writes it
        v *= b2
        v += (1 - b2) * (grad * grad)
        if group["amsgrad"]:
            M.maximum_into(state["max_exp_avg_sq"], v)
            v = state["max_exp_avg_sq"]
        denom = M.sqrt(v)
        denom /= bc2_sqrt
        denom += eps
        param -= step_size * (m / denom)

    def _update_arrays(self, group, param, grad, state, step_size, bc2_sqrt):
        """The update above for NumPy arrays, operation for operation (so bit for bit), in
        one scratch array instead of six temporaries: fresh arrays of a large parameter's
        size are new pages for the kernel to fault in on every step."""
        (b1, b2), eps = group["betas"], group["eps"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        vmax = state["max_exp_avg_sq"] if group["amsgrad"] else None
        if native_optim.adam_step(
            param, grad, m, v, vmax, b1=b1, b2=b2, eps=eps, step_size=step_size, bc2_sqrt=bc2_sqrt
        ):
            return  # the same operations in one C pass
        tmp = self._scratch(param)
        np.subtract(grad, m, out=tmp)
        tmp *= 1 - b1
        m += tmp
        v *= b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - b2
        v += tmp
        if vmax is not None:
            M.maximum_into(vmax, v)
            v = vmax
        np.sqrt(v, out=tmp)
        tmp /= bc2_sqrt
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        param -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (the parameter shrinks by lr * weight_decay)."""

    decoupled = True

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
