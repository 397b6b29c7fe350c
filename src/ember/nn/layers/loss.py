"""Loss layers, each a thin module over its ``ember.nn.functional`` function.

>>> import ember
>>> loss = ember.nn.MSELoss()
>>> loss(ember.zeros(3), ember.ones(3))
tensor(1.)
"""

from __future__ import annotations

from ember.nn import functional as F
from ember.nn.module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]


class _Loss(Module):
    fn = ""
    options: tuple = ()  # (name, default) pairs besides reduction
    buffer_options: tuple = ()  # options stored as (non-trainable) buffers, like weight

    def __init__(self, *args, reduction: str = "mean", **kwargs):
        super().__init__()
        names = [n for n, _ in self.options]
        values = dict(self.options)
        values.update(zip(names, args))
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}")
        values.update(kwargs)
        if reduction not in ("mean", "sum", "none", "batchmean"):
            raise ValueError(f"{type(self).__name__}: {reduction!r} is not a valid reduction")
        self.reduction = reduction
        for n in names:
            if n in self.buffer_options:
                self.register_buffer(n, values[n])
            else:
                setattr(self, n, values[n])

    def forward(self, input, target):
        kwargs = {n: getattr(self, n) for n, _ in self.options}
        return getattr(F, self.fn)(input, target, reduction=self.reduction, **kwargs)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction}" if self.reduction != "mean" else ""


class CrossEntropyLoss(_Loss):
    fn = "cross_entropy"
    options = (("weight", None), ("ignore_index", -100), ("label_smoothing", 0.0))
    buffer_options = ("weight",)


class NLLLoss(_Loss):
    fn = "nll_loss"
    options = (("weight", None), ("ignore_index", -100))
    buffer_options = ("weight",)


class MSELoss(_Loss):
    fn = "mse_loss"


class L1Loss(_Loss):
    fn = "l1_loss"


class SmoothL1Loss(_Loss):
    fn = "smooth_l1_loss"
    options = (("beta", 1.0),)


class HuberLoss(_Loss):
    fn = "huber_loss"
    options = (("delta", 1.0),)


class BCELoss(_Loss):
    fn = "binary_cross_entropy"
    options = (("weight", None),)
    buffer_options = ("weight",)


class BCEWithLogitsLoss(_Loss):
    fn = "binary_cross_entropy_with_logits"
    options = (("weight", None), ("pos_weight", None))
    buffer_options = ("weight", "pos_weight")


class KLDivLoss(_Loss):
    fn = "kl_div"
    options = (("log_target", False),)
