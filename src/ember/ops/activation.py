"""Activation primitives: relu, leaky_relu, elu, gelu, silu, softplus, hardtanh, hardsigmoid,
hardswish.

Each is one fused primitive (one NumPy pass or a few in-place ones, instead of a chain of
recorded ops) with PyTorch's gradient at its kinks: relu'(0) = 0, leaky_relu'(0) = slope,
elu'(0) = alpha, hardtanh' = 0 at both bounds. VJPs are written with ops, so the smooth ones
(gelu, silu, softplus, elu) have second derivatives too.
"""

from __future__ import annotations

import math
import mmap

import numpy as np

from ember.ops import rules
from ember.ops.elementwise import (
    FLOATS,
    NUMBERS,
    _empty,
    erf,
    exp,
    select,
    sigmoid,
    tanh,
    where,
)
from ember.ops.registry import primitive

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_K_BETA = math.sqrt(2.0 / math.pi)
_K_KAPPA = 0.044715
# PyTorch's hardsigmoid backward uses 1/6 rounded to float32 for every dtype.
_ONE_SIXTH = float(np.float32(1.0 / 6.0))


def _act(name, save="in", dtypes=FLOATS):
    return primitive(name, shape=rules.same_shape, dtype=rules.same_dtype, save=save, dtypes=dtypes)


def _via_float32(fn, x, **attrs):
    """Evaluate a float16 forward in float32 (PyTorch's CPU kernels do the same)."""
    return fn(x.astype(np.float32), **attrs).astype(np.float16)


_ZEROS: dict = {}


def _zero(dtype) -> np.ndarray:
    """A read-only 0-d zero of ``dtype``: NumPy takes it 0.4 us faster than the int 0."""
    z = _ZEROS.get(dtype)
    if z is None:
        z = np.zeros((), dtype)
        z.flags.writeable = False
        _ZEROS[dtype] = z
    return z


# NumPy 2.4's maximum runs its SIMD loop only when both operands are arrays: against a
# scalar it is 3-4x slower (252 vs 89 us on 1024x512 float32, 2026-12-07). So a large relu
# compares with a zero array of its own shape, a view of one flat zero buffer per dtype.
# The buffer is a private anonymous mapping of at least 64 MiB that nothing writes: its
# pages, read, all map the kernel's one zero page, so it costs no resident memory and reads
# as fast as real zeros. It is not np.zeros: NumPy asks for transparent huge pages on large
# arrays, and khugepaged then collapses read zero pages into real memory (a test process
# had 5 MiB of a calloc'd buffer resident after reading 8 MiB of it).
_RELU_ZEROS_FROM = 4096
_ZERO_BUFFER_BYTES = 64 << 20
_ZERO_BUFFERS: dict = {}


def _zero_pages(n, dtype) -> np.ndarray:
    """A read-only array of ``n`` zeros over fresh anonymous pages (np.zeros where the
    platform has no private anonymous mmap)."""
    private = getattr(mmap, "MAP_PRIVATE", None)
    if private is None:
        z = np.zeros(n, dtype)
    else:
        pages = mmap.mmap(-1, n * dtype.itemsize, flags=private | mmap.MAP_ANONYMOUS)
        if hasattr(mmap, "MADV_NOHUGEPAGE"):
            pages.madvise(mmap.MADV_NOHUGEPAGE)
        z = np.frombuffer(pages, dtype)
    z.flags.writeable = False
    return z


def relu_zeros(x) -> np.ndarray:
    """Zeros to compare ``x`` with in ``relu``: a read-only array of x's shape for large x,
    else a 0-d zero."""
    n = x.size
    if n < _RELU_ZEROS_FROM:
        return _zero(x.dtype)
    buf = _ZERO_BUFFERS.get(x.dtype)
    if buf is None or buf.size < n:
        buf = _zero_pages(max(2 * n, _ZERO_BUFFER_BYTES // x.dtype.itemsize), x.dtype)
        _ZERO_BUFFERS[x.dtype] = buf
    return buf[:n].reshape(x.shape)


@_act("relu", save="out", dtypes=NUMBERS)
def relu(x):
    """``max(x, 0)``; integer tensors stay integer."""
    if x.size < _RELU_ZEROS_FROM:  # inline: a tiny relu is all call overhead
        return np.maximum(x, _zero(x.dtype))
    return np.maximum(x, relu_zeros(x))


relu.defvjp(lambda g, out, x: where(out <= 0, 0, g))


@_act("leaky_relu")
def leaky_relu(x, *, negative_slope):
    """``x`` where positive, else ``negative_slope * x``."""
    r = np.multiply(x, negative_slope, out=_empty(x))
    if 0 < negative_slope <= 1:
        return np.maximum(x, r, out=r)
    return select(x > 0, x, r)


leaky_relu.defvjp(lambda g, out, x, *, negative_slope: where(x > 0, g, g * negative_slope))


@_act("elu", save="both")
def elu(x, *, alpha):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""
    r = np.minimum(x, 0, out=_empty(x))  # expm1 only sees x <= 0: no overflow
    np.expm1(r, out=r)
    r *= alpha
    return select(x > 0, x, r)


# for x <= 0, alpha * exp(x) = out + alpha: no second exp, and still differentiable via out
elu.defvjp(lambda g, out, x, *, alpha: where(x > 0, g, g * (out + alpha)))


@_act("gelu")
def gelu(x, *, approximate):
    """``x * Phi(x)`` (``approximate='none'``) or its tanh approximation (``'tanh'``)."""
    if x.dtype == np.float16:
        return _via_float32(gelu.forward, x, approximate=approximate)
    if approximate == "tanh":
        inner = np.multiply(x, x, out=_empty(x))
        inner *= x * _K_KAPPA
        inner += x
        inner *= _K_BETA
        r = np.tanh(inner, out=inner)
        r += 1
    else:
        r = erf(x * _SQRT1_2)
        r += 1
    r *= x
    r *= 0.5
    return r


@gelu.defvjp
def _(g, out, x, *, approximate):
    if approximate == "tanh":
        x_sq = x * x
        t = tanh((x + x_sq * x * _K_KAPPA) * _K_BETA)
        d_inner = (x_sq * (3 * _K_KAPPA) + 1) * _K_BETA
        return g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * d_inner)
    cdf = (erf(x * _SQRT1_2) + 1) * 0.5
    pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
    return g * (cdf + x * pdf)


@_act("silu")
def silu(x):
    """``x * sigmoid(x)``."""
    if x.dtype == np.float16:
        return _via_float32(silu.forward, x)
    r = sigmoid(x)
    r *= x
    return r


@silu.defvjp
def _(g, out, x):
    s = sigmoid(x)
    return g * (s * (x * (1 - s) + 1))


@_act("softplus")
def softplus(x, *, beta, threshold):
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    if x.dtype == np.float16:
        return _via_float32(softplus.forward, x, beta=beta, threshold=threshold)
    bx = np.multiply(x, beta, out=_empty(x))
    # log1p(exp(bx)) = max(bx, 0) + log1p(exp(-|bx|)): no overflow, and SIMD ufuncs only
    # (np.logaddexp is a scalar loop, several times slower)
    r = np.abs(bx, out=_empty(x))
    np.negative(r, out=r)
    np.exp(r, out=r)
    np.log1p(r, out=r)
    r += np.maximum(bx, 0)
    r /= beta
    return select(bx > threshold, x, r)


softplus.defvjp(
    lambda g, out, x, *, beta, threshold: where(x * beta > threshold, g, g * sigmoid(x * beta))
)


@_act("hardtanh", dtypes=NUMBERS)
def hardtanh(x, *, min_val, max_val):
    """``x`` clamped to ``[min_val, max_val]``; integer tensors stay integer."""
    t = x.dtype.type
    return np.clip(x, t(min_val), t(max_val), out=_empty(x))


hardtanh.defvjp(lambda g, out, x, *, min_val, max_val: where((x <= min_val) | (x >= max_val), 0, g))


@_act("hardsigmoid")
def hardsigmoid(x):
    """``clamp(x + 3, 0, 6) / 6``."""
    r = np.add(x, 3, out=_empty(x))
    np.clip(r, 0, 6, out=r)
    r /= 6
    return r


hardsigmoid.defvjp(lambda g, out, x: where((x > -3) & (x < 3), g * _ONE_SIXTH, 0))


@_act("hardswish")
def hardswish(x):
    """``x * clamp(x + 3, 0, 6) / 6``."""
    r = np.add(x, 3, out=_empty(x))
    np.clip(r, 0, 6, out=r)
    r *= x
    r /= 6
    return r


hardswish.defvjp(lambda g, out, x: where(x <= -3, 0, where(x < 3, g * (x / 3 + 0.5), g)))
