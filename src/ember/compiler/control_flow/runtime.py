"""Running control-flow nodes on arrays: the loops shared by the reference interpreter, the
generated NumPy code and the trace (which computes the eager result the same way).

Each kernel takes *runners* for its sub-graphs (``fn(*arrays) -> tuple of arrays``): the
interpreter passes ``run_graph`` closures, the code generator functions generated from the
optimized sub-graphs. Registered into the executors' tables at import.
"""

from __future__ import annotations

import numpy as np

from ember.backends.numpy import codegen
from ember.ir import interpreter
from ember.ir.interpreter import run_graph


def truth(pred) -> bool:
    return bool(np.asarray(pred).reshape(-1)[0])


def run_cond(true_fn, false_fn, pred, args) -> tuple:
    return tuple((true_fn if truth(pred) else false_fn)(*args))


def run_while(cond_fn, body_fn, carried, caps) -> tuple:
    carry = tuple(carried)
    while truth(cond_fn(*carry, *caps)[0]):
        carry = tuple(body_fn(*carry, *caps))
    return carry


def run_scan(body_fn, init, xs, caps, dim: int, reverse: bool) -> tuple:
    """(final carry..., stacked ys...); ys[i] is the output of the step that read xs[i]."""
    n = xs[0].shape[dim % xs[0].ndim]
    carry = tuple(init)
    nc = len(carry)
    steps: list = [None] * n
    index = [(slice(None),) * (dim % x.ndim) for x in xs]
    for i in range(n - 1, -1, -1) if reverse else range(n):
        out = body_fn(*carry, *(x[ix + (i,)] for x, ix in zip(xs, index)), *caps)
        carry = tuple(out[:nc])
        steps[i] = out[nc:]
    ny = len(steps[0]) if n else 0
    ys = [np.stack([s[j] for s in steps], axis=dim % (np.ndim(steps[0][j]) + 1)) for j in range(ny)]
    return carry + tuple(ys)


def interpreted(graph):
    return lambda *args: run_graph(graph, list(args))


def generated(graph):
    from ember.passes import run_passes

    return codegen.generate(run_passes(graph))


# ---- one adapter per op: node + runner factory -> fn(*node inputs) -> tuple ----------------


def cond_kernel(node, make):
    t, f = make(node.subgraphs["true_fn"]), make(node.subgraphs["false_fn"])

    def run(pred, *args):
        return run_cond(t, f, pred, args)

    return run


def while_kernel(node, make):
    c, b = make(node.subgraphs["cond_fn"]), make(node.subgraphs["body_fn"])
    n = node.attrs["n_carry"]

    def run(*args):
        return run_while(c, b, args[:n], args[n:])

    return run


def scan_kernel(node, make):
    body = make(node.subgraphs["combine_fn"])
    nc, nx = node.attrs["n_carry"], node.attrs["n_xs"]
    dim, reverse = node.attrs["dim"], node.attrs["reverse"]

    def run(*args):
        return run_scan(body, args[:nc], args[nc : nc + nx], args[nc + nx :], dim, reverse)

    return run


KERNELS = {"cond": cond_kernel, "while_loop": while_kernel, "scan": scan_kernel}


def _register() -> None:
    for op, kernel in KERNELS.items():
        interpreter.SPECIAL[op] = _special(kernel)
        codegen.NODE_KERNELS[op] = _factory(kernel)


def _special(kernel):
    return lambda node, args: kernel(node, interpreted)(*args)


def _factory(kernel):
    return lambda node: kernel(node, generated)


_register()
