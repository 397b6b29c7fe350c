"""Padding primitives: ``pad`` (constant, reflect, replicate, circular) and its transpose
``pad_fold``.

``pad`` takes one ``(before, after)`` pair per dimension. Negative amounts crop, with PyTorch's
semantics: constant and circular padding crop first and pad the rest, reflect and replicate pad
first (reflecting about the original borders) and then crop. ``pad_fold`` is the exact
transpose (it sums every padded element back onto the element it was copied from), so it is
the VJP of ``pad`` and ``pad`` is the VJP of ``pad_fold``: gradients of any order work.
"""

from __future__ import annotations

import numpy as np

from ember.errors import ShapeError
from ember.ops import rules
from ember.ops.registry import OPS, primitive

MODES = ("constant", "reflect", "replicate", "circular")
_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _ix(axis: int, s) -> tuple:
    return (slice(None),) * axis + (s,)


def _check_dim(n: int, before: int, after: int, mode: str, dim: int, shape) -> None:
    pos_l, pos_r = max(before, 0), max(after, 0)
    kept = n - max(-before, 0) - max(-after, 0)
    where = f"padding ({before}, {after}) of dim {dim} of input shape {tuple(shape)}"
    if kept < 0:
        raise ShapeError(f"{where} crops more than the {n} elements of the dim")
    if mode == "reflect" and (pos_l >= n or pos_r >= n):
        raise ShapeError(f"{where}: reflect padding must be smaller than the dim size {n}")
    if mode == "circular" and (pos_l > kept or pos_r > kept):
        raise ShapeError(f"{where} wraps around more than once (at most {kept} per side)")
    if mode in ("reflect", "replicate") and n + before + after <= 0:
        raise ShapeError(f"{where} leaves no elements")


def pad_shape(x, *, pad, mode, value=None):
    """Output shape of ``pad``; raises a ShapeError for amounts the mode cannot take."""
    if len(pad) != len(x):
        raise ShapeError(f"expected one (before, after) pair per dim of {tuple(x)}, got {pad}")
    if mode not in MODES:
        raise ShapeError(f"unknown padding mode {mode!r} (expected one of {', '.join(MODES)})")
    for dim, (n, (before, after)) in enumerate(zip(x, pad)):
        if before or after:
            _check_dim(n, before, after, mode, dim, x)
    return tuple(n + before + after for n, (before, after) in zip(x, pad))


def _crop(a, amounts):
    """Drop ``amounts[d] = (left, right)`` elements from each end of each dim (a view)."""
    return a[tuple(slice(left, a.shape[d] - right) for d, (left, right) in enumerate(amounts))]


def _split(pad):
    grow = tuple((max(b, 0), max(a, 0)) for b, a in pad)
    cut = tuple((max(-b, 0), max(-a, 0)) for b, a in pad)
    return grow, cut


def _constant(x, pad, value):
    grow, cut = _split(pad)
    src = _crop(x, cut)
    shape = tuple(n + b + a for n, (b, a) in zip(src.shape, grow))
    out = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    out[tuple(slice(b, b + n) for n, (b, _) in zip(src.shape, grow))] = src
    return out


@primitive("pad", shape=pad_shape, dtype=rules.same_dtype, save="meta")
def pad(x, *, pad, mode, value):
    """Pad (or crop, for negative amounts) each dim by ``pad[d] = (before, after)``.

    ``mode`` is constant (fill with ``value``), reflect (mirror without repeating the border),
    replicate (repeat the border) or circular (wrap around). The output never shares memory
    with ``x``.
    """
    if mode == "constant":
        return _constant(x, pad, value)
    grow, cut = _split(pad)
    if mode == "circular":
        return np.pad(_crop(x, cut), grow, mode="wrap")
    return np.ascontiguousarray(_crop(np.pad(x, grow, mode=_NP_MODE[mode]), cut))


@pad.defvjp
def _(g, out, x, *, pad, mode, value):
    if mode == "constant":
        return OPS["pad"](g, pad=tuple((-b, -a) for b, a in pad), mode="constant", value=0)
    return OPS["pad_fold"](g, pad=pad, mode=mode, shape=tuple(x.shape))


def _fold_axis(g, axis: int, left: int, right: int, mode: str):
    """Sum the ``left``/``right`` padded slabs of ``g`` along ``axis`` back onto their sources."""
    m = g.shape[axis]
    n = m - left - right
    out = g[_ix(axis, slice(left, left + n))].copy()
    lo = g[_ix(axis, slice(0, left))]
    hi = g[_ix(axis, slice(left + n, m))]
    if mode == "replicate":
        if left:
            out[_ix(axis, slice(0, 1))] += lo.sum(axis, keepdims=True)
        if right:
            out[_ix(axis, slice(n - 1, n))] += hi.sum(axis, keepdims=True)
    elif mode == "reflect":
        if left:
            out[_ix(axis, slice(1, left + 1))] += np.flip(lo, axis)
        if right:
            out[_ix(axis, slice(n - 1 - right, n - 1))] += np.flip(hi, axis)
    else:
        if left:
            out[_ix(axis, slice(n - left, n))] += lo
        if right:
            out[_ix(axis, slice(0, right))] += hi
    return out


def _zero_pad_axis(g, axis: int, left: int, right: int):
    if not (left or right):
        return g
    widths = [(0, 0)] * g.ndim
    widths[axis] = (left, right)
    return np.pad(g, widths)


def _fold_shape(g, *, pad, mode, shape):
    if pad_shape(shape, pad=pad, mode=mode) != tuple(g):
        raise ShapeError(f"gradient shape {tuple(g)} does not match padded shape of {shape}")
    return tuple(shape)


@primitive("pad_fold", shape=_fold_shape, dtype=rules.same_dtype, save="none")
def pad_fold(g, *, pad, mode, shape):
    """The transpose of non-constant ``pad``: from a gradient of the padded shape, the gradient
    of the input of ``shape`` (padded elements summed onto the elements they copy)."""
    src = g
    for axis, (before, after) in enumerate(pad):
        if not (before or after):
            continue
        left, right = max(before, 0), max(after, 0)
        cut_l, cut_r = max(-before, 0), max(-after, 0)
        if mode == "circular":  # forward crops, then pads
            g = _zero_pad_axis(_fold_axis(g, axis, left, right, mode), axis, cut_l, cut_r)
        else:  # forward pads, then crops
            g = _fold_axis(_zero_pad_axis(g, axis, cut_l, cut_r), axis, left, right, mode)
    return g.copy() if g is src else g


@pad_fold.defvjp
def _(g, out, x, *, pad, mode, shape):
    return OPS["pad"](g, pad=pad, mode=mode, value=None)


# ---- sums of zero-padded slabs -------------------------------------------------------------


def _slab_shape(*shapes, dim, starts, size):
    first = tuple(shapes[0])
    if len(starts) != len(shapes) or not 0 <= dim < len(first):
        raise ShapeError(f"slab_sum: {len(shapes)} pieces with starts {starts} along dim {dim}")
    end = 0
    for s, start in zip(shapes, starts):
        s = tuple(s)
        if len(s) != len(first) or s[:dim] + s[dim + 1 :] != first[:dim] + first[dim + 1 :]:
            raise ShapeError(f"slab_sum: piece shapes {first} and {s} differ outside dim {dim}")
        if start < end:
            raise ShapeError(f"slab_sum: pieces at {starts} overlap or are out of order")
        end = start + s[dim]
    if end > size:
        raise ShapeError(f"slab_sum: pieces at {starts} run past size {size} of dim {dim}")
    return first[:dim] + (size,) + first[dim + 1 :]


@primitive("slab_sum", shape=_slab_shape, dtype=rules.same_dtype, save="meta")
def slab_sum(*pieces, dim, starts, size):
    """The sum of the ``pieces`` zero-padded to ``size`` along ``dim``, piece ``i`` starting
    at ``starts[i]`` (sorted, disjoint): what adding the gradients of the slices of one tensor
    (``chunk``, ``split``) gives, in one pass instead of a padded copy and an add per piece.
    Each element is computed as the add would: ``piece + 0`` (a ``-0.0`` becomes ``0.0``)."""
    shape = _slab_shape(*(p.shape for p in pieces), dim=dim, starts=starts, size=size)
    dt = pieces[0].dtype
    covered = sum(p.shape[dim] for p in pieces) == size
    out = np.empty(shape, dt) if covered else np.zeros(shape, dt)
    zero = np.zeros((), dt)
    for p, start in zip(pieces, starts):
        np.add(p, zero, out=out[_ix(dim, slice(start, start + p.shape[dim]))])
    return out


@slab_sum.defvjp
def _(g, out, *pieces, dim, starts, size):
    return tuple(
        OPS["narrow"](g, dim=dim, start=start, length=p.shape[dim])
        for p, start in zip(pieces, starts)
    )
