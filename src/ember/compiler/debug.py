"""``ember.compile(..., debug=True)``: check every node's result as the graph runs."""

from __future__ import annotations

import numpy as np

from ember.ir.errors import ExecutionError, where


def checker(graph):
    """A ``check(node, outputs)`` for the interpreter: the first node whose result has a
    shape or dtype other than the graph promises, or holds NaN/Inf, raises an error naming
    the node, its op and the user's source line."""

    def check(node, outs):
        for v, a in zip(node.outputs, outs):
            a = np.asarray(a)
            if (
                a.shape
                != tuple(d if isinstance(d, int) else a.shape[i] for i, d in enumerate(v.shape))
                or a.dtype != v.dtype
            ):
                raise ExecutionError(
                    f"debug: node %{v.name} = {node.op}(...) produced {a.dtype}{list(a.shape)} "
                    f"but the graph says {v.type_str()}; created at {where(node.loc)}",
                    node,
                )
            if a.dtype.kind in "fc" and not np.isfinite(a).all():
                bad = "NaN" if np.isnan(a).any() else "Inf"
                raise ExecutionError(
                    f"debug: node %{v.name} = {node.op}(...) produced {bad} "
                    f"({a.dtype}{list(a.shape)}); created at {where(node.loc)}",
                    node,
                )

    return check
