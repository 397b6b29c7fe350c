"""0-d float64 arithmetic written as Python float arithmetic in generated code.

An optimizer step computes a few numbers per parameter: Adam's ``lr / (1 - beta1 ** step)``
and ``sqrt(1 - beta2 ** step)`` are six 0-d float64 nodes plus two casts. As NumPy calls on
0-d arrays each costs 1-2.5 us (an op wrapper, a ufunc set-up, ``_asarray``); on the
Transformer step's 16 parameters that was about 200 us. As Python floats the same chain is
a few hundred nanoseconds, and it has the same bits: both are IEEE double operations, and
``pow`` of two 0-d float64 values is already computed with libm's ``pow``, as Python does
(``ember.ops.elementwise._scalar_pow``). Where Python would raise (a zero divisor, a negative
square root, an overflowing or complex power) the helpers fall back to NumPy's answer.

``plan`` picks the nodes; ``lines`` writes one. A value that something else reads (a fused
kernel, a graph output) is also made an array, once, where it is computed.

>>> import numpy as np
>>> _sdiv(1.0, 0.0), _spow(-8.0, 1 / 3) != _spow(-8.0, 1 / 3)
(inf, True)
"""

from __future__ import annotations

import math

import numpy as np

from ember.ir.graph import Value

_F64 = np.dtype(np.float64)
_FLOAT_CASTS = {np.dtype(t) for t in (np.float16, np.float32, np.float64)}


def _numpy(fn, *args) -> float:
    """NumPy's answer (and its warning, as the op would give it)."""
    return float(fn(*(np.float64(a) for a in args)))


def _sdiv(a, b) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        return _numpy(np.true_divide, a, b)


def _spow(a, b) -> float:
    try:
        return math.pow(a, b)
    except (ValueError, OverflowError):  # a negative base to a fraction, or an overflow
        return _numpy(np.power, a, b)


def _ssqrt(a) -> float:
    return math.sqrt(a) if a >= 0.0 else _numpy(np.sqrt, a)


NAMESPACE = {"_sdiv": _sdiv, "_spow": _spow, "_ssqrt": _ssqrt, "_array0d": np.asarray}

# op -> the Python expression of its operands
_EXPRESSIONS = {
    "add": "({} + {})",
    "sub": "({} - {})",
    "mul": "({} * {})",
    "div": "_sdiv({}, {})",
    "neg": "(-{})",
    "sqrt": "_ssqrt({})",
    "pow": "_spow({}, {})",
}


def _scalar_operand(x) -> bool:
    if isinstance(x, Value):
        return x.dtype == _F64 and x.ndim == 0
    # ints convert to float exactly below 2**53, as NumPy converts them
    return type(x) is float or (type(x) is int and abs(x) < 2**53)


def _takes(node, ins) -> bool:
    out = node.outputs
    if node.op not in _EXPRESSIONS or len(out) != 1 or node.attrs:
        return False
    if out[0].dtype != _F64 or out[0].ndim != 0 or not all(map(_scalar_operand, ins)):
        return False
    # a Python-number exponent takes np.power in the op (not libm's pow): leave it there
    return node.op != "pow" or isinstance(ins[1], Value)


def _cast_of(node, ins, lane) -> bool:
    """A float cast of a lane value to a 0-d array (``np.array(x, dtype)`` rounds alike)."""
    return (
        node.op == "cast"
        and set(node.attrs) == {"dtype"}
        and np.dtype(node.attrs["dtype"]) in _FLOAT_CASTS
        and isinstance(ins[0], Value)
        and ins[0] in lane
        and node.outputs[0].ndim == 0
    )


def plan(flat, graph) -> tuple[set, set, set]:
    """(lane nodes, casts of lane values, lane values that must also be arrays) over the
    generator's ``(node, inputs, outputs)`` steps."""
    nodes, casts, lane = set(), set(), set()
    for node, ins, outs in flat:
        if _takes(node, ins):
            nodes.add(node)
            lane.add(outs[0])
        elif len(ins) == 1 and _cast_of(node, ins, lane):
            casts.add(node)
    arrays = {v for v in graph.outputs if isinstance(v, Value) and v in lane}
    for node, ins, _ in flat:
        if node not in nodes and node not in casts:
            arrays.update(x for x in ins if isinstance(x, Value) and x in lane)
    return nodes, casts, arrays


def lines(op: str, name: str, floats: list, as_array: bool) -> list:
    """The line computing ``name``'s Python float (``s<name>``), and its array if needed."""
    out = [f"s{name} = {_EXPRESSIONS[op].format(*floats)}"]
    if as_array:
        out.append(f"{name} = _array0d(s{name})")
    return out
