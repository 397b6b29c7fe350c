"""dtype conversion and copies: ``to``, ``float``, ``double``, ``half``, ``int``, ``long``,
``bool``, ``type``, ``clone``, ``contiguous``, ``cpu``.

>>> import ember
>>> ember.tensor([1, 2]).to(ember.float32)
tensor([1., 2.])
"""

from __future__ import annotations

from ember import dtypes as D
from ember.core.tensor import Tensor, register_methods
from ember.ops import elementwise as E
from ember.ops import movement as M


def to(input, *args, dtype=None, copy: bool = False, **kwargs):
    """Convert to ``dtype``; returns ``input`` itself when nothing changes (as PyTorch does).

    Accepts ``to(dtype)``, ``to("cpu")``, ``to(other_tensor)`` and ``to(device, dtype)``.
    """
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, str) and a.startswith("cpu"):
            continue
        elif a is not None:
            dtype = a
    if dtype is None:
        return clone(input) if copy else input
    target = D.as_dtype(dtype).np
    if input._data.dtype == target:
        return clone(input) if copy else input
    return E.cast(input, dtype=target)


def clone(input, *, memory_format=None):
    return M.clone(input)


def contiguous(input, memory_format=None):
    return input if input._data.flags.c_contiguous else M.clone(input)


def _caster(dtype):
    def convert(input):
        return to(input, dtype)

    convert.__name__ = dtype.name
    return convert


def type_(input, dtype=None):
    if dtype is None:
        return f"ember.{input.dtype.name.capitalize()}Tensor"
    return to(input, dtype)


register_methods(
    to=to,
    clone=clone,
    contiguous=contiguous,
    cpu=lambda self: self,
    float=_caster(D.float32),
    double=_caster(D.float64),
    half=_caster(D.float16),
    int=_caster(D.int32),
    long=_caster(D.int64),
    bool=_caster(D.bool_),
    type=type_,
)
