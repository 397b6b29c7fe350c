"""``Parameter``: a tensor that a ``Module`` registers as trainable when assigned to it.

>>> import ember
>>> p = ember.nn.Parameter(ember.zeros(2))
>>> p.requires_grad, isinstance(p, ember.Tensor)
(True, True)
"""

from __future__ import annotations

from ember.core.creation import to_array
from ember.core.tensor import Tensor, _init


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered by modules."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = ()
        arr = data._data if isinstance(data, Tensor) else to_array(data)
        _init(self, arr)
        if requires_grad:
            self.requires_grad = True

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
