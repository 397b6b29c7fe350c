"""Gradient-recording switches: ``no_grad``, ``enable_grad``, ``inference_mode``,
``set_grad_enabled``. Each is a context manager and a decorator, and they nest.

Two pieces of state, as in PyTorch: grad mode (what ``is_grad_enabled()`` reports) and
inference mode. Ops record a graph only when grad mode is on and inference mode is off, so
``enable_grad`` inside ``inference_mode`` reports grad mode on but still records nothing.

>>> import ember
>>> x = ember.ones(2, requires_grad=True)
>>> with ember.no_grad():
...     y = x * 2
>>> y.requires_grad
False
"""

from __future__ import annotations

import functools

# One-element lists: dispatch reads ``_enabled[0]`` (record a graph?) on every op, cheaper
# than a function call. ``_enabled`` is derived from the two others by ``_set``.
_enabled = [True]
_grad = [True]
_inference = [False]


def is_grad_enabled() -> bool:
    return _grad[0]


def is_inference_mode_enabled() -> bool:
    return _inference[0]


def _set(grad: bool, inference: bool) -> None:
    _grad[0] = grad
    _inference[0] = inference
    _enabled[0] = grad and not inference


class _GradMode:
    """Base for the switches: sets the state on entry, restores it on exit."""

    def _target(self) -> tuple:
        """(grad mode, inference mode) inside the block."""
        raise NotImplementedError

    def __enter__(self):
        self._prev = (_grad[0], _inference[0])
        _set(*self._target())

    def __exit__(self, *exc):
        _set(*self._prev)
        return False

    def __call__(self, fn):
        args = self._args()

        @functools.wraps(fn)
        def wrapper(*a, **kw):
            with self.__class__(*args):
                return fn(*a, **kw)

        return wrapper

    def _args(self) -> tuple:
        return ()


class no_grad(_GradMode):
    """Ops inside record no graph: outputs have ``requires_grad=False``."""

    def _target(self):
        return False, _inference[0]


class enable_grad(_GradMode):
    """Turn grad mode back on inside a ``no_grad`` region."""

    def _target(self):
        return True, _inference[0]


class inference_mode(_GradMode):
    """Like ``no_grad``, and ``enable_grad`` inside does not turn recording back on.
    ``inference_mode(False)`` leaves inference mode and turns grad mode on (as PyTorch)."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def _target(self):
        return not self.mode, self.mode

    def _args(self):
        return (self.mode,)


class set_grad_enabled(_GradMode):
    """``with set_grad_enabled(False): ...``, a decorator, or a call that sets the mode."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = (_grad[0], _inference[0])
        _set(self.mode, _inference[0])

    def __enter__(self):
        return None

    def _target(self):
        return self.mode, _inference[0]

    def _args(self):
        _set(*self._prev)  # used as a decorator: the call above must not stick
        return (self.mode,)
