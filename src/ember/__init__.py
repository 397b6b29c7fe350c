"""ember: a deep-learning framework that is easy to develop with and fast to deploy.

>>> import ember
>>> x = ember.randn(4, 3, requires_grad=True)
>>> loss = (x @ ember.ones(3, 2)).relu().mean()
>>> loss.backward()
>>> x.grad.shape
(4, 3)
"""

from ember import dtypes as _dtypes
from ember.core import dispatch as _dispatch
from ember.core.tensor import Tensor
from ember.dtypes import (
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    int32,
    int64,
    promote_types,
    set_default_dtype,
)
from ember.errors import AutogradError, DTypeError, EmberError, EmberIndexError, ShapeError

_dispatch.install()

# Primitive families register themselves with the op registry on import.
from ember.ops import elementwise, linalg, movement, reduce  # noqa: E402,F401

# Public functions, each module also attaching Tensor methods.
from ember.api._exports import *  # noqa: E402,F403
from ember import autograd  # noqa: E402
from ember.core.creation import (  # noqa: E402
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from ember.core.grad_mode import (  # noqa: E402
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.core.random import (  # noqa: E402
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
)

bool = bool_  # noqa: A001 - ember.bool mirrors torch.bool
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
dtype = _dtypes.DType

__version__ = "0.1.0"
