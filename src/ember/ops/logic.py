"""Comparisons, logical and bitwise ops, and NaN/inf tests. None of them has a gradient.

Comparisons promote their operands first (``int32 tensor < 2.5`` compares as float32, as in
PyTorch) and return bool. Logical ops treat nonzero as True whatever the dtype. Bitwise ops
accept bool and integer tensors only.
"""

from __future__ import annotations

import numpy as np

from ember.ops import rules
from ember.ops.registry import primitive

BITS = (np.bool_, np.int32, np.int64)


def _compare(name, fn, doc):
    op = primitive(name, shape=rules.broadcast, dtype=rules.bool_out, save="none", promote=True)(fn)
    op.doc = doc
    return op


eq = _compare("eq", np.equal, "Elementwise ``x == y``.")
ne = _compare("ne", np.not_equal, "Elementwise ``x != y``.")
lt = _compare("lt", np.less, "Elementwise ``x < y``.")
le = _compare("le", np.less_equal, "Elementwise ``x <= y``.")
gt = _compare("gt", np.greater, "Elementwise ``x > y``.")
ge = _compare("ge", np.greater_equal, "Elementwise ``x >= y``.")


def _logical(name, fn, shape=rules.broadcast):
    return primitive(name, shape=shape, dtype=rules.bool_out, save="none")(fn)


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)
logical_not = _logical("logical_not", np.logical_not, rules.same_shape)


def _float_test(name, fn, non_float):
    def forward(x):
        if x.dtype.kind == "f":
            return fn(x)
        return np.full(np.shape(x), non_float)  # integers and bools are never NaN or inf

    forward.__doc__ = f"Elementwise ``{name}`` (bool result)."
    return primitive(name, shape=rules.same_shape, dtype=rules.bool_out, save="none")(forward)


isnan = _float_test("isnan", np.isnan, False)
isinf = _float_test("isinf", np.isinf, False)
isfinite = _float_test("isfinite", np.isfinite, True)


def _bitwise(name, fn, shape=rules.broadcast):
    return primitive(
        name, shape=shape, dtype=rules.promoted_dtype, save="none", promote=True, dtypes=BITS
    )(fn)


bitwise_and = _bitwise("bitwise_and", np.bitwise_and)
bitwise_or = _bitwise("bitwise_or", np.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", np.bitwise_xor)
bitwise_not = _bitwise("bitwise_not", np.invert, rules.same_shape)
