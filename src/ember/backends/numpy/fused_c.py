"""C loops generated for fused elementwise nodes: one pass over memory per chain (the NumPy
backend runs every other node with NumPy; these are built by ``ember.native.build``).

The fusion pass groups an elementwise chain (an optimizer update, a bias-and-relu) into one
``fused`` node; NumPy then still makes one pass per op. For chains of IEEE-exact ops (+, -,
*, /, sqrt, abs, max/min, selects, comparisons, float casts) this module writes a C function
that computes every element through the whole chain in registers, in each op's own dtype
and order: the results are the NumPy chain's bit for bit (the build has
``-ffp-contract=off``), so compiled code stays equal to eager. Transcendentals (exp, tanh,
...) are left to NumPy, whose results the C library would not reproduce.

A chain qualifies when its values are float32, float64 or bool, and every input is of the
output's shape (read element by element), 0-d (read once), or broadcast across one split of
the output's dims into leading "rows" and trailing "columns": a bias of the trailing shape
(read per column, as ``x @ W.T + b``) or a per-row statistic of the leading shape with
trailing 1s (read once per row, as ``(x - mean) * rstd``). The loop runs over rows, then
columns. A chain that ends in column sums (``ember.passes.fuse``: a bias gradient) adds each
row into them inside the loop, from 0 and in row order as NumPy does, so a bias gradient
costs no pass of its own; such a kernel never splits its rows across threads. Outputs may
be written into an input's memory at the same element (the memory planner does that); any
other overlap makes the kernel decline (return 1) and the call copies the inputs first. A
kernel is called through ``ember.native.call`` (its arrays checked and passed in one C step)
when that extension builds, else through ctypes.

>>> import numpy as np
>>> from ember.ir import Graph
>>> from ember.passes.fuse import fuse
>>> g = Graph()
>>> x = g.add_input(np.float32, (4096,), "x")
>>> y = g.add_node("mul", [x, 2.0]).outputs[0]
>>> g.outputs = [g.add_node("add", [y, 1.0]).outputs[0]]
>>> node = fuse(g).nodes[0]
>>> kernels = compile_nodes([node])
>>> fn = kernels.get(node)
>>> fn is None or float(fn([np.ones(4096, np.float32), None])[0][0]) == 3.0
True
"""

from __future__ import annotations

import ctypes
import math
import re

import numpy as np

from ember import native
from ember.ir.graph import Value
from ember.native import address, build, parallel
from ember.native.call import kernel_call
from ember.passes.fuse import column_sum_split

# Chains of fewer elements stay NumPy: a C call's fixed cost (pointers, checks) is about
# NumPy's for a few ops on small arrays. Through ctypes that is ~7 us, so small chains stay
# NumPy; through ember.native.call it is ~2 us (measured 2026-12-07), three small NumPy
# ops' worth, so a chain of MIN_OPS ops or more goes to C at any size (an optimizer's
# update of a bias). A symbolic dim counts as SYMBOLIC_DIM elements.
MIN_ELEMENTS = [4096]
MIN_OPS = [3]
SYMBOLIC_DIM = 32

_F32, _F64, _BOOL = np.dtype(np.float32), np.dtype(np.float64), np.dtype(bool)
_C_TYPES = {_F32: "float", _F64: "double", _BOOL: "unsigned char"}
_SQRT = {_F32: "sqrtf", _F64: "sqrt"}
_FABS = {_F32: "fabsf", _F64: "fabs"}

# op -> C expression of its operands (already in the op's compute type)
_BINARY = {"add": "({} + {})", "sub": "({} - {})", "mul": "({} * {})", "div": "({} / {})"}
_COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_LOGICAL = {"logical_and": "&&", "logical_or": "||"}
# NumPy's maximum/minimum: NaN if either is NaN, else the second operand on ties (+-0)
_PICK = {
    "maximum": "(({a} > {b} || {a} != {a}) ? {a} : {b})",
    "minimum": "(({a} < {b} || {a} != {a}) ? {a} : {b})",
}
_ARITHMETIC = frozenset([*_BINARY, *_PICK, "neg", "abs", "sqrt", "relu"])
OPS = frozenset(
    [*_BINARY, *_COMPARE, *_LOGICAL, *_PICK]
    + ["neg", "abs", "sqrt", "relu", "where", "cast", "logical_not"]
)


def compile_nodes(nodes) -> dict:
    """{fused node: callable(inputs, targets) -> outputs} for the nodes that qualify, built
    into one library (one compiler run per distinct set); {} without native kernels."""
    chosen = [n for n in nodes if _qualifies(n)]
    if not chosen or native.status() != "loaded":  # native kernels off, or no compiler
        return {}
    # chains that differ only in where they sit (each layer's update) share one function
    index: dict = {}  # function text -> its number
    which = [index.setdefault(_source(n, "FN"), len(index)) for n in chosen]
    text = _PRELUDE + "\n".join(
        re.sub(r"\bFN(?=(_packed)?\()", f"ember_fused_{k}", src) for src, k in index.items()
    )
    lib, _why = build.load_source(text, "ember-fused")
    if lib is None:
        return {}
    out = {}
    for k, n in zip(which, chosen):
        fn = getattr(lib, f"ember_fused_{k}")
        fn.restype = ctypes.c_int
        fn.argtypes = [ctypes.c_long] * 2 + [ctypes.c_void_p] * (len(n.inputs) + len(n.outputs))
        packed = ctypes.cast(getattr(lib, f"ember_fused_{k}_packed"), ctypes.c_void_p).value
        out[n] = _Kernel(n, fn, packed)
    return out


def _qualifies(node) -> bool:
    if node.op != "fused" or not node.outputs:
        return False
    body = node.subgraphs["body"]
    shape = loop_shape(node)
    sums = _sum_outputs(node)
    if any(o.shape != shape for o, s in zip(node.outputs, sums) if s is None):
        return False
    if layout(node) is None:
        return False
    size = math.prod(d if isinstance(d, int) else SYMBOLIC_DIM for d in shape)
    cheap_call = kernel_call() is not None and len(body.nodes) >= MIN_OPS[0]
    if size < MIN_ELEMENTS[0] and not cheap_call:
        return False
    for inner in body.nodes:
        if inner.op == "sum" and column_sum_split(inner) is not None:
            continue  # (its input is a float chain value: checked where that is computed)
        if inner.op not in OPS or len(inner.outputs) != 1:
            return False
        values = [*inner.input_values(), inner.outputs[0]]
        if any(v.dtype not in _C_TYPES for v in values):
            return False
        if inner.op in _ARITHMETIC and inner.outputs[0].dtype == _BOOL:
            return False  # NumPy's bool add is a logical or; C's would store 2
        if inner.op == "cast" and set(inner.attrs) != {"dtype"}:
            return False
        if inner.op != "cast" and inner.attrs:
            return False
        if any(not isinstance(x, Value) and not _literal_ok(x) for x in inner.inputs):
            return False
    return True


# how an input is read: element by element, once, per column, or per row
FULL, ONCE, COLUMN, ROW = "full", "once", "column", "row"


def loop_shape(node) -> tuple:
    """The shape the chain's loop runs over (its elementwise values')."""
    return tuple(node.subgraphs["body"].nodes[0].outputs[0].shape)


def _sum_outputs(node) -> list:
    """Per output of the node: the number of leading axes it sums (a column sum the loop
    accumulates), or None for an element-by-element result."""
    body = node.subgraphs["body"]
    return [
        column_sum_split(o.producer) if o.producer is not None and o.producer.op == "sum" else None
        for o in body.outputs
    ]


def layout(node):
    """``(split, kinds)``: the loop shape's dims ``[:split]`` are the loop's rows and
    ``[split:]`` its columns (split 0: one row), and each input's kind (``FULL``, ``ONCE``,
    ``COLUMN`` or ``ROW``); None when some input fits no single split, or none is full.
    Column sums fix the split at the axes they sum (all the same, or None)."""
    shape = loop_shape(node)
    if not any(tuple(x.shape) == shape for x in node.inputs):
        return None
    body = node.subgraphs["body"]
    sums = {column_sum_split(n) for n in body.nodes if n.op == "sum"}
    if len(sums) > 1:
        return None
    splits = list(sums) if sums else range(len(shape))
    for split in splits:
        kinds = [_kind(tuple(x.shape), shape, split) for x in node.inputs]
        if None in kinds:
            continue
        if sums or (split == 0) == all(k in (FULL, ONCE) for k in kinds):
            return split, kinds
    return None


def _kind(have, shape, split):
    if have == shape:
        return FULL
    if all(d == 1 for d in have):  # 0-d, or a static single element
        return ONCE
    if split == 0 or len(have) > len(shape):
        return None
    padded = (1,) * (len(shape) - len(have)) + have
    ones = [1] * len(shape)
    if list(padded[:split]) == ones[:split] and padded[split:] == shape[split:]:
        return COLUMN
    if padded[:split] == shape[:split] and list(padded[split:]) == ones[split:]:
        return ROW
    return None


def _literal_ok(x) -> bool:
    return isinstance(x, (bool, int, float)) and not (isinstance(x, int) and abs(x) >= 2**62)


_PRELUDE = """#include <math.h>
/* generated by ember.backends.numpy.fused_c: one function per fused elementwise node */
/* do arrays a (na elements) and o (no elements) share any byte? */
#define MEETS(a, na, o, no)                           \\
    ((const char *)(a) < (const char *)((o) + (no)) \\
     && (const char *)(o) < (const char *)((a) + (na)))
/* an input and an output of n elements and one type may be the same array, not shifted */
#define OVERLAP(a, o, n) ((const void *)(a) != (const void *)(o) && MEETS(a, n, o, n))
#if defined(__clang__)
#define SAME_INDEX_ONLY _Pragma("clang loop vectorize(assume_safety)")
#else
#define SAME_INDEX_ONLY _Pragma("GCC ivdep")
#endif
"""

# A bool temporary read only inside the chain is written into its readers' expressions
# rather than stored: a stored byte between float ops keeps the loop from vectorizing well.
_INLINE_CHARS = 160


def _source(node, name: str) -> str:
    body = node.subgraphs["body"]
    _split, kinds = layout(node)
    names: dict = {}
    params, pre, per_row, loop = ["long rows", "long cols"], [], [], []
    checks = []
    extent = {FULL: "n", COLUMN: "cols", ROW: "rows"}
    ins_read = [(j, kind) for j, kind in enumerate(kinds) if kind != ONCE]
    sums = _sum_outputs(node)
    for j, (kind, inner) in enumerate(zip(kinds, body.inputs)):
        ct = _C_TYPES[inner.dtype]
        params.append(f"const {ct} *a{j}")
        names[inner] = f"x{j}"
        if kind == ONCE:
            pre.append(f"const {ct} x{j} = *a{j};")  # read once, before any write
            continue
        if kind == FULL:
            per_row.append(f"const {ct} *a{j}r = a{j} + r * cols;")
            loop.append(f"const {ct} x{j} = a{j}r[c];")
        elif kind == COLUMN:
            loop.append(f"const {ct} x{j} = a{j}[c];")
        else:
            per_row.append(f"const {ct} x{j} = a{j}[r];")
        for k, o in enumerate(body.outputs):
            if sums[k] is not None:
                continue  # (checked below)
            if kind == FULL and _C_TYPES[o.dtype] == ct:
                checks.append(f"OVERLAP(a{j}, o{k}, n)")  # the same array is fine
            else:
                checks.append(f"MEETS(a{j}, {extent[kind]}, o{k}, n)")
    for k, o in enumerate(body.outputs):
        params.append(f"{_C_TYPES[o.dtype]} *o{k}")
        if sums[k] is None:
            per_row.append(f"{_C_TYPES[o.dtype]} *o{k}r = o{k} + r * cols;")
        else:  # a column sum: no other array may share its memory
            checks += [f"MEETS(a{j}, {extent[kind]}, o{k}, cols)" for j, kind in ins_read]
            pre.append(f"for (long c = 0; c < cols; c++) o{k}[c] = 0;")
    stored = set(body.outputs)
    for t, inner in enumerate(body.nodes):
        out = inner.outputs[0]
        if inner.op == "sum":  # NumPy's order: from 0, each row added in turn
            loop.append(f"o{body.outputs.index(out)}[c] += {names[inner.inputs[0]]};")
            continue
        expr = _expr(inner, [_operand(x, names) for x in inner.inputs])
        if out.dtype == _BOOL and out not in stored and len(expr) <= _INLINE_CHARS:
            names[out] = expr
            continue
        loop.append(f"const {_C_TYPES[out.dtype]} t{t} = {expr};")
        names[out] = f"t{t}"
    for k, o in enumerate(body.outputs):
        if sums[k] is None:
            loop.append(f"o{k}r[c] = {names[o]};")
    guard = f"    if ({' || '.join(checks)}) return 1;\n" if checks else ""
    unpack = ", ".join(["d[0]", "d[1]"] + [f"p[{j}]" for j in range(len(params) - 2)])
    return (
        f"int {name}({', '.join(params)}) {{\n    const long n = rows * cols;\n{guard}"
        + "".join(f"    {line}\n" for line in pre)
        + "    for (long r = 0; r < rows; r++) {\n"
        + "".join(f"        {line}\n" for line in per_row)
        + "        SAME_INDEX_ONLY\n        for (long c = 0; c < cols; c++) {\n"
        + "".join(f"            {line}\n" for line in loop)
        + "        }\n    }\n    return 0;\n}\n"
        # the same, called with its sizes and pointers packed (ember.native.call)
        + f"int {name}_packed(const long *d, void *const *p) {{ return {name}({unpack}); }}\n"
    )


def _operand(x, names):
    """(C expression, dtype or None for a Python literal)."""
    if isinstance(x, Value):
        return names[x], x.dtype
    return _c_literal(x), None


def _c_literal(x) -> str:
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, int):
        return f"{x}LL"
    if x != x:
        return "NAN"
    if math.isinf(x):
        return "INFINITY" if x > 0 else "(-INFINITY)"
    return repr(float(x))


def _as(operand, dtype) -> str:
    """The operand converted to ``dtype`` (a Python literal is rounded straight to it, as
    NumPy does with a weak scalar)."""
    expr, have = operand
    return expr if have == dtype else f"(({_C_TYPES[dtype]}){expr})"


def _expr(inner, ops) -> str:
    op, dt = inner.op, inner.outputs[0].dtype
    if op in _BINARY:
        return _BINARY[op].format(_as(ops[0], dt), _as(ops[1], dt))
    if op in _PICK or op == "relu":
        a = _as(ops[0], dt)
        b = _as(ops[1], dt) if op != "relu" else f"(({_C_TYPES[dt]})0)"
        return _PICK.get(op, _PICK["maximum"]).format(a=a, b=b)
    if op == "neg":
        return f"(-{_as(ops[0], dt)})"
    if op == "abs":
        return f"{_FABS[dt]}({_as(ops[0], dt)})" if dt in _FABS else _as(ops[0], dt)
    if op == "sqrt":
        return f"{_SQRT[dt]}({_as(ops[0], dt)})"
    if op == "cast":
        return _cast(ops[0], dt)
    if op == "where":
        return f"({_truth(ops[0])} ? {_as(ops[1], dt)} : {_as(ops[2], dt)})"
    if op in _COMPARE:
        ct = _compute_type(ops)
        return f"({_as(ops[0], ct)} {_COMPARE[op]} {_as(ops[1], ct)})"
    if op in _LOGICAL:
        return f"({_truth(ops[0])} {_LOGICAL[op]} {_truth(ops[1])})"
    if op == "logical_not":
        return f"(!{_truth(ops[0])})"
    raise AssertionError(op)


def _cast(operand, dt) -> str:
    expr, have = operand
    if dt == _BOOL:
        return f"({expr} != 0)"  # NaN is true, as in NumPy
    return _as(operand, dt) if have != _BOOL else f"(({_C_TYPES[dt]}){expr})"


def _truth(operand) -> str:
    expr, have = operand
    return expr if have == _BOOL else f"({expr} != 0)"


def _compute_type(ops):
    """The dtype a comparison runs in: the wider float operand (literals are weak)."""
    kinds = [d for _, d in ops if d is not None]
    if _F64 in kinds:
        return _F64
    if _F32 in kinds:
        return _F32
    return _BOOL


class _Kernel:
    """Calls one generated function on NumPy arrays: ``kernel(arrays) -> outputs``, where
    ``arrays`` holds the inputs, then per output the array it is written into (None: a new
    one). The generated code passes every target (a planned buffer, a donated input or a
    fresh ``np.empty``), so a call is the extension's call and little more (~0.9 us)."""

    def __init__(self, node, fn, packed):
        self.fn = fn
        self.packed = packed  # the address of its (dims, pointers) entry point
        self.split, self.kinds = layout(node)
        self.first = self.kinds.index(FULL)
        self.n_in = len(node.inputs)
        # for ember.native.call: how each array is used, and its buffer format
        use = {FULL: "e", COLUMN: "c", ROW: "r", ONCE: "o"}
        sums = _sum_outputs(node)
        spec = [use[k] + x.dtype.char for k, x in zip(self.kinds, node.inputs)]
        spec += [("w" if s is None else "C") + o.dtype.char for s, o in zip(sums, node.outputs)]
        self.spec = "".join(spec).encode()
        self.in_dtypes = [x.dtype for x in node.inputs]
        self.out_dtypes = [o.dtype for o in node.outputs]
        # None: the loop's shape; a column sum has its own (static: the trailing dims)
        self.out_shapes = [
            None if s is None else tuple(o.shape) for s, o in zip(sums, node.outputs)
        ]
        self.serial = any(s is not None for s in sums)  # rows are summed in order

    def _outputs(self, targets, shape) -> list:
        return [
            np.empty(shape if s is None else s, d) if t is None else t
            for t, d, s in zip(targets, self.out_dtypes, self.out_shapes)
        ]

    def __call__(self, arrays):
        n = self.n_in
        shape = arrays[self.first].shape
        call = kernel_call()
        if call is not None and (self.serial or math.prod(shape) < parallel.MIN_WORK[0]):
            for t in arrays[n:]:
                if t is None:
                    arrays = arrays[:n] + self._outputs(arrays[n:], shape)
                    break
            try:  # checks types and sizes itself, in C
                status = call(self.packed, self.split, shape, self.spec, arrays)
            except (BufferError, TypeError, ValueError):  # converts, or says what is wrong
                return self._checked(arrays[:n], arrays[n:], shape)
            if status:
                pairs = zip(arrays[:n], self.kinds)
                ins = [a if kind == ONCE else np.array(a) for a, kind in pairs]
                call(self.packed, self.split, shape, self.spec, ins + arrays[n:])
            return arrays[n:]
        return self._checked(arrays[:n], arrays[n:], shape)

    def _checked(self, inputs, targets, shape):
        """The call with every input converted to its dtype and made contiguous, and a
        clear error for an input or output that does not fit."""
        rows, cols = math.prod(shape[: self.split]), math.prod(shape[self.split :])
        n = rows * cols
        expect = {FULL: n, COLUMN: cols, ROW: rows, ONCE: 1}
        ins = []
        for a, kind, dt in zip(inputs, self.kinds, self.in_dtypes):
            if not isinstance(a, np.ndarray) or a.dtype != dt:
                a = np.asarray(a, dt)
            if a.size != expect[kind]:
                raise ValueError(
                    f"fused kernel: input of shape {a.shape} does not fit the output {shape}"
                )
            if not a.flags.c_contiguous:
                a = np.ascontiguousarray(a)
            ins.append(a)
        outs = self._outputs(targets, shape)
        for o, dt, s in zip(outs, self.out_dtypes, self.out_shapes):
            if o.size != (n if s is None else cols) or o.dtype != dt or not o.flags.c_contiguous:
                raise ValueError(
                    f"fused kernel: output buffer {o.shape} {o.dtype} for {shape} {dt}"
                )
        if self._run(ins, outs, rows, cols):
            ins = [a if kind == ONCE else np.array(a) for a, kind in zip(ins, self.kinds)]
            self._run(ins, outs, rows, cols)  # copies share no memory with the outputs
        return outs

    def _run(self, ins, outs, rows, cols) -> int:
        n = rows * cols
        ptrs = [address(a) for a in ins] + [address(o) for o in outs]
        if self.serial or n < parallel.MIN_WORK[0]:
            return self.fn(rows, cols, *ptrs)
        # threads check only their own slices: look at whole arrays first
        if any(
            np.may_share_memory(a, o) and (kind != FULL or address(a) != address(o))
            for a, kind in zip(ins, self.kinds)
            if kind != ONCE
            for o in outs
        ):
            return 1
        kinds = self.kinds + [FULL] * len(outs)
        sizes = [a.itemsize for a in ins] + [o.itemsize for o in outs]
        status = []
        if self.split == 0:  # one row: split its columns
            shift = {FULL: 1}

            def part(a, b):
                moved = (p + a * s * shift.get(k, 0) for p, k, s in zip(ptrs, kinds, sizes))
                status.append(self.fn(1, b - a, *moved))

            parallel.run(part, n, n)
        else:  # split the rows
            shift = {FULL: cols, ROW: 1}

            def part(a, b):
                moved = (p + a * s * shift.get(k, 0) for p, k, s in zip(ptrs, kinds, sizes))
                status.append(self.fn(b - a, cols, *moved))

            parallel.run(part, rows, n)
        return max(status)
