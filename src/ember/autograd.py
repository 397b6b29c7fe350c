"""``ember.autograd``: gradients of tensors (``backward``, ``grad``), custom ``Function``s,
and anomaly detection.

>>> import ember
>>> x = ember.tensor([1.0, 2.0], requires_grad=True)
>>> ember.autograd.grad((x * x).sum(), x)
(tensor([2., 4.]),)
"""

from ember.core.anomaly import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from ember.core.autograd import Node, backward, grad
from ember.core.function import Function, FunctionCtx
from ember.core.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled

__all__ = [
    "Function",
    "FunctionCtx",
    "Node",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "inference_mode",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]
