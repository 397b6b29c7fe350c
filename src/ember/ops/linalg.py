"""Linear algebra primitives: matmul (NumPy semantics: 1-D, batched, broadcast)."""

from __future__ import annotations

import functools
import math

import numpy as np

from ember.errors import ShapeError
from ember.ops import rules
from ember.ops.registry import OPS, needs_input_grad, primitive


def _matmul_shape(a, b, **_):
    if len(a) == 0 or len(b) == 0:
        raise ShapeError(
            f"both arguments must be at least 1-D, got shapes {tuple(a)} and {tuple(b)}"
        )
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    if a2[-1] != b2[-2]:
        raise ShapeError(
            f"shapes {tuple(a)} and {tuple(b)} are not aligned: {a2[-1]} (dim {len(a) - 1}) != "
            f"{b2[-2]} (dim {max(len(b) - 2, 0)})"
        )
    batch = rules.broadcast(a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _matmul_dtype(a, b, **_):
    if a != b:
        from ember.errors import DTypeError

        raise DTypeError(f"expected both inputs to have the same dtype, got {a} and {b}")
    return a


@primitive(
    "matmul",
    shape=_matmul_shape,
    dtype=_matmul_dtype,
    dtypes=(np.float16, np.float32, np.float64, np.int32, np.int64),
)
def matmul(a, b):
    """Matrix product with NumPy/PyTorch broadcasting of batch dims; 1-D operands are vectors."""
    if a.dtype != b.dtype:
        raise _matmul_dtype(a.dtype, b.dtype)
    if (
        a.ndim == 2
        and b.ndim == 2
        and a.size + b.size <= _DOT_MAX
        and a.dtype in _DOT_FLOATS
        and a.flags.c_contiguous
        and b.flags.c_contiguous
    ):
        # np.dot's set-up costs 0.5 us less than the matmul ufunc's (0.8 vs 1.3 us on 4x4)
        # and both call the same BLAS GEMM for contiguous float matrices: the same bits
        # (checked on 800 shapes), so compiled graphs, which use matmul, agree with eager
        return np.dot(a, b)
    return np.matmul(a, b)


_DOT_MAX = 1 << 14  # elements of both operands: beyond, the set-up is noise
_DOT_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _t(x):
    """Swap the last two dims."""
    n = x.ndim
    return OPS["permute"](x, dims=tuple(range(n - 2)) + (n - 1, n - 2))


@matmul.defvjp
def _(g, out, a, b):
    reshape = OPS["reshape"]
    mm = OPS["matmul"]
    a2 = reshape(a, shape=(1,) + a.shape) if a.ndim == 1 else a
    b2 = reshape(b, shape=b.shape + (1,)) if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = (
            reshape(g2, shape=g2.shape[:-1] + (1,) + g2.shape[-1:])
            if b.ndim > 1
            else reshape(g2, shape=g2.shape + (1,))
        )
    if b.ndim == 1:
        g2 = reshape(g2, shape=g2.shape + (1,))
    ga = gb = None
    if needs_input_grad(0):
        ga = mm(g2, _t(b2))
        if a.ndim == 1:
            ga = reshape(ga, shape=ga.shape[:-2] + ga.shape[-1:])
    if needs_input_grad(1):
        gb = mm(_t(a2), g2)
        if b.ndim == 1:
            gb = reshape(gb, shape=gb.shape[:-1])
    return ga, gb


# ---- einsum --------------------------------------------------------------------------------
#
# The primitive takes a canonical equation: explicit output, no ellipsis, every dimension named
# by a letter. ``parse_einsum`` (used by the API) turns a user equation into that form, so the
# forward, the rules and the VJP never deal with ellipses or implicit outputs.

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@functools.lru_cache(maxsize=512)
def _split(equation: str):
    lhs, out = equation.split("->")
    return tuple(lhs.split(",")), out


def _einsum_sizes(shapes, equation):
    """Letter -> size (size-1 dims broadcast, as in PyTorch), validating ranks and sizes."""
    ins, _ = _split(equation)
    if len(ins) != len(shapes):
        raise ShapeError(
            f"equation {equation!r} names {len(ins)} operands but {len(shapes)} were given"
        )
    sizes = {}
    for k, (sub, shape) in enumerate(zip(ins, shapes)):
        if len(sub) != len(shape):
            raise ShapeError(
                f"the number of subscripts in the equation ({len(sub)}) does not match the "
                f"number of dimensions ({len(shape)}) of operand {k} with shape {tuple(shape)}"
            )
        local = {}
        for c, n in zip(sub, shape):
            if local.setdefault(c, n) != n:
                raise ShapeError(
                    f"subscript {c} is repeated for operand {k} (shape {tuple(shape)}) but the "
                    f"sizes don't match, {local[c]} != {n}"
                )
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n != 1 and n != prev:
                raise ShapeError(
                    f"subscript {c} has size {n} for operand {k} (shape {tuple(shape)}) which "
                    f"does not broadcast with previously seen size {prev}"
                )
    return sizes


def _einsum_shape(*shapes, equation):
    sizes = _einsum_sizes(shapes, equation)
    return tuple(sizes[c] for c in _split(equation)[1])


def _einsum_dtype(*dts, equation):
    if len(set(dts)) > 1:
        from ember.errors import DTypeError

        raise DTypeError(
            "expected all operands to have the same dtype, got " + ", ".join(map(str, dts))
        )
    if dts[0] == np.int32 and _sums_within_operand(equation):
        return np.dtype(np.int64)
    return dts[0]


@functools.lru_cache(maxsize=512)
def _sums_within_operand(equation) -> bool:
    """Whether a subscript is summed inside one operand: PyTorch's einsum then reduces with
    ``sum``, which turns int32 into int64."""
    ins, out = _split(equation)
    return any(
        c not in out and not any(c in t for j, t in enumerate(ins) if j != k)
        for k, sub in enumerate(ins)
        for c in sub
    )


def _pair_by_matmul(a, b, sa, sb, so):
    """Contract two operands with one (batched) GEMM, or None when the pattern does not fit
    (repeated subscripts, broadcast size-1 dims, nothing to contract)."""
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb):
        return None
    da, db = dict(zip(sa, a.shape)), dict(zip(sb, b.shape))
    if any(da[c] != db[c] for c in da if c in db):
        return None
    only_a = [c for c in sa if c not in db and c not in so]
    only_b = [c for c in sb if c not in da and c not in so]
    if only_a:
        a = a.sum(axis=tuple(sa.index(c) for c in only_a))
        sa = "".join(c for c in sa if c not in only_a)
    if only_b:
        b = b.sum(axis=tuple(sb.index(c) for c in only_b))
        sb = "".join(c for c in sb if c not in only_b)
    batch = [c for c in so if c in da and c in db]
    contr = [c for c in sa if c in db and c not in so]
    if not contr:
        return None
    left = [c for c in sa if c not in db]
    right = [c for c in sb if c not in da]
    size = math.prod
    nb, nl, nk, nr = (
        size(da[c] for c in batch),
        size(da[c] for c in left),
        size(da[c] for c in contr),
        size(db[c] for c in right),
    )
    a3 = a.transpose([sa.index(c) for c in batch + left + contr]).reshape(nb, nl, nk)
    b3 = b.transpose([sb.index(c) for c in batch + contr + right]).reshape(nb, nk, nr)
    c3 = np.matmul(a3[0], b3[0])[None] if nb == 1 else np.matmul(a3, b3)
    got = batch + left + right
    res = c3.reshape([da[c] for c in batch + left] + [db[c] for c in right])
    return res.transpose([got.index(c) for c in so])


def _contract(equation, arrays):
    if arrays and arrays[0].dtype == np.float16:  # BLAS speed and float32 accumulation
        res = _contract(equation, [a.astype(np.float32) for a in arrays])
        return res.astype(np.float16)
    if len(arrays) == 2:
        ins, so = _split(equation)
        res = _pair_by_matmul(arrays[0], arrays[1], ins[0], ins[1], so)
        if res is not None:
            return res
    opt = "greedy" if len(arrays) > 2 else False
    res = np.asarray(np.einsum(equation, *arrays, optimize=opt))
    if len(arrays) == 1 and np.may_share_memory(res, arrays[0]):
        res = res.copy()  # einsum returns views (transposes, diagonals): outputs own their data
    return res


@primitive(
    "einsum",
    shape=_einsum_shape,
    dtype=_einsum_dtype,
    dtypes=(np.float16, np.float32, np.float64, np.int32, np.int64),
)
def einsum(*operands, equation):
    """Einstein summation over a canonical ``equation`` (explicit output, no ellipsis).

    Two-operand contractions go through one batched GEMM (NumPy's einsum loops are far
    slower than BLAS); other patterns use ``np.einsum``.
    """
    dts = {a.dtype for a in operands}
    if len(dts) > 1:
        raise _einsum_dtype(*[a.dtype for a in operands], equation=equation)
    _einsum_sizes([a.shape for a in operands], equation)
    res = _contract(equation, operands)
    if res.dtype == np.int32 and _sums_within_operand(equation):
        res = res.astype(np.int64)
    return res


def _np_dtype(a):
    dt = a.dtype
    return getattr(dt, "np", dt)


@einsum.defvjp
def _(g, out, *ops, equation):
    ins, so = _split(equation)
    free = [c for c in _LETTERS if c not in equation]
    return tuple(_einsum_grad(g, ops, ins, so, k, free) for k in range(len(ops)))


def _einsum_grad(g, ops, ins, so, k, free):
    """d/d(operand k): contract g with the other operands onto operand k's subscripts.

    A subscript repeated in operand k (a diagonal) gets a fresh letter tied to the first by an
    identity matrix; a subscript found nowhere else (summed away) is restored by expanding."""
    sub = list(ins[k])
    terms = [so] + [s for j, s in enumerate(ins) if j != k]
    arrays = [g] + [a for j, a in enumerate(ops) if j != k]
    seen = set()
    for pos, c in enumerate(sub):
        if c in seen:
            if not free:
                raise ShapeError("einsum: too many subscripts to differentiate the equation")
            sub[pos] = fresh = free.pop()
            n = ops[k].shape[pos]
            terms.append(c + fresh)
            arrays.append(np.eye(n, dtype=_np_dtype(g)))
        seen.add(c)
    present = set("".join(terms))
    target = "".join(c for c in sub if c in present)
    r = OPS["einsum"](*arrays, equation=",".join(terms) + "->" + target)
    if len(target) == len(sub):
        return r
    it = iter(r.shape)
    keep = [next(it) if c in present else 1 for c in sub]
    full = [n if c in present else m for c, n, m in zip(sub, keep, ops[k].shape)]
    return OPS["expand"](OPS["reshape"](r, shape=tuple(keep)), shape=tuple(full))


@functools.lru_cache(maxsize=512)
def parse_einsum(equation: str, ndims: tuple) -> str:
    """The canonical equation for a user ``equation`` over operands of ``ndims`` dimensions:
    ellipses replaced by letters (right-aligned, broadcast), the implicit output made explicit.
    Raises ShapeError naming the problem, as PyTorch's einsum does."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    for i, ch in enumerate(eq):
        if not (ch in _LETTERS or ch in ".,") and not (ch in "->" and arrow):
            raise ShapeError(
                f"einsum: invalid subscript {ch!r} at index {i} of the equation {equation!r}; "
                "subscripts must be in [a-zA-Z]"
            )
    if "-" in out or ">" in out or ("-" in lhs or ">" in lhs):
        raise ShapeError(f"einsum: the equation {equation!r} has more than one '->'")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        more = "more" if len(ndims) > len(terms) else "fewer"
        raise ShapeError(
            f"einsum: {more} operands were provided ({len(ndims)}) than the equation "
            f"{equation!r} specifies ({len(terms)})"
        )
    parsed = [_parse_term(t, n, k, equation) for k, (t, n) in enumerate(zip(terms, ndims))]
    n_ell = max((e for _, e in parsed), default=0)
    free = [c for c in _LETTERS if c not in eq]
    if len(free) < n_ell:
        raise ShapeError(f"einsum: too many dimensions for the equation {equation!r}")
    ell = "".join(free[:n_ell])
    canon = [t.replace("...", ell[n_ell - e :]) for (t, e) in parsed]
    return ",".join(canon) + "->" + _output(out if arrow else None, canon, ell, equation)


def _parse_term(term, ndim, k, equation):
    if "." in term.replace("...", "", 1) or term.count("...") > 1:
        raise ShapeError(
            f"einsum: operand {k} term {term!r} of {equation!r} has a stray '.' or more than "
            "one ellipsis"
        )
    n_letters = len(term.replace("...", ""))
    if "..." in term:
        if n_letters > ndim:
            raise ShapeError(
                f"einsum: the number of subscripts in the equation ({n_letters}) is more than "
                f"the number of dimensions ({ndim}) for operand {k}"
            )
        return term, ndim - n_letters
    if n_letters != ndim:
        raise ShapeError(
            f"einsum: the number of subscripts in the equation ({n_letters}) does not match "
            f"the number of dimensions ({ndim}) for operand {k} and no ellipsis was given"
        )
    return term, 0


def _output(out, canon, ell, equation):
    letters = "".join(canon)
    if out is None:
        once = sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell)
        return ell + "".join(once)
    if "." in out.replace("...", "", 1) or out.count("...") > 1:
        raise ShapeError(f"einsum: the output of {equation!r} has a stray '.' or two ellipses")
    for c in out.replace("...", ""):
        if c not in letters:
            raise ShapeError(
                f"einsum: output subscript {c} does not appear in the equation {equation!r} "
                "for any input operand"
            )
        if out.count(c) > 1:
            raise ShapeError(
                f"einsum: output subscript {c} appears more than once in the output of {equation!r}"
            )
    return out.replace("...", ell)
