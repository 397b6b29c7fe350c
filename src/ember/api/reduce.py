"""Reductions and scans with ``dim`` (int, tuple or None) and ``keepdim``, as in PyTorch.

>>> import ember
>>> x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> x.sum(dim=0)
tensor([4., 6.])
>>> x.mean(), x.amax(dim=1, keepdim=True).shape
(tensor(2.5000), (2, 1))
>>> x.max(dim=0)
ember.return_types.max(values=tensor([3., 4.]), indices=tensor([1, 1]))
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from ember import dtypes as D
from ember.api import return_types as R
from ember.core.dispatch import apply
from ember.core.inplace import inplace
from ember.core.tensor import Tensor, _wrap, register_methods
from ember.errors import DTypeError, EmberValueError, ShapeError
from ember.native.dispatch import tensor_method
from ember.ops import elementwise as E
from ember.ops import movement as M
from ember.ops import reduce as P
from ember.ops import reduce_norm as N
from ember.ops import reduce_scan as C
from ember.ops import sort as S
from ember.ops.rules import norm_dim, norm_dims

__all__ = [
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "var",
    "std",
    "var_mean",
    "std_mean",
    "logsumexp",
    "norm",
    "all",
    "any",
    "count_nonzero",
    "cumsum",
    "cumprod",
]


# ---- argument normalisation (shared with ember.api.sort) -------------------------------------


def dims(op: str, input, dim) -> tuple:
    """``dim`` as a sorted tuple of non-negative dims; None and () mean every dim (as torch)."""
    nd = input._data.ndim
    if dim is None:
        return tuple(range(nd))
    if isinstance(dim, (tuple, list)):
        if not dim:
            return tuple(range(nd))
    else:
        dim = _index(op, dim)
    try:
        axis = norm_dims(dim, nd)
    except ShapeError as e:
        raise ShapeError(f"{op}: {e}") from None
    return axis if nd else ()


def one_dim(op: str, input, dim) -> int:
    """A single dim made non-negative (0-dim tensors accept 0 and -1)."""
    try:
        return norm_dim(_index(op, dim), input._data.ndim)
    except ShapeError as e:
        raise ShapeError(f"{op}: {e}") from None


def _index(op, dim):
    try:
        return operator.index(dim)
    except TypeError:
        raise DTypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}") from None


def check_nonempty(op: str, input, axis) -> None:
    """Raise like PyTorch when a reduction without identity meets an empty dim."""
    if input._data.size == 0:
        try:
            P.check_nonempty(input._data.shape, axis)
        except ShapeError as e:
            raise ShapeError(f"{op}: {e}") from None


def index_zero() -> Tensor:
    return _wrap(np.zeros((), np.int64))


def select(result, input, d: int, keepdim: bool, idx):
    """``result(values, indices)`` for indices ``idx`` kept as a size-1 dim ``d``."""
    values = S.take_along(input, idx, axis=d)
    if not keepdim:
        shape = input._data.shape[:d] + input._data.shape[d + 1 :]
        values, idx = M.reshape(values, shape=shape), M.reshape(idx, shape=shape)
    return result(values, idx)


def _cast(input, dtype):
    if dtype is None:
        return input
    target = D.as_dtype(dtype).np
    return input if input._data.dtype == target else E.cast(input, dtype=target)


def _recast(out, dtype):
    """Outputs of integer sums come back as int64; ``dtype=`` asks for another type."""
    return out if dtype is None else _cast(out, dtype)


def _float_dtype(op, input, dtype):
    if dtype is not None:
        target = D.as_dtype(dtype)
        if not target.is_floating_point:
            raise DTypeError(
                f"{op}: could not infer output dtype. Optional dtype must be a floating point "
                f"dtype, got {target.name}"
            )
        return _cast(input, target)
    if input._data.dtype.kind != "f":
        raise DTypeError(
            f"{op}: could not infer output dtype. Input dtype must be a floating point dtype, "
            f"got {input.dtype.name}; pass dtype= to convert it"
        )
    return input


# ---- sums and products -----------------------------------------------------------------------


def sum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Sum over ``dim`` (all dims by default); ints and bools sum to int64. ``dtype`` converts
    the input before summing.

    >>> import ember
    >>> ember.tensor([[1, 2], [3, 4]], dtype=ember.int32).sum(1)
    tensor([3, 7])
    """
    if dim is None and dtype is None and input.__class__ is Tensor:  # the commonest call:
        # straight to dispatch, without the general checks
        return apply(P.sum_, (input,), {"axis": _all_dims(input._data.ndim), "keepdims": keepdim})
    x = _cast(input, dtype)
    return _recast(P.sum_(x, axis=dims("sum", x, dim), keepdims=keepdim), dtype)


_ALL_DIMS = [tuple(range(n)) for n in range(33)]


def _all_dims(ndim: int) -> tuple:
    return _ALL_DIMS[ndim] if ndim < 33 else tuple(range(ndim))


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Mean over ``dim``; integer inputs need ``dtype=`` (a float dtype), as in PyTorch.

    >>> import ember
    >>> ember.tensor([1, 2], dtype=ember.int64).mean(dtype=ember.float32)
    tensor(1.5000)
    """
    x = _float_dtype("mean", input, dtype)
    return P.mean(x, axis=dims("mean", x, dim), keepdims=keepdim)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Product over ``dim``; ints and bools multiply in int64. Gradients are exact with zeros.

    >>> import ember
    >>> ember.tensor([[1.0, 2.0], [3.0, 0.0]]).prod(1)
    tensor([2., 0.])
    """
    x = _cast(input, dtype)
    return _recast(P.prod(x, axis=dims("prod", x, dim), keepdims=keepdim), dtype)


# ---- max and min -----------------------------------------------------------------------------


def _extremum(op, amax, arg, result, input, dim, keepdim, other):
    if other is not None or isinstance(dim, Tensor):
        from ember.api import elementwise

        return getattr(elementwise, "maximum" if op == "max" else "minimum")(
            input, dim if other is None else other
        )
    if dim is None:  # full reduction: the gradient of a NaN result goes to the NaNs
        axis = tuple(range(input._data.ndim))
        check_nonempty(op, input, axis)
        return amax(input, axis=axis, keepdims=False, nan_ties=True)
    d = one_dim(op, input, dim)
    if input._data.ndim == 0:
        return result(M.clone(input), index_zero())
    check_nonempty(op, input, (d,))
    return select(result, input, d, keepdim, arg(input, axis=d, keepdims=True))


def max(input, dim=None, keepdim: bool = False, *, other=None):
    """The largest element (NaN propagates); with ``dim``, the named tuple ``(values,
    indices)`` of each slice's maximum (first index among ties); with a tensor as second
    argument, ``maximum(input, other)``.

    >>> import ember
    >>> ember.tensor([[1.0, 5.0], [7.0, 2.0]]).max()
    tensor(7.)
    """
    return _extremum("max", P.amax, P.argmax, R.max, input, dim, keepdim, other)


def min(input, dim=None, keepdim: bool = False, *, other=None):
    """The smallest element; see ``max`` for the ``dim`` and binary forms.

    >>> import ember
    >>> ember.tensor([[1.0, 5.0], [7.0, 2.0]]).min(dim=1).indices
    tensor([0, 1])
    """
    return _extremum("min", P.amin, P.argmin, R.min, input, dim, keepdim, other)


def amax(input, dim=(), keepdim: bool = False):
    """Maximum over ``dim`` (all dims by default); the gradient is split evenly among ties.

    >>> import ember
    >>> ember.tensor([[1.0, 5.0], [7.0, 2.0]]).amax(dim=0)
    tensor([7., 5.])
    """
    return P.amax(input, axis=dims("amax", input, dim), keepdims=keepdim)


def amin(input, dim=(), keepdim: bool = False):
    """Minimum over ``dim`` (all dims by default); the gradient is split evenly among ties.

    >>> import ember
    >>> ember.tensor([[1.0, 5.0], [7.0, 2.0]]).amin(dim=1)
    tensor([1., 2.])
    """
    return P.amin(input, axis=dims("amin", input, dim), keepdims=keepdim)


def _arg(op, prim, input, dim, keepdim):
    if input._data.dtype == np.bool_:
        raise DTypeError(f"{op}: bool input is not supported")
    if isinstance(dim, (tuple, list)):
        raise DTypeError(f"{op}: dim must be an int or None, got {dim!r}")
    axis = None
    if dim is not None:
        d = one_dim(op, input, dim)
        axis = d if input._data.ndim else None
    return prim(input, axis=axis, keepdims=keepdim)


def argmax(input, dim=None, keepdim: bool = False):
    """Index of the maximum (into the flattened tensor when ``dim`` is None), as int64.

    >>> import ember
    >>> ember.tensor([[1.0, 5.0], [7.0, 2.0]]).argmax()
    tensor(2)
    """
    return _arg("argmax", P.argmax, input, dim, keepdim)


def argmin(input, dim=None, keepdim: bool = False):
    """Index of the minimum (into the flattened tensor when ``dim`` is None), as int64.

    >>> import ember
    >>> ember.tensor([[1.0, 5.0], [7.0, 2.0]]).argmin(dim=1)
    tensor([0, 1])
    """
    return _arg("argmin", P.argmin, input, dim, keepdim)


# ---- variance --------------------------------------------------------------------------------


def _var_args(op, dim, unbiased, correction):
    if isinstance(dim, bool):  # the legacy var(input, unbiased) form
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise DTypeError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance over ``dim`` divided by ``N - correction`` (default 1, Bessel's correction);
    ``unbiased=False`` is the legacy spelling of ``correction=0``.

    >>> import ember
    >>> ember.tensor([1.0, 2.0, 4.0]).var(correction=0)
    tensor(1.5556)
    """
    dim, c = _var_args("var", dim, unbiased, correction)
    return P.var(input, axis=dims("var", input, dim), correction=c, keepdims=keepdim)


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Standard deviation over ``dim`` (see ``var``); its gradient is 0 where it is 0.

    >>> import ember
    >>> ember.tensor([1.0, 3.0]).std()
    tensor(1.4142)
    """
    dim, c = _var_args("std", dim, unbiased, correction)
    return P.std(input, axis=dims("std", input, dim), correction=c, keepdims=keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim``.

    >>> import ember
    >>> ember.var_mean(ember.tensor([1.0, 3.0]))
    (tensor(2.), tensor(2.))
    """
    dim, c = _var_args("var_mean", dim, unbiased, correction)
    axis = dims("var_mean", input, dim)
    return (
        P.var(input, axis=axis, correction=c, keepdims=keepdim),
        P.mean(input, axis=axis, keepdims=keepdim),
    )


def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim``.

    >>> import ember
    >>> ember.std_mean(ember.tensor([1.0, 3.0]), correction=0)
    (tensor(1.), tensor(2.))
    """
    dim, c = _var_args("std_mean", dim, unbiased, correction)
    axis = dims("std_mean", input, dim)
    return (
        P.std(input, axis=axis, correction=c, keepdims=keepdim),
        P.mean(input, axis=axis, keepdims=keepdim),
    )


# ---- logsumexp and norms ---------------------------------------------------------------------


def logsumexp(input, dim, keepdim: bool = False):
    """``log(sum(exp(input)))`` over ``dim``, computed without overflow; integer inputs give
    the default float. Its gradient is the softmax.

    >>> import ember
    >>> ember.tensor([0.0, 0.0]).logsumexp(0)
    tensor(0.6931)
    """
    return P.logsumexp(input, axis=dims("logsumexp", input, dim), keepdims=keepdim)


def _norm_order(p, dim):
    if isinstance(p, str):
        if p == "fro":
            if isinstance(dim, (tuple, list)) and len(dim) > 2:
                raise ShapeError(f"norm: the 'fro' norm takes at most 2 dims, got dim={dim}")
            return 2.0
        if p == "nuc":
            raise EmberValueError("norm: the nuclear norm (p='nuc') is not implemented")
        raise EmberValueError(f"norm: order {p!r} is not supported")
    return builtins.float(p)


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """The vector ``p``-norm over ``dim`` (all dims by default): p = 2 ('fro'), 1, inf, -inf,
    0 (count of non-zeros) or any float. The gradient at 0 is 0, as in PyTorch.

    >>> import ember
    >>> ember.tensor([3.0, -4.0]).norm(), ember.tensor([3.0, -4.0]).norm(1)
    (tensor(5.), tensor(7.))
    """
    p = _norm_order(p, dim)
    if dtype is not None and not D.as_dtype(dtype).is_floating_point:
        raise DTypeError(f"norm: dtype should be a floating point dtype, got {dtype}")
    x = _cast(input, dtype)
    return N.norm(x, p=p, axis=dims("norm", x, dim), keepdims=keepdim)


# ---- logical reductions and counts -----------------------------------------------------------


def all(input, dim=None, keepdim: bool = False):
    """True where every element over ``dim`` is non-zero (``dim=()`` reduces nothing).

    >>> import ember
    >>> ember.tensor([[1, 0], [1, 1]]).all(dim=1)
    tensor([False,  True])
    """
    axis = () if dim == () or dim == [] else dims("all", input, dim)
    return P.all_(input, axis=axis, keepdims=keepdim)


def any(input, dim=None, keepdim: bool = False):
    """True where some element over ``dim`` is non-zero (``dim=()`` reduces nothing).

    >>> import ember
    >>> ember.tensor([[1, 0], [0, 0]]).any(dim=1)
    tensor([ True, False])
    """
    axis = () if dim == () or dim == [] else dims("any", input, dim)
    return P.any_(input, axis=axis, keepdims=keepdim)


def count_nonzero(input, dim=None):
    """The number of non-zero elements over ``dim``, as int64.

    >>> import ember
    >>> ember.count_nonzero(ember.tensor([[0, 1], [2, 3]]), dim=0)
    tensor([1, 2])
    """
    return P.count_nonzero(input, axis=dims("count_nonzero", input, dim))


# ---- scans -----------------------------------------------------------------------------------


def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim``; ints and bools give int64 unless ``dtype`` says otherwise.

    >>> import ember
    >>> ember.tensor([1, 2, 3]).cumsum(0)
    tensor([1, 3, 6])
    """
    x = _cast(input, dtype)
    return _recast(C.cumsum(x, axis=one_dim("cumsum", x, dim)), dtype)


def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim``; gradients are exact with zeros (first order).

    >>> import ember
    >>> ember.tensor([1.0, 2.0, 3.0]).cumprod(0)
    tensor([1., 2., 6.])
    """
    x = _cast(input, dtype)
    return _recast(C.cumprod(x, axis=one_dim("cumprod", x, dim)), dtype)


register_methods(
    sum=tensor_method("sum", sum),  # its common call in C (dispatch.c)
    mean=mean,
    prod=prod,
    max=max,
    min=min,
    amax=amax,
    amin=amin,
    argmax=argmax,
    argmin=argmin,
    var=var,
    std=std,
    logsumexp=logsumexp,
    norm=norm,
    all=all,
    any=any,
    count_nonzero=count_nonzero,
    cumsum=cumsum,
    cumprod=cumprod,
    cumsum_=inplace(cumsum, "cumsum_"),
    cumprod_=inplace(cumprod, "cumprod_"),
)
