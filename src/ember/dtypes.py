"""ember dtypes and the type-promotion rules (the same as PyTorch's).

Promotion table for two dimensioned tensors (``promote_types``), by category
``bool < integer < floating``::

               bool     int32    int64    float16  float32  float64
    bool       bool     int32    int64    float16  float32  float64
    int32      int32    int32    int64    float16  float32  float64
    int64      int64    int64    int64    float16  float32  float64
    float16    float16  float16  float16  float16  float32  float64
    float32    float32  float32  float32  float32  float32  float64
    float64    float64  float64  float64  float64  float64  float64

Operands of an elementwise op take part by priority, as in PyTorch's ``result_type``:
dimensioned tensors first, then zero-dim tensors, then Python scalars. A lower-priority
operand only changes the result when it is of a higher category (``int32 tensor + 2.5`` is
float32; ``float16 tensor + 1.0`` stays float16; ``int32 tensor + float64 0-dim`` is float64).

>>> import ember
>>> ember.promote_types(ember.int32, ember.float16)
ember.float16
>>> (ember.ones(2, dtype=ember.int32) + 2.5).dtype
ember.float32
"""

from __future__ import annotations

import numpy as np

from ember.errors import DTypeError


class DType:
    """An ember dtype: a name, its NumPy dtype and its category."""

    __slots__ = ("name", "np", "category", "itemsize", "is_floating_point", "is_signed")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category  # 0 bool, 1 integer, 2 floating
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.is_signed = category != 0

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))


bool_ = DType("bool", np.bool_, 0)
int32 = DType("int32", np.int32, 1)
int64 = DType("int64", np.int64, 1)
float16 = DType("float16", np.float16, 2)
float32 = DType("float32", np.float32, 2)
float64 = DType("float64", np.float64, 2)

ALL = (bool_, int32, int64, float16, float32, float64)
FLOATING = (float16, float32, float64)
_BY_NAME = {d.name: d for d in ALL}
_BY_NP = {d.np: d for d in ALL}
# Order inside a category: a wider type wins.
_RANK = {bool_.np: 0, int32.np: 1, int64.np: 2, float16.np: 3, float32.np: 4, float64.np: 5}
_NP_BY_RANK = [d.np for d in ALL]

_default_float = [float32]


def from_name(name: str) -> DType:
    return _BY_NAME[name]


def get_default_dtype() -> DType:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default_float[0]


def set_default_dtype(dtype: DType) -> None:
    """Set the dtype that Python floats become: ``ember.set_default_dtype(ember.float64)``."""
    dtype = as_dtype(dtype)
    if not dtype.is_floating_point:
        raise DTypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_float[0] = dtype


def from_numpy_dtype(np_dtype, where: str = "tensor") -> DType:
    """The ember dtype of a NumPy dtype, or a DTypeError naming it."""
    d = _BY_NP.get(np.dtype(np_dtype))
    if d is None:
        names = ", ".join(x.name for x in ALL)
        raise DTypeError(f"{where}: NumPy dtype {np.dtype(np_dtype)} is not supported ({names})")
    return d


def as_dtype(dtype) -> DType:
    """Accept an ember DType, a NumPy dtype/type, a name or a Python type."""
    if isinstance(dtype, DType):
        return dtype
    if dtype is float:
        return get_default_dtype()
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str) and dtype in _BY_NAME:
        return _BY_NAME[dtype]
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"unknown dtype {dtype!r}") from None
    return from_numpy_dtype(np_dtype)


def promote_np(a: np.dtype, b: np.dtype) -> np.dtype:
    """promote_types on NumPy dtypes (the hot path of dispatch)."""
    if a is b:
        return a
    ra, rb = _RANK[a], _RANK[b]
    # int32/int64 with float16 -> float16 follows from rank order: floats rank above ints.
    return a if ra >= rb else b


def promote_types(a, b) -> DType:
    """The smallest dtype both ``a`` and ``b`` convert to (PyTorch's table above)."""
    return _BY_NP[promote_np(as_dtype(a).np, as_dtype(b).np)]


def _category(np_dtype: np.dtype) -> int:
    r = _RANK[np_dtype]
    return 0 if r == 0 else (1 if r <= 2 else 2)


def scalar_np_dtype(value) -> np.dtype:
    """The dtype a Python scalar takes part with in promotion."""
    if isinstance(value, bool):
        return bool_.np
    if isinstance(value, int):
        return int64.np
    if isinstance(value, float):
        return _default_float[0].np
    raise DTypeError(f"unsupported scalar {value!r} of type {type(value).__name__}")


def _combine(higher, lower):
    """PyTorch's combine_categories: a lower-priority operand counts only if its category wins."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = _category(higher), _category(lower)
    if ch == 2:
        return higher
    if ch == 0 or cl == 2 or (cl > ch):
        return promote_np(higher, lower)
    return higher


def result_np_dtype(dim_dtypes, zero_dim_dtypes, scalar_dtypes) -> np.dtype:
    """result_type over the three priority classes of operands."""

    def fold(dts):
        out = None
        for d in dts:
            out = d if out is None else promote_np(out, d)
        return out

    return _combine(fold(dim_dtypes), _combine(fold(zero_dim_dtypes), fold(scalar_dtypes)))
