"""``softmax_cross_entropy_with_grad``: a classifier's loss and its gradient as one node.

A compiled training step computes ``softmax_cross_entropy(x, t)`` forward and
``softmax_cross_entropy_backward(g, x, t)`` backward: two passes over the logits and two
calls. The ``loss_grad`` pass (``ember.passes.loss_grad``) pairs them into this op, whose
native kernel reads each row once for both, with the bits of the two ops it replaces. Like
``standardize_grads`` it returns its results packed in one array, taken apart by views:
the (N, C) gradient first, then the loss (one value, or N for ``reduction='none'``).

>>> import numpy as np
>>> x = np.zeros((2, 2))
>>> softmax_cross_entropy_with_grad.forward(
...     np.float32(1.0), x, np.array([0, 1]), ignore_index=-100, reduction="mean"
... ).round(4).tolist()
[-0.25, 0.25, 0.25, -0.25, 0.6931]
"""

from __future__ import annotations

import numpy as np

from ember.errors import ShapeError
from ember.native import rows as native_rows
from ember.ops import loss as L
from ember.ops import rules
from ember.ops.registry import primitive


def loss_size(rows: int, reduction: str) -> int:
    return rows if reduction == "none" else 1


def _shape(g, x, target, *, ignore_index, reduction):
    if len(x) != 2 or tuple(target) != tuple(x[:1]):
        raise ShapeError(
            f"expected (N, C) logits and (N,) targets, got {rules.fmt(x)} and {rules.fmt(target)}"
        )
    return (x[0] * x[1] + loss_size(x[0], reduction),)


@primitive("softmax_cross_entropy_with_grad", shape=_shape, dtype=rules.same_dtype)
def softmax_cross_entropy_with_grad(g, x, target, *, ignore_index, reduction):
    """[``softmax_cross_entropy_backward(g, x, target)`` flattened, then
    ``softmax_cross_entropy(x, target)``] in one array. It has no VJP (it only appears in
    graphs that are already differentiated)."""
    rows, classes = x.shape
    out = np.empty(rows * classes + loss_size(rows, reduction), x.dtype)
    if reduction != "none" and native_rows.cross_entropy_loss_grad(
        g, x, target, ignore_index, reduction == "mean", out
    ):
        return out  # one C call (a compiled step's loss); else the steps below
    gx = out[: rows * classes].reshape(rows, classes)
    L.check_classes("cross_entropy", target, classes, ignore_index)
    t, ignored = L._valid_targets(target, ignore_index)
    kept = L.kept_count(t, ignored, reduction)
    scale = L.grad_scale(g, kept, reduction)
    losses = native_rows.cross_entropy_with_grad(x, target, scale, ignore_index, gx)
    if losses is None:  # no kernel: the two ops' own forwards
        loss = L.softmax_cross_entropy.forward(
            x, target, ignore_index=ignore_index, reduction=reduction
        )
        gx[...] = L.softmax_cross_entropy_grad(g, x, target, ignore_index, reduction)
    elif reduction == "none":
        loss = losses
    else:
        loss = L._reduced(losses, kept, reduction)
    out[rows * classes :] = np.reshape(loss, -1)
    return out
