"""A traced call ready to run: the optimized graph, its executable, and its effects.

Running a program feeds the graph the call's tensor arguments and the live contents of every
captured tensor (parameters, buffers, optimizer state), runs the generated function, then
applies the call's effects as eager mode would have: in-place updates are copied into the
tensors' storage (bumping their version counters) and ``.grad`` attributes are set.
"""

from __future__ import annotations

import numpy as np

from ember.compiler import runner
from ember.compiler.pytree import unflatten
from ember.core.tensor import _wrap
from ember.ir.errors import ExecutionError
from ember.ir.graph import Value
from ember.ir.interpreter import run_graph


class Program:
    """One cache entry of a compiled function (see ``ember.compile``)."""

    def __init__(self, graph, captures, out_spec, writes, grads, guards, n_args):
        self.graph = graph  # as traced
        self.optimized = graph  # after the passes (set by the compiler)
        self.captures = captures
        self.all_captures = list(captures)  # as traced (finalize drops unused ones)
        self.out_spec = out_spec
        self.writes = writes  # ("arg", i) or a Capture, in graph output order
        self.grads = grads  # (tensor, has a value) in graph output order
        self.guards = guards
        self.n_args = n_args
        self.arg_index = list(range(n_args))  # the arguments the graph reads
        self.fn = None  # the executable, set by the compiler
        self.reusable = True
        self.requires_grad = False
        self.debug = None  # a check(node, outputs) callable for debug mode
        self.debug_bwd = None
        self.aliased = None  # (graph, positions of outputs to copy), see ``unaliased``
        self.donated = []  # input positions the generated code writes into (``protect``)
        self._generated = None  # (guards_hold, run) from ember.compiler.runner, () if none

    def respecialized(self, graph, bwd_graph=None):
        """A fresh program of the same call structure over another graph (a dynamic-batch
        instantiation)."""
        p = Program(
            graph,
            list(self.all_captures),
            self.out_spec,
            self.writes,
            self.grads,
            self.guards,
            self.n_args,
        )
        return p

    def guards_hold(self) -> bool:
        generated = self._generated_code()
        if generated:
            return generated[0]()
        for check, expected in self.guards:
            if check() != expected:
                return False
        return True

    def _generated_code(self):
        """``(guards_hold, run)`` written out as Python by ``ember.compiler.runner`` once
        the program is finalized, else ``()`` or None (not finalized yet): debug mode and
        the subclasses keep the loops of this class."""
        if self._generated is None and self.fn is not None:
            plain = type(self) is Program and self.debug is None
            self._generated = runner.build(self) if plain else ()
        return self._generated

    def feed(self, leaves) -> list:
        arrays = [leaves[i]._data for i in self.arg_index]
        for c in self.captures:
            arrays.append(c.tensor._data if c.tensor is not None else c.get())
        return arrays

    def run(self, leaves):
        generated = self._generated_code()
        if generated:
            return generated[1](leaves)
        arrays = self.feed(leaves)
        if self.donated and self.debug is None:
            arrays = protect(arrays, self.donated)
        outs = execute(self.optimized, self.fn, arrays, self.debug)
        return self.finish(leaves, outs)

    def finish(self, leaves, outs):
        """Apply the call's effects, then build its results."""
        arrays = self.apply_effects(leaves, outs)
        return unflatten(self.out_spec, self.make_outputs(leaves, arrays))

    def make_outputs(self, leaves, arrays) -> list:
        return [_wrap(_owned(a)) for a in arrays]

    def apply_effects(self, leaves, outs) -> list:
        """Copy write-backs into their tensors and set ``.grad``s; returns the user outputs."""
        outs = self.unaliased(outs)
        n_user = len(outs) - len(self.writes) - sum(has for _, has in self.grads)
        k = n_user
        for target in self.writes:
            new = outs[k]
            k += 1
            if isinstance(target, tuple):  # ("arg", i)
                t = leaves[target[1]]
            elif target.set is not None:
                target.set(new)
                continue
            else:
                t = target.tensor
            if new is not t._data:  # (a donated input was written in place already)
                np.copyto(t._data, new, casting="unsafe")
            t._vc[0] += 1
        given = set()
        for t, has in self.grads:
            if isinstance(t, tuple):  # ("arg", i)
                t = leaves[t[1]]
            if not has:
                t._grad = None
                continue
            g = outs[k]
            k += 1
            if id(g) in given or not isinstance(g, np.ndarray):
                g = np.array(g)  # two .grads never share storage
            given.add(id(g))
            t._grad = _wrap(g)
        return outs[:n_user]

    def unaliased(self, outs) -> list:
        """``outs`` with a copy of each result that is a graph input, a constant or an earlier
        result: after the passes ``x * 1`` returns ``x`` itself and two equal expressions one
        value, but eager mode gives every result its own storage, and a caller writing into
        a result must not change a constant (or a tensor written back later)."""
        if self.aliased is None or self.aliased[0] is not self.optimized:
            self.aliased = (self.optimized, aliased_outputs(self.optimized))
        positions = self.aliased[1]
        if not positions:
            return outs
        outs = list(outs)
        for i in positions:
            if i < len(outs):
                outs[i] = np.array(outs[i])
        return outs


def aliased_outputs(graph) -> tuple:
    """Positions of the graph outputs that are inputs, constants or repeat an earlier one."""
    own = {id(v) for v in graph.inputs + graph.constants}
    seen: set = set()
    positions = []
    for i, v in enumerate(graph.outputs):
        if isinstance(v, Value):
            if id(v) in own or id(v) in seen:
                positions.append(i)
            seen.add(id(v))
    return tuple(positions)


def protect(arrays, donated) -> list:
    """``arrays`` with a private copy of each donated input that shares its memory with
    another input or cannot be written: the generated code writes donated inputs in place,
    which must not change another input it has yet to read."""
    bases = [id(a if getattr(a, "base", None) is None else a.base) for a in arrays]
    if len(set(bases)) == len(bases) and all(arrays[i].flags.writeable for i in donated):
        return arrays
    arrays = list(arrays)
    for i in donated:
        if bases.count(bases[i]) > 1 or not arrays[i].flags.writeable:
            arrays[i] = arrays[i].copy()
    return arrays


def execute(graph, fn, arrays, debug=None):
    """Run the generated ``fn`` (or, in debug mode, the interpreter with checks). A failure
    is re-run node by node to name the failing node: the graph is pure and no effect has
    been applied yet, so the interpreter sees the same inputs (except donated inputs written
    before the failure: parameters are then partly updated, as a failing eager optimizer
    step leaves them)."""
    if debug is not None:
        with np.errstate(all="ignore"):  # the checker reports NaN/Inf itself, naming the node
            return run_graph(graph, arrays, check=debug)
    try:
        return fn(*arrays)
    except Exception as exc:  # noqa: BLE001 - located by the reference interpreter
        try:
            run_graph(graph, arrays)
        except ExecutionError as located:
            raise located from exc
        except Exception:  # noqa: BLE001 - fall through to the generic message
            pass
        raise ExecutionError(
            f"compiled {graph.name} failed: {type(exc).__name__}: {exc} (the reference "
            "interpreter ran the same graph without error: please report this)"
        ) from exc


def _owned(a):
    return a if isinstance(a, np.ndarray) else np.asarray(a)
