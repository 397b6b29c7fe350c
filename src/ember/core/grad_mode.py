"""Gradient-recording switches: ``no_grad``, ``enable_grad``, ``inference_mode``,
``set_grad_enabled``. Each is a context manager and a decorator.

>>> import ember
>>> x = ember.ones(2, requires_grad=True)
>>> with ember.no_grad():
...     y = x * 2
>>> y.requires_grad
False
"""

from __future__ import annotations

import functools

# A one-element list: dispatch reads ``_enabled[0]`` on every op, cheaper than a function call.
_enabled = [True]


def is_grad_enabled() -> bool:
    return _enabled[0]


class _GradMode:
    """Base for the switches: sets the flag on entry, restores it on exit."""

    mode = True

    def __enter__(self):
        self._prev = _enabled[0]
        _enabled[0] = self.mode

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Ops inside record no graph: outputs have ``requires_grad=False``."""

    mode = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` region."""

    mode = True


class inference_mode(_GradMode):
    """Like ``no_grad`` (ember keeps no extra per-tensor bookkeeping to skip)."""

    def __init__(self, mode: bool = True):
        self.mode = not mode

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(not mode):
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradMode):
    """``with set_grad_enabled(False): ...`` or call it to set the mode outright."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = _enabled[0]
        _enabled[0] = self.mode

    def __enter__(self):
        return None

    def __call__(self, fn):
        _enabled[0] = self._prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
