"""Pooling and resampling primitives (NCHW, loops over kernel offsets, never over pixels).

* ``max_pool2d`` computes only the maxima; its VJP finds the argmax positions again
  (``max_pool2d_indices``, PyTorch's first-maximum rule, NaN wins) and scatters to them,
  or, when the windows tile the input, writes the gradient directly (``max_pool_grad``).
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
from ember.native import parallel
from ember.native import pool as native_pool
from ember.ops import rules
from ember.ops.max_pool_grad import tiles
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


def _int64_rule(x, *rest, **attrs):
    return np.dtype(np.int64)


def _padded(x, kernel, stride, padding, dilation, out_hw, fill):
    """``x`` inside a ``fill``-padded buffer in which every window fits (``x`` if it does)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out_hw
    hb, wb = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
    if not (ph or pw or hb > h or wb > w):
        return x
    buf = np.full((n, c, max(hb, ph + h), max(wb, pw + w)), fill, x.dtype)
    buf[:, :, ph : ph + h, pw : pw + w] = x
    return buf


def _views(a, axis, k, s, d, o):
    """The ``k`` kernel-offset views of ``a`` along ``axis``: ``o`` positions ``s`` apart."""
    sl = [slice(None)] * a.ndim
    out = []
    for i in range(k):
        sl[axis] = slice(i * d, i * d + s * (o - 1) + 1, s)
        out.append(a[tuple(sl)])
    return out


def _fold(views, ufunc, dtype=None):
    """``ufunc`` folded over ``views`` into a fresh array."""
    out = views[0].astype(dtype or views[0].dtype, copy=True)
    for v in views[1:]:
        ufunc(out, v, out=out)
    return out


# Pooling windows are separable: reduce over the kernel columns, then over the kernel rows
# (kh + kw passes instead of kh * kw). Columns go first so that ties resolve to the first
# maximum in row-major order, as in PyTorch.


# ---- max pooling -----------------------------------------------------------------------------


@primitive("max_pool2d", shape=_pool_shape, dtype=rules.same_dtype, save="both", dtypes=FLOATS)
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
    if tiles(x.shape[2:], kernel, stride, padding, dilation, (oh, ow)):
        m = native_pool.max_pool_2x2(x, kernel)  # one C pass (None: no kernel here)
        if m is not None:
            return m

    def kernel_(xs):
        xp = _padded(xs, kernel, stride, padding, dilation, (oh, ow), -np.inf)
        cols = _fold(_views(xp, 3, kernel[1], stride[1], dilation[1], ow), np.maximum)
        return _fold(_views(cols, 2, kernel[0], stride[0], dilation[0], oh), np.maximum)

    return parallel.split(kernel_, x.shape[0], x.size, x)


@max_pool2d.defvjp
def _(g, out, x, *, kernel, stride, padding, dilation, ceil_mode):
    if tiles(x.shape[2:], kernel, stride, padding, dilation, out.shape[2:]):
        return OPS["max_pool2d_grad"](g, x, out, kernel=kernel)
    idx = OPS["max_pool2d_indices"](
        x,
        out,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )
    return OPS["max_pool_scatter"](
        g, idx, size=tuple(x.shape[2:]), overlap=overlapping(kernel, stride, dilation)
    )


def _first_valid(o, s, p, d):
    """The first in-bounds position of every window along one axis."""
    start = np.arange(o) * s - p
    return np.where(start < 0, start + (-start + d - 1) // d * d, start)


def _argmax_pass(views, first, carry, nan):
    """First maximum over ``views`` (or, when ``nan``, the last NaN): the maxima, which view
    won (starting from ``first``), and the winner's entry of ``carry`` = (views, initial).

    The winner is tracked with bit masks on small unsigned ints: NumPy's masked copies
    (``copyto(where=)``, ``where``) are ~30x slower than these vectorised bit operations."""
    m = np.full(views[0].shape, -np.inf, views[0].dtype)
    small = np.uint8 if len(views) < 256 else np.uint32
    sel = np.empty(m.shape, small)
    sel[...] = first
    car = None
    if carry is not None:
        car = np.empty(m.shape, carry[0][0].dtype)
        car[...] = carry[1]
    for k, v in enumerate(views):
        upd = v > m
        if nan:
            upd |= np.isnan(v)
            np.copyto(m, v, where=upd)
        else:
            np.maximum(m, v, out=m)  # NaN propagates and is caught by the caller
        mask = np.negative(upd.view(np.uint8) if small is np.uint8 else upd.astype(small))
        sel &= ~mask
        sel |= mask & small(k)
        if car is not None:
            cmask = mask if mask.dtype == car.dtype else mask.astype(car.dtype)
            car &= ~cmask
            car |= cmask & carry[0][k]
    return m, sel, car


def argmax2d(col_views, col_first, rows_of, row_first):
    """Which column view and which row view hold the maximum of each separable window:
    the columns are reduced first, then the rows (``rows_of(a)``) of the column results."""
    for nan in (False, True):
        cm, cj, _ = _argmax_pass(col_views, col_first, None, nan)
        m, ri, cj = _argmax_pass(rows_of(cm), row_first, (rows_of(cj), col_first), nan)
        if nan or not np.isnan(m).any():
            return ri, cj


def _indices_shape(x, *maxima, **attrs):
    out = _pool_shape(x, **attrs)
    if maxima and tuple(maxima[0]) != out:
        raise ShapeError(f"maxima {rules.fmt(maxima[0])} do not fit the windows of {rules.fmt(x)}")
    return out


@primitive("max_pool2d_indices", shape=_indices_shape, dtype=_int64_rule, dtypes=FLOATS)
def max_pool2d_indices(x, *maxima, kernel, stride, padding, dilation, ceil_mode):
    """Flat (H * W) positions of the maxima ``max_pool2d`` picks: the first maximum of each
    window in row-major order, or its last NaN. Given the maxima (the ``max_pool2d`` output)
    it only has to find where they are."""
    w = x.shape[3]
    oh, ow = _indices_shape(
        x.shape,
        *(m.shape for m in maxima),
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )[2:]
    args = (kernel, stride, padding, dilation, (oh, ow), w)
    return parallel.split(lambda *a: _max_indices(*a, *args), x.shape[0], x.size, x, *maxima)


def _max_indices(x, *maxima_and_args):
    *maxima, kernel, stride, padding, dilation, (oh, ow), w = maxima_and_args
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    col0, row0 = np.arange(ow) * sw - pw, np.arange(oh) * sh - ph
    if maxima and not np.isnan(maxima[0]).any():
        # padding is NaN here, so that it never equals a maximum (-inf windows included)
        xp = _padded(x, kernel, stride, padding, dilation, (oh, ow), np.nan)
        ri, cj = _find_maxima(xp, maxima[0], kernel, stride, dilation, (oh, ow))
    else:
        xp = _padded(x, kernel, stride, padding, dilation, (oh, ow), -np.inf)
        ri, cj = argmax2d(
            _views(xp, 3, kw, sw, dw, ow),
            (_first_valid(ow, sw, pw, dw) - col0) // dw,
            lambda a: _views(a, 2, kh, sh, dh, oh),
            ((_first_valid(oh, sh, ph, dh) - row0) // dh)[:, None],
        )
    idx = ri.astype(np.int64)
    idx *= dh * w
    idx += cj.astype(np.int64) * dw if dw != 1 else cj
    idx += row0[:, None] * w + col0
    return idx


def _find_maxima(xp, m, kernel, stride, dilation, out_hw):
    """Kernel row and column of the first element equal to ``m`` in each window."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    small = np.uint8 if max(kh, kw) < 256 else np.uint32
    ri, cj = np.zeros(m.shape, small), np.zeros(m.shape, small)
    found = np.zeros(m.shape, bool)
    for i, rows in enumerate(_views(xp, 2, kh, sh, dh, oh)):
        for j, v in enumerate(_views(rows, 3, kw, sw, dw, ow)):
            new = v == m
            new &= ~found
            found |= new
            mask = np.negative(new.view(np.uint8) if small is np.uint8 else new.astype(small))
            ri |= mask & small(i)
            cj |= mask & small(j)
    return ri, cj


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
        out = np.zeros((n, c, plane), g.dtype)

        def part(a, b):
            dst, ia, ga = out[a:b], idx[a:b].reshape(b - a, c, k), g[a:b].reshape(b - a, c, k)
            np.put_along_axis(dst, ia, ga, axis=2)

        parallel.run(part, n, out.size)
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
    oh, ow = _pool_shape(
        x.shape, kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode
    )[2:]
    div = _avg_divisor(
        x.shape[2:], (oh, ow), kernel, stride, padding, count_include_pad, divisor_override
    )
    acc = _acc_dtype(x.dtype)
    div = div if np.isscalar(div) else div.astype(acc)

    def kernel_(xs):
        xp = _padded(xs, kernel, stride, padding, (1, 1), (oh, ow), 0)
        cols = _fold(_views(xp, 3, kernel[1], stride[1], 1, ow), np.add, acc)
        s = _fold(_views(cols, 2, kernel[0], stride[0], 1, oh), np.add)
        return np.divide(s, div, out=s).astype(xs.dtype, copy=False)

    return parallel.split(kernel_, x.shape[0], x.size, x)


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
    acc = _acc_dtype(g.dtype)
    div = div if np.isscalar(div) else div.astype(acc)
    hb, wb = max((oh - 1) * sh + kh, ph + h), max((ow - 1) * sw + kw, pw + w)

    def kernel_(gs):
        gd = gs.astype(acc, copy=False) / div
        rows = np.zeros(gs.shape[:2] + (hb, ow), acc)  # adjoint of the row pass, then columns
        for v in _views(rows, 2, kh, sh, 1, oh):
            v += gd
        buf = np.zeros(gs.shape[:2] + (hb, wb), acc)
        for v in _views(buf, 3, kw, sw, 1, ow):
            v += rows
        return buf[:, :, ph : ph + h, pw : pw + w].astype(gs.dtype)

    return parallel.split(kernel_, n, n * c * h * w, g)


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
    """PyTorch's adaptive windows along one axis: starts, ends and the longest length."""
    i = np.arange(o)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    return start, end, int((end - start).max())


def _adaptive_shape(x, *, output_size):
    if len(x) != 4 or min(output_size) < 1:
        raise ShapeError(f"cannot pool input {rules.fmt(x)} to size {tuple(output_size)}")
    return tuple(x[:2]) + tuple(output_size)


@primitive("adaptive_max_pool2d_indices", shape=_adaptive_shape, dtype=_int64_rule, dtypes=FLOATS)
def adaptive_max_pool2d_indices(x, *, output_size):
    """Flat (H * W) positions of the maxima of PyTorch's adaptive windows."""
    n, c, h, w = x.shape
    (oh, ow) = _adaptive_shape(x.shape, output_size=output_size)[2:]
    sh, eh, kh = adaptive_windows(h, oh)
    sw, ew, kw = adaptive_windows(w, ow)
    ri, cj = argmax2d(
        [x[:, :, :, np.minimum(sw + j, ew - 1)] for j in range(kw)],
        0,
        lambda a: [a[:, :, np.minimum(sh + i, eh - 1), :] for i in range(kh)],
        0,
    )
    rows = np.minimum(sh[:, None] + ri, eh[:, None] - 1)
    return rows * w + np.minimum(sw + cj, ew - 1)
