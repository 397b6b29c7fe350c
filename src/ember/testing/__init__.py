"""Testing helpers for ember users and for ember's own suite.

>>> import ember
>>> from ember.testing import gradcheck
>>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
>>> gradcheck(lambda t: (t.exp() * t).sum(), (x,))
True
"""

from ember.testing.compare import assert_close, to_numpy
from ember.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck
from ember.testing.parity import check_parity

__all__ = [
    "GradcheckError",
    "assert_close",
    "check_parity",
    "gradcheck",
    "gradgradcheck",
    "to_numpy",
]
