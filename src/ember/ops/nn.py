"""Neural-network primitives that pay for themselves as fused ops: ``linear``, the
normalisation core shared by batch/layer/group/instance norm, ``embedding`` and ``one_hot``.

Fused VJPs follow one pattern: a plain NumPy closed form for ordinary (first-order) backward,
where no graph is recorded, and the same formula written with ops when the engine runs under
``create_graph`` (it hands the VJP Tensors), so higher-order gradients stay exact.
"""

from __future__ import annotations

import math

import numpy as np

from ember.errors import DTypeError, EmberIndexError, ShapeError
from ember.ops import norm_grad as NG
from ember.ops import norm_kernels as K
from ember.ops import registry, rules
from ember.ops.registry import OPS, needs_input_grad, primitive

FLOATS = (np.float16, np.float32, np.float64)
_F16, _F32 = np.dtype(np.float16), np.dtype(np.float32)
_INDEX = (np.dtype(np.int32), np.dtype(np.int64))


def _recording(g) -> bool:
    """True when the engine runs a VJP on Tensors (create_graph): use ops, not NumPy."""
    return isinstance(g, registry._tensor_type[0])


def _same_dtypes(*dts, **_):
    if len(set(dts)) > 1:
        raise DTypeError(
            "expected all inputs to have the same dtype, got " + ", ".join(map(str, dts))
        )
    return dts[0]


# ---- linear ------------------------------------------------------------------------------


def _linear_shape(x, w, *b):
    x, w = tuple(x), tuple(w)
    if not x or not w:
        raise ShapeError(f"input and weight must be at least 1-D, got shapes {x} and {w}")
    if len(w) > 2:
        raise ShapeError(f"weight must be 1-D or 2-D, got shape {w}")
    if x[-1] != w[-1]:
        raise ShapeError(
            f"input shape {x} and weight shape {w} cannot be multiplied: in_features {x[-1]} "
            f"(last dim of input) != {w[-1]} (last dim of weight)"
        )
    out = x[:-1] + w[:-1]
    if b:
        if len(w) == 1:
            raise ShapeError(f"a bias needs a 2-D weight, got weight shape {w}")
        bias = tuple(b[0])
        if len(bias) > len(out) or any(n not in (1, m) for n, m in zip(bias[::-1], out[::-1])):
            raise ShapeError(f"bias shape {bias} does not broadcast to the output {out}")
    return out


@primitive(
    "linear",
    shape=_linear_shape,
    dtype=_same_dtypes,
    dtypes=(np.float16, np.float32, np.float64, np.int32, np.int64),
)
def linear(x, w, *b):
    """``x @ w.T + b`` with one GEMM over the flattened leading dims of ``x``."""
    if x.dtype != w.dtype or (b and b[0].dtype != x.dtype):
        _same_dtypes(*(a.dtype for a in (x, w, *b)))
    if w.ndim != 2:  # NumPy would accept a 3-D weight or a bias with a 1-D weight
        _linear_shape(x.shape, w.shape, *(p.shape for p in b))
    lead = x.shape[:-1]
    if x.ndim > 2:
        x = x.reshape(math.prod(lead), x.shape[-1])
    if x.dtype == _F16:  # NumPy has no float16 GEMM: use float32 (and its accumulation)
        y = np.matmul(x.astype(np.float32), w.T.astype(np.float32))
    else:
        y = np.matmul(x, w.T)
    if b:
        np.add(y, b[0], out=y)  # raises unless the bias broadcasts into the output
    y = y.astype(_F16, copy=False) if x.dtype == _F16 else y
    return y.reshape(lead + w.shape[:-1]) if len(lead) > 1 else y


def _np_dtype(a):
    return getattr(a.dtype, "np", a.dtype)


@linear.defvjp
def _(g, out, x, w, *b):
    reshape, mm = OPS["reshape"], OPS["matmul"]
    n_in, m = x.shape[-1], math.prod(x.shape[:-1])
    if _np_dtype(x) == _F16:  # float32 GEMMs; the engine casts the gradients back
        g, x, w = (OPS["cast"](t, dtype=_F32) for t in (g, x, w))
    w2 = w if w.ndim == 2 else reshape(w, shape=(1, n_in))
    g2 = reshape(g, shape=(m, w2.shape[0]))
    # a first layer's input needs no gradient: skip that GEMM
    gx = reshape(mm(g2, w2), shape=x.shape) if needs_input_grad(0) else None
    gw = None
    if needs_input_grad(1):
        gw = mm(OPS["permute"](g2, dims=(1, 0)), reshape(x, shape=(m, n_in)))
        if w.ndim == 1:
            gw = reshape(gw, shape=(n_in,))
    if not b:
        return gx, gw
    if b[0].shape == (w2.shape[0],):
        return gx, gw, OPS["sum"](g2, axis=(0,), keepdims=False)
    return gx, gw, g  # an unusual bias shape: the engine sums g back to it


# ---- normalisation ---------------------------------------------------------------------------
#
# ``standardize`` is the fused core of every norm layer: (x - mean) / sqrt(var + eps) over
# ``axis`` (biased variance), then optional ``* weight`` and ``+ bias`` (already shaped to
# broadcast against x). Its VJP needs 1/sqrt(var + eps); under create_graph that comes from
# ``norm_rstd``, a small differentiable primitive, so gradients of gradients are exact.


def _norm_count(shape, axis) -> int:
    return math.prod(shape[a] for a in axis)


def _rstd_shape(x, *, axis, eps):
    return rules.reduce_shape(x, axis=axis, keepdims=True)


@primitive(
    "norm_rstd",
    shape=_rstd_shape,
    dtype=rules.same_dtype,
    save="both",
    dtypes=FLOATS,
)
def norm_rstd(x, *, axis, eps):
    """``1 / sqrt(var(x, axis, biased) + eps)`` with kept dims."""
    if _norm_count(x.shape, axis) == 0:
        return np.full(rules.reduce_shape(x.shape, axis=axis, keepdims=True), np.nan, x.dtype)
    xf = x.astype(np.float32) if x.dtype == _F16 else x
    _, _, var = K.Reducer(x.shape, axis).moments(xf)
    return (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)


@norm_rstd.defvjp
def _(g, out, x, *, axis, eps):
    n = _norm_count(x.shape, axis)
    mean = OPS["sum"](x, axis=axis, keepdims=True) / n
    return g * (out * out * out) * ((mean - x) / n)


def _standardize_shape(x, *params, axis, eps, weight, bias):
    x = tuple(x)
    for p in params:
        if rules.broadcast(x, p) != x:
            raise ShapeError(f"parameter shape {tuple(p)} does not broadcast to input {x}")
    return x


def _standardize_dtype(x, *params, **_):
    for p in params:
        if p != x and not (x == _F16 and p == _F32):
            raise DTypeError(
                f"parameters of dtype {p} do not match input of dtype {x} (expected {x}"
                + (" or float32)" if x == _F16 else ")")
            )
    return x


@primitive("standardize", shape=_standardize_shape, dtype=_standardize_dtype, dtypes=FLOATS)
def standardize(x, *params, axis, eps, weight, bias):
    """Normalise ``x`` over ``axis`` to zero mean and unit (biased) variance, then scale by
    the weight and shift by the bias when ``weight``/``bias`` say they are given."""
    _standardize_dtype(x.dtype, *(p.dtype for p in params))
    _standardize_shape(x.shape, *(p.shape for p in params), axis=axis, eps=eps, weight=0, bias=0)
    if x.size == 0:
        return np.empty(x.shape, x.dtype)
    return K.forward(x, params[0] if weight else None, params[-1] if bias else None, axis, eps)


@standardize.defvjp
def _(g, out, x, *params, axis, eps, weight, bias):
    w = params[0] if weight else None
    if math.prod(x.shape) == 0:
        return (g,) * (1 + len(params))  # empty: the engine sums these to zeros
    if _recording(g) and NG.applies(g, x, params):  # compiled first-order: the closed form
        return NG.grads_from_ops(g, x, params, axis, eps, weight, bias)
    if _recording(g):
        gx, gw, gb = _standardize_grads_ops(g, x, w, axis, eps)
    else:
        shapes = (w.shape if weight else None, params[-1].shape if bias else None)
        gx, gw, gb = K.backward(g, x, w, axis, eps, shapes)
    return (gx,) + ((gw,) if weight else ()) + ((gb,) if bias else ())


def _standardize_grads_ops(g, x, w, axis, eps):
    """The same gradients built from ops, so they can be differentiated again."""
    if _np_dtype(x) == _F16:
        cast = OPS["cast"]
        x, g = cast(x, dtype=_F32), cast(g, dtype=_F32)
        w = None if w is None else cast(w, dtype=_F32)
    n = _norm_count(x.shape, axis)

    def mean(t):
        return OPS["sum"](t, axis=axis, keepdims=True) / n

    rstd = OPS["norm_rstd"](x, axis=axis, eps=eps)
    xhat = (x - mean(x)) * rstd
    gxh = g * w if w is not None else g
    gx = (gxh - mean(gxh) - xhat * mean(gxh * xhat)) * rstd
    return gx, (g * xhat if w is not None else None), g


# ---- embedding ---------------------------------------------------------------------------


def _embedding_shape(idx, w, *, padding_idx):
    if len(w) != 2:
        raise ShapeError(f"weight must be 2-D, got shape {tuple(w)}")
    return tuple(idx) + (w[1],)


def _embedding_dtype(idx, w, **_):
    if idx not in _INDEX:
        raise DTypeError(f"indices must be int32 or int64, got {idx}")
    return w


def _check_indices(idx, n, what):
    if idx.dtype not in _INDEX:
        raise DTypeError(f"{what} must be int32 or int64, got {idx.dtype}")
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= n:
            bad = int(lo if lo < 0 else hi)
            raise EmberIndexError(f"index {bad} is out of range for {n} rows ({what})")


@primitive("embedding", shape=_embedding_shape, dtype=_embedding_dtype)
def embedding(idx, w, *, padding_idx):
    """Rows ``w[idx]``; the row ``padding_idx`` receives no gradient."""
    if w.ndim != 2:
        _embedding_shape(idx.shape, w.shape, padding_idx=padding_idx)
    _check_indices(idx, w.shape[0], f"indices into weight of shape {w.shape}")
    return np.take(w, idx, axis=0)


@embedding.defvjp
def _(g, out, idx, w, *, padding_idx):
    return None, OPS["embedding_backward"](g, idx, num_weights=w.shape[0], padding_idx=padding_idx)


def _embedding_backward_shape(g, idx, *, num_weights, padding_idx):
    return (num_weights, g[-1])


@primitive(
    "embedding_backward",
    shape=_embedding_backward_shape,
    dtype=lambda g, idx, **_: g,
)
def embedding_backward(g, idx, *, num_weights, padding_idx):
    """Scatter-add the rows of ``g`` into a (num_weights, dim) gradient (repeats accumulate);
    the ``padding_idx`` row stays zero."""
    _check_indices(idx, num_weights, "indices")
    g2 = g.reshape(-1, g.shape[-1])
    acc = _scatter_rows(
        idx.reshape(-1), g2.astype(np.float32) if g.dtype == _F16 else g2, num_weights
    )
    if padding_idx is not None:
        acc[padding_idx] = 0
    return acc.astype(g.dtype, copy=False)


def _scatter_rows(idx, g2, n_rows):
    """``out[idx[i]] += g2[i]`` into a zero (n_rows, dim) array, with the fastest NumPy tool:
    a one-hot GEMM for few rows; else one fancy assignment for each row's first occurrence
    and a flat ``np.add.at`` (NumPy's fast 1-D path) for the repeats."""
    n, dim = g2.shape
    if n_rows <= 256:
        out = np.zeros((n_rows, dim), g2.dtype)
        step = max(1, (1 << 22) // max(n_rows, 1))  # bounds the one-hot block's memory
        for s in range(0, n, step):
            block = idx[s : s + step]
            out += (block == np.arange(n_rows)[:, None]).astype(g2.dtype) @ g2[s : s + step]
        return out
    out = np.zeros((n_rows, dim), g2.dtype)
    order = np.argsort(idx, kind="stable")
    srt = idx[order]
    first = np.ones(n, bool)
    first[1:] = srt[1:] != srt[:-1]
    out[srt[first]] = g2[order[first]]
    rest = order[~first]
    if rest.size:
        flat = (idx[rest][:, None] * dim + np.arange(dim)).reshape(-1)
        np.add.at(out.reshape(-1), flat, g2[rest].reshape(-1))
    return out


@embedding_backward.defvjp
def _(gg, out, g, idx, *, num_weights, padding_idx):
    if padding_idx is not None:
        keep = np.ones((num_weights, 1), _np_dtype(gg))
        keep[padding_idx] = 0
        gg = gg * keep
    return OPS["embedding"](idx, gg, padding_idx=None), None


# ---- one_hot -----------------------------------------------------------------------------


@primitive(
    "one_hot",
    shape=lambda x, *, num_classes: tuple(x) + (num_classes,),
    dtype=rules.int64_out,
    save="none",
)
def one_hot(x, *, num_classes):
    """int64 one-hot encoding along a new last dim of ``num_classes`` entries."""
    if x.dtype != np.int64:
        raise DTypeError(f"one_hot is only applicable to int64 index tensors, got {x.dtype}")
    if x.size:
        lo, hi = x.min(), x.max()
        if lo < 0:
            raise EmberIndexError(f"class values must be non-negative, got {int(lo)}")
        if hi >= num_classes:
            raise EmberIndexError(
                f"class values must be smaller than num_classes={num_classes}, got {int(hi)}"
            )
    return (x[..., None] == np.arange(num_classes)).astype(np.int64)
