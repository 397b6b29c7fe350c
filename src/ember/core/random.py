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
from ember.core import trace_hooks
from ember.core.creation import _finish, _float_or, _size
from ember.core.tensor import Tensor
from ember.errors import DTypeError, EmberValueError, ShapeError

_BELOW_ONE = np.nextafter(np.float16(1), np.float16(0))


class Generator:
    """A random-number generator (NumPy's PCG64) with PyTorch's seeding interface.

    >>> import ember
    >>> g = ember.Generator().manual_seed(3)
    >>> a = ember.randn(2, generator=g)
    >>> bool((ember.randn(2, generator=g.manual_seed(3)) == a).all())
    True
    """

    def __init__(self, device: str = "cpu"):
        if str(device) != "cpu":
            raise EmberValueError(f"Generator: only the 'cpu' device exists, got {device!r}")
        self.manual_seed(int(np.random.SeedSequence().entropy % 2**63))

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


default_generator = Generator().manual_seed(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (used by rand, randn, dropout, init, shuffling).

    >>> import ember
    >>> ember.manual_seed(7).initial_seed()
    7
    """
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
    if trace_hooks.tracer[0] is not None:
        trace_hooks.value_read[0](
            "random",
            "drawing random numbers inside a compiled function would bake one draw into the "
            "graph; draw them outside and pass them in as an argument",
        )
    return (generator or default_generator).np


def _float_dtype(dtype, name: str) -> np.dtype:
    dt = _float_or(dtype)
    if dt.kind != "f":
        raise DTypeError(f"{name}: expected a floating dtype, got {D._BY_NP[dt].name}")
    return dt


def rand(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1).

    >>> import ember
    >>> x = ember.rand(2, 3, dtype=ember.float64)
    >>> x.shape, bool(((x >= 0) & (x < 1)).all())
    ((2, 3), True)
    """
    dt = _float_dtype(dtype, "rand")
    rng = _gen(generator)
    if dt == np.float16:  # drawn in float32; rounding must not reach 1.0
        out = np.minimum(rng.random(_size(size, "rand"), dtype=np.float32).astype(dt), _BELOW_ONE)
    else:
        out = rng.random(_size(size, "rand"), dtype=dt)
    return _finish(out, requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples.

    >>> import ember
    >>> ember.randn((4,)).dtype
    ember.float32
    """
    dt = _float_dtype(dtype, "randn")
    shape = _size(size, "randn")
    rng = _gen(generator)
    out = rng.standard_normal(shape, dtype=dt) if dt != np.float16 else rng.standard_normal(shape)
    return _finish(out.astype(dt, copy=False), requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None) -> Tensor:
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``;
    int64 unless ``dtype`` says otherwise.

    >>> import ember
    >>> x = ember.randint(3, 6, (100,))
    >>> x.dtype, sorted(set(x.tolist()))
    (ember.int64, [3, 4, 5])
    """
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise EmberValueError(f"randint: expected low < high, got low={low}, high={high}")
    dt = D.as_dtype(dtype).np if dtype is not None else np.int64
    out = _gen(generator).integers(low, high, _size((size,), "randint"))
    return _finish(out.astype(dt, copy=False), False)


def randperm(n: int, generator=None, dtype=None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` says otherwise).

    >>> import ember
    >>> sorted(ember.randperm(4).tolist())
    [0, 1, 2, 3]
    """
    if n < 0:
        raise ShapeError(f"randperm: n must be non-negative, got {n}")
    dt = D.as_dtype(dtype).np if dtype is not None else np.int64
    return _finish(_gen(generator).permutation(int(n)).astype(dt, copy=False), False)


def rand_like(input: Tensor, generator=None, dtype=None) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype)


def randn_like(input: Tensor, generator=None, dtype=None) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype)


def randint_like(input: Tensor, low, high=None, generator=None, dtype=None) -> Tensor:
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype)
