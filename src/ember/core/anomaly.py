"""Anomaly detection: find the forward op whose backward produced a NaN.

>>> import ember
>>> x = ember.tensor([0.0], requires_grad=True)
>>> with ember.autograd.detect_anomaly():
...     y = ember.sqrt(x) * 0.0
...     try:
...         y.sum().backward()
...     except ember.AutogradError as e:
...         print(str(e).split(":")[0])
sqrt backward produced NaN
"""

from __future__ import annotations

from ember.core.source import user_location

_enabled = [False]


def capture():
    """Source location recorded on each node while anomaly mode is on."""
    return user_location(2)


def is_anomaly_enabled() -> bool:
    return _enabled[0]


class detect_anomaly:
    """Context manager (and decorator): record each op's source line and check every gradient
    computed in backward for NaN; the first one raises an error that names the op and the
    user's line of its forward."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _enabled[0]
        _enabled[0] = self.check_nan

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(True)`` turns anomaly mode on until turned off (or as a context)."""

    def __init__(self, mode: bool):
        super().__init__(mode)
        self._prev = _enabled[0]
        _enabled[0] = bool(mode)

    def __enter__(self):
        return None
