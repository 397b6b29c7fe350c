"""The per-function graph cache: one program per input signature, guarded by Python facts.

The key is the signature (argument structure and Python values, each tensor's dtype, shape
and requires_grad, grad mode, training flag). Within a key, a program also carries guards
(facts the trace relied on, such as whether a parameter had a ``.grad`` yet); the first
program whose guards hold runs. Too many graphs for one function means something changes
every call: the warning names the argument.
"""

from __future__ import annotations

import warnings

from ember.backends.numpy.codegen import generate
from ember.ir.graph import Graph
from ember.passes import run_passes


class RetraceWarning(UserWarning):
    """A compiled function traced more graphs than expected."""


class Cache:
    def __init__(self, owner):
        self.owner = owner
        self.entries: dict = {}
        self.keys: list = []  # in the order traced
        self.warned = False

    def lookup(self, key, leaves):
        for program in self.entries.get(key, ()):
            if program.guards_hold():
                return program
        return None

    def add(self, key, program, leaves, args, kwargs) -> None:
        self.entries.setdefault(key, []).append(program)
        self.keys.append(key)
        from ember.compiler.api import RETRACE_WARN

        if len(self.keys) > RETRACE_WARN and not self.warned:
            self.warned = True
            warnings.warn(self.explain(program), RetraceWarning, stacklevel=3)

    def explain(self, program) -> str:
        names = [v.name for v in program.graph.inputs[: program.n_args]]
        changing = _changing(self.keys, names)
        what = f" because {changing} changes between calls" if changing else ""
        return (
            f"ember.compile: {self.owner.name} has been traced {len(self.keys)} times{what}. "
            "Each new signature builds a new graph; pass dynamic=True to make the batch "
            "dimension symbolic, or keep Python arguments constant"
        )

    def programs(self) -> list:
        return [p for ps in self.entries.values() for p in ps]


def _changing(keys, names) -> str:
    """Which argument differs across the traced signatures (shape, dtype or a Python value)."""
    a, b = keys[-2], keys[-1]
    if a[0] != b[0]:
        return "a non-tensor argument (a Python value or the argument structure)"
    parts = []
    for i, (ma, mb) in enumerate(zip(a[1], b[1])):
        if ma != mb:
            label = names[i] if i < len(names) else f"tensor argument {i}"
            what = "shape" if ma[1] != mb[1] else ("dtype" if ma[0] != mb[0] else "requires_grad")
            parts.append(f"the {what} of {label!r} ({_fmt(ma, what)} -> {_fmt(mb, what)})")
    if parts:
        return ", ".join(parts)
    if a[2] != b[2]:
        return "grad mode"
    if a[3] != b[3]:
        return "the training flag"
    return ""


def _fmt(meta, what):
    return {"shape": meta[1], "dtype": meta[0], "requires_grad": meta[2]}[what]


def finalize(program, owner):
    """Optimize the traced graph and generate its executable."""
    graph: Graph = program.graph
    if owner.freeze:
        from ember.compiler.freeze import freeze

        graph = freeze(program)
    program.optimized = _drop_unused_inputs(
        program, run_passes(graph, disable=owner.disable, debug=owner.debug)
    )
    if owner.debug:
        from ember.compiler.debug import checker

        program.debug = checker(program.optimized)
    program.fn = generate(program.optimized)
    return program


def _drop_unused_inputs(program, graph):
    """Inputs no node reads are not fed at all (``zero_grad`` reads every old ``.grad``)."""
    used = {id(v) for n in graph.nodes for v in n.input_values()}
    used |= {id(v) for v in graph.outputs}
    keep = [id(v) in used for v in graph.inputs]
    graph.inputs = [v for v, k in zip(graph.inputs, keep) if k]
    program.arg_index = [i for i in range(program.n_args) if keep[i]]
    program.captures = [c for c, k in zip(program.captures, keep[program.n_args :]) if k]
    return graph
