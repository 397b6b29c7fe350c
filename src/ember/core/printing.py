"""PyTorch-style ``repr`` of tensors: ``tensor([1.5000, 2.0000], requires_grad=True)``.

The layout follows PyTorch's printing rules (precision 4, summarised above 1000 elements with
3 edge items, lines of at most 80 columns) so that output reads the same as in PyTorch:

* floats whose non-zero finite values are all integral print as ``1.``; others in fixed
  point with 4 decimals; scientific notation when the largest/smallest non-zero magnitude
  ratio exceeds 1000, the largest exceeds 1e8, or (non-integral values) the smallest is
  below 1e-4;
* every element is right-aligned to the width of the widest non-zero finite value;
* dtypes a literal would infer (the default float, int64, bool) are not shown.

>>> import ember
>>> ember.tensor([[1.0, 2.5], [-3.0, 4.0]])
tensor([[ 1.0000,  2.5000],
        [-3.0000,  4.0000]])
>>> ember.tensor([True, False])
tensor([ True, False])
"""

from __future__ import annotations

import math

import numpy as np

from ember import dtypes as D

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


class _Formatter:
    """Decides the notation and the common width from the (summarised) values."""

    def __init__(self, a: np.ndarray):
        self.floating = a.dtype.kind == "f"
        self.int_mode = True
        self.sci = False
        self.width = 1
        if not self.floating:
            self.width = max((len(str(v)) for v in a.ravel().tolist()), default=1)
            return
        v = a.ravel().astype(np.float64)
        v = v[np.isfinite(v) & (v != 0)]
        if v.size == 0:
            return
        mag = np.abs(v)
        lo, hi = float(mag.min()), float(mag.max())
        self.int_mode = bool(np.all(v == np.ceil(v)))
        self.sci = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        self.width = max(len(self._text(x)) for x in v.tolist())

    def _text(self, x: float) -> str:
        if self.sci:
            return f"{x:.{PRECISION}e}"
        if self.int_mode:
            return f"{x:.0f}" if math.isinf(x) or math.isnan(x) else f"{x:.0f}."
        return f"{x:.{PRECISION}f}"

    def format(self, x) -> str:
        return (self._text(x) if self.floating else str(x)).rjust(self.width)


def _summarized(a: np.ndarray) -> np.ndarray:
    """Only the values that will be printed (edge items of every dimension)."""
    for axis in range(a.ndim):
        if a.shape[axis] > 2 * EDGEITEMS:
            keep = np.r_[0:EDGEITEMS, a.shape[axis] - EDGEITEMS : a.shape[axis]]
            a = np.take(a, keep, axis=axis)
    return a


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        items = [fmt.format(v) for v in a[:EDGEITEMS].tolist()]
        items += [" ..."] + [fmt.format(v) for v in a[-EDGEITEMS:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    n = a.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = list(range(EDGEITEMS)) + [None] + list(range(n - EDGEITEMS, n))
    else:
        rows = range(n)
    parts = ["..." if i is None else _nested(a[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def array_str(a: np.ndarray, indent: int = 0) -> str:
    """The bracketed body PyTorch prints for ``a`` (nested lines indented by ``indent``)."""
    if a.size == 0:
        return "[]"
    summarize = a.size > THRESHOLD
    fmt = _Formatter(_summarized(a) if summarize else a)
    return _nested(a, indent, summarize, fmt)


def _join_suffixes(body: str, suffixes: list, indent: int) -> str:
    """Append ``, suffix`` items, wrapping to a new line where the 80 columns run out."""
    out = [body]
    last = len(body) - body.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


def tensor_repr(t) -> str:
    a = t._data
    prefix = "tensor("
    default = D.get_default_dtype()
    dtype = D._BY_NP[a.dtype]
    suffixes = []
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype=ember.{dtype.name}")
    elif dtype not in (default, D.int64, D.bool_):
        suffixes.append(f"dtype=ember.{dtype.name}")
    if t._node is not None:
        suffixes.append(f"grad_fn=<{t._node.name()}>")
    elif t._rg:
        suffixes.append("requires_grad=True")
    return _join_suffixes(prefix + array_str(a, len(prefix)), suffixes, len(prefix))
