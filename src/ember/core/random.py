"""Random numbers: a seeded default ``Generator`` and ``rand``/``randn``/``randint``.

>>> import ember
>>> _ = ember.manual_seed(0)
>>> a = ember.rand(3)
>>> _ = ember.manual_seed(0)
>>> bool((ember.rand(3) == a).all())
True
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as D
from ember.core.creation import _finish, _float_or, _size
from ember.core.tensor import Tensor


class Generator:
    """A random-number generator (NumPy's PCG64) with PyTorch's seeding interface."""

    def __init__(self, seed: int | None = None):
        self._seed = (
            int(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        )
        self.np = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.np = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's state as plain JSON-able data (for checkpoints)."""
        return self.np.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.np.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (used by rand, randn, dropout, init, shuffling)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    s = int(np.random.SeedSequence().entropy % 2**63)
    default_generator.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def _gen(generator) -> np.random.Generator:
    return (generator or default_generator).np


def rand(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt = _float_or(dtype)
    return _finish(_gen(generator).random(_size(size), dtype=np.float64).astype(dt), requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dt = _float_or(dtype)
    return _finish(_gen(generator).standard_normal(_size(size)).astype(dt), requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None) -> Tensor:
    """Integers in [low, high) (int64 unless ``dtype`` says otherwise)."""
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    dt = D.as_dtype(dtype).np if dtype is not None else np.int64
    return _finish(_gen(generator).integers(low, high, _size((size,))).astype(dt), False)


def randperm(n: int, generator=None, dtype=None) -> Tensor:
    dt = D.as_dtype(dtype).np if dtype is not None else np.int64
    return _finish(_gen(generator).permutation(int(n)).astype(dt), False)


def rand_like(input: Tensor, generator=None, dtype=None) -> Tensor:
    return rand(*input.shape, generator=generator, dtype=dtype or input.dtype)


def randn_like(input: Tensor, generator=None, dtype=None) -> Tensor:
    return randn(*input.shape, generator=generator, dtype=dtype or input.dtype)


def randint_like(input: Tensor, low, high=None, generator=None, dtype=None) -> Tensor:
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype)
