"""Out-writing NumPy kernels of the backend, one emitter per op name (``@emits("add")``).

An emitter writes the source lines that compute one node: ``emit(node, target, args, out)``
returns lines assigning ``target``, where ``args`` are the operands as source text and ``out``
names a preallocated buffer of the node's output type (or is None: allocate as usual). It may
return None when it cannot handle this node's types; the registry forward runs instead.
``writes_out(node)`` says whether the emitter honours ``out`` for this node: the memory planner
only gives buffers to such nodes. Every kernel computes exactly what the registry forward does
(bit for bit): the compiled step is tested against eager mode with ``assert_array_equal``.

>>> import numpy as np
>>> from ember.ir import Graph
>>> g = Graph()
>>> x = g.add_input(np.float32, (3,), "x")
>>> node = g.add_node("add", [x, 1.0])
>>> EMITTERS["add"].emit(node, "v0", ["i0", "1.0"], "b0")
['v0 = _add(i0, 1.0, out=b0)']
"""

from __future__ import annotations

import math

import numpy as np

from ember.ir.graph import Value
from ember.native import select as native_select
from ember.ops import registry
from ember.ops.activation import relu_zeros
from ember.ops.row_sum import row_sum

# names the generated code reads from its namespace
NAMESPACE = {
    "_maximum": np.maximum,
    "_matmul": np.matmul,
    "_relu_zeros": relu_zeros,
    "_row_sum": row_sum,
}
_UINT = {4: np.uint32, 8: np.uint64, 2: np.uint16}
NAMESPACE.update({f"_u{k}": v for k, v in _UINT.items()})


class Emitter:
    def __init__(self, emit, writes_out, elementwise=False):
        self.emit = emit
        self.writes_out = writes_out
        self.elementwise = elementwise  # may write into a dying input of its own shape


EMITTERS: dict = {}


def emits(name: str, writes_out=lambda node: False, elementwise=False):
    """Register the emitter of op ``name`` (see the module docstring)."""

    def deco(fn):
        EMITTERS[name] = Emitter(fn, writes_out, elementwise)
        return fn

    return deco


def _values(node):
    return [x for x in node.inputs if isinstance(x, Value)]


def _same_dtype_inputs(node, dtype) -> bool:
    """All value inputs have ``dtype``, and no literal would change the result type."""
    vals = _values(node)
    if not vals or any(v.dtype != dtype for v in vals):
        return False
    for x in node.inputs:
        if isinstance(x, float) and dtype.kind not in "fc":
            return False
        if x is None:
            return False
    return True


def _ufunc_writes_out(node) -> bool:
    o = node.outputs[0]
    if o.dtype.kind == "b":  # comparisons: bool out, inputs of one numeric dtype
        vals = _values(node)
        return bool(vals) and all(v.dtype == vals[0].dtype for v in vals)
    return _same_dtype_inputs(node, o.dtype)


def _ufunc_emitter(name: str, ufunc):
    local = f"_{ufunc.__name__}"
    NAMESPACE[local] = ufunc

    def emit(node, target, args, out):
        tail = f", out={out}" if out else ""
        return [f"{target} = {local}({', '.join(args)}{tail})"]

    emits(name, _ufunc_writes_out, elementwise=True)(emit)


for _name, _op in list(registry.OPS.items()):
    if isinstance(_op.forward, np.ufunc):
        _ufunc_emitter(_name, _op.forward)


def _float_same(node) -> bool:
    o = node.outputs[0]
    return o.dtype.kind == "f" and o.dtype.itemsize >= 4 and _same_dtype_inputs(node, o.dtype)


@emits("relu", writes_out=lambda node: node.outputs[0].dtype.itemsize >= 4, elementwise=True)
def _relu(node, target, args, out):
    tail = f", out={out}" if out else ""
    return [f"{target} = _maximum({args[0]}, _relu_zeros({args[0]}){tail})"]


def _matmul_2d(node) -> bool:
    a, b = node.inputs[:2]
    return _float_same(node) and a.ndim == 2 and b.ndim == 2


@emits("matmul", writes_out=_matmul_2d)
def _matmul(node, target, args, out):
    a, b = node.inputs
    if not _float_same(node) or a.ndim == 0 or b.ndim == 0:
        return None
    tail = f", out={out}" if out else ""
    return [f"{target} = _matmul({args[0]}, {args[1]}{tail})"]


def _linear_out(node) -> bool:
    """A float linear whose input's leading dims flatten to a static GEMM height (2-D, or
    N-D of static shape as in a Transformer's (batch, seq, features))."""
    x, w = node.inputs[:2]
    b = node.inputs[2:]
    ok = _float_same(node) and x.ndim >= 2 and w.ndim == 2
    ok = ok and (x.ndim == 2 or _ints(tuple(x.shape)))
    return ok and all(isinstance(v, Value) and v.shape == (w.shape[0],) for v in b)


@emits("linear", writes_out=_linear_out)
def _linear(node, target, args, out):
    """The forward's GEMM over the flattened leading dims, then the bias added in place:
    into the planned buffer, which spares a fresh (page-faulting) output per call."""
    if not _linear_out(node):
        return None
    x, w = node.inputs[:2]
    if x.ndim == 2:
        tail = f", out={out}" if out else ""
        lines = [f"{target} = _matmul({args[0]}, {args[1]}.T{tail})"]
    else:
        m, k, n = math.prod(x.shape[:-1]), x.shape[-1], w.shape[0]
        shape = tuple(x.shape[:-1]) + (n,)
        tail = f", out={out}.reshape({m}, {n})" if out else ""
        lines = [
            f"{target} = _matmul({args[0]}.reshape({m}, {k}), {args[1]}.T{tail}).reshape({shape!r})"
        ]
    if len(args) > 2:
        lines.append(f"_add({target}, {args[2]}, out={target})")
    return lines


def _ints(t) -> bool:
    return isinstance(t, tuple) and all(type(i) is int for i in t)


@emits("reshape")
def _reshape(node, target, args, out):
    shape = node.attrs["shape"]
    return [f"{target} = {args[0]}.reshape({shape!r})"] if _ints(shape) else None


@emits("permute")
def _permute(node, target, args, out):
    dims = node.attrs["dims"]
    return [f"{target} = {args[0]}.transpose({dims!r})"] if _ints(tuple(dims)) else None


@emits("narrow")
def _narrow(node, target, args, out):
    """A basic slice: a view, as the registry's (``x[:, a:b]`` costs no function call)."""
    dim, start, length = (node.attrs[k] for k in ("dim", "start", "length"))
    if not all(type(v) is int for v in (dim, start, length)) or dim < 0 or start < 0:
        return None
    return [f"{target} = {args[0]}[{':, ' * dim}{start}:{start + length}]"]


# the dtypes a cast is written with, by name (``x.astype(_dtype_float32)``)
_CAST_DTYPES = {np.dtype(t).name: np.dtype(t) for t in "?bhilqBefd"}
NAMESPACE.update({f"_dtype_{k}": v for k, v in _CAST_DTYPES.items()})


@emits("cast")
def _cast(node, target, args, out):
    dt = np.dtype(node.attrs["dtype"])
    if set(node.attrs) != {"dtype"} or _CAST_DTYPES.get(dt.name) != dt:
        return None
    return [f"{target} = {args[0]}.astype(_dtype_{dt.name})"]


def _sum_float(node) -> bool:
    x = node.inputs[0]
    return x.dtype.kind == "f" and node.outputs[0].ndim >= 1


@emits("sum", writes_out=_sum_float)
def _sum(node, target, args, out):
    if node.inputs[0].dtype.kind != "f":
        return None
    ax, keep = node.attrs["axis"], node.attrs["keepdims"]
    tail = f", out={out}" if out else ""
    return [f"{target} = _row_sum({args[0]}, {ax!r}, {keep!r}{tail})"]


def _where_masked(node):
    """Which operand of ``where(cond, a, b)`` is a literal +0.0 (1 or 2) when the other is a
    float value of the output's type and shape and the condition has that shape too."""
    cond, a, b = node.inputs
    o = node.outputs[0]
    if o.dtype.kind != "f" or not isinstance(cond, Value) or cond.shape != o.shape:
        return None
    for zero, other, k in ((a, b, 1), (b, a, 2)):
        if (
            type(zero) in (int, float)
            and zero == 0
            and math.copysign(1.0, zero) > 0
            and isinstance(other, Value)
            and other.dtype == o.dtype
            and other.shape == o.shape
        ):
            return k
    return None


@emits("where", writes_out=lambda node: _where_masked(node) is not None)
def _where(node, target, args, out):
    """The bit-mask select of ``ember.ops.elementwise.select`` (exact for NaN, inf, -0.0),
    written into ``out`` viewed as unsigned integers."""
    k = _where_masked(node)
    if k is None or not out:
        return None
    other = args[2] if k == 1 else args[1]
    return [f"{target} = _select_zero({args[0]}, {other}, {k == 2}, {out})"]


def select_zero_into(cond, v, keep, out):
    """``v`` where ``cond == keep``, else +0.0, written into ``out``: the native select, or
    NumPy's on the bits viewed as unsigned integers (same result)."""
    if native_select.select_zero(cond, v, keep, out) is None:
        u = _UINT[out.itemsize]
        if keep:  # -cond is all ones where cond is True
            np.negative(cond, dtype=u, out=out.view(u))
        else:  # cond - 1 is all ones where cond is False
            np.subtract(cond, 1, dtype=u, out=out.view(u))
        np.bitwise_and(out.view(u), v.view(u), out=out.view(u))
    return out


NAMESPACE["_select_zero"] = select_zero_into
