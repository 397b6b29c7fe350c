"""Elementwise primitives: arithmetic, math functions, activations, comparisons, logic.

Binary ops broadcast (PyTorch rules) and promote their inputs (``promote=True``); the
autograd engine sums gradients back over broadcast dimensions, so VJPs here never do.
"""

from __future__ import annotations

import numpy as np

from ember.ops import rules
from ember.ops.registry import primitive

FLOATS = (np.float16, np.float32, np.float64)
NUMBERS = (np.int32, np.int64) + FLOATS
ALL = (np.bool_,) + NUMBERS


def _cast_dtype(x, *, dtype, **_):
    return np.dtype(dtype)


@primitive("cast", shape=rules.same_shape, dtype=_cast_dtype, save="none")
def cast(x, *, dtype):
    """Convert to ``dtype`` (a NumPy dtype); the gradient is cast back by the engine."""
    return x.astype(dtype)


@cast.defvjp
def _(g, out, x, *, dtype):
    return g


add = primitive("add", shape=rules.broadcast, dtype=rules.same_dtype, save="none", promote=True)(
    np.add
)
add.defvjp(lambda g, out, x, y: (g, g))

sub = primitive(
    "sub", shape=rules.broadcast, dtype=rules.same_dtype, save="none", promote=True, dtypes=NUMBERS
)(np.subtract)
sub.defvjp(lambda g, out, x, y: (g, -g))

mul = primitive("mul", shape=rules.broadcast, dtype=rules.same_dtype, promote=True)(np.multiply)
mul.defvjp(lambda g, out, x, y: (g * y, g * x))


@primitive(
    "div",
    shape=rules.broadcast,
    dtype=rules.same_dtype,
    save="both",
    promote=True,
    float_inputs=True,
)
def div(x, y):
    """True division; integer inputs give the default float dtype, as in PyTorch."""
    return np.true_divide(x, y)


@div.defvjp
def _(g, out, x, y):
    gx = g / y
    return gx, -gx * out


neg = primitive("neg", shape=rules.same_shape, dtype=rules.same_dtype, save="none", dtypes=NUMBERS)(
    np.negative
)
neg.defvjp(lambda g, out, x: -g)

exp = primitive(
    "exp", shape=rules.same_shape, dtype=rules.float_unary, save="out", float_inputs=True
)(np.exp)
exp.defvjp(lambda g, out, x: g * out)
