"""Turning a user's index (``x[0, :, idx, None, mask]``) into what the primitives take.

``split_key`` follows PyTorch's reading of an index: ints select, slices slice, None adds a
dim, Ellipsis fills, and tensors/lists/arrays become index arrays applied *after* the basic
part, to the dims of the resulting view (so ints never count as advanced indices). Bool masks
become their ``nonzero`` arrays, a Python bool adds a dim indexed by ``[0]`` or ``[]``. With
``check`` (always, when the result will be differentiated) index arrays come out
bounds-checked, non-negative and int64; forward-only reads leave the checking to NumPy.
"""

from __future__ import annotations

import numpy as np

from ember.api.trace_index import follow, refuse_mask, refuse_scalar_index
from ember.core.creation import to_array
from ember.core.tensor import Tensor
from ember.errors import DTypeError, EmberError, EmberIndexError, ShapeError
from ember.ops import rules

FULL = slice(None)
INTS = (np.dtype(np.int32), np.dtype(np.int64))
_ARRAY, _MASK, _BOOL = "array", "mask", "bool"


def prefixed(op: str, fn, *args, **kwargs):
    """``fn(*args)`` with any ember error re-raised with ``op: `` in front of its message."""
    try:
        return fn(*args, **kwargs)
    except EmberError as exc:
        raise type(exc)(f"{op}: {exc}") from None


def check_bounds(op: str, a: np.ndarray, n: int, dim: int, wrap: bool, where=None) -> np.ndarray:
    """Raise unless every index in ``a`` is in ``[0, n)`` (``[-n, n)`` with ``wrap``); with
    ``wrap``, return the indices made non-negative. ``where`` replaces the message's
    ``bounds for dim <dim> with size <n>``."""
    if a.size == 0:
        return a.astype(np.int64, copy=False)
    lo_ok = -n if wrap else 0
    lo, hi = a.min(), a.max()
    if lo < lo_ok or hi >= n:
        bad = a[(a < lo_ok) | (a >= n)].flat[0]
        where = where or f"bounds for dim {dim} with size {n}"
        raise EmberIndexError(f"{op}: index {bad} is out of {where}")
    if lo < 0:
        a = np.where(a < 0, a + n, a)
    return a


def _ambiguous(seq) -> bool:
    return any(
        isinstance(k, (Tensor, list, tuple, np.ndarray, slice)) or k is None or k is Ellipsis
        for k in seq
    )


def _items(index, op: str) -> tuple:
    if isinstance(index, tuple):
        return index
    if isinstance(index, list) and len(index) < 32 and _ambiguous(index):
        # PyTorch reads such a (short) list as a tuple (deprecated), NumPy as an array: refuse
        # to guess
        raise EmberIndexError(
            f"{op}: a list holding sequences, tensors, slices, None or Ellipsis is ambiguous as "
            "an index; use x[tuple(seq)] for one index per dim or x[ember.tensor(seq)] for an "
            "index array"
        )
    return (index,)


def _array_item(a: np.ndarray, fresh: bool, op: str):
    kind = a.dtype.kind
    if kind == "b":
        return (_BOOL, bool(a)) if a.ndim == 0 else (_MASK, a, fresh)
    if kind in "iu":
        return int(a) if a.ndim == 0 else (_ARRAY, a, fresh)
    raise DTypeError(
        f"{op}: tensors used as indices must be int32, int64 or bool tensors, got {a.dtype}"
    )


def _item(k, op: str):
    """One index element in normal form: int, slice, None, Ellipsis or a tagged array."""
    c = k.__class__
    if c is int or c is slice or k is None or k is Ellipsis:
        return k
    if c is bool or c is np.bool_:
        return (_BOOL, bool(k))
    if isinstance(k, Tensor):
        if k._data.ndim == 0:
            refuse_scalar_index(op)
        return _array_item(k._data, False, op)
    if isinstance(k, np.ndarray):
        return _array_item(k, False, op)
    if isinstance(k, np.integer):
        return int(k)
    if isinstance(k, (list, tuple)):
        a = to_array(k) if len(k) else np.zeros(0, np.int64)
        return _array_item(a, True, op)
    raise DTypeError(
        f"{op}: only integers, slices (`:`), ellipsis (`...`), None and int or bool tensors "
        f"are valid indices (got {type(k).__name__})"
    )


def _consumed(k) -> int:
    if k.__class__ is tuple:
        return k[1].ndim if k[0] == _MASK else (1 if k[0] == _ARRAY else 0)
    return 0 if k is None or k is Ellipsis else 1


def split_key(x: Tensor, index, op: str, check: bool = True, own: bool = False):
    """``(key, dims, arrays)`` for ``x[index]``: the basic key (always holding one Ellipsis,
    so NumPy returns a view), and the index arrays with the view dims they apply to.

    ``check`` bounds-checks the index arrays and makes them non-negative int64 (without it
    they are passed as given, for NumPy to check); ``own`` also copies arrays that alias the
    caller's data (they will be saved for backward)."""
    shape = x._data.shape
    items = [_item(k, op) for k in _items(index, op)]
    if sum(1 for k in items if k is Ellipsis) > 1:
        raise EmberIndexError(f"{op}: an index can only have a single ellipsis ('...')")
    consumed = sum(_consumed(k) for k in items)
    if consumed > len(shape):
        raise EmberIndexError(f"{op}: too many indices for tensor of dimension {len(shape)}")
    w = _Walk(shape, op, check, own)
    for pos, k in enumerate(items):
        if k is Ellipsis:
            w.basic(k, len(shape) - consumed, len(shape) - consumed)
        elif k is None:
            w.basic(None, 0, 1)
        elif k.__class__ is slice:
            if k.step == 0:
                raise ShapeError(f"{op}: slice step cannot be zero")
            w.basic(k, 1, 1)
        elif k.__class__ is int:
            w.integer(k)
        elif k[0] == _BOOL:
            w.add_array(np.zeros(1 if k[1] else 0, np.int64), None)
        elif k[0] == _ARRAY:
            w.array(k[1], k[2])
        else:
            w.mask(k[1], pos, k[2])
    return w.result()


class _Walk:
    """The split of one index, built element by element: ``d`` is the current dim of x,
    ``vd`` that of the basic view ``x[key]``."""

    def __init__(self, shape, op, check, own):
        self.shape, self.op, self.check, self.own = shape, op, check, own
        self.key, self.dims, self.arrays = [], [], []
        self.d = self.vd = 0

    def basic(self, k, dx: int, dv: int) -> None:
        self.key.append(k)
        self.d += dx
        self.vd += dv

    def integer(self, k: int) -> None:
        n = self.shape[self.d]
        if not -n <= k < n:
            raise EmberIndexError(
                f"{self.op}: index {k} is out of bounds for dim {self.d} with size {n}"
            )
        self.basic(k, 1, 0)

    def add_array(self, a, dim) -> None:
        """One index array on a new view dim (``dim`` None: a dim added by a Python bool)."""
        self.arrays.append(a)
        self.dims.append(self.vd)
        self.basic(None if dim is None else FULL, 0 if dim is None else 1, 1)

    def array(self, a, fresh: bool) -> None:
        if self.check:
            b = check_bounds(
                self.op, a.astype(np.int64, copy=False), self.shape[self.d], self.d, True
            )
            b = b.copy() if self.own and b is a and not fresh else b
            follow(a, b)
            a = b
        self.add_array(a, self.d)

    def mask(self, m, pos: int, fresh: bool) -> None:
        if m.shape != self.shape[self.d : self.d + m.ndim]:
            raise EmberIndexError(
                f"{self.op}: the shape of the mask {m.shape} at index {pos} does not match the "
                f"shape of the indexed tensor {self.shape} at dim {self.d}"
            )
        if not fresh:  # a tensor's mask (a Python list of bools is part of the program)
            refuse_mask(self.op)
        for a in np.nonzero(m):
            self.add_array(a, self.d)

    def result(self):
        key, arrays = self.key, self.arrays
        if len(arrays) > 1:
            prefixed(self.op, _broadcast_indices, [a.shape for a in arrays])
        if all(k is Ellipsis or (k.__class__ is slice and is_full(k)) for k in key):
            key = [Ellipsis]
        elif Ellipsis not in key:
            key.append(Ellipsis)
        return tuple(key), tuple(self.dims), tuple(arrays)


def is_full(s: slice) -> bool:
    return s.start is None and s.stop is None and s.step is None


def _broadcast_indices(shapes):
    try:
        rules.broadcast(*shapes)
    except ShapeError:
        raise EmberIndexError(
            "shape mismatch: indexing tensors could not be broadcast together with shapes "
            + ", ".join(str(s) for s in shapes)
        ) from None
