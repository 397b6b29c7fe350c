"""Errors raised by ember. Every message starts with the op (or API) that failed."""


class EmberError(Exception):
    """Base class of every error ember raises on purpose."""


class ShapeError(EmberError, ValueError):
    """Input shapes that an op cannot accept."""


class DTypeError(EmberError, TypeError):
    """Input dtypes that an op cannot accept."""


class EmberIndexError(EmberError, IndexError):
    """An index outside the bounds of the indexed dimension."""


class AutogradError(EmberError, RuntimeError):
    """Misuse of the autograd engine (freed graph, modified saved tensor, ...)."""


class EmberValueError(EmberError, ValueError):
    """An argument value an op cannot accept (an unknown mode string, an input outside the
    op's domain)."""
