"""Named ``(values, indices)`` results, like ``torch.return_types``.

>>> import ember
>>> r = ember.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
>>> r.values, r.indices
(tensor([5., 7.]), tensor([1, 0]))
>>> values, indices = r
"""

from __future__ import annotations

from collections import namedtuple


def _pair(name: str):
    cls = namedtuple(name, ["values", "indices"])
    cls.__module__ = "ember.return_types"
    cls.__doc__ = f"The ``(values, indices)`` result of ``ember.{name}``."
    cls.__repr__ = lambda self: (
        f"ember.return_types.{name}(values={self.values!r}, indices={self.indices!r})"
    )
    return cls


max = _pair("max")  # noqa: A001 - mirrors torch.return_types.max
min = _pair("min")  # noqa: A001
sort = _pair("sort")
topk = _pair("topk")
kthvalue = _pair("kthvalue")
median = _pair("median")
