"""Convolution primitives: im2col + one GEMM per convolution, NCHW layout; direct C kernels
for stride-1 layers with few channels (``ember.native.conv``, see ``_direct``).

Three primitives close over each other's VJPs, so gradients of any order exist:

* ``conv2d(x, w[, b])``: the forward convolution (cross-correlation, as in PyTorch);
* ``conv2d_input_grad(g, w)``: its adjoint in ``x`` (a transposed convolution, col2im);
* ``conv2d_weight_grad(x, g)``: its adjoint in ``w``.

The im2col buffer has layout ``(groups, C/groups * kh * kw, N * OH * OW)``: a convolution is
one GEMM (one batched call over the groups), oriented so that the long N * OH * OW dimension
leads, which OpenBLAS runs faster. col2im adds the columns back one kernel offset at a time;
with a horizontal stride of 1 it works in a "wide" layout (rows as long as the padded input),
so that each offset is one long contiguous run. On narrow images the input gradient skips
col2im altogether (``_input_grad_rows``: one GEMM per kernel row against a banded matrix).
Copies and col2im split the batch over threads (``ember.native.parallel``). float16 is computed
in float32 (NumPy has no float16 GEMM) and rounded back.

Padding is ``(top, bottom, left, right)``; a negative bottom/right (used by the VJPs) means the
last rows/columns of the input are not read.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember.errors import DTypeError, ShapeError
from ember.native import conv as native_conv
from ember.native import parallel
from ember.ops import conv_wide, rules
from ember.ops.registry import OPS, needs_input_grad, primitive

FLOATS = (np.float16, np.float32, np.float64)
_F32 = np.dtype(np.float32)
_F16 = np.dtype(np.float16)


def out_len(n, k, s, lo, hi, d) -> int:
    """Output length of a convolution along one axis."""
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def _need(o, k, s, d) -> int:
    """Input extent (padding included) read by ``o`` outputs."""
    return (o - 1) * s + d * (k - 1) + 1


# ---- shape and dtype rules -------------------------------------------------------------------


def _check_conv(x, w, groups):
    if len(x) != 4 or len(w) != 4:
        raise ShapeError(f"expected 4-D input and weight, got {rules.fmt(x)} and {rules.fmt(w)}")
    if 0 in tuple(w[2:]) or w[0] == 0:
        raise ShapeError(f"weight {rules.fmt(w)} has an empty kernel or no output channels")
    if groups < 1 or w[0] % groups or x[1] != w[1] * groups:
        raise ShapeError(
            f"groups={groups} and weight of size {rules.fmt(w)} do not fit an input with "
            f"{x[1]} channels {rules.fmt(x)}"
        )


def _conv_shape(x, w, *b, stride, padding, dilation, groups):
    _check_conv(x, w, groups)
    if b and tuple(b[0]) != (w[0],):
        raise ShapeError(f"expected bias of shape ({w[0]},), got {rules.fmt(b[0])}")
    oh = out_len(x[2], w[2], stride[0], padding[0], padding[1], dilation[0])
    ow = out_len(x[3], w[3], stride[1], padding[2], padding[3], dilation[1])
    if oh < 1 or ow < 1:
        raise ShapeError(
            f"kernel {rules.fmt(w[2:])} (dilation {dilation}) is larger than the padded "
            f"input {(x[2] + padding[0] + padding[1], x[3] + padding[2] + padding[3])}"
        )
    return (x[0], w[0], oh, ow)


def _input_grad_shape(g, w, *, size, stride, padding, dilation, groups):
    if len(g) != 4 or len(w) != 4 or g[1] != w[0] or groups < 1 or w[0] % groups:
        raise ShapeError(
            f"gradient {rules.fmt(g)} does not fit weight {rules.fmt(w)} with groups={groups}"
        )
    return (g[0], w[1] * groups) + tuple(size)


def _weight_grad_shape(x, g, *, kernel, stride, padding, dilation, groups):
    if len(x) != 4 or len(g) != 4 or x[0] != g[0] or x[1] % groups or g[1] % groups:
        raise ShapeError(
            f"input {rules.fmt(x)} and gradient {rules.fmt(g)} do not fit groups={groups}"
        )
    return (g[1], x[1] // groups) + tuple(kernel)


def _same_float(*dts, **_):
    t = [d for d in dts if isinstance(d, np.dtype)]
    if any(d != t[0] for d in t):
        raise DTypeError(f"expected inputs of one dtype, got {', '.join(str(d) for d in t)}")
    return t[0]


def _check_dtypes(*arrays):
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            raise _same_float(*(a.dtype for a in arrays))


# ---- im2col / col2im -------------------------------------------------------------------------


def _wide(sw, ow, wb) -> bool:
    """Scatter col2im in the wide layout when the horizontal stride is 1 and few columns are
    wasted."""
    return sw == 1 and wb <= 2 * ow + 2


def _padded(x, hb, wb, pt, pl):
    """``x`` placed at (pt, pl) in a zero (N, C, hb, wb) buffer (rows/columns past it cut)."""
    n, c, h, w = x.shape
    buf = np.zeros((n, c, hb, wb), x.dtype)
    rows, cols = min(h, hb - pt), min(w, wb - pl)
    buf[:, :, pt : pt + rows, pl : pl + cols] = x[:, :, :rows, :cols]
    return buf


def _padded_for(x, oh, ow, kh, kw, stride, pt, pl, dilation):
    """``x`` as a contiguous array holding every position the windows read (zero-padded)."""
    hb, wb = _need(oh, kh, stride[0], dilation[0]), _need(ow, kw, stride[1], dilation[1])
    if pt or pl or x.shape[2] < hb or x.shape[3] < wb:
        return _padded(x, hb, wb, pt, pl)
    return np.ascontiguousarray(x)


def im2col(x, kh, kw, oh, ow, stride, pt, pl, dilation, groups):
    """Columns of ``x`` as ``(groups, C/groups * kh * kw, N * oh * ow)``."""
    n, c = x.shape[:2]
    (sh, sw), (dh, dw) = stride, dilation
    x = _padded_for(x, oh, ow, kh, kw, stride, pt, pl, dilation)
    s = x.strides
    shape = (c, kh, kw, n, oh, ow)
    view = as_strided(x, shape, (s[1], dh * s[2], dw * s[3], s[0], sh * s[2], sw * s[3]))
    cols = np.empty(shape, x.dtype)
    parallel.run(lambda a, b: np.copyto(cols[:, :, :, a:b], view[:, :, :, a:b]), n, cols.size)
    return cols.reshape(groups, c // groups * kh * kw, n * oh * ow)


def col2im(cols, xshape, kh, kw, oh, ow, wc, stride, pt, pl, dilation):
    """Sum the columns ``(C, kh, kw, N, oh, wc)`` back into an image of ``xshape``."""
    n, c, h, w = xshape
    (sh, sw), (dh, dw) = stride, dilation
    hb, wb = max(_need(oh, kh, sh, dh), pt + h), max(_need(ow, kw, sw, dw), pl + w)
    cols = cols.reshape(c, kh, kw, n, oh, wc)
    # wide layout: one spare row per plane catches the runs' overflow, so planes (and the
    # threads writing them) never touch each other
    img = np.zeros((n, c, hb + (wc != ow), wb), cols.dtype)

    def part(a, b):
        if wc != ow:
            flat, it, plane = img[a:b].reshape(-1), img.itemsize, img.shape[2] * img.shape[3]
            strides = (plane * it, c * plane * it, sh * wb * it, it)
            for i in range(kh):
                for j in range(kw):
                    dst = as_strided(flat[i * dh * wb + j * dw :], (c, b - a, oh, wc), strides)
                    dst += cols[:, i, j, a:b]
            return
        t = img[a:b].transpose(1, 0, 2, 3)
        for i in range(kh):
            for j in range(kw):
                r, q = i * dh, j * dw
                dst = t[:, :, r : r + sh * (oh - 1) + 1 : sh, q : q + sw * (ow - 1) + 1 : sw]
                dst += cols[:, i, j, a:b]

    parallel.run(part, n, cols.size)
    return img[:, :, pt : pt + h, pl : pl + w]


# The row formulation of the input gradient (below) does up to this many times the
# multiply-adds of im2col's, in exchange for no col2im; 0 turns it off.
ROWS_MAX_RATIO = [3.0]
_ROWS_MAX_MATRIX = 1 << 21


def _rows_pay(o, c, kw, ow, wb, kh) -> bool:
    """Whether the row formulation is cheaper: narrow images, where col2im dominates."""
    return wb <= ROWS_MAX_RATIO[0] * kw and kh * o * ow * c * wb <= _ROWS_MAX_MATRIX


def _input_grad_rows(g, w, size, stride, padding, dilation):
    """The input gradient as kh GEMMs, one per kernel row: a kernel row acts on an image row
    as a banded (O * OW, C * Wb) matrix, and the kh products add into shifted rows. For
    narrow images this beats GEMM + col2im (kh row adds instead of kh * kw strided ones)."""
    n, o, oh, ow = g.shape
    c, kh, kw = w.shape[1:]
    (sh, sw), (dh, dw), (pt, pl), (h, wd) = stride, dilation, padding, size
    hb, wb = max(_need(oh, kh, sh, dh), pt + h), max(_need(ow, kw, sw, dw), pl + wd)
    rows = np.ascontiguousarray(g.transpose(0, 2, 1, 3)).reshape(n * oh, o * ow)
    band = np.zeros((kh, o, ow, c, wb), g.dtype)
    q = np.arange(ow)
    for j in range(kw):
        band[:, :, q, :, q * sw + j * dw] = w[:, :, :, j].transpose(2, 0, 1)
    img = np.zeros((n, hb, c * wb), g.dtype)
    for i in range(kh):
        part = np.matmul(rows, band[i].reshape(o * ow, c * wb)).reshape(n, oh, c * wb)
        img[:, i * dh : i * dh + sh * (oh - 1) + 1 : sh] += part
    img = img.reshape(n, hb, c, wb)[:, pt : pt + h, :, pl : pl + wd]
    return np.ascontiguousarray(img.transpose(0, 2, 1, 3))


def _crop(gx, size, padding):
    """The (N, C, *size) input gradient inside the gradient ``gx`` of its padded form
    (padding (top, left)); rows/columns of the input no window read get zeros."""
    (pt, pl), (h, w) = padding, size
    rows, cols = min(h, gx.shape[2] - pt), min(w, gx.shape[3] - pl)
    if (pt, pl) == (0, 0) and (rows, cols) == (h, w) == gx.shape[2:]:
        return gx
    out = np.zeros(gx.shape[:2] + (h, w), gx.dtype)
    out[:, :, :rows, :cols] = gx[:, :, pt : pt + rows, pl : pl + cols]
    return out


def _grad_columns(g, wc, groups):
    """The output gradient as ``(groups, O/groups, N * oh * wc)``, zero in the wide columns."""
    n, o, oh, ow = g.shape
    gt = np.empty((o, n, oh, wc), g.dtype) if wc == ow else np.zeros((o, n, oh, wc), g.dtype)

    def part(a, b):
        gt[:, a:b, :, :ow] = g[a:b].transpose(1, 0, 2, 3)

    parallel.run(part, n, g.size)
    return gt.reshape(groups, o // groups, n * oh * wc)


def _to32(*arrays):
    return [a.astype(_F32) if a.dtype == _F16 else a for a in arrays]


def _pads4(size, oshape, kernel, stride, padding, dilation):
    """(top, bottom, left, right) padding under which a conv of ``size`` gives ``oshape``."""
    pt, pl = padding
    pb = _need(oshape[0], kernel[0], stride[0], dilation[0]) - pt - size[0]
    pr = _need(oshape[1], kernel[1], stride[1], dilation[1]) - pl - size[1]
    return (pt, pb, pl, pr)


def _is_pointwise(kernel, stride, pads, groups) -> bool:
    return kernel == (1, 1) and stride == (1, 1) and not any(pads) and groups == 1


# Direct convolution (ember.native.conv) while C * kh * kw * O is at most this: measured
# on the 2-core dev VM (2026-12-07), LeNet-5's 1 -> 6 and 6 -> 16 5x5 layers (150, 2400)
# ran 1.5-3x faster than im2col + GEMM, a 16 -> 32 3x3 one (4608) at the same speed, and a
# 32 -> 64 3x3 one (18432) 1.3x slower: BLAS wins once the GEMM is large. 0 turns it off.
DIRECT_MAX_MACS_PER_OUTPUT = [4096]
# The input gradient runs as the direct forward of the output gradient padded by the
# kernel; it pays only while the padding adds little work (output/padded area at least
# this): LeNet-5's 8x8 -> 12x12 (0.44) ran 2x slower than im2col, 30x30 -> 32x32 (0.88)
# 1.5x faster.
DIRECT_MIN_INPUT_GRAD_FILL = 0.6


def _direct(c, kh, kw, o, ow, stride, dilation, groups, dtype) -> bool:
    """Whether the direct kernels run this convolution (stride 1, few channels)."""
    return (
        tuple(stride) == (1, 1)
        and tuple(dilation) == (1, 1)
        and groups == 1
        and c * kh * kw * o <= DIRECT_MAX_MACS_PER_OUTPUT[0]
        and native_conv.applies(ow, dtype)
    )


# ---- primitives ------------------------------------------------------------------------------


@primitive("conv2d", shape=_conv_shape, dtype=_same_float, dtypes=FLOATS)
def conv2d(x, w, *b, stride, padding, dilation, groups):
    """2-D cross-correlation of NCHW ``x`` with ``w`` (O, C/groups, kh, kw), plus bias ``b``."""
    _check_dtypes(x, w, *b)
    _, _, oh, ow = _conv_shape(
        x.shape,
        w.shape,
        *(a.shape for a in b),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )
    dt = x.dtype
    x, w, *b = _to32(x, w, *b)
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    pointwise = _is_pointwise((kh, kw), stride, padding, groups)  # one GEMM: BLAS wins
    out = None
    if not pointwise and _direct(c, kh, kw, o, ow, stride, dilation, groups, x.dtype):
        xp = _padded_for(x, oh, ow, kh, kw, stride, padding[0], padding[2], dilation)
        out = native_conv.forward(xp, w, b[0] if b else None)  # None: not built after all
    if out is not None:
        pass
    elif pointwise:
        res = np.matmul(w.reshape(o, c), x.reshape(n, c, oh * ow)).reshape(n, o, oh, ow)
        out = res if not b else np.add(res, b[0][:, None, None], out=res)
    elif conv_wide.applies(stride, groups):
        xp = _padded_for(x, oh, ow, kh, kw, stride, padding[0], padding[2], dilation)
        out = conv_wide.forward(xp, w, b[0] if b else None, oh, ow, dilation)
    else:
        cols = im2col(x, kh, kw, oh, ow, stride, padding[0], padding[2], dilation, groups)
        if groups == 1:  # (N*OH*OW, O): BLAS is faster with the long dimension first
            res = np.matmul(cols[0].T, w.reshape(o, -1).T)
            res = res.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)
        else:
            res = np.matmul(w.reshape(groups, o // groups, -1), cols)
            res = res.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
        out = np.empty((n, o, oh, ow), x.dtype)
        if b:
            bias = b[0][:, None, None]
            parallel.run(lambda a, c: np.add(res[a:c], bias, out=out[a:c]), n, out.size)
        else:
            parallel.run(lambda a, c: np.copyto(out[a:c], res[a:c]), n, out.size)
    return out if out.dtype == dt else out.astype(dt)


@conv2d.defvjp
def _(g, out, x, w, *b, stride, padding, dilation, groups):
    pads = (padding[0], padding[2])
    gx = gw = gb = None
    if needs_input_grad(0):
        gx = OPS["conv2d_input_grad"](
            g,
            w,
            size=tuple(x.shape[2:]),
            stride=stride,
            padding=pads,
            dilation=dilation,
            groups=groups,
        )
    if needs_input_grad(1):
        gw = OPS["conv2d_weight_grad"](
            x,
            g,
            kernel=tuple(w.shape[2:]),
            stride=stride,
            padding=pads,
            dilation=dilation,
            groups=groups,
        )
    if not b:
        return gx, gw
    if needs_input_grad(2):
        gb = OPS["sum"](g, axis=(0, 2, 3), keepdims=False)
    return gx, gw, gb


@primitive("conv2d_input_grad", shape=_input_grad_shape, dtype=_same_float, dtypes=FLOATS)
def conv2d_input_grad(g, w, *, size, stride, padding, dilation, groups):
    """The gradient of ``conv2d`` with respect to an input of spatial ``size`` (a transposed
    convolution of ``g`` with ``w``); ``padding`` is (top, left)."""
    _check_dtypes(g, w)
    n, o, oh, ow = g.shape
    xshape = _input_grad_shape(
        g.shape,
        w.shape,
        size=size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )
    dt = g.dtype
    g, w = _to32(g, w)
    kh, kw = w.shape[2:]
    if _is_pointwise((kh, kw), stride, padding, groups) and tuple(size) == (oh, ow):
        res = np.matmul(w.reshape(o, -1).T, g.reshape(n, o, oh * ow)).reshape(xshape)
        return res if res.dtype == dt else res.astype(dt)
    c = w.shape[1]
    fill = oh * ow / ((oh + kh - 1) * (ow + kw - 1))
    direct = _direct(c, kh, kw, o, ow + kw - 1, stride, dilation, groups, g.dtype)
    if direct and fill >= DIRECT_MIN_INPUT_GRAD_FILL:
        hb, wb = _need(oh, kh, 1, 1), _need(ow, kw, 1, 1)  # the padded input's extent
        if (gx := native_conv.input_grad(g, w, hb, wb)) is not None:
            res = _crop(gx, size, padding)
            return res if res.dtype == dt else res.astype(dt)
    wb = max(_need(ow, kw, stride[1], dilation[1]), padding[1] + size[1])
    if groups == 1 and _rows_pay(o, w.shape[1], kw, ow, wb, kh):
        res = _input_grad_rows(g, w, size, stride, padding, dilation)
        return res if res.dtype == dt else res.astype(dt)
    wb = _need(ow, kw, stride[1], dilation[1])
    wc = wb if _wide(stride[1], ow, wb) else ow
    gt = _grad_columns(g, wc, groups)
    wg = w.reshape(groups, o // groups, -1)
    cols = np.matmul(wg[0].T, gt[0])[None] if groups == 1 else np.matmul(wg.transpose(0, 2, 1), gt)
    res = col2im(cols, xshape, kh, kw, oh, ow, wc, stride, padding[0], padding[1], dilation)
    return res if res.dtype == dt else res.astype(dt)


@conv2d_input_grad.defvjp
def _(gg, out, g, w, *, size, stride, padding, dilation, groups):
    dg = dw = None
    if needs_input_grad(0):
        pads = _pads4(size, g.shape[2:], w.shape[2:], stride, padding, dilation)
        dg = OPS["conv2d"](gg, w, stride=stride, padding=pads, dilation=dilation, groups=groups)
    if needs_input_grad(1):
        dw = OPS["conv2d_weight_grad"](
            gg,
            g,
            kernel=tuple(w.shape[2:]),
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
        )
    return dg, dw


@primitive("conv2d_weight_grad", shape=_weight_grad_shape, dtype=_same_float, dtypes=FLOATS)
def conv2d_weight_grad(x, g, *, kernel, stride, padding, dilation, groups):
    """The gradient of ``conv2d`` with respect to a weight of spatial size ``kernel``;
    ``padding`` is (top, left)."""
    _check_dtypes(x, g)
    wshape = _weight_grad_shape(
        x.shape,
        g.shape,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )
    dt = x.dtype
    x, g = _to32(x, g)
    n, o, oh, ow = g.shape
    kh, kw = kernel
    if _is_pointwise(tuple(kernel), stride, padding, groups) and x.shape[2:] == (oh, ow):
        res = np.tensordot(g, x, axes=([0, 2, 3], [0, 2, 3])).reshape(wshape)
        return res if res.dtype == dt else res.astype(dt)
    direct = _direct(x.shape[1], kh, kw, o, ow, stride, dilation, groups, x.dtype)
    if direct or conv_wide.applies(stride, groups):
        xp = _padded_for(x, oh, ow, kh, kw, stride, padding[0], padding[1], dilation)
        res = native_conv.weight_grad(xp, g, kh, kw) if direct else None
        if res is None:
            res = conv_wide.weight_grad(xp, g, (kh, kw), dilation)
        return res if res.dtype == dt else res.astype(dt)
    cols = im2col(x, kh, kw, oh, ow, stride, padding[0], padding[1], dilation, groups)
    gt = _grad_columns(g, ow, groups)
    if groups == 1:  # (K, O) = cols @ g^T is the faster orientation for BLAS
        res = np.matmul(cols[0], gt[0].T).T.reshape(wshape)
    else:
        res = np.matmul(gt, cols.transpose(0, 2, 1)).reshape(wshape)
    return res if res.dtype == dt else res.astype(dt)


@conv2d_weight_grad.defvjp
def _(ggw, out, x, g, *, kernel, stride, padding, dilation, groups):
    dx = dg = None
    if needs_input_grad(0):
        dx = OPS["conv2d_input_grad"](
            g,
            ggw,
            size=tuple(x.shape[2:]),
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
        )
    if needs_input_grad(1):
        pads = _pads4(x.shape[2:], g.shape[2:], kernel, stride, padding, dilation)
        dg = OPS["conv2d"](x, ggw, stride=stride, padding=pads, dilation=dilation, groups=groups)
    return dx, dg


from ember.ops import pool as _pool  # noqa: E402,F401  (registers the pooling primitives)
