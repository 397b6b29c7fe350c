"""Sorting and selection: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
``median``. Value outputs are differentiable: the gradient goes back to the selected positions.

>>> import ember
>>> x = ember.tensor([3.0, 1.0, 2.0])
>>> x.sort()
ember.return_types.sort(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
>>> x.topk(2).values, x.median()
(tensor([3., 2.]), tensor(2.))
"""

from __future__ import annotations

import operator

import numpy as np

from ember.api import return_types as R
from ember.api.reduce import check_nonempty, index_zero, one_dim, select
from ember.core.tensor import register_methods
from ember.errors import DTypeError, ShapeError
from ember.ops import movement as M
from ember.ops import sort as S

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median"]


def _no_bool(op, input):
    if input._data.dtype == np.bool_:
        raise DTypeError(f"{op}: bool input is not supported")


def _k(op, k):
    try:
        return operator.index(k)
    except TypeError:
        raise DTypeError(f"{op}: k must be an int, got {type(k).__name__} {k!r}") from None


def sort(input, dim=-1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` sorted along ``dim``; NaN sorts last (first when descending).
    ``stable=True`` keeps equal elements in their input order.

    >>> import ember
    >>> ember.tensor([[2.0, 1.0], [0.0, 3.0]]).sort(dim=0, descending=True).indices
    tensor([[0, 1],
            [1, 0]])
    """
    d = one_dim("sort", input, dim)
    if input._data.ndim == 0:
        return R.sort(M.clone(input), index_zero())
    idx = S.argsort(input, axis=d, descending=bool(descending), stable=bool(stable))
    return R.sort(S.take_along(input, idx, axis=d), idx)


def argsort(input, dim=-1, descending: bool = False, *, stable: bool = False):
    """The indices that sort ``input`` along ``dim``.

    >>> import ember
    >>> ember.tensor([3.0, 1.0, 2.0]).argsort(descending=True)
    tensor([0, 2, 1])
    """
    d = one_dim("argsort", input, dim)
    if input._data.ndim == 0:
        return index_zero()
    return S.argsort(input, axis=d, descending=bool(descending), stable=bool(stable))


def msort(input):
    """``input`` sorted along dim 0.

    >>> import ember
    >>> ember.msort(ember.tensor([[2, 0], [1, 3]]))
    tensor([[1, 0],
            [2, 3]])
    """
    return sort(input, 0).values


def topk(input, k, dim=-1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements
    along ``dim``, best first (also when ``sorted=False``). NaN counts as the largest.

    >>> import ember
    >>> ember.tensor([1.0, 4.0, 2.0, 3.0]).topk(2, largest=False)
    ember.return_types.topk(values=tensor([1., 2.]), indices=tensor([0, 2]))
    """
    k = _k("topk", k)
    d = one_dim("topk", input, dim)
    _no_bool("topk", input)
    if input._data.ndim == 0:
        if k not in (0, 1):
            raise ShapeError(f"topk: k ({k}) is out of range for a 0-dim tensor")
        return R.topk(M.clone(input), index_zero())
    n = input._data.shape[d]
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k ({k}) is out of range for dim {d} of size {n}")
    idx = S.topk_indices(input, k=k, axis=d, largest=bool(largest))
    return R.topk(S.take_along(input, idx, axis=d), idx)


def _select_kth(op, result, input, k, dim, keepdim, nan_first):
    d = one_dim(op, input, dim)
    _no_bool(op, input)
    if input._data.ndim == 0:
        if k not in (None, 1):  # None: the median
            raise ShapeError(f"{op}: k ({k}) is out of range for a 0-dim tensor")
        return result(M.clone(input), index_zero())
    check_nonempty(op, input, (d,))
    n = input._data.shape[d]
    k = (n - 1) // 2 + 1 if k is None else k
    if not 1 <= k <= n:
        raise ShapeError(f"{op}: k ({k}) is out of range for dim {d} of size {n}")
    return select(result, input, d, keepdim, S.kth_index(input, k=k, axis=d, nan_first=nan_first))


def kthvalue(input, k, dim=-1, keepdim: bool = False):
    """``(values, indices)`` of the ``k``-th smallest element (1-based) along ``dim``.

    >>> import ember
    >>> ember.tensor([4.0, 1.0, 3.0, 2.0]).kthvalue(2)
    ember.return_types.kthvalue(values=tensor(2.), indices=tensor(3))
    """
    return _select_kth("kthvalue", R.kthvalue, input, _k("kthvalue", k), dim, keepdim, False)


def median(input, dim=None, keepdim: bool = False):
    """The lower median of all elements, or ``(values, indices)`` along ``dim``. NaN
    propagates (the result is NaN where a slice holds one).

    >>> import ember
    >>> ember.tensor([4.0, 1.0, 3.0, 2.0]).median()
    tensor(2.)
    """
    if dim is not None:
        return _select_kth("median", R.median, input, None, dim, keepdim, True)
    _no_bool("median", input)
    if input._data.size == 0 and input._data.dtype.kind != "f":
        raise ShapeError(f"median: the median of an empty {input.dtype.name} tensor is undefined")
    return S.median_all(input)


register_methods(
    sort=sort,
    argsort=argsort,
    msort=msort,
    topk=topk,
    kthvalue=kthvalue,
    median=median,
)
