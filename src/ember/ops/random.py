"""Random primitives for compiled code: the randomness is an input (a seed), not a state.

Eager code draws from ember's default generator, whose state advances with every draw; a
graph cannot hold that state. Here each draw is a pure function of a 0-d integer ``seed``
(a fresh ``np.random.default_rng(seed)`` stream, counter-based in effect), and the compiled
function feeds a new seed, drawn from the default generator, at every call. So compiled
draws follow the same distribution as eager ones and are reproducible under
``ember.manual_seed``, but they are not the same numbers as eager mode would draw.

>>> import numpy as np
>>> from ember.ops.random import bernoulli_mask
>>> m = bernoulli_mask(np.array(7), shape=(4,), p=0.5, dtype=np.dtype(np.float32))
>>> sorted(set(m.tolist())) <= [0.0, 2.0]
True
>>> bool((m == bernoulli_mask(np.array(7), shape=(4,), p=0.5, dtype=np.float32)).all())
True
"""

from __future__ import annotations

import numpy as np

from ember.errors import DTypeError, EmberValueError
from ember.ops.registry import primitive

_SEEDS = (np.dtype(np.int64),)


def _mask_shape(seed, *, shape, p, dtype):
    if tuple(seed) != ():
        raise EmberValueError(f"bernoulli_mask: the seed must be 0-d, got shape {tuple(seed)}")
    if not 0.0 <= p <= 1.0:
        raise EmberValueError(f"bernoulli_mask: p must be in [0, 1], got {p}")
    return tuple(shape)


def _mask_dtype(seed, *, shape, p, dtype):
    if seed not in _SEEDS:
        raise DTypeError(f"bernoulli_mask: the seed must be int64, got {seed}")
    return np.dtype(dtype)


@primitive("bernoulli_mask", shape=_mask_shape, dtype=_mask_dtype, save="none", dtypes=_SEEDS)
def bernoulli_mask(seed, *, shape, p, dtype):
    """Inverted-dropout mask: ``1/(1-p)`` with probability ``1-p``, else 0, drawn from the
    stream ``np.random.default_rng(seed)`` (uniforms in float32 compared with ``p``, as eager
    dropout draws them)."""
    seed = np.asarray(seed)
    _mask_dtype(seed.dtype, shape=shape, p=p, dtype=dtype)  # eager dispatch runs no rules
    shape = _mask_shape(seed.shape, shape=shape, p=p, dtype=dtype)
    if p == 1.0:
        return np.zeros(shape, dtype)
    keep = np.random.default_rng(int(seed)).random(shape, dtype=np.float32) >= p
    return np.multiply(keep, 1.0 / (1.0 - p), dtype=dtype)


@bernoulli_mask.defvjp
def _(g, out, seed, *, shape, p, dtype):
    return (None,)  # the seed is an integer: no gradient


def draw_seed(np_generator) -> np.ndarray:
    """A fresh 0-d int64 seed from a NumPy generator (the default generator's stream)."""
    return np.array(np_generator.integers(0, 2**63 - 1), np.int64)
