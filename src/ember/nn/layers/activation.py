"""Activation layers, each a thin module over its ``ember.nn.functional`` function.

>>> import ember
>>> ember.nn.ReLU()(ember.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

from ember.nn import functional as F
from ember.nn.layers.options import Options

__all__ = [
    "ELU",
    "GELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]


def _activation(name: str, fn_name: str, fields=(), defaults=None):
    def forward(self, input):
        return getattr(F, fn_name)(input, **self._options())

    cls = type(
        name,
        (Options,),
        {
            "_fields": tuple(fields),
            "_defaults": dict(defaults or {}),
            "forward": forward,
            "__doc__": f"Applies F.{fn_name}.",
        },
    )
    cls.__module__ = __name__
    return cls


ReLU = _activation("ReLU", "relu", ("inplace",), {"inplace": False})
ReLU6 = _activation("ReLU6", "relu6", ("inplace",), {"inplace": False})
LeakyReLU = _activation(
    "LeakyReLU",
    "leaky_relu",
    ("negative_slope", "inplace"),
    {"negative_slope": 0.01, "inplace": False},
)
ELU = _activation("ELU", "elu", ("alpha", "inplace"), {"alpha": 1.0, "inplace": False})
GELU = _activation("GELU", "gelu", ("approximate",), {"approximate": "none"})
SiLU = _activation("SiLU", "silu", ("inplace",), {"inplace": False})
Softplus = _activation(
    "Softplus", "softplus", ("beta", "threshold"), {"beta": 1.0, "threshold": 20.0}
)
Hardtanh = _activation(
    "Hardtanh",
    "hardtanh",
    ("min_val", "max_val", "inplace"),
    {"min_val": -1.0, "max_val": 1.0, "inplace": False},
)
Hardsigmoid = _activation("Hardsigmoid", "hardsigmoid", ("inplace",), {"inplace": False})
Hardswish = _activation("Hardswish", "hardswish", ("inplace",), {"inplace": False})
Sigmoid = _activation("Sigmoid", "sigmoid")
Tanh = _activation("Tanh", "tanh")
Softmax = _activation("Softmax", "softmax", ("dim",), {"dim": None})
LogSoftmax = _activation("LogSoftmax", "log_softmax", ("dim",), {"dim": None})
