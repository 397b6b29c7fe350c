"""``default_collate``: stack a list of samples into a batch, keeping the sample's structure.

>>> import ember, numpy as np
>>> batch = ember.data.default_collate([(np.zeros(2), 1), (np.ones(2), 0)])
>>> batch[0].shape, batch[1]
((2, 2), tensor([1, 0]))
"""

from __future__ import annotations

import numpy as np

from ember.core.creation import to_array
from ember.core.tensor import Tensor, _wrap
from ember.errors import ShapeError


def default_collate(samples):
    """Tensors/arrays are stacked along a new first dim, numbers become a tensor, strings a
    list; tuples, lists and dicts are collated field by field."""
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)):
        arrays = [s._data if isinstance(s, Tensor) else s for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ShapeError(
                f"default_collate: samples have different shapes {sorted(shapes)}; pad them or "
                "pass a collate_fn"
            )
        return _wrap(to_array(np.stack(arrays), copy=False))
    if isinstance(first, (np.number, np.bool_)):
        return _wrap(to_array(np.asarray(samples)))
    if isinstance(first, float):  # PyTorch collates Python floats to float64
        return _wrap(np.asarray(samples, dtype=np.float64))
    if isinstance(first, (bool, int)):
        return _wrap(to_array(list(samples)))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # namedtuple
        return type(first)(*(default_collate(list(f)) for f in zip(*samples)))
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ShapeError("default_collate: samples of one batch have different lengths")
        out = [default_collate(list(f)) for f in zip(*samples)]
        return tuple(out) if isinstance(first, tuple) else out
    raise TypeError(f"default_collate: cannot collate samples of type {type(first).__name__}")
