"""``Linear``, ``Bilinear`` and ``LazyLinear``.

>>> import ember
>>> layer = ember.nn.Linear(4, 2)
>>> layer(ember.ones(3, 4)).shape
(3, 2)
"""

from __future__ import annotations

import math

from ember.core.creation import empty
from ember.errors import ShapeError
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter

__all__ = ["Bilinear", "LazyLinear", "Linear"]


class Linear(Module):
    """y = x W^T + b, initialised as PyTorch does (kaiming-uniform with a=sqrt(5))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        if bias is False:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y = x1^T A x2 + b."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias=True):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features))
        if bias:
            self.bias = Parameter(empty(out_features))
        else:
            self.register_parameter("bias", None)
        bound = 1 / math.sqrt(in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        from ember.api.linalg import einsum

        out = einsum("...i,oij,...j->...o", input1, self.weight, input2)
        return out if self.bias is None else out + self.bias


class LazyLinear(Linear):
    """A Linear whose ``in_features`` is taken from the first input it sees."""

    def __init__(self, out_features: int, bias: bool = True, dtype=None):
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self._lazy = {"bias": bias, "dtype": dtype}
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    def forward(self, input):
        if self._lazy is not None:
            if input.ndim < 1:
                raise ShapeError("LazyLinear: input must have at least 1 dimension")
            opts, self._lazy, training = self._lazy, None, self.training
            Linear.__init__(self, input.shape[-1], self.out_features, opts["bias"], opts["dtype"])
            self.training = training
            self.__class__ = Linear  # materialised: from now on an ordinary Linear
        return Linear.forward(self, input)
