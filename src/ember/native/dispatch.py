"""The C implementation of the eager dispatcher's common case (``dispatch.c``).

``fast_apply`` builds and loads the extension and gives it what it needs; it returns the C
``apply`` or None (native code off with ``EMBER_NATIVE=0``, no compiler, no ``Python.h``):
``ember.core.dispatch`` then keeps its Python ``apply``. ``status`` says which one runs.

>>> from ember.native import dispatch
>>> dispatch.status() in ("C", "Python") or dispatch.status().startswith("Python (")
True
"""

from __future__ import annotations

import numpy as np

from ember import native

_state: dict = {"why": "not installed"}


def fast_apply(python_apply, record, as_view, tensor_type, op_type, tracer, check_rules, grad):
    """The C ``apply`` wired to these Python pieces (see dispatch.c), or None."""
    module, why = native.extension("_ember_dispatch", "dispatch.c")
    if module is None:
        _state["why"] = why
        return None
    floats = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64))
    try:
        module.install(
            python_apply, record, as_view, tensor_type, op_type, np.ndarray, np.asarray,
            tracer, check_rules, grad, floats,
        )  # fmt: skip
    except (TypeError, AttributeError) as exc:  # slots that are not what dispatch.c reads
        _state["why"] = str(exc)
        return None
    _state["why"] = ""
    _state["module"] = module
    return module.apply


def tensor_method(name: str, python_method):
    """``Tensor.<name>`` taking its common call in C (``dispatch.c``: ``reshape`` and ``sum``
    of a tensor that records nothing) and every other call to ``python_method``; the Python
    method itself while the C dispatcher is not installed.

    >>> import ember
    >>> from ember.native.dispatch import tensor_method
    >>> from ember.api.shape import reshape
    >>> fast = tensor_method("reshape", reshape)
    >>> fast(ember.arange(6), 2, 3).shape  # called unbound, as Tensor.reshape(x, 2, 3)
    (2, 3)
    """
    module = _state.get("module") if not _state["why"] else None
    return python_method if module is None else module.method(name, python_method)


def status() -> str:
    """'C' when the C dispatcher runs, else 'Python (why)'."""
    return "C" if not _state["why"] else f"Python ({_state['why']})"
