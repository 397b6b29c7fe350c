"""Elementwise primitives: arithmetic, integer division and remainders, powers, abs/sign,
maximum/minimum, clamp, where, floating-point math and rounding. Activations live in
``ember.ops.activation``, comparisons and logic in ``ember.ops.logic``.

Binary ops broadcast (PyTorch rules) and promote their inputs (``promote=True``); the
autograd engine sums gradients back over broadcast dimensions, so VJPs here never do.
Piecewise-constant ops (floor, sign, floor_divide ...) return zero gradients, as PyTorch does.
"""

from __future__ import annotations

import math

import numpy as np

from ember import dtypes as D
from ember.errors import DTypeError, EmberValueError
from ember.native import pointwise as native_pointwise
from ember.native import select as native_select
from ember.ops import rules, special
from ember.ops.registry import needs_input_grad, primitive

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


add = primitive(
    "add", shape=rules.broadcast, dtype=rules.promoted_dtype, save="none", promote=True
)(np.add)
add.defvjp(lambda g, out, x, y: (g, g))

sub = primitive(
    "sub",
    shape=rules.broadcast,
    dtype=rules.promoted_dtype,
    save="none",
    promote=True,
    dtypes=NUMBERS,
)(np.subtract)
sub.defvjp(lambda g, out, x, y: (g, -g))

mul = primitive(
    "mul", shape=rules.broadcast, dtype=rules.promoted_dtype, save="other", promote=True
)(np.multiply)


@mul.defvjp
def _(g, out, x, y):
    # an input that is not needed was saved as Meta only (save="other"): skip its product
    return (g * y if needs_input_grad(0) else None, g * x if needs_input_grad(1) else None)


@primitive(
    "div",
    shape=rules.broadcast,
    dtype=rules.promoted_dtype,
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


# ---- helpers -----------------------------------------------------------------------------

_SCALAR_TYPES = (bool, int, float)


class IntegerDivisionByZero(EmberValueError, ZeroDivisionError):
    """Integer division or remainder by zero."""


def _desc(*args) -> str:
    return ", ".join(
        f"{a.dtype}{list(a.shape)}" if isinstance(a, (np.ndarray, np.generic)) else repr(a)
        for a in args
    )


def _is_int(v) -> bool:
    return v.dtype.kind in "iu" if isinstance(v, (np.ndarray, np.generic)) else type(v) is int


def _check_int_divisor(name, x, y):
    """PyTorch raises on integer division by zero (NumPy would warn and return 0)."""
    if _is_int(x) and _is_int(y) and not np.all(y):
        raise IntegerDivisionByZero(
            f"{name}: integer division by zero (inputs: {_desc(x, y)}); divide floating-point "
            "tensors to get inf/nan instead"
        )


def zero_grad(g):
    """The gradient of a piecewise-constant op: zeros shaped like ``g``, as in PyTorch."""
    return g * 0


# ---- division and powers -----------------------------------------------------------------


@primitive(
    "floor_divide",
    shape=rules.broadcast,
    dtype=rules.promoted_dtype,
    save="none",
    promote=True,
    dtypes=NUMBERS,
)
def floor_divide(x, y):
    """Division rounded toward -inf (Python's ``//``); integer division by zero raises."""
    _check_int_divisor("floor_divide", x, y)
    return np.floor_divide(x, y)


floor_divide.defvjp(lambda g, out, x, y: (zero_grad(g), zero_grad(g)))


@primitive(
    "trunc_divide",
    shape=rules.broadcast,
    dtype=rules.promoted_dtype,
    save="none",
    promote=True,
    dtypes=NUMBERS,
)
def trunc_divide(x, y):
    """Division rounded toward zero (C's ``/`` on integers)."""
    _check_int_divisor("trunc_divide", x, y)
    if not (_is_int(x) and _is_int(y)):
        return np.trunc(np.true_divide(x, y))
    q = np.floor_divide(x, y)
    # floor and trunc differ by one where the division is inexact and the signs differ
    q += (np.remainder(x, y) != 0) & ((np.asarray(x) < 0) != (np.asarray(y) < 0))
    return q


trunc_divide.defvjp(lambda g, out, x, y: (zero_grad(g), zero_grad(g)))


@primitive(
    "remainder", shape=rules.broadcast, dtype=rules.promoted_dtype, promote=True, dtypes=NUMBERS
)
def remainder(x, y):
    """``x - floor(x / y) * y``: the result takes the sign of ``y`` (Python's ``%``)."""
    _check_int_divisor("remainder", x, y)
    return np.remainder(x, y)


@remainder.defvjp
def _(g, out, x, y):
    return g, None if isinstance(y, _SCALAR_TYPES) else -g * floor_divide(x, y)


@primitive("fmod", shape=rules.broadcast, dtype=rules.promoted_dtype, promote=True, dtypes=NUMBERS)
def fmod(x, y):
    """``x - trunc(x / y) * y``: the result takes the sign of ``x`` (C's ``fmod``)."""
    _check_int_divisor("fmod", x, y)
    return np.fmod(x, y)


@fmod.defvjp
def _(g, out, x, y):
    return g, None if isinstance(y, _SCALAR_TYPES) else -g * trunc_divide(x, y)


def _int_pow(x, y):
    """Integer powers; negative exponents as PyTorch computes them (1 and -1 keep their
    magnitude, every other base gives 0) where NumPy would raise."""
    neg = np.asarray(y) < 0
    if not neg.any():
        return np.power(x, y)
    r = np.power(x, np.where(neg, 0, y))
    odd = (np.asarray(y) & 1).astype(np.bool_)
    inv = np.where(np.equal(x, 1), 1, np.where(np.equal(x, -1), np.where(odd, -1, 1), 0))
    return np.where(neg, inv, r).astype(r.dtype, copy=False)


@primitive(
    "pow",
    shape=rules.broadcast,
    dtype=rules.promoted_dtype,
    save="both",
    promote=True,
    dtypes=NUMBERS,
)
def pow_(x, y):
    """``x ** y``; an integer tensor to a negative Python integer power raises, as in PyTorch."""
    if isinstance(y, _SCALAR_TYPES):
        if y == 2:
            return np.square(x)
        if type(y) is int and y < 0 and _is_int(x):
            raise EmberValueError(
                f"pow: integers to negative integer powers are not allowed (inputs: "
                f"{_desc(x, y)}); use a floating-point base"
            )
        return np.power(x, y)
    if _is_int(x) and _is_int(y):
        return _int_pow(x, y)
    if np.ndim(x) == 0 and np.ndim(y) == 0:
        return _scalar_pow(x, y)
    return np.power(x, y)


def _scalar_pow(x, y):
    """A 0-d float64 power as Python computes it (libm ``pow``): NumPy's vectorised float64
    power (SVML on AVX-512) differs in the last bit now and then (``0.9 ** 7``), and compiled
    optimizer steps compute ``beta ** step`` with this op where eager steps use Python floats."""
    r = np.power(x, y)
    if r.dtype != np.float64:
        return r
    try:
        return np.asarray(math.pow(float(x), float(y)))
    except (ValueError, OverflowError):  # NumPy's nan/inf, where Python raises
        return r


def _pow_grad_base(g, x, y):
    if isinstance(x, _SCALAR_TYPES):
        return None
    if isinstance(y, _SCALAR_TYPES):
        if y == 0:
            return zero_grad(g)
        if y == 1:
            return g
        if y == 2:
            return g * (x * 2)
        return g * (y * x ** (y - 1))
    return where(y == 0, 0, g * (y * x ** (y - 1)))


def _pow_grad_exponent(g, out, x, y):
    if isinstance(y, _SCALAR_TYPES):
        return None
    # d/dy x**y = x**y * log(x), taken as 0 where x == 0 and y >= 0 (PyTorch's convention)
    if isinstance(x, _SCALAR_TYPES):
        if x == 0:
            return g * where(y >= 0, 0, out * -math.inf)
        return g * (out * (math.log(x) if x > 0 else math.nan))
    return g * where((x == 0) & (y >= 0), 0, out * log(x))


@pow_.defvjp
def _(g, out, x, y):
    return _pow_grad_base(g, x, y), _pow_grad_exponent(g, out, x, y)


# ---- sign, comparisons with gradients, clamp, where --------------------------------------


def _empty(x):
    """A fresh array shaped like ``x`` (ufuncs return scalars for 0-dim inputs, not arrays)."""
    return np.empty(np.shape(x), x.dtype)


abs_ = primitive("abs", shape=rules.same_shape, dtype=rules.same_dtype, dtypes=NUMBERS)(np.abs)
abs_.defvjp(lambda g, out, x: g * sign(x))


@primitive("sign", shape=rules.same_shape, dtype=rules.same_dtype, save="none", dtypes=ALL)
def sign(x):
    """-1, 0 or 1 by the sign of each element; NaN gives 0 and bools stay bool, as in PyTorch."""
    if x.dtype.kind == "b":
        return x.copy()
    r = np.sign(x, out=_empty(x))
    if x.dtype.kind == "f":
        np.copyto(r, 0, where=np.isnan(r))
    return r


sign.defvjp(lambda g, out, x: zero_grad(g))


def _tie_split(g, x, y, x_loses, y_loses):
    """Gradients of maximum/minimum: the larger (smaller) input gets ``g``; ties split it."""
    half = where(x == y, g * 0.5, g)
    gy = None if isinstance(y, _SCALAR_TYPES) else where(y_loses, 0, half)
    return where(x_loses, 0, half), gy


maximum = primitive(
    "maximum", shape=rules.broadcast, dtype=rules.promoted_dtype, promote=True, dtypes=ALL
)(np.maximum)
maximum.defvjp(lambda g, out, x, y: _tie_split(g, x, y, x < y, x > y))

minimum = primitive(
    "minimum", shape=rules.broadcast, dtype=rules.promoted_dtype, promote=True, dtypes=ALL
)(np.minimum)
minimum.defvjp(lambda g, out, x, y: _tie_split(g, x, y, x > y, x < y))


@primitive("clamp", shape=rules.broadcast, dtype=rules.promoted_dtype, promote=True, dtypes=NUMBERS)
def clamp(x, lo, hi):
    """``min(max(x, lo), hi)``; a bound may be None; lo > hi gives hi everywhere (PyTorch).

    np.clip is one pass with these semantics (NaN propagates), where maximum + minimum is two.
    """
    return np.clip(x, lo, hi)


@clamp.defvjp
def _(g, out, x, lo, hi):
    # PyTorch's convention: x passes the gradient when lo <= x <= hi (bounds included);
    # a tensor bound gets it where it is the active one.
    if lo is None:
        keep = x <= hi
    elif hi is None:
        keep = x >= lo
    else:
        keep = (x >= lo) & (x <= hi)
    glo = ghi = None
    if lo is not None and not isinstance(lo, _SCALAR_TYPES):
        below = x < lo
        glo = where(below if hi is None else below & (lo < hi), g, 0)
    if hi is not None and not isinstance(hi, _SCALAR_TYPES):
        above = x > hi
        ghi = where(above if lo is None else above | (hi < lo), g, 0)
    return where(keep, g, 0), glo, ghi


_SCALAR_NP = {bool: np.dtype(np.bool_), int: np.dtype(np.int64)}


def _where_dtype(cond, a, b, **_):
    if isinstance(cond, np.dtype) and cond != rules.BOOL:
        raise DTypeError(f"expected condition to be a bool tensor, got {cond}")
    tensors = [d for d in (a, b) if isinstance(d, np.dtype)]
    scalars = [
        _SCALAR_NP.get(d) or D.get_default_dtype().np for d in (a, b) if not isinstance(d, np.dtype)
    ]
    return D.result_np_dtype(tensors, [], scalars)


@primitive("where", shape=rules.broadcast, dtype=_where_dtype)
def where(cond, a, b):
    """``a`` where ``cond`` is True, else ``b``. ``ember.where`` promotes ``a`` and ``b`` to one
    dtype first; here a Python scalar operand takes the other operand's dtype."""
    if getattr(cond, "dtype", rules.BOOL) != rules.BOOL:
        raise DTypeError(
            f"where: expected condition to be a bool tensor, got {cond.dtype} (inputs: "
            f"{_desc(cond, a, b)})"
        )
    return select(cond, a, b)


_UINT_OF_SIZE = {2: np.uint16, 4: np.uint32, 8: np.uint64}
_SELECT_MIN_SIZE = 2048  # below this, np.where's mispredictions cost less than 3 ufunc calls


def _bits(v, dtype, uint):
    return np.asarray(v, dtype).view(uint)


def select(cond, a, b):
    """``np.where(cond, a, b)`` without branches.

    np.where takes a branch per element and mispredicts on irregular masks (~10x the time of
    an arithmetic ufunc on 1M elements), so large selects mix the operands' bit patterns with
    an all-ones/all-zeros mask instead: exact for every value, NaN and inf included.
    """
    arrays = [v for v in (a, b) if isinstance(v, (np.ndarray, np.generic))]
    dtype = arrays[0].dtype if arrays else None
    if (
        dtype is None
        or dtype.kind == "b"
        or any(v.dtype != dtype for v in arrays)
        or (dtype.kind != "f" and (type(a) is float or type(b) is float))  # result is float
        or max(np.size(cond), np.size(a), np.size(b)) < _SELECT_MIN_SIZE
    ):
        return np.where(cond, a, b)
    uint = _UINT_OF_SIZE[dtype.itemsize]
    # the native kernels take one pass instead of two or three (same bits)
    if isinstance(a, _SCALAR_TYPES) and a == 0 and math.copysign(1, a) > 0:
        if (r := native_select.select_zero(cond, b, keep=False)) is not None:
            return r
        keep_b = np.subtract(cond, 1, dtype=uint)  # False -> all ones (unsigned wrap-around)
        return np.bitwise_and(keep_b, _bits(b, dtype, uint)).view(dtype)
    if isinstance(b, _SCALAR_TYPES) and b == 0 and math.copysign(1, b) > 0:
        if (r := native_select.select_zero(cond, a, keep=True)) is not None:
            return r
        return np.bitwise_and(np.negative(cond, dtype=uint), _bits(a, dtype, uint)).view(dtype)
    if (r := native_select.select(cond, a, b)) is not None:
        return r
    mask = np.negative(cond, dtype=uint)  # True -> all ones
    bb = _bits(b, dtype, uint)
    out = np.bitwise_and(np.bitwise_xor(_bits(a, dtype, uint), bb), mask)
    out ^= bb  # b ^ ((a ^ b) & mask): a where the mask is set, b elsewhere
    return out.view(dtype)


@where.defvjp
def _(g, out, cond, a, b):
    ga = None if isinstance(a, _SCALAR_TYPES) else where(cond, g, 0)
    gb = None if isinstance(b, _SCALAR_TYPES) else where(cond, 0, g)
    return None, ga, gb


# ---- floating-point math (integer and bool inputs become the default float) --------------


def _float_op(name, save="in"):
    return primitive(
        name, shape=rules.same_shape, dtype=rules.float_unary, save=save, float_inputs=True
    )


_LN2 = math.log(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

log = _float_op("log")(np.log)
log.defvjp(lambda g, out, x: g / x)

log1p = _float_op("log1p")(np.log1p)
log1p.defvjp(lambda g, out, x: g / (x + 1))

log2 = _float_op("log2")(np.log2)
log2.defvjp(lambda g, out, x: g / (x * _LN2))

expm1 = _float_op("expm1", save="out")(np.expm1)
expm1.defvjp(lambda g, out, x: g * (out + 1))

sqrt = _float_op("sqrt", save="out")(np.sqrt)
sqrt.defvjp(lambda g, out, x: g / (out * 2))


@_float_op("rsqrt", save="out")
def rsqrt(x):
    """``1 / sqrt(x)``."""
    r = np.sqrt(x, out=_empty(x))
    return np.divide(1, r, out=r)


rsqrt.defvjp(lambda g, out, x: g * (out * out * out) * -0.5)


@_float_op("reciprocal", save="out")
def reciprocal(x):
    """``1 / x``."""
    return np.divide(1, x)


reciprocal.defvjp(lambda g, out, x: -g * (out * out))

sin = _float_op("sin")(np.sin)
sin.defvjp(lambda g, out, x: g * cos(x))

cos = _float_op("cos")(np.cos)
cos.defvjp(lambda g, out, x: -g * sin(x))

tanh = _float_op("tanh", save="out")(np.tanh)
tanh.defvjp(lambda g, out, x: g * (1 - out * out))

# exp(-x) overflows (harmlessly, but with a NumPy warning) past these; sigmoid is 0 there anyway.
_EXP_ARG_CAP = {np.dtype(np.float32): 88.0, np.dtype(np.float64): 709.0}


@_float_op("sigmoid", save="out")
def sigmoid(x):
    """``1 / (1 + exp(-x))``; float16 is computed in float32, as PyTorch does."""
    if x.dtype == np.float16:
        return sigmoid(x.astype(np.float32)).astype(np.float16)
    if (y := native_pointwise.sigmoid(x)) is not None:  # one pass (float32)
        return y
    e = np.negative(x, out=_empty(x))
    np.minimum(e, _EXP_ARG_CAP[x.dtype], out=e)
    np.exp(e, out=e)
    e += 1
    return np.divide(1, e, out=e)


sigmoid.defvjp(lambda g, out, x: g * (out * (1 - out)))


@_float_op("erf")
def erf(x):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t**2) dt``."""
    return special.erf(x)


erf.defvjp(lambda g, out, x: g * (exp(-(x * x)) * _TWO_OVER_SQRT_PI))


# ---- rounding (integers pass through unchanged; the gradient is zero) ---------------------


def _rounding(name, fn, doc):
    def forward(x):
        return x.copy() if x.dtype.kind in "iu" else fn(x)

    forward.__doc__ = doc
    op = primitive(
        name, shape=rules.same_shape, dtype=rules.same_dtype, save="none", dtypes=NUMBERS
    )(forward)
    op.defvjp(lambda g, out, x: zero_grad(g))
    return op


floor = _rounding("floor", np.floor, "Round toward -inf.")
ceil = _rounding("ceil", np.ceil, "Round toward +inf.")
trunc = _rounding("trunc", np.trunc, "Round toward zero.")


@primitive("round", shape=rules.same_shape, dtype=rules.same_dtype, save="none", dtypes=NUMBERS)
def round_(x, *, decimals=0):
    """Round half to even, to ``decimals`` decimal places (negative: to tens, hundreds ...)."""
    if x.dtype.kind in "iu":
        if decimals:
            raise DTypeError(
                f"round: decimals={decimals} is not supported for integer inputs ({_desc(x)})"
            )
        return x.copy()
    if decimals == 0:
        return np.rint(x)
    if x.dtype == np.float16:  # x * 10**decimals would overflow float16 early
        return np.round(x.astype(np.float32), decimals).astype(np.float16)
    return np.round(x, decimals)


round_.defvjp(lambda g, out, x, *, decimals=0: zero_grad(g))
