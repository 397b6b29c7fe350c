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
    elif getattr(program, "bwd_graph", None) is None:
        graph.donations = _donations(program)
    program.optimized = _drop_unused_inputs(
        program, run_passes(graph, disable=owner.disable, debug=owner.debug)
    )
    plan = getattr(program.optimized, "memory_plan", None)
    donors = set(plan.donated.values()) if plan is not None else set()
    program.donated = [i for i, v in enumerate(program.optimized.inputs) if v in donors]
    from ember.compiler.debug import checker

    if owner.debug:
        program.debug = checker(program.optimized)
    program.fn = generate(program.optimized)
    if getattr(program, "bwd_graph", None) is not None:
        program.bwd_optimized = run_passes(
            program.bwd_graph, disable=owner.disable, debug=owner.debug
        )
        if owner.debug:
            program.debug_bwd = checker(program.bwd_optimized)
        program.bwd_fn = generate(program.bwd_optimized)
    return program


def _donations(program) -> dict:
    """{graph output: graph input} positions of the write-backs (parameters, optimizer
    state) whose new value may be computed in the written array itself (passes.memory)."""
    g = program.graph
    n_args = len(program.arg_index)
    if len(g.inputs) != n_args + len(program.captures):
        return {}
    n_user = len(g.outputs) - len(program.writes) - sum(has for _, has in program.grads)
    out = {}
    for k, target in enumerate(program.writes):
        if isinstance(target, tuple):  # ("arg", i)
            pos = program.arg_index.index(target[1])
        else:
            pos = next((n_args + j for j, c in enumerate(program.captures) if c is target), None)
        if pos is not None:
            out[n_user + k] = pos
    return out


def _drop_unused_inputs(program, graph):
    """Inputs no node reads are not fed at all (``zero_grad`` reads every old ``.grad``)."""
    used = {id(v) for n in graph.nodes for v in n.input_values()}
    used |= {id(v) for v in graph.outputs}
    keep = [id(v) in used for v in graph.inputs]
    graph.inputs = [v for v, k in zip(graph.inputs, keep) if k]
    program.arg_index = [i for i in range(program.n_args) if keep[i]]
    program.captures = [c for c, k in zip(program.captures, keep[program.n_args :]) if k]
    return graph


class DynamicTemplates:
    """Per dynamic signature: the concrete traces seen so far, then the symbolic graph."""

    def __init__(self):
        self.samples: dict = {}  # dynamic key -> (batch, program)
        self.templates: dict = {}  # dynamic key -> (symbolic graph, symbolic backward, sample)
        self.failed: set = set()  # dynamic keys whose traces do not unify

    def instantiate(self, dkey, b: int, owner):
        entry = self.templates.get(dkey)
        if entry is None:
            return None
        graph, bwd, sample = entry
        if not sample.guards_hold():
            return None
        from ember.compiler.dynamic import instantiate
        from ember.ir.verify import verify

        concrete = instantiate(graph, b)
        verify(concrete)  # a batch size the symbolic fit does not hold for fails here
        program = sample.respecialized(concrete, None if bwd is None else instantiate(bwd, b))
        return finalize(program, owner)

    def add_sample(self, dkey, b: int, program) -> None:
        """Remember a concrete trace; with two batch sizes, build the symbolic graph."""
        if dkey in self.templates or dkey in self.failed:
            return
        prev = self.samples.get(dkey)
        if prev is None or prev[0] == b:
            self.samples[dkey] = (b, program)
            return
        from ember.compiler.dynamic import Mismatch, unify

        (b1, p1), p2 = prev, program
        try:
            if p1.out_spec != p2.out_spec or len(p1.all_captures) != len(p2.all_captures):
                raise Mismatch("different call structure")
            graph = unify(p1.graph, p2.graph, b1, b)
            bwd = None
            if getattr(p2, "bwd_graph", None) is not None:
                bwd = unify(p1.bwd_graph, p2.bwd_graph, b1, b)
        except Mismatch as exc:
            self.failed.add(dkey)
            warnings.warn(
                f"ember.compile: dynamic=True, but the traced graphs at batch sizes {b1} "
                f"and {b} differ in more than the batch size ({exc}); compiling one graph "
                "per batch size instead",
                RetraceWarning,
                stacklevel=4,
            )
            return
        self.templates[dkey] = (graph, bwd, p2)
        del self.samples[dkey]
