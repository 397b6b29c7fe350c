"""Resampling of ``ember.nn.functional``: ``interpolate`` with PyTorch's coordinate rules.

Each spatial axis is resampled by one sparse linear map (``resample_axis``), last axis first:
'nearest' picks ``min(floor(dst * scale), in - 1)`` computed in float32 as PyTorch does,
'nearest-exact' rounds half-pixel centres, 'linear'/'bilinear' blend two neighbours with
weights computed in the input's precision (float32 for float16), and 'area' is adaptive
average pooling.

>>> import ember
>>> import ember.nn.functional as F
>>> F.interpolate(ember.tensor([[[1.0, 2.0]]]), scale_factor=2)
tensor([[[1., 1., 2., 2.]]])
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ember.errors import DTypeError, EmberValueError, ShapeError
from ember.nn.functional.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from ember.ops import pool as P
from ember.ops.registry import OPS

__all__ = ["interpolate"]

_MODES = {"nearest": (1, 2), "nearest-exact": (1, 2), "area": (1, 2), "linear": (1,)}
_MODES["bilinear"] = (2,)
_F32 = np.float32


def _compute_scale(n_in, n_out, scale, t):
    """PyTorch's ``compute_scales_value`` in the floating type ``t``."""
    if scale is not None and scale > 0:
        return t(1.0 / scale)
    return t(n_in) / t(n_out)


@functools.lru_cache(maxsize=512)
def _nearest_map(n_in, n_out, scale, exact):
    dst = np.arange(n_out)
    if not exact and n_out == 2 * n_in:
        src = dst >> 1
    else:
        s = _compute_scale(n_in, n_out, scale, _F32)
        pos = (dst.astype(_F32) + _F32(0.5)) * s if exact else dst.astype(_F32) * s
        src = np.minimum(np.floor(pos).astype(np.int64), n_in - 1)
    return dict(src=tuple(src.tolist()), dst=tuple(dst.tolist()), wts=(1.0,) * n_out, size=n_out)


@functools.lru_cache(maxsize=512)
def _linear_map(n_in, n_out, scale, align_corners, t):
    """Two taps per output: (i0, 1 - lambda) and (i1, lambda), as PyTorch computes them."""
    t = np.dtype(t).type
    dst = np.arange(n_out)
    if align_corners:
        s = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        real = s * dst.astype(t)
    else:
        s = _compute_scale(n_in, n_out, scale, t)
        real = np.maximum(s * (dst.astype(t) + t(0.5)) - t(0.5), t(0))
    i0 = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    lam1 = np.minimum(np.maximum(real - i0.astype(t), t(0)), t(1)).astype(t)
    lam0 = (t(1) - lam1).astype(t)
    i1 = i0 + (i0 < n_in - 1)
    src = np.stack([i0, i1], 1).ravel()
    wts = np.stack([lam0, lam1], 1).ravel()
    return dict(
        src=tuple(src.tolist()),
        dst=tuple(np.repeat(dst, 2).tolist()),
        wts=tuple(float(w) for w in wts),
        size=n_out,
    )


def _sizes(input, size, scale_factor, dim, recompute):
    """Output sizes and the scales handed to the kernels (None where sizes rule)."""
    if size is not None and scale_factor is not None:
        raise EmberValueError("interpolate: only one of size or scale_factor should be defined")
    spatial = list(input.shape[2:])
    if size is not None:
        if recompute:
            raise EmberValueError(
                "interpolate: recompute_scale_factor is not meaningful with an explicit size"
            )
        out = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(out) != dim or not all(isinstance(s, int) for s in out):
            raise EmberValueError(
                f"interpolate: input with spatial dimensions of {spatial} and output size of "
                f"{size!r}: expected {dim} ints"
            )
        return out, [None] * dim
    if scale_factor is None:
        raise EmberValueError("interpolate: either size or scale_factor should be defined")
    scales = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
    if len(scales) != dim:
        raise EmberValueError(
            f"interpolate: input with spatial dimensions of {spatial} and scale_factor of "
            f"{scale_factor!r}: expected {dim} values"
        )
    out = [math.floor(float(n) * s) for n, s in zip(spatial, scales)]
    return out, ([None] * dim if recompute else [float(s) for s in scales])


def _check(input, mode, align_corners):
    if mode not in _MODES:
        raise EmberValueError(
            f"interpolate: mode {mode!r} is not supported (expected one of {sorted(_MODES)})"
        )
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise EmberValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            "linear | bilinear"
        )
    dim = input.ndim - 2
    if dim not in _MODES[mode]:
        need = " or ".join(f"{d + 2}D" for d in _MODES[mode])
        raise ShapeError(
            f"interpolate: got {input.ndim}D input of shape {tuple(input.shape)}, but {mode} "
            f"mode needs {need} input"
        )
    if not input.is_floating_point():
        raise DTypeError(f"interpolate: expected a floating-point input, got {input.dtype.name}")
    return dim


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """Resize (N, C, L) or (N, C, H, W) ``input`` to ``size`` or by ``scale_factor``.

    >>> import ember
    >>> import ember.nn.functional as F
    >>> x = ember.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> F.interpolate(x, size=(3, 3), mode="bilinear", align_corners=True)
    tensor([[[[0.0000, 0.5000, 1.0000],
              [1.0000, 1.5000, 2.0000],
              [2.0000, 2.5000, 3.0000]]]])
    """
    dim = _check(input, mode, align_corners)
    if antialias:
        raise EmberValueError("interpolate: antialias=True is not supported")
    recompute = bool(recompute_scale_factor) or (mode == "area" and size is None)
    out_sizes, scales = _sizes(input, size, scale_factor, dim, recompute)
    if min(out_sizes) < 1:
        raise ShapeError(
            f"interpolate: input and output sizes should be greater than 0, but got input "
            f"{list(input.shape[2:])} and output {out_sizes}"
        )
    if mode == "area":
        pool = adaptive_avg_pool1d if dim == 1 else adaptive_avg_pool2d
        return pool(input, tuple(out_sizes))
    return _resample(input, out_sizes, scales, mode, bool(align_corners))


def _resample(input, out_sizes, scales, mode, align_corners):
    """One ``resample_axis`` per spatial axis whose size changes, the last axis first."""
    out = input
    opmath = np.dtype(np.float64 if input.dtype.name == "float64" else np.float32)
    for k in reversed(range(len(out_sizes))):
        n_in, n_out = input.shape[2 + k], out_sizes[k]
        if n_in == n_out:
            continue  # PyTorch copies an axis whose size does not change
        if mode in ("linear", "bilinear"):
            m = _linear_map(n_in, n_out, scales[k], align_corners, opmath.str)
        else:
            m = _nearest_map(n_in, n_out, scales[k], mode == "nearest-exact")
        out = P.resample_axis(out, axis=2 + k, **m)
    return OPS["clone"](out) if out is input else out
