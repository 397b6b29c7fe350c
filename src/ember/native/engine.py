"""The C walk of the backward executor (``engine.c``): ``Engine.propagate``'s plain case.

``propagate_for`` builds and loads the extension and gives it the types it checks; it returns
the C ``propagate`` or None (native code off with ``EMBER_NATIVE=0``, no compiler, no
``Python.h``): ``ember.core.engine`` then keeps its Python walk. ``status`` says which runs.

>>> from ember.native import engine
>>> engine.status() in ("C", "Python") or engine.status().startswith("Python (")
True
"""

from __future__ import annotations

import numpy as np

from ember import native

_state: dict = {"why": "not installed"}


def propagate_for(tensor_type, node_type, current):
    """The C ``propagate`` for these Tensor and Node types and ``registry.current`` (the
    thread-local whose ``edges`` a VJP reads), or None."""
    module, why = native.extension("_ember_engine", "engine.c")
    if module is None:
        _state["why"] = why
        return None
    module.install(tensor_type, np.ndarray, node_type, current)
    _state["why"] = ""
    return module.propagate


def status() -> str:
    """'C' when the C walk runs, else 'Python (why)'."""
    return "C" if not _state["why"] else f"Python ({_state['why']})"
