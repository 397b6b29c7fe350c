"""Linear algebra: ``matmul`` (and ``@``), ``mm``, ``bmm``, ``mv``, ``dot``, ``outer``,
``addmm``, ``baddbmm`` and ``einsum``.

>>> import ember
>>> a = ember.ones(2, 3)
>>> (a @ ember.ones(3)).tolist()
[3.0, 3.0]
>>> ember.einsum("ij,j->i", a, ember.ones(3)).tolist()
[3.0, 3.0]
"""

from __future__ import annotations

from ember.core.dispatch import method, rmethod
from ember.core.tensor import Tensor, register_methods
from ember.errors import DTypeError, ShapeError
from ember.ops import elementwise as E
from ember.ops import linalg as P
from ember.ops import movement as M
from ember.ops import nn as N

__all__ = [
    "matmul",
    "mm",
    "bmm",
    "mv",
    "dot",
    "inner",
    "outer",
    "ger",
    "addmm",
    "baddbmm",
    "einsum",
]


def matmul(input, other):
    """Matrix product: 1-D operands are vectors, batch dims broadcast (as in PyTorch)."""
    return P.matmul(input, other)


def mm(input, mat2):
    """Product of two 2-D matrices."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(
            f"mm: expected 2-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}"
        )
    return P.matmul(input, mat2)


def bmm(input, mat2):
    """Batched product of two 3-D tensors ``(b, n, m) @ (b, m, p)`` (no broadcasting).

    >>> import ember
    >>> ember.bmm(ember.ones(2, 3, 4), ember.ones(2, 4, 5)).shape
    (2, 3, 5)
    """
    a, b = tuple(input.shape), tuple(mat2.shape)
    if len(a) != 3 or len(b) != 3:
        raise ShapeError(f"bmm: expected 3-D tensors, got shapes {a} and {b}")
    if a[0] != b[0] or a[2] != b[1]:
        raise ShapeError(
            f"bmm: shapes {a} and {b} do not match: expected mat2 of shape "
            f"({a[0]}, {a[2]}, *), got batch {b[0]} and rows {b[1]}"
        )
    _same_dtype("bmm", input, mat2)
    return P.matmul(input, mat2)


def mv(input, vec):
    """Matrix-vector product ``(n, m) @ (m,)``."""
    if input.ndim != 2 or vec.ndim != 1:
        raise ShapeError(
            f"mv: expected a 2-D matrix and a 1-D vector, got shapes {tuple(input.shape)} and "
            f"{tuple(vec.shape)}"
        )
    return P.matmul(input, vec)


def dot(input, tensor):
    """Inner product of two 1-D tensors of the same size and dtype.

    >>> import ember
    >>> ember.dot(ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0]))
    tensor(11.)
    """
    if input.ndim != 1 or tensor.ndim != 1:
        raise ShapeError(
            f"dot: 1-D tensors expected, got shapes {tuple(input.shape)} and {tuple(tensor.shape)}"
        )
    if input.shape != tensor.shape:
        raise ShapeError(
            f"dot: inconsistent tensor sizes {tuple(input.shape)} and {tuple(tensor.shape)}"
        )
    _same_dtype("dot", input, tensor)
    return P.matmul(input, tensor)


def inner(input, other):
    """Sum of products over the last dims (``einsum('...i,...j->...', ...)`` style; scalars
    multiply)."""
    if input.ndim == 0 or other.ndim == 0:
        return E.mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(
            f"inner: last dimensions differ: shapes {tuple(input.shape)} and {tuple(other.shape)}"
        )
    a, b = input.ndim - 1, other.ndim - 1
    s = P._LETTERS
    k = s[a + b]
    eq = f"{s[:a]}{k},{s[a : a + b]}{k}->{s[: a + b]}"
    return P.einsum(input, other, equation=eq)


def outer(input, vec2):
    """Outer product of two 1-D tensors (dtypes promote, as in PyTorch).

    >>> import ember
    >>> ember.outer(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.0, -1.0])).shape
    (2, 3)
    """
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise ShapeError(f"outer: expected 1-D argument {name}, got shape {tuple(t.shape)}")
    a = M.reshape(input, shape=(input.shape[0], 1))
    return E.mul(a, M.reshape(vec2, shape=(1, vec2.shape[0])))


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to the product's shape.

    >>> import ember
    >>> ember.addmm(ember.ones(3), ember.ones(2, 4), ember.ones(4, 3)).tolist()
    [[5.0, 5.0, 5.0], [5.0, 5.0, 5.0]]
    """
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(
            f"addmm: mat1 and mat2 must be matrices, got shapes {tuple(mat1.shape)} and "
            f"{tuple(mat2.shape)}"
        )
    _same_dtype("addmm", input, mat1, mat2)
    if beta == 1 and alpha == 1:
        _check_bias("addmm", input, (mat1.shape[0], mat2.shape[1]))
        return N.linear(mat1, M.permute(mat2, dims=(1, 0)), input)
    return _scaled_sum("addmm", input, P.matmul(mat1, mat2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def _scaled_sum(name, input, prod, beta, alpha):
    _check_bias(name, input, prod.shape)
    _same_dtype(name, input, prod)
    if alpha != 1:
        prod = E.mul(prod, alpha)
    if beta == 0:  # PyTorch ignores input entirely (nan and inf included)
        return prod
    return E.add(prod, input if beta == 1 else E.mul(input, beta))


def _check_bias(name, input, shape):
    shape = tuple(shape)
    ok = input.ndim <= len(shape) and all(
        n in (1, m) for n, m in zip(reversed(input.shape), reversed(shape))
    )
    if not ok:
        raise ShapeError(
            f"{name}: input of shape {tuple(input.shape)} does not broadcast to the product "
            f"shape {shape}"
        )


def _same_dtype(name, *ts):
    dts = [t.dtype for t in ts]
    if any(d != dts[0] for d in dts):
        raise DTypeError(
            f"{name}: expected all inputs to have the same dtype, got "
            + ", ".join(d.name for d in dts)
        )


def einsum(*args):
    """Einstein summation, as ``torch.einsum``: implicit or explicit output (``->``),
    repeated subscripts (traces, diagonals), ``...`` for broadcast leading dims, size-1
    dims broadcast. Also accepts operands as one list and the sublist format
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    >>> import ember
    >>> ember.einsum("ii", ember.eye(3))
    tensor(3.)
    >>> ember.einsum("bij,bjk->bik", ember.ones(2, 3, 4), ember.ones(2, 4, 5)).shape
    (2, 3, 5)
    """
    if not args:
        raise ShapeError("einsum: must specify the equation string and at least one operand")
    if isinstance(args[0], str):
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    else:
        equation, operands = _from_sublists(args)
    if not operands:
        raise ShapeError(
            f"einsum: must specify the equation string and at least one operand, got only "
            f"{equation!r}"
        )
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise DTypeError(f"einsum: operand {i} is a {type(t).__name__}, not a Tensor")
    canon = P.parse_einsum(equation, tuple(t.ndim for t in operands))
    return P.einsum(*operands, equation=canon)


def _from_sublists(args):
    out = None
    if len(args) % 2:  # a trailing output sublist
        out, args = args[-1], args[:-1]
        if isinstance(out, Tensor):
            raise ShapeError("einsum: every operand needs a subscript list")
    ops, subs = args[0::2], args[1::2]

    def term(sub):
        parts = []
        for s in sub:
            if s is Ellipsis:
                parts.append("...")
            elif isinstance(s, int) and 0 <= s < len(P._LETTERS):
                parts.append(P._LETTERS[s])
            else:
                raise ShapeError(
                    f"einsum: subscript {s!r} in a sublist must be an int in [0, 52) or ..."
                )
        return "".join(parts)

    eq = ",".join(term(s) for s in subs)
    if out is not None:
        eq += "->" + term(out)
    return eq, tuple(ops)


register_methods(
    matmul=matmul,
    mm=mm,
    bmm=bmm,
    mv=mv,
    dot=dot,
    inner=inner,
    outer=outer,
    ger=ger,
    addmm=addmm,
    baddbmm=baddbmm,
    __matmul__=method(P.matmul),  # straight to dispatch, no wrapper frames
    __rmatmul__=rmethod(P.matmul),
)
