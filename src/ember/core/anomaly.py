"""Anomaly detection: find the forward op whose backward produced a NaN.

While anomaly mode is on, every recorded node keeps the user's source line that created it;
errors raised in backward (a NaN, a tensor modified in place) then point at that line.

>>> import ember
>>> x = ember.tensor([1000.0], requires_grad=True)
>>> with ember.autograd.detect_anomaly():
...     y = x.exp()                               # inf
...     try:
...         y.backward(ember.tensor([0.0]))      # 0 * inf = nan in exp's backward
...     except ember.AutogradError as e:
...         print(str(e).split(":")[0])
exp backward produced NaN
"""

from __future__ import annotations

import functools

from ember.core.source import user_location

_enabled = [False]  # record each node's source line
_check_nan = [False]  # check every gradient computed in backward for NaN


def capture():
    """Source location recorded on each node while anomaly mode is on."""
    return user_location(2)


def is_anomaly_enabled() -> bool:
    return _enabled[0]


def is_anomaly_check_nan_enabled() -> bool:
    return _check_nan[0]


def _set(mode: bool, check_nan: bool) -> None:
    _enabled[0] = mode
    _check_nan[0] = mode and check_nan


class detect_anomaly:
    """Context manager (and decorator): record each op's source line and, unless
    ``check_nan=False``, check every gradient computed in backward for NaN; the first one
    raises an error that names the op and the user's line of its forward."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = (_enabled[0], _check_nan[0])
        _set(True, self.check_nan)

    def __exit__(self, *exc):
        _enabled[0], _check_nan[0] = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(True)`` turns anomaly mode on until turned off (or as a context)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        super().__init__(check_nan)
        self._prev = (_enabled[0], _check_nan[0])
        _set(bool(mode), check_nan)

    def __enter__(self):
        return None
