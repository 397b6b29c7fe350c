"""The few array functions optimizer updates need, for NumPy arrays and Tensors alike.

Eager steps run on the parameters' NumPy arrays (fast, and in PyTorch's order of operations);
inside ``ember.compile`` the same update code runs on Tensors so that the tracer records it.
Python operators already work on both; these cover the rest.
"""

from __future__ import annotations

import math

import numpy as np

from ember.core.tensor import Tensor
from ember.ops import registry


def sqrt(a):
    """sqrt of an array, a Tensor or a Python float (kept a float: NumPy's weak scalar)."""
    if isinstance(a, float):
        return math.sqrt(a)
    return registry.OPS["sqrt"](a)


def maximum_into(dst, src) -> None:
    if isinstance(dst, Tensor):
        dst.copy_(registry.OPS["maximum"](dst, src))
    else:
        np.maximum(dst, src, out=dst)


def copy(a):
    return a.clone() if isinstance(a, Tensor) else np.array(a, copy=True)


def zeros_like(a):
    return full_like(a, 0.0)


def full_like(a, value):
    if isinstance(a, Tensor):
        from ember.core.creation import full_like as tensor_full_like

        return tensor_full_like(a, value)
    return np.full_like(a, value)
