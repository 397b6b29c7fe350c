"""Read the text form of a graph back (``print -> parse -> print`` is the identity).

Each node line is parsed as a Python call expression: ``%name`` operands become values,
everything else is a literal (numbers, strings, tuples, lists, None, dtype names such as
``float32``, ``slice(a, b, c)``, ``array([...], float32)``, ``...``). Symbolic dims
(``B``, ``2*B+1``) become ``ember.compiler.dynamic.Dim``. Constants too large to print
inline (``const(...)``) are taken from ``constants={name: array}``.

>>> import numpy as np
>>> from ember.ir import Graph, parse
>>> g = Graph()
>>> x = g.add_input(np.float32, (2, 3), "x")
>>> g.outputs = [g.add_node("sum", [x], {"axis": (1,), "keepdims": False}).outputs[0]]
>>> str(parse(str(g))) == str(g)
True
"""

from __future__ import annotations

import ast
import re

import numpy as np

from ember.core.source import SourceLocation
from ember.ir.errors import GraphError
from ember.ir.graph import Graph, Node, Value
from ember.ir.printer import ABBREV_DTYPE

_HEADER = re.compile(r"^(?P<name>[\w.]+)\((?P<ins>.*)\) -> \((?P<outs>.*)\) \{$")
_TYPED = re.compile(r"%(?P<name>[\w.]+): (?P<dt>\w+)\[(?P<dims>[^\]]*)\]")
_REF = re.compile(r"%([\w.]+)")
_LOC = re.compile(r"^(?P<file>.+):(?P<line>\d+) in (?P<fn>.+)$")


def parse(text: str, constants: dict | None = None) -> Graph:
    """The graph that ``format_graph`` printed as ``text``, sub-graphs included (each parsed
    in its own value scope: a sub-graph's names may repeat the outer graph's)."""
    lines = text.strip("\n").splitlines()
    if not lines:
        raise GraphError("parse: empty text")
    parser = _Parser(lines, constants or {})
    graph, last = parser.graph(0, lines[0].strip())
    if lines[last].strip() != "}":
        raise parser.error(last, "unexpected text after the graph's closing '}'")
    for i in range(last + 1, len(lines)):
        if lines[i].strip():
            raise parser.error(i, "unexpected text after the graph's closing '}'")
    return graph


# `` key=name(%a: f32[2], ...) -> (types) {`` ending a line: a sub-graph opens
_SUBGRAPH = re.compile(
    r" (?P<key>\w+)=(?P<header>[\w.]+\((?:%[\w.]+: \w+\[[^\]]*\](?:, )?)*\) -> \(.*\) \{)$"
)


class _Parser:
    def __init__(self, lines, constants):
        self.lines = lines
        self.constants = constants

    def error(self, i: int, what: str) -> GraphError:
        return GraphError(f"parse: line {i + 1}: {what}: {self.lines[i].strip()!r}")

    def graph(self, i: int, header: str) -> tuple[Graph, int]:
        """The graph whose header (``header``, read from line ``i``) opens there, and the
        index of the line holding its closing ``}``."""
        m = _HEADER.match(header)
        if m is None:
            raise self.error(i, "expected 'name(%input: type, ...) -> (types) {'")
        g = Graph(m["name"])
        values: dict = {}
        for t in _TYPED.finditer(m["ins"]):
            v = g.add_input(_dtype(t["dt"], self, i), _dims(t["dims"], self, i), t["name"])
            values[v.name] = v
        i += 1
        while i < len(self.lines):
            if self.lines[i].strip().startswith("}"):
                _renumber(g)
                return g, i
            i = self.line(g, values, i)
        raise self.error(i - 1, f"graph {m['name']!r} is not closed by '}}'")

    def line(self, g: Graph, values: dict, i: int) -> int:
        """Parse the statement starting on line ``i``; the index of the line after it."""
        text, loc = _split_comment(self.lines[i].strip())
        if text.startswith("return ("):
            g.outputs = [self.operand(e, values, i) for e in _call_args(f"f{text[7:]}", self, i)[0]]
            return i + 1
        subgraphs, first, next_i = {}, i, i + 1
        opened = _SUBGRAPH.search(text)
        if opened is not None:
            text = text[: opened.start()]
            next_i, loc = self.subgraphs(subgraphs, opened, i)
        lhs, sep, rhs = text.partition(" = ")
        if not sep:
            raise self.error(first, "expected '%name: type = op(...)'")
        outs = list(_TYPED.finditer(lhs))
        if not outs:
            raise self.error(first, "expected a typed result '%name: dtype[dims]'")
        if rhs.startswith("const("):
            self.const(g, values, outs[0], rhs, first)
            return next_i
        op = rhs[: rhs.index("(")] if "(" in rhs else rhs
        args, kwargs = _call_args(_refs_to_names(rhs), self, first)
        node = Node(op, [self.operand(a, values, first) for a in args], kwargs, loc=_loc(loc))
        node.subgraphs = subgraphs
        for t in outs:
            v = Value(_dtype(t["dt"], self, first), _dims(t["dims"], self, first), t["name"], node)
            node.outputs.append(v)
            values[v.name] = v
        g.nodes.append(node)
        return next_i

    def subgraphs(self, out: dict, opened, i: int):
        """Read the sub-graphs a node line opens (``} key2=... {`` chains the next one); the
        index of the line after the last ``}`` and the source comment that follows it."""
        while True:
            sub, end = self.graph(i, opened["header"])
            out[opened["key"]] = sub
            rest, loc = _split_comment(self.lines[end].strip()[1:])
            if not rest:
                return end + 1, loc
            opened = _SUBGRAPH.fullmatch(" " + rest.lstrip()) if rest.startswith(" ") else None
            if opened is None:
                raise self.error(end, "expected '}' or '} key=name(...) -> (...) {'")
            i = end

    def const(self, g: Graph, values: dict, t, rhs: str, i: int) -> None:
        name = t["name"]
        body = rhs[len("const(") : -1]
        dtype, shape = _dtype(t["dt"], self, i), _dims(t["dims"], self, i)
        if body == "...":
            if name not in self.constants:
                raise self.error(i, f"constant %{name} is not printed; pass constants={{...}}")
            array = np.asarray(self.constants[name], dtype).reshape(shape)
        else:
            array = np.array(ast.literal_eval(body), dtype).reshape(shape)
        values[name] = g.add_const(array, name)

    def operand(self, node_or_value, values: dict, i: int):
        if isinstance(node_or_value, _Ref):
            v = values.get(node_or_value.name)
            if v is None:
                raise self.error(i, f"%{node_or_value.name} is used before it is defined")
            return v
        return node_or_value


class _Ref:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


def _refs_to_names(text: str) -> str:
    """``%0.weight`` -> ``__ref('0.weight')`` so that the line parses as Python."""
    return _REF.sub(lambda m: f"__ref({m[1]!r})", text)


def _call_args(text: str, parser, i: int):
    try:
        call = ast.parse(_refs_to_names(text), mode="eval").body
    except SyntaxError as exc:
        raise parser.error(
            i, f"cannot read the op call ({exc.msg} at column {exc.offset})"
        ) from None
    if not isinstance(call, ast.Call):
        raise parser.error(i, "expected an op call")
    args = [_literal(a, parser, i) for a in call.args]
    kwargs = {k.arg: _literal(k.value, parser, i) for k in call.keywords}
    return args, kwargs


_NAMES = {
    "None": None,
    "True": True,
    "False": False,
    "Ellipsis": Ellipsis,
    "inf": float("inf"),
    "nan": float("nan"),
}


def _literal(node, parser, i):
    """One operand or attribute value (a small, safe subset of Python expressions)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e, parser, i) for e in node.elts)
    if isinstance(node, ast.List):
        return [_literal(e, parser, i) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand, parser, i)
    if isinstance(node, ast.Name):
        if node.id in _NAMES:
            return _NAMES[node.id]
        try:
            dt = np.dtype(node.id)
        except TypeError:
            dt = None
        if dt is not None and dt.name == node.id:  # full names only: 'B' is a batch dim
            return dt
        return _symbolic(node.id, parser, i)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_literal(a, parser, i) for a in node.args]
        if node.func.id == "__ref":
            return _Ref(args[0])
        if node.func.id == "slice":
            return slice(*args)
        if node.func.id == "array":
            return np.array(args[0], dtype=args[1])
        if node.func.id == "float":
            return float(args[0]) if not hasattr(args[0], "k") else _float_dim(args[0], False)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div) and isinstance(node.left, ast.Constant):
            return _float_dim(_symbolic(ast.unparse(node.right), parser, i), True)
        return _symbolic(ast.unparse(node), parser, i)
    raise parser.error(i, f"cannot read {ast.unparse(node)!r}")


def _float_dim(dim, reciprocal):
    from ember.compiler.dynamic import FloatDim

    return FloatDim(dim, reciprocal)


def _symbolic(text: str, parser, i):
    """``B``, ``2*B``, ``B+1``, ``3*B-2``: an affine batch dim."""
    from ember.compiler.dynamic import SYMBOL, Dim

    m = re.fullmatch(rf"(?:(\d+)\*)?{SYMBOL}(?:([+-])(\d+))?", text.replace(" ", ""))
    if m is None:
        raise parser.error(i, f"unknown name {text!r} (not a dtype or a batch dim)")
    k = int(m[1] or 1)
    c = int(m[3] or 0) * (-1 if m[2] == "-" else 1)
    return Dim(k, c)


def _dtype(abbrev: str, parser, i) -> np.dtype:
    try:
        return np.dtype(ABBREV_DTYPE.get(abbrev, abbrev))
    except TypeError:
        raise parser.error(i, f"unknown dtype {abbrev!r}") from None


def _dims(text: str, parser, i) -> tuple:
    dims = []
    for d in (p.strip() for p in text.split(",")):
        if d:
            dims.append(int(d) if d.lstrip("-").isdigit() else _symbolic(d, parser, i))
    return tuple(dims)


def _split_comment(text: str):
    """(code, source location text or None); '#' never occurs inside the code part."""
    code, sep, comment = text.partition("  # ")
    return code.rstrip(), (comment.strip() if sep else None)


def _loc(text):
    if text is None:
        return None
    m = _LOC.match(text)
    return SourceLocation(m["file"], int(m["line"]), m["fn"]) if m else None


def _renumber(g: Graph) -> None:
    """New values added to the parsed graph get names after the printed ones."""
    nums = [int(v.name) for n in g.nodes for v in n.outputs if v.name.isdigit()]
    g._counter = max(nums, default=-1) + 1
