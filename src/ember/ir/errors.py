"""Errors of compiled code that point at the user's source line."""

from __future__ import annotations

import numpy as np

from ember.errors import EmberError


class ExecutionError(EmberError, RuntimeError):
    """A node failed while a compiled graph ran; the message names the node, its op, its
    inputs and the user's source line that created it."""

    def __init__(self, message, node=None):
        super().__init__(message)
        self.node = node


class TraceError(EmberError, RuntimeError):
    """Something a traced function did that a graph cannot capture (a Python branch on a
    tensor's value, ``.item()``, an in-place change of a view ...)."""


class GraphError(EmberError, ValueError):
    """A malformed graph (the verifier's and the parser's errors)."""


def describe_operand(a) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.dtype}{list(a.shape)}"
    return repr(a)


def where(loc) -> str:
    return f"{loc[0]}:{loc[1]} in {loc[2]}" if loc else "an unknown source line"


def node_error(node, args, exc: Exception) -> ExecutionError:
    inputs = ", ".join(describe_operand(a) for a in args)
    out = node.outputs[0].name if node.outputs else "?"
    err = ExecutionError(
        f"compiled node %{out} = {node.op}({inputs}) failed: {type(exc).__name__}: {exc}\n"
        f"  the node was created at {where(node.loc)}",
        node,
    )
    return err
