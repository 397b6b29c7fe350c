"""ember: a deep-learning framework that is easy to develop with and fast to deploy.

>>> import ember
>>> x = ember.randn(4, 3, requires_grad=True)
>>> loss = (x @ ember.ones(3, 2)).relu().mean()
>>> loss.backward()
>>> x.grad.shape
(4, 3)
"""

from ember import _malloc

_malloc.tune()  # large temporaries are reused instead of page-faulting (see ember/_malloc.py)

# Importing dispatch installs the eager dispatcher into the op registry; importing the op
# families registers their primitives; the api modules attach Tensor methods.
from ember import autograd, data, datasets, models, nn, optim, train
from ember import dtypes as _dtypes
from ember.api import return_types
from ember.api._exports import *
from ember.compiler import compile, config
from ember.compiler.control_flow import cond, scan, while_loop
from ember.core import dispatch as _dispatch
from ember.core.creation import (
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
from ember.core.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.core.random import (
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
from ember.errors import (
    AutogradError,
    DTypeError,
    EmberError,
    EmberIndexError,
    EmberValueError,
    ShapeError,
)
from ember.io import CheckpointError, load, save
from ember.ops import activation as _activation_ops
from ember.ops import conv as _conv_ops
from ember.ops import elementwise as _elementwise_ops
from ember.ops import index as _index_ops
from ember.ops import linalg as _linalg_ops
from ember.ops import logic as _logic_ops
from ember.ops import loss as _loss_ops
from ember.ops import movement as _movement_ops
from ember.ops import nn as _nn_ops
from ember.ops import reduce as _reduce_ops
from ember.ops import sort as _sort_ops

bool = bool_  # noqa: A001 - ember.bool mirrors torch.bool
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
dtype = _dtypes.DType

__version__ = "0.1.0"
