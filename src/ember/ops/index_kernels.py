"""NumPy kernels behind the indexing primitives: region shapes and scatter-add with repeats.

``np.add.at`` on a 2-D destination is slow (tens of ns per element); a 1-D ``np.add.at`` over
flat positions is ~6x faster, and when the repeated rows are few, a handful of vectorised
``z[rows] += g`` passes (rows unique within each pass) beats both. ``accumulate`` picks.
"""

from __future__ import annotations

import math

import numpy as np

from ember.ops import rules

# More passes than this and the flat np.add.at is cheaper.
_MAX_PASSES = 16


def region_shape(view, dims, arrays) -> tuple:
    """The shape of ``view[arrays at dims]`` (arrays given by their shapes): the broadcast
    index shape replaces adjacent dims in place, else goes first (NumPy/PyTorch rules)."""
    view = tuple(view)
    if not dims:
        return view
    b = rules.broadcast(*arrays)
    if dims == tuple(range(dims[0], dims[0] + len(dims))):
        return view[: dims[0]] + b + view[dims[-1] + 1 :]
    return b + tuple(n for d, n in enumerate(view) if d not in dims)


def _pos_dtype(size: int):
    return np.int32 if size < 2**31 else np.int64


def _trivial(key) -> bool:
    return all(
        k is Ellipsis
        or (k.__class__ is slice and k.start is None and k.stop is None and k.step is None)
        for k in key
    )


def accumulate(z, key, dims, arrays, vals) -> None:
    """``z[key][arrays at dims] += vals`` with repeated positions summed (z C-contiguous)."""
    k, p = len(dims), dims[0]
    if _trivial(key) and dims == tuple(range(p, p + k)):
        shape = z.shape
        if k == 1:
            r = arrays[0].reshape(-1)
        else:
            r = np.ravel_multi_index(np.broadcast_arrays(*arrays), shape[p : p + k]).reshape(-1)
        lead, rows, tail = (math.prod(s) for s in (shape[:p], shape[p : p + k], shape[p + k :]))
        region = region_shape(shape, dims, [a.shape for a in arrays])
        g3 = np.broadcast_to(vals, region).reshape(lead, r.size, tail)
        add_rows(z.reshape(lead, rows, tail), r, g3)
        return
    view = z[key]
    full = [slice(None)] * view.ndim
    for d, a in zip(dims, arrays):
        full[d] = a
    pos = np.arange(z.size, dtype=_pos_dtype(z.size)).reshape(z.shape)[key][tuple(full)]
    np.add.at(z.reshape(-1), pos.reshape(-1), np.broadcast_to(vals, pos.shape).reshape(-1))


def add_rows(z3, r, g3) -> None:
    """``z3[:, r[i], :] += g3[:, i, :]`` for every i, repeated ``r`` values accumulating."""
    lead, n, tail = g3.shape
    if n == 0:
        return
    if lead * tail == 1:
        np.add.at(z3.reshape(-1), r, g3.reshape(-1))
        return
    order = np.argsort(r)  # any order within ties will do; stable sorting is 3x slower
    s = r[order]
    new = np.empty(n, bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    rank = np.arange(n) - starts[np.cumsum(new) - 1]  # occurrence number of each sorted row
    passes = int(rank.max()) + 1
    if passes == 1:
        z3[:, r, :] += g3
    elif passes <= _MAX_PASSES:
        for k in range(passes):
            sel = order[rank == k]
            z3[:, r[sel], :] += g3[:, sel, :]
    else:
        dt = _pos_dtype(z3.size)
        rows = z3.shape[1]
        lin = (np.arange(lead, dtype=dt)[:, None, None] * rows + r.astype(dt)[None, :, None]) * tail
        lin = lin + np.arange(tail, dtype=dt)
        np.add.at(z3.reshape(-1), lin.reshape(-1), g3.reshape(-1))


def flat_positions(shape, index, dim):
    """Flat positions, in a C-contiguous array of ``shape``, of the elements ``index`` names
    along ``dim`` (the other coordinates being the index element's own), as gather/scatter."""
    nd = len(shape)
    dt = _pos_dtype(math.prod(shape))
    strides = [math.prod(shape[d + 1 :]) for d in range(nd)]
    pos = index.astype(dt) * dt(strides[dim])
    for d, n in enumerate(index.shape):
        if d != dim and n > 1:
            pos += (np.arange(n, dtype=dt) * dt(strides[d])).reshape(
                (1,) * d + (n,) + (1,) * (nd - d - 1)
            )
    return pos
