"""Run the same code on ember and on PyTorch, and compare results."""

import numpy as np
import torch

import ember
from ember.testing import assert_close


def pair(array, requires_grad=False):
    """The same data as an ember tensor and a torch tensor (both leaves)."""
    a = np.asarray(array)
    e = ember.tensor(a.copy())
    t = torch.tensor(a.copy())
    if requires_grad:
        e.requires_grad_()
        t.requires_grad_()
    return e, t


def randn(rng, *shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def close(got, expected, **kw):
    """ember value(s) equal torch value(s) (tensors, tuples of tensors, or None)."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(expected)
        for g, e in zip(got, expected):
            close(g, e, **kw)
        return
    if expected is None:
        assert got is None
        return
    assert got is not None
    assert_close(got, expected, **kw)


def lib_of(x):
    return torch if isinstance(x, torch.Tensor) else ember
