"""Padding: ``ember.nn.functional.pad``.

>>> import ember
>>> import ember.nn.functional as F
>>> F.pad(ember.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect")
tensor([[3., 2., 1., 2., 3., 2.]])
"""

from __future__ import annotations

import numpy as np

from ember.errors import DTypeError, EmberValueError, ShapeError
from ember.ops import pad as P

__all__ = ["pad"]


def _pad_amounts(pad) -> tuple:
    amounts = tuple(pad)
    for i, p in enumerate(amounts):
        if not isinstance(p, (int, np.integer)) or isinstance(p, bool):
            raise DTypeError(
                f"pad: padding must be a sequence of ints, got {p!r} of type "
                f"{type(p).__name__} at position {i}"
            )
    if len(amounts) % 2:
        raise ShapeError(f"pad: padding length must be divisible by 2, got {len(amounts)}")
    return tuple(int(p) for p in amounts)


def _check_non_constant(input, amounts, mode):
    k = len(amounts) // 2
    ndim = input.ndim
    if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        raise ShapeError(
            f"pad: padding of length {len(amounts)} is not supported for a {ndim}-D input "
            f"(shape {tuple(input.shape)}) in {mode} mode; non-constant padding pads the last "
            "1, 2 or 3 dims of a 2-D/3-D, 3-D/4-D or 4-D/5-D input respectively"
        )
    batch = 1 if ndim == k + 2 else 0
    if any(n == 0 for n in input.shape[batch:]):
        raise ShapeError(
            f"pad: {mode} padding expects non-empty dims (except a batch dim), got shape "
            f"{tuple(input.shape)}"
        )
    if mode != "circular" and input._data.dtype == np.bool_:
        raise DTypeError(f"pad: {mode} padding is not supported for bool tensors")


def pad(input, pad, mode: str = "constant", value=None):
    """Pad ``input``; ``pad`` lists (before, after) amounts starting from the last dim:
    ``(left, right)`` pads the last dim, ``(left, right, top, bottom)`` the last two.

    ``mode`` is ``"constant"`` (fill with ``value``, default 0; negative amounts crop),
    ``"reflect"`` (mirror without repeating the border), ``"replicate"`` (repeat the border)
    or ``"circular"`` (wrap around). The non-constant modes pad the last 1-3 dims of a
    ``(C, *)`` or ``(N, C, *)`` input, as in PyTorch.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.pad(ember.ones(1, 2), (1, 0, 0, 1)).shape
    (2, 3)
    """
    amounts = _pad_amounts(pad)
    ndim = input.ndim
    if len(amounts) // 2 > ndim:
        raise ShapeError(
            f"pad: padding length {len(amounts)} is more than two times the number of dims "
            f"of the input (shape {tuple(input.shape)})"
        )
    pairs = [(0, 0)] * ndim
    for i in range(len(amounts) // 2):
        pairs[ndim - 1 - i] = (amounts[2 * i], amounts[2 * i + 1])
    pairs = tuple(pairs)
    if mode == "constant":
        value = 0 if value is None else value
    elif mode in P.MODES:
        if value is not None and value != 0:
            raise EmberValueError(f'pad: padding mode "{mode}" does not take a value argument')
        _check_non_constant(input, amounts, mode)
    else:
        raise EmberValueError(
            f"pad: unknown padding mode {mode!r} (expected one of {', '.join(P.MODES)})"
        )
    try:
        P.pad_shape(input.shape, pad=pairs, mode=mode)
    except ShapeError as exc:
        raise ShapeError(f"pad: {exc}") from None
    return P.pad(input, pad=pairs, mode=mode, value=value)
