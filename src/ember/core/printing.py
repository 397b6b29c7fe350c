"""PyTorch-style ``repr`` of tensors: ``tensor([1.5000, 2.0000], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

from ember import dtypes as D

# dtypes PyTorch leaves out of the repr because they are what a literal would infer.
_IMPLICIT = {"float32", "int64", "bool"}


def _body(a: np.ndarray) -> str:
    if a.size == 0:
        return "[]" if a.ndim <= 1 else "[]"
    if a.dtype.kind == "f":
        finite = a[np.isfinite(a)]
        integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        big = finite.size > 0 and (
            np.abs(finite).max() >= 1e8
            or (np.abs(finite[finite != 0]).min() < 1e-4 if np.any(finite != 0) else False)
        )
        if big:
            opts = dict(precision=4, floatmode="fixed", sign="-")
            fmt = {"float_kind": lambda v: f"{v:.4e}"}
            return np.array2string(
                a, separator=", ", formatter=fmt, prefix="tensor(", threshold=1000, edgeitems=3
            )
        opts = dict(precision=4, floatmode="maxprec" if integral else "fixed")
        return np.array2string(
            a, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3, **opts
        )
    if a.dtype.kind == "b":
        return np.array2string(
            a,
            separator=", ",
            prefix="tensor(",
            threshold=1000,
            edgeitems=3,
            formatter={"bool": lambda v: "True" if v else "False"},
        )
    return np.array2string(a, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)


def tensor_repr(t) -> str:
    a = t._data
    extras = []
    if a.size == 0 and a.ndim != 1:
        extras.append(f"size={tuple(a.shape)}")
    name = D._BY_NP[a.dtype].name
    if name not in _IMPLICIT or (name == "float32" and D.get_default_dtype().name != "float32"):
        extras.append(f"dtype=ember.{name}")
    if t._node is not None:
        extras.append(f"grad_fn=<{t._node.name()}>")
    elif t._rg:
        extras.append("requires_grad=True")
    body = _body(a)
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
