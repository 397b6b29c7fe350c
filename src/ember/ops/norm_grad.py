"""``standardize_grads``: the fused norm backward as one graph node, for compiled steps.

Eager first-order backward of ``standardize`` runs the NumPy closed form
(``norm_kernels.backward``); a VJP handed Tensors writes the same formula with ops so that it
can be differentiated again. Inside ``ember.compile`` the engine hands VJPs Tensors even for
a first-order backward (grad mode off), and the op formula rounds differently from the
closed form, so compiled layer/batch norm training drifted from eager in the last bits. This
op runs the closed form itself: its result packs the input, weight and bias gradients into one
vector (a node has one output) that views take apart, so a compiled step is bitwise eager.
It has no VJP: ``create_graph`` backward keeps using the op formula.

>>> import numpy as np
>>> from ember.ops.norm_grad import standardize_grads
>>> x = np.array([[1.0, 3.0]])
>>> standardize_grads(np.ones((1, 2)), x, axis=(1,), eps=0.0, weight=False, bias=False)
array([0., 0.])
"""

from __future__ import annotations

import math

import numpy as np

from ember.errors import ShapeError
from ember.ops import norm_kernels as K
from ember.ops import registry
from ember.ops.registry import OPS, primitive


def _packed_shape(g, x, *params, **_):
    if tuple(g) != tuple(x):
        raise ShapeError(f"standardize_grads: gradient shape {tuple(g)} != input {tuple(x)}")
    return (math.prod(x) + sum(math.prod(p) for p in params),)


def _packed_dtype(g, x, *params, **_):
    return x


@primitive("standardize_grads", shape=_packed_shape, dtype=_packed_dtype, save="none")
def standardize_grads(g, x, *params, axis, eps, weight, bias):
    """``[grad_x, grad_weight, grad_bias]`` of ``standardize`` (those given), flattened and
    concatenated."""
    w = params[0] if weight else None
    shapes = (params[0].shape if weight else None, params[-1].shape if bias else None)
    packed = np.empty(_packed_shape(g.shape, x.shape, *(p.shape for p in params)), x.dtype)
    head = packed[: x.size].reshape(x.shape)
    # the input gradient, the large part, is computed in place (float16 is computed in
    # float32 and rounded into the packed vector below)
    direct = x.dtype != np.float16 and g.dtype == x.dtype and (w is None or w.dtype == x.dtype)
    gx, gw, gb = K.backward(g, x, w, axis, eps, shapes, head if direct else None)
    start = 0
    for part in [gx] + ([gw] if weight else []) + ([gb] if bias else []):
        if part is not head:
            packed[start : start + part.size] = np.ravel(part)
        start += part.size
    return packed


def applies(g, x, params) -> bool:
    """Whether a VJP given Tensors may use this op: grad mode is off (a traced first-order
    backward, not ``create_graph``) and every dtype is the same (no float16 mixing)."""
    if registry.grad_enabled[0]:
        return False
    dt = x._data.dtype
    return all(t._data.dtype == dt for t in (g, *params))


def grads_from_ops(g, x, params, axis, eps, weight, bias) -> tuple:
    """The gradients of ``standardize`` for its inputs, taken apart from one packed node."""
    packed = standardize_grads(g, x, *params, axis=axis, eps=eps, weight=weight, bias=bias)
    out, start = [], 0
    for t in (x, *params):
        n = math.prod(t.shape)
        part = OPS["narrow"](packed, dim=0, start=start, length=n)
        out.append(OPS["reshape"](part, shape=tuple(t.shape)))
        start += n
    return tuple(out)
