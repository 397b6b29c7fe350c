"""The text form of a graph (see ``docs/ir.md``).

::

    graph(%x: f32[B, 784], %w: f32[256, 784]) -> (f32[B, 256]) {
      %0: f32[B, 256] = linear(%x, %w, None)        # model.py:12 in forward
      return (%0)
    }

Values print as ``%name: dtype[dims]`` where they are defined and as ``%name`` where used;
symbolic dims print as their names. Attributes print as ``key=value`` with Python literal
syntax (tuples, numbers, strings, None), dtypes by name (``float32``) and slices as
``slice(a, b, c)``. Constants are listed after the signature as ``%c0: f32[3] = const(...)``.
"""

from __future__ import annotations

import numpy as np

DTYPE_ABBREV = {
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "bool": "bool",
}
ABBREV_DTYPE = {v: k for k, v in DTYPE_ABBREV.items()}

# Constants with at most this many elements print their data; larger ones print a summary.
INLINE_CONST = 16


def type_str(v) -> str:
    dims = ", ".join(str(d) for d in v.shape)
    return f"{DTYPE_ABBREV.get(v.dtype.name, v.dtype.name)}[{dims}]"


def attr_str(value) -> str:
    """One attribute value in the text form."""
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, slice):
        return f"slice({attr_str(value.start)}, {attr_str(value.stop)}, {attr_str(value.step)})"
    if isinstance(value, tuple):
        inner = ", ".join(attr_str(x) for x in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(attr_str(x) for x in value) + "]"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, np.ndarray):
        return f"array({value.tolist()!r}, {value.dtype.name})"
    return repr(value)


def operand_str(x) -> str:
    from ember.ir.graph import Value

    if isinstance(x, Value):
        return f"%{x.name}"
    return attr_str(x)


def node_str(node) -> str:
    outs = ", ".join(f"%{o.name}: {type_str(o)}" for o in node.outputs)
    args = [operand_str(x) for x in node.inputs]
    args += [f"{k}={attr_str(v)}" for k, v in node.attrs.items()]
    return f"{outs} = {node.op}({', '.join(args)})"


def const_str(v) -> str:
    a = v.const
    if a.size <= INLINE_CONST:
        body = repr(a.tolist())
    else:
        body = "..."
    return f"%{v.name}: {type_str(v)} = const({body})"


def loc_str(loc) -> str:
    if loc is None:
        return ""
    import os

    return f"{os.path.basename(loc[0])}:{loc[1]} in {loc[2]}"


def format_graph(graph, source: bool = True, indent: str = "") -> str:
    ins = ", ".join(f"%{v.name}: {type_str(v)}" for v in graph.inputs)
    outs = ", ".join(type_str(v) if hasattr(v, "shape") else attr_str(v) for v in graph.outputs)
    lines = [f"{indent}{graph.name}({ins}) -> ({outs}) {{"]
    for c in graph.constants:
        lines.append(f"{indent}  {const_str(c)}")
    body = []
    for n in graph.nodes:
        text = node_str(n)
        for key, sub in n.subgraphs.items():
            text += f" {key}=" + format_graph(sub, source, indent + "  ").lstrip()
        body.append((text, loc_str(n.loc) if source else ""))
    width = max((len(t) for t, _ in body if "\n" not in t), default=0)
    for text, where in body:
        pad = " " * (width - len(text)) if "\n" not in text else ""
        lines.append(f"{indent}  {text}{pad}  # {where}" if where else f"{indent}  {text}")
    rets = ", ".join(operand_str(v) for v in graph.outputs)
    lines.append(f"{indent}  return ({rets})")
    lines.append(f"{indent}}}")
    return "\n".join(lines)
