"""Pooling and resampling primitives (NCHW, loops over kernel offsets, never over pixels).

* ``max_pool2d`` computes only the maxima; its VJP finds the argmax positions again
  (``max_pool2d_indices``, PyTorch's first-maximum rule, NaN wins) and scatters to them.
  ``max_pool_gather`` / ``max_pool_scatter`` are each other's VJPs, so second-order
  gradients exist. Indices are flat positions in the (H, W) plane, as PyTorch returns them.
* ``avg_pool2d`` and ``avg_pool2d_backward`` are linear and each other's adjoints.
* ``resample_axis`` is a sparse linear map along one axis (nearest/bilinear interpolation,
  adaptive average pooling); its VJP is the transposed map.
"""

from __future__ import annotations

import functools

import numpy as np

from ember.errors import ShapeError
from ember.ops import rules
from ember.ops.registry import OPS, primitive

FLOATS = (np.float16, np.float32, np.float64)
_F16 = np.dtype(np.float16)


def pool_out_len(n, k, s, p, d, ceil_mode) -> int:
    """PyTorch's pooling output length (the last window must start inside input + padding)."""
    o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def overlapping(kernel, stride, dilation) -> bool:
    """Whether two windows can share an input element."""
    return any(s < d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def _pool_shape(x, *, kernel, stride, padding, dilation=(1, 1), ceil_mode, **_):
    if len(x) != 4:
        raise ShapeError(f"expected a 4-D input, got {rules.fmt(x)}")
    o = tuple(
        pool_out_len(x[2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
        for i in range(2)
    )
    if o[0] < 1 or o[1] < 1:
        raise ShapeError(
            f"Given input size: ({x[1]}x{x[2]}x{x[3]}). Calculated output size: "
            f"({x[1]}x{o[0]}x{o[1]}). Output size is too small"
        )
    return (x[0], x[1]) + o


def _int64_rule(x, **attrs):
    return np.dtype(np.int64)


def _windows(x, kernel, stride, padding, dilation, out_hw, fill):
    """Yield ((i, j), view) for every kernel offset: views (N, C, OH, OW) of padded ``x``."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out_hw
    hb, wb = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
    if ph or pw or hb > h or wb > w:
        buf = np.full((n, c, max(hb, ph + h), max(wb, pw + w)), fill, x.dtype)
        buf[:, :, ph : ph + h, pw : pw + w] = x
        x = buf
    for i in range(kh):
        for j in range(kw):
            r, q = i * dh, j * dw
            yield (i, j), x[:, :, r : r + sh * (oh - 1) + 1 : sh, q : q + sw * (ow - 1) + 1 : sw]


def _tiles(x, kernel, stride, padding, dilation, out_hw) -> bool:
    """Non-overlapping windows that tile the input exactly (reshape fast path)."""
    return (
        tuple(kernel) == tuple(stride)
        and not any(padding)
        and tuple(dilation) == (1, 1)
        and x.shape[2] == out_hw[0] * kernel[0]
        and x.shape[3] == out_hw[1] * kernel[1]
    )


# ---- max pooling -----------------------------------------------------------------------------


@primitive("max_pool2d", shape=_pool_shape, dtype=rules.same_dtype, dtypes=FLOATS)
def max_pool2d(x, *, kernel, stride, padding, dilation, ceil_mode):
    """Maxima over (kh, kw) windows of NCHW ``x`` (padding counts as -inf)."""
    oh, ow = _pool_shape(
        x.shape,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )[2:]
    n, c = x.shape[:2]
    if _tiles(x, kernel, stride, padding, dilation, (oh, ow)):
        return x.reshape(n, c, oh, kernel[0], ow, kernel[1]).max(axis=(3, 5))
    out = None
    for _, v in _windows(x, kernel, stride, padding, dilation, (oh, ow), -np.inf):
        out = v.copy() if out is None else np.maximum(out, v, out=out)
    return out


@max_pool2d.defvjp
def _(g, out, x, *, kernel, stride, padding, dilation, ceil_mode):
    idx = OPS["max_pool2d_indices"](
        x, kernel=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    return OPS["max_pool_scatter"](
        g, idx, size=tuple(x.shape[2:]), overlap=overlapping(kernel, stride, dilation)
    )


def _first_valid(o, s, p, d):
    """The first in-bounds position of every window along one axis."""
    start = np.arange(o) * s - p
    return np.where(start < 0, start + (-start + d - 1) // d * d, start)


@primitive("max_pool2d_indices", shape=_pool_shape, dtype=_int64_rule, dtypes=FLOATS)
def max_pool2d_indices(x, *, kernel, stride, padding, dilation, ceil_mode):
    """Flat (H * W) positions of the maxima ``max_pool2d`` picks: the first maximum of each
    window in row-major order, or its last NaN."""
    n, c, h, w = x.shape
    oh, ow = _pool_shape(
        x.shape,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )[2:]
    base = (np.arange(oh) * stride[0] - padding[0])[:, None] * w + (
        np.arange(ow) * stride[1] - padding[1]
    )
    first = _first_valid(oh, stride[0], padding[0], dilation[0])[:, None] * w + _first_valid(
        ow, stride[1], padding[1], dilation[1]
    )
    views = [v for _, v in _windows(x, kernel, stride, padding, dilation, (oh, ow), -np.inf)]
    (kh, kw), (dh, dw) = kernel, dilation
    offsets = [base + i * dh * w + j * dw for i in range(kh) for j in range(kw)]
    return argmax_scan(views, offsets, first, (n, c, oh, ow), x.dtype)


def argmax_scan(views, offsets, first, shape, dtype):
    """Running argmax over window offsets: ``views`` are the values at each offset and
    ``offsets`` their flat indices (broadcastable to ``shape``)."""
    m = np.full(shape, -np.inf, dtype)
    idx = np.empty(shape, np.int64)
    idx[...] = first
    for v, off in zip(views, offsets):
        upd = v > m
        np.maximum(m, v, out=m)  # NaN propagates: detected below
        np.copyto(idx, off, where=upd)
    if not np.isnan(m).any():
        return idx
    m.fill(-np.inf)
    idx[...] = first
    for v, off in zip(views, offsets):
        upd = (v > m) | np.isnan(v)
        np.copyto(m, v, where=upd)
        np.copyto(idx, off, where=upd)
    return idx


def _gather_shape(x, idx, **_):
    if len(x) != 4 or len(idx) != 4 or tuple(x[:2]) != tuple(idx[:2]):
        raise ShapeError(f"indices {rules.fmt(idx)} do not fit input {rules.fmt(x)}")
    return tuple(idx)


@primitive("max_pool_gather", shape=_gather_shape, dtype=rules.same_dtype)
def max_pool_gather(x, idx, *, overlap):
    """``x[n, c].flat[idx[n, c]]``: the values at max-pooling indices."""
    n, c = x.shape[:2]
    flat = x.reshape(n, c, x.shape[2] * x.shape[3])
    if idx.size and (idx.min() < 0 or idx.max() >= flat.shape[2]):
        raise ShapeError(f"indices out of range for an input plane of {flat.shape[2]} elements")
    return np.take_along_axis(flat, idx.reshape(n, c, idx.shape[2] * idx.shape[3]), axis=2).reshape(
        idx.shape
    )


@max_pool_gather.defvjp
def _(g, out, x, idx, *, overlap):
    return OPS["max_pool_scatter"](g, idx, size=tuple(x.shape[2:]), overlap=overlap), None


def _scatter_shape(g, idx, *, size, overlap):
    if tuple(g) != tuple(idx):
        raise ShapeError(f"gradient {rules.fmt(g)} and indices {rules.fmt(idx)} differ")
    return tuple(g[:2]) + tuple(size)


@primitive("max_pool_scatter", shape=_scatter_shape, dtype=rules.same_dtype)
def max_pool_scatter(g, idx, *, size, overlap):
    """Zeros of spatial ``size`` with ``g`` added at the flat positions ``idx``."""
    n, c = g.shape[:2]
    plane, k = size[0] * size[1], g.shape[2] * g.shape[3]
    if not overlap:  # distinct positions: a plain scatter
        out = np.zeros((n * c, plane), g.dtype)
        np.put_along_axis(out, idx.reshape(n * c, k), g.reshape(n * c, k), axis=1)
        return out.reshape((n, c) + tuple(size))
    flat = idx.reshape(n * c, k) + np.arange(n * c)[:, None] * plane
    out = np.bincount(flat.ravel(), weights=g.ravel(), minlength=n * c * plane)
    return out.astype(g.dtype).reshape((n, c) + tuple(size))


@max_pool_scatter.defvjp
def _(gg, out, g, idx, *, size, overlap):
    return OPS["max_pool_gather"](gg, idx, overlap=overlap), None


# ---- average pooling -------------------------------------------------------------------------


def _avg_divisor(hw, out_hw, kernel, stride, padding, count_include_pad, divisor_override):
    """What each window sum is divided by: a number or an (OH, OW) array (PyTorch's rule)."""
    if divisor_override:
        return divisor_override
    sizes = []
    for n, o, k, s, p in zip(hw, out_hw, kernel, stride, padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(np.minimum(end, n) - np.maximum(start, 0))
    return sizes[0][:, None] * sizes[1]


def _acc_dtype(dt):
    return np.dtype(np.float32) if dt == _F16 else dt


@primitive("avg_pool2d", shape=_pool_shape, dtype=rules.same_dtype, save="meta", dtypes=FLOATS)
def avg_pool2d(x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Window means of NCHW ``x`` (PyTorch's divisor rules)."""
    n, c = x.shape[:2]
    out_hw = _pool_shape(
        x.shape, kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode
    )[2:]
    div = _avg_divisor(
        x.shape[2:], out_hw, kernel, stride, padding, count_include_pad, divisor_override
    )
    acc = _acc_dtype(x.dtype)
    if _tiles(x, kernel, stride, padding, (1, 1), out_hw):
        s = x.reshape(n, c, out_hw[0], kernel[0], out_hw[1], kernel[1]).sum(axis=(3, 5), dtype=acc)
    else:
        s = np.zeros((n, c) + tuple(out_hw), acc)
        for _, v in _windows(x, kernel, stride, padding, (1, 1), out_hw, 0):
            s += v
    div = div if np.isscalar(div) else div.astype(acc)
    return np.divide(s, div, out=s).astype(x.dtype, copy=False)


@avg_pool2d.defvjp
def _(g, out, x, **attrs):
    return OPS["avg_pool2d_backward"](g, size=tuple(x.shape[2:]), **attrs)


def _avg_back_shape(g, *, size, **_):
    return tuple(g[:2]) + tuple(size)


@primitive(
    "avg_pool2d_backward", shape=_avg_back_shape, dtype=rules.same_dtype, save="none", dtypes=FLOATS
)
def avg_pool2d_backward(
    g, *, size, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    """The adjoint of ``avg_pool2d`` for an input of spatial ``size``."""
    n, c, oh, ow = g.shape
    (h, w), (kh, kw), (sh, sw), (ph, pw) = size, kernel, stride, padding
    div = _avg_divisor(size, (oh, ow), kernel, stride, padding, count_include_pad, divisor_override)
    g32 = g.astype(np.float32) if g.dtype == _F16 else g
    gd = g32 / (div if np.isscalar(div) else div.astype(g32.dtype))
    if tuple(kernel) == tuple(stride) and not any(padding) and (h, w) == (oh * kh, ow * kw):
        full = np.broadcast_to(gd[:, :, :, None, :, None], (n, c, oh, kh, ow, kw))
        return full.reshape(n, c, h, w).astype(g.dtype, copy=False)
    hb, wb = max((oh - 1) * sh + kh, ph + h), max((ow - 1) * sw + kw, pw + w)
    buf = np.zeros((n, c, hb, wb), gd.dtype)
    for i in range(kh):
        for j in range(kw):
            buf[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw] += gd
    return buf[:, :, ph : ph + h, pw : pw + w].astype(g.dtype)


@avg_pool2d_backward.defvjp
def _(gg, out, g, *, size, **attrs):
    return OPS["avg_pool2d"](gg, **attrs)


# ---- sparse linear maps along one axis -------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _plan(src, dst, wts, size):
    """NumPy arrays for a map whose entries are sorted by ``dst``."""
    src_a, dst_a = np.asarray(src, np.intp), np.asarray(dst, np.intp)
    w = None if all(v == 1.0 for v in wts) else np.asarray(wts, np.float64)
    starts = np.flatnonzero(np.r_[True, dst_a[1:] != dst_a[:-1]]) if len(dst) else dst_a
    rows = dst_a[starts]
    return src_a, w, starts, rows, len(starts) == len(dst_a), len(rows) == size


@functools.lru_cache(maxsize=256)
def transpose_map(src, dst, wts):
    """The entries of the transposed map, sorted by their new destination."""
    order = sorted(range(len(src)), key=lambda e: src[e])
    return (
        tuple(dst[e] for e in order),
        tuple(src[e] for e in order),
        tuple(wts[e] for e in order),
    )


def _resample_shape(x, *, axis, src, dst, wts, size):
    if not 0 <= axis < len(x) or (src and max(src) >= x[axis]):
        raise ShapeError(
            f"a map reading {max(src, default=0) + 1} rows of axis {axis} does not "
            f"fit input {rules.fmt(x)}"
        )
    return tuple(x[:axis]) + (size,) + tuple(x[axis + 1 :])


@primitive(
    "resample_axis", shape=_resample_shape, dtype=rules.same_dtype, save="meta", dtypes=FLOATS
)
def resample_axis(x, *, axis, src, dst, wts, size):
    """``out[.., dst[e], ..] += wts[e] * x[.., src[e], ..]`` along ``axis`` (entries sorted by
    ``dst``; ``size`` output rows): interpolation and adaptive pooling, one axis at a time."""
    _resample_shape(x.shape, axis=axis, src=src, dst=dst, wts=wts, size=size)
    src_a, w, starts, rows, single, full = _plan(src, dst, wts, size)
    out = np.take(x, src_a, axis=axis)
    if w is not None:
        out *= w.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    if not single:
        out = np.add.reduceat(out, starts, axis=axis)
    if full:
        return out
    res = np.zeros(x.shape[:axis] + (size,) + x.shape[axis + 1 :], x.dtype)
    res[(slice(None),) * axis + (rows,)] = out
    return res


@resample_axis.defvjp
def _(g, out, x, *, axis, src, dst, wts, size):
    tsrc, tdst, twts = transpose_map(src, dst, wts)
    return OPS["resample_axis"](g, axis=axis, src=tsrc, dst=tdst, wts=twts, size=x.shape[axis])


# ---- adaptive max pooling --------------------------------------------------------------------


def adaptive_windows(n: int, o: int):
    """PyTorch's adaptive windows along one axis: starts, and (o, kmax) indices where rows
    shorter than kmax repeat their last index (a repeat never changes a strict maximum)."""
    i = np.arange(o)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    kmax = int((end - start).max())
    return start, end, np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1)


def _adaptive_shape(x, *, output_size):
    if len(x) != 4 or min(output_size) < 1:
        raise ShapeError(f"cannot pool input {rules.fmt(x)} to size {tuple(output_size)}")
    return tuple(x[:2]) + tuple(output_size)


@primitive("adaptive_max_pool2d_indices", shape=_adaptive_shape, dtype=_int64_rule, dtypes=FLOATS)
def adaptive_max_pool2d_indices(x, *, output_size):
    """Flat (H * W) positions of the maxima of PyTorch's adaptive windows."""
    n, c, h, w = x.shape
    (oh, ow) = _adaptive_shape(x.shape, output_size=output_size)[2:]
    sh, _, ih = adaptive_windows(h, oh)
    sw, _, iw = adaptive_windows(w, ow)
    views, offsets = [], []
    for i in range(ih.shape[1]):
        rows = x[:, :, ih[:, i], :]
        for j in range(iw.shape[1]):
            views.append(rows[:, :, :, iw[:, j]])
            offsets.append(ih[:, i][:, None] * w + iw[:, j])
    return argmax_scan(views, offsets, sh[:, None] * w + sw, (n, c, oh, ow), x.dtype)
