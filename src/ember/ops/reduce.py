"""Reductions over a tuple of normalised dims (``axis``) with ``keepdims``.

Every reduction takes ``axis`` as a sorted tuple of non-negative dims (the API layer normalises
``dim``). Gradients that depend on which elements won (max/min ties, zeros in a product, a
norm at 0) are computed by small helper primitives here rather than by peeking at the data in
the VJP, so a traced backward graph recomputes them for new inputs.
"""

from __future__ import annotations

import math

import numpy as np

from ember.errors import AutogradError, ShapeError
from ember.ops import rules
from ember.ops.registry import OPS, primitive
from ember.ops.row_sum import row_sum

FLOATS = (np.float16, np.float32, np.float64)


def _int_to_int64(x, *rest, **_):
    return np.dtype(np.int64) if x.kind in "biu" else x


def _acc(dt):
    """The dtype to accumulate in: float32 for float16 (as PyTorch does), else None."""
    return np.float32 if dt == np.float16 else None


def keep_shape(shape, axis):
    """The shape a reduction over ``axis`` has with keepdims=True."""
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def unreduce(g, x, axis, keepdims):
    """Broadcast a reduced gradient ``g`` back to the shape of ``x``."""
    if not keepdims:
        g = OPS["reshape"](g, shape=keep_shape(x.shape, axis))
    return OPS["expand"](g, shape=x.shape)


def keep(r, x, axis, keepdims):
    """A reduced value reshaped so it broadcasts against ``x`` (keepdims form)."""
    return r if keepdims else OPS["reshape"](r, shape=keep_shape(x.shape, axis))


def count(shape, axis) -> int:
    """How many elements each reduction over ``axis`` combines."""
    return math.prod(shape[d] for d in axis)


def check_nonempty(shape, axis) -> None:
    """PyTorch's rule for reductions without an identity (max, argmax ...)."""
    if len(axis) == len(shape) and len(shape) and 0 in shape:
        raise ShapeError(
            f"cannot reduce an empty tensor of shape {rules.fmt(shape)} over all dims; "
            "specify the reduction dim with the 'dim' argument"
        )
    for d in axis:
        if shape[d] == 0:
            raise ShapeError(
                f"expected reduction dim {d} to have non-zero size (shape {rules.fmt(shape)})"
            )


def _nonempty_reduce_shape(x, *, axis, keepdims, **_):
    check_nonempty(x, axis)
    return rules.reduce_shape(x, axis=axis, keepdims=keepdims)


# ---- sum, mean, prod ----------------------------------------------------------------------


_add_reduce, _empty = np.add.reduce, np.empty


@primitive("sum", shape=rules.reduce_shape, dtype=_int_to_int64, save="meta")
def sum_(x, *, axis, keepdims):
    """Sum over ``axis`` (a tuple); integer and bool inputs sum to int64, as in PyTorch."""
    # the ufunc's reduce directly: np.sum's Python wrapper costs more than a tiny sum itself
    dtype = np.int64 if x.dtype.kind in "bi" else None
    if len(axis) == x.ndim:  # NumPy reduces over "every axis" 0.6 us faster than over
        if keepdims:  # their tuple, and into a 0-d array faster than it makes a scalar
            return np.add.reduce(x, axis=None, dtype=dtype, keepdims=True)
        # (positional: the ufunc parses them faster than keywords)
        return _add_reduce(x, None, dtype, _empty((), dtype or x.dtype))
    if dtype is None:
        return row_sum(x, axis, keepdims)
    return np.add.reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)


@sum_.defvjp
def _(g, out, x, *, axis, keepdims):
    return unreduce(g, x, axis, keepdims)


@primitive("mean", shape=rules.reduce_shape, dtype=rules.same_dtype, save="meta", dtypes=FLOATS)
def mean(x, *, axis, keepdims):
    """Mean over ``axis``; float16 accumulates in float32; an empty reduction gives NaN."""
    s = np.sum(x, axis=axis, keepdims=keepdims, dtype=_acc(x.dtype))
    with np.errstate(invalid="ignore"):
        return np.asarray(s / count(x.shape, axis), dtype=x.dtype)


@mean.defvjp
def _(g, out, x, *, axis, keepdims):
    return unreduce(g * (1.0 / max(count(x.shape, axis), 1)), x, axis, keepdims)


@primitive("prod", shape=rules.reduce_shape, dtype=_int_to_int64, save="in")
def prod(x, *, axis, keepdims):
    """Product over ``axis``; integer and bool inputs multiply in int64, as in PyTorch."""
    dt = np.int64 if x.dtype.kind in "bi" else _acc(x.dtype)
    return np.asarray(
        np.prod(x, axis=axis, keepdims=keepdims, dtype=dt), dtype=_int_to_int64(x.dtype)
    )


@prod.defvjp
def _(g, out, x, *, axis, keepdims):
    return unreduce(g, x, axis, keepdims) * OPS["prod_except"](x, axis=axis)


def _rows(x, axis):
    """``x`` as a (groups, n) matrix with the reduced dims last, and the inverse map."""
    rest = [d for d in range(x.ndim) if d not in axis]
    perm = rest + list(axis)
    xt = np.transpose(x, perm)
    rows = xt.reshape(count(x.shape, rest), count(x.shape, axis))
    inv = tuple(int(i) for i in np.argsort(perm))
    return rows, lambda r: np.transpose(r.reshape(xt.shape), inv)


@primitive("prod_except", shape=rules.same_shape, dtype=rules.same_dtype)
def prod_except(x, *, axis):
    """For each element, the product of the *other* elements of its reduction group: the
    gradient of ``prod``, exact when the group holds zeros (no division by them)."""
    zero = x == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if not zero.any():
            return np.prod(x, axis=axis, keepdims=True) / x
        rows, back = _rows(x, axis)
        z = rows == 0
        nz = np.where(z, 1, rows)
        p = nz.prod(axis=1, keepdims=True)
        zeros = z.sum(axis=1, keepdims=True)
        out = np.where(zeros == 0, p / nz, 0)
        out = np.where(z & (zeros == 1), p, out)
    return back(out.astype(x.dtype, copy=False))


@prod_except.defvjp
def _(g, out, x, *, axis):
    return OPS["prod_except_vjp"](g, x, axis=axis)


@primitive("prod_except_vjp", shape=rules.same_shape, dtype=rules.same_dtype)
def prod_except_vjp(g, x, *, axis):
    """``out[k] = sum_{i != k} g[i] * prod_{j not in (i, k)} x[j]`` within each group: the
    second derivative of ``prod``, exact for any number of zeros."""
    rows, back = _rows(x, axis)
    grows = _rows(np.broadcast_to(g, x.shape), axis)[0]
    z = rows == 0
    nz = np.where(z, 1, rows)
    inv = np.where(z, 0, 1 / nz)
    p = nz.prod(axis=1, keepdims=True)
    zeros = z.sum(axis=1, keepdims=True)
    s = (grows * inv).sum(axis=1, keepdims=True)  # sum of g/x over the non-zero elements
    gz = np.where(z, grows, 0).sum(axis=1, keepdims=True)  # sum of g over the zeros
    none = p * inv * (s - grows * inv)
    one = np.where(z, p * s, gz * p * inv)
    two = np.where(z, (gz - grows) * p, 0)
    out = np.where(zeros == 0, none, np.where(zeros == 1, one, np.where(zeros == 2, two, 0)))
    return back(out.astype(x.dtype, copy=False))


@prod_except_vjp.defvjp
def _(g, out, gin, x, *, axis):
    raise AutogradError("prod: gradients of order three and higher are not implemented")


# ---- max and min ---------------------------------------------------------------------------


def _extremum(name, fn):
    """amax / amin. With ``nan_ties`` (used by ``max()``/``min()`` without dim) the gradient
    of a NaN result goes to the NaN inputs, as PyTorch does; otherwise it is NaN."""

    @primitive(name, shape=_nonempty_reduce_shape, dtype=rules.same_dtype, save="both")
    def op(x, *, axis, keepdims, nan_ties=False):
        return fn(x, axis=axis, keepdims=keepdims)

    op.doc = f"{fn.__name__} over ``axis``; NaN propagates. Gradients split evenly among ties."

    @op.defvjp
    def _(g, out, x, *, axis, keepdims, nan_ties=False):
        w = OPS["tie_weights"](
            x, keep(out, x, axis, keepdims), axis=axis, mode="nan" if nan_ties else "eq"
        )
        return unreduce(g, x, axis, keepdims) * w

    return op


amax = _extremum("amax", np.amax)
amin = _extremum("amin", np.amin)


def _sign0(x):
    """sign(x) with sign(NaN) = 0, as torch.sgn."""
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


@primitive("tie_weights", shape=lambda x, ref, **_: tuple(x), dtype=rules.same_dtype, save="none")
def tie_weights(x, ref, *, axis, mode):
    """``1/k`` where an element equals its group's extremum ``ref`` (shared by k elements),
    else 0. mode "nan" also counts NaN elements as hits when ``ref`` is NaN; mode "abs"
    compares ``|x|`` (NaN counting as a hit) and multiplies by sign(x), for inf-norms."""
    a = np.abs(x) if mode == "abs" else x
    hit = a == ref
    if mode == "nan":
        hit |= np.isnan(x) & np.isnan(ref)
    elif mode == "abs":
        hit |= np.isnan(x)
    w = np.array(hit, dtype=x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(w, hit.sum(axis=axis, keepdims=True), out=w)
    if mode == "abs":
        w *= _sign0(x)
    return w


def _arg_shape(x, *, axis, keepdims):
    if axis is None:
        check_nonempty(x, tuple(range(len(x))))
        return (1,) * len(x) if keepdims else ()
    check_nonempty(x, (axis,))
    return rules.reduce_shape(x, axis=(axis,), keepdims=keepdims)


def _arg(name, fn):
    @primitive(name, shape=_arg_shape, dtype=rules.int64_out, save="none")
    def op(x, *, axis, keepdims):
        return np.asarray(fn(x, axis=axis, keepdims=keepdims), dtype=np.int64)

    op.doc = f"Index of the first {name[3:]} along ``axis`` (flat index when None); NaN wins."
    return op


argmax = _arg("argmax", np.argmax)
argmin = _arg("argmin", np.argmin)


# ---- variance and standard deviation ---------------------------------------------------------


def _variance(x, axis, correction, keepdims):
    xf = x.astype(np.float32) if x.dtype == np.float16 else x
    n = count(x.shape, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.asarray(xf - np.sum(xf, axis=axis, keepdims=True) / n)  # 0-d gives a scalar
        np.multiply(d, d, out=d)
        return np.sum(d, axis=axis, keepdims=keepdims) / max(n - correction, 0)


def _dof_scale(x, axis, correction, k):
    """``k / (n - correction)``, infinite when there are no degrees of freedom left."""
    dof = count(x.shape, axis) - correction
    return k / dof if dof > 0 else math.inf


@primitive("var", shape=rules.reduce_shape, dtype=rules.same_dtype, dtypes=FLOATS)
def var(x, *, axis, correction, keepdims):
    """Variance over ``axis`` with ``correction`` (1 = Bessel's); inf/NaN when n <= correction."""
    return np.asarray(_variance(x, axis, correction, keepdims), dtype=x.dtype)


@var.defvjp
def _(g, out, x, *, axis, correction, keepdims):
    centered = x - OPS["mean"](x, axis=axis, keepdims=True)
    g = g * _dof_scale(x, axis, correction, 2.0)
    return unreduce(g, x, axis, keepdims) * centered


@primitive("std", shape=rules.reduce_shape, dtype=rules.same_dtype, save="both", dtypes=FLOATS)
def std(x, *, axis, correction, keepdims):
    """Standard deviation over ``axis`` with ``correction``."""
    return np.asarray(np.sqrt(_variance(x, axis, correction, keepdims)), dtype=x.dtype)


@std.defvjp
def _(g, out, x, *, axis, correction, keepdims):
    # PyTorch's subgradient: 0 where the deviation is 0 (instead of 0/0)
    g = OPS["div_or_zero"](g, out) * _dof_scale(x, axis, correction, 1.0)
    return unreduce(g, x, axis, keepdims) * (x - OPS["mean"](x, axis=axis, keepdims=True))


@primitive("div_or_zero", shape=rules.broadcast, dtype=rules.same_dtype, save="both")
def div_or_zero(a, b):
    """``a / b`` where ``b != 0``, else 0 (the masked division of norm/std gradients)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b == 0, 0, np.true_divide(a, b))


@div_or_zero.defvjp
def _(g, out, a, b):
    ga = OPS["div_or_zero"](g, b)
    return ga, -(ga * out)


# ---- logsumexp ---------------------------------------------------------------------------------


@primitive(
    "logsumexp", shape=rules.reduce_shape, dtype=rules.float_unary, save="both", float_inputs=True
)
def logsumexp(x, *, axis, keepdims):
    """``log(sum(exp(x)))`` over ``axis``, shifted by the max so it never overflows."""
    xf = x.astype(np.float32) if x.dtype == np.float16 else x
    if count(x.shape, axis) == 0:
        shape = rules.reduce_shape(x.shape, axis=axis, keepdims=keepdims)
        return np.full(shape, -np.inf, x.dtype)
    m = np.amax(xf, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf, +inf or NaN groups: no shift
    t = np.asarray(xf - m)
    np.exp(t, out=t)
    with np.errstate(divide="ignore"):
        r = np.log(np.sum(t, axis=axis, keepdims=True)) + m
    if not keepdims:
        r = r.reshape(rules.reduce_shape(x.shape, axis=axis, keepdims=False))
    return np.asarray(r, dtype=x.dtype)


@logsumexp.defvjp
def _(g, out, x, *, axis, keepdims):
    return unreduce(g, x, axis, keepdims) * OPS["exp"](x - keep(out, x, axis, keepdims))


# ---- logical reductions and counts -------------------------------------------------------------


@primitive("all", shape=rules.reduce_shape, dtype=rules.bool_out, save="none")
def all_(x, *, axis, keepdims):
    """True where every element of the group is non-zero."""
    return np.all(x, axis=axis, keepdims=keepdims)


@primitive("any", shape=rules.reduce_shape, dtype=rules.bool_out, save="none")
def any_(x, *, axis, keepdims):
    """True where some element of the group is non-zero."""
    return np.any(x, axis=axis, keepdims=keepdims)


@primitive(
    "count_nonzero",
    shape=lambda x, *, axis: rules.reduce_shape(x, axis=axis, keepdims=False),
    dtype=rules.int64_out,
    save="none",
)
def count_nonzero(x, *, axis):
    """The number of non-zero elements (NaN counts) of each group, as int64."""
    return np.asarray(np.count_nonzero(x, axis=axis), dtype=np.int64)


from ember.ops import reduce_norm as _norm  # noqa: E402,F401 - registers norm ops
from ember.ops import reduce_scan as _scan  # noqa: E402,F401 - registers cumsum/cumprod
