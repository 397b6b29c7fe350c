"""In-place fills: ``copy_``, ``zero_`` and ``fill_`` (PyTorch's names).

They go through the same in-place machinery as ``add_`` (version counter, autograd
position, and the compiler's tracer, which records them as pure ops).

>>> import ember
>>> t = ember.zeros(3)
>>> t.copy_(ember.tensor([1.0, 2.0, 3.0])).fill_(7.0)
tensor([7., 7., 7.])
>>> t.zero_()
tensor([0., 0., 0.])
"""

from __future__ import annotations

from ember.api.convert import to
from ember.api.shape import broadcast_to
from ember.core.creation import full_like, tensor, zeros_like
from ember.core.inplace import inplace
from ember.core.tensor import Tensor, register_methods


def _copied(self, src):
    if not isinstance(src, Tensor):
        src = tensor(src, dtype=self.dtype)
    if src.dtype != self.dtype:
        src = to(src, self.dtype)
    if tuple(src.shape) != tuple(self.shape):
        src = broadcast_to(src, self.shape)
    return src if src is not self else src.clone()


def _zeros(self):
    return zeros_like(self)


def _filled(self, value):
    if isinstance(value, Tensor):
        return _copied(self, value)
    return full_like(self, value)


register_methods(
    copy_=inplace(_copied, "copy_"),
    zero_=inplace(_zeros, "zero_"),
    fill_=inplace(_filled, "fill_"),
)
