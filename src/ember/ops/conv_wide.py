"""Stride-1 convolution kernels in the "wide" layout (no groups).

With a horizontal stride of 1, the columns one kernel offset (i, j) contributes for a whole
output plane are a single contiguous run of the (padded) input plane, starting at
``i * dh * W + j * dw``, if each output row is allowed to be as wide as the input row (W
instead of OW: the extra ``W - OW`` columns per row are junk, computed and dropped). So
im2col becomes ``C * kh * kw`` long contiguous copies per sample instead of short strided
ones (2-3x faster), and the result rows are cut back to OW in the pass that adds the bias.

The forward either lays the columns of many samples side by side, (C * kh * kw, samples *
OH * W), and multiplies them with one GEMM per chunk (few output channels: one GEMM instead
of many tiny ones), or multiplies each sample's columns in cache-sized chunks (many output
channels: the side-by-side result would need a transposing pass as large as the output).
Chunks of samples run on the threads of ``ember.native.parallel`` for large batches. The
weight gradient either sums per-sample products over cache-sized chunks (few columns per
sample: short GEMMs would waste the BLAS threads) or makes one long GEMM over the whole
batch.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember.native import parallel

# Elements of the side-by-side forward's column buffer (C*kh*kw x samples*OH*W): up to
# 8 MiB in float32 (its result buffer is no larger, since O <= C*kh*kw there). One GEMM
# over many samples' columns beats cache-sized per-sample GEMMs when O is small: with 6
# or 16 output rows each small GEMM is all BLAS call overhead (LeNet-5's two convolutions
# ran 25-30% faster this way, measured 2026-12-07).
FORWARD_ELEMENTS = 1 << 21
# Elements of one thread's column buffer in the per-sample forward and weight gradient
# (samples x C*kh*kw x OH*W): about 512 KiB in float32, so that a chunk's columns stay in
# L2 between the copy and the GEMM.
CHUNK_ELEMENTS = 1 << 17
# Below this many column rows (C * kh * kw) the weight gradient sums per-sample GEMMs.
PER_SAMPLE_MAX_ROWS = 64


def applies(stride, groups) -> bool:
    return tuple(stride) == (1, 1) and groups == 1


def _columns(x, kh, kw, oh, ow, dilation, a, b, out, sample_major=True):
    """Columns of samples ``a:b`` of the contiguous ``x`` into ``out`` of shape
    ``(b - a, C, kh, kw, OH * W)`` (``sample_major``) or ``(C, kh, kw, b - a, OH * W)``; the
    junk tail of each run is zeroed."""
    _, c, _, w = x.shape
    (dh, dw), it, s = dilation, x.itemsize, x.strides
    run = (oh - 1) * w + ow
    if sample_major:
        shape, strides = (b - a, c, kh, kw, run), (s[0], s[1], dh * w * it, dw * it, it)
    else:
        shape, strides = (c, kh, kw, b - a, run), (s[1], dh * w * it, dw * it, s[0], it)
    np.copyto(out[..., :run], as_strided(x[a:], shape, strides))
    out[..., run:] = 0


def forward(x, w, bias, oh, ow, dilation):
    """conv2d of the padded, contiguous ``x`` (N, C, H, W) with ``w`` (O, C, kh, kw)."""
    n, c, _, wx = x.shape
    o, _, kh, kw = w.shape
    k, length = c * kh * kw, oh * wx
    out = np.empty((n, o, oh, ow), x.dtype)
    b = None if bias is None else bias[:, None, None]
    # Side-by-side columns pay one transposing pass over the output; worth it while the
    # output is smaller than the columns (O <= C*kh*kw), e.g. 6 or 16 rows against 25 or
    # 150. With many output channels per column row the per-sample GEMMs win.
    kernel = _forward_side_by_side if o <= k else _forward_per_sample
    parallel.run(kernel(x, w.reshape(o, k), b, out, kh, kw, dilation), n, n * k * length)
    return out


def _forward_side_by_side(x, w2, b, out, kh, kw, dilation):
    """``part(start, stop)``: columns (C*kh*kw, samples*OH*W) and one GEMM per chunk."""
    n, c, _, wx = x.shape
    o, k = w2.shape
    oh, ow = out.shape[2:]
    length = oh * wx
    chunk = max(1, min(n, FORWARD_ELEMENTS // max(1, k * length)))

    def part(start, stop):
        m_max = min(chunk, stop - start)
        cols = np.empty((k, m_max * length), x.dtype)
        res = np.empty((o, m_max * length), x.dtype)
        for s in range(start, stop, chunk):
            e = min(s + chunk, stop)
            m = e - s
            block = cols[:, : m * length]
            _columns(x, kh, kw, oh, ow, dilation, s, e, block.reshape(c, kh, kw, m, length), False)
            r = np.matmul(w2, block, out=res[:, : m * length]).reshape(o, m, oh, wx)
            # the bias goes onto the contiguous result (junk columns too): adding it during
            # the transposing copy ran the ufunc loop once per short row, 2x slower
            if b is not None:
                np.add(r, b[:, None], out=r)
            np.copyto(out[s:e], r[..., :ow].transpose(1, 0, 2, 3))

    return part


def _forward_per_sample(x, w2, b, out, kh, kw, dilation):
    """``part(start, stop)``: each sample's columns (C*kh*kw, OH*W) in a cache-sized chunk,
    one batched GEMM per chunk whose result is already in NCHW order."""
    n, c, _, wx = x.shape
    o, k = w2.shape
    oh, ow = out.shape[2:]
    length = oh * wx
    chunk = max(1, min(16, CHUNK_ELEMENTS // max(1, k * length)))

    def part(start, stop):
        cols = np.empty((chunk, c, kh, kw, length), x.dtype)
        res = np.empty((chunk, o, length), x.dtype)
        for s in range(start, stop, chunk):
            e = min(s + chunk, stop)
            m = e - s
            _columns(x, kh, kw, oh, ow, dilation, s, e, cols[:m])
            r = np.matmul(w2, cols[:m].reshape(m, k, length), out=res[:m])
            r = r.reshape(m, o, oh, wx)[..., :ow]
            if b is None:
                np.copyto(out[s:e], r)
            else:
                np.add(r, b, out=out[s:e])

    return part


def weight_grad(x, g, kernel, dilation):
    """The weight gradient (O, C, kh, kw) of ``forward`` for output gradient ``g``."""
    n, c, _, wx = x.shape
    _, o, oh, ow = g.shape
    kh, kw = kernel
    k, length = c * kh * kw, oh * wx
    if k < PER_SAMPLE_MAX_ROWS:
        return _weight_grad_per_sample(x, g, kernel, dilation).reshape(o, c, kh, kw)
    cols = np.empty((c, kh, kw, n, length), x.dtype)
    gw = np.zeros((o, n, oh, wx), g.dtype)

    def part(a, b):
        _columns(x, kh, kw, oh, ow, dilation, a, b, cols[:, :, :, a:b], False)
        np.copyto(gw[:, a:b, :, :ow], g[a:b].transpose(1, 0, 2, 3))

    parallel.run(part, n, cols.size)
    # (K, O) = cols @ g^T: the orientation OpenBLAS runs faster for these shapes
    res = np.matmul(cols.reshape(k, n * length), gw.reshape(o, n * length).T)
    return np.ascontiguousarray(res.T).reshape(o, c, kh, kw)


def _weight_grad_per_sample(x, g, kernel, dilation):
    n, c, _, wx = x.shape
    _, o, oh, ow = g.shape
    kh, kw = kernel
    k, length = c * kh * kw, oh * wx
    chunk = max(1, min(16, CHUNK_ELEMENTS // max(1, k * length)))
    sums = {}

    def part(start, stop):
        cols = np.empty((chunk, c, kh, kw, length), x.dtype)
        gb = np.zeros((chunk, o, oh, wx), g.dtype)
        acc = np.zeros((o, k), x.dtype)
        for s in range(start, stop, chunk):
            e = min(s + chunk, stop)
            m = e - s
            _columns(x, kh, kw, oh, ow, dilation, s, e, cols[:m])
            gb[:m, :, :, :ow] = g[s:e]
            prod = np.matmul(gb[:m].reshape(m, o, length), cols[:m].reshape(m, k, length).mT)
            acc += prod.sum(0)
        sums[start] = acc

    parallel.run(part, n, n * k * length)
    return sum(sums[a] for a in sorted(sums))  # a fixed order: the same result every run
