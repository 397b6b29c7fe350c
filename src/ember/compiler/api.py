"""``ember.compile``: trace a function or module once per input signature and run the graph.

>>> import ember
>>> model = ember.nn.Linear(3, 2)
>>> fast = ember.compile(model)
>>> x = ember.randn(4, 3)
>>> ember.testing.assert_close(fast(x), model(x))
>>> fast(ember.randn(4, 3)).shape           # same signature: the cached graph runs
(4, 2)
>>> print(fast.graph(x).nodes[0].op)
linear
"""

from __future__ import annotations

import functools
import os

from ember.compiler import cache as _cache
from ember.compiler.capture import trace
from ember.compiler.pytree import flatten
from ember.core import grad_mode, trace_hooks

# After this many graphs for one function a warning names the argument that keeps changing.
RETRACE_WARN = 8


class _Config:
    """``ember.config``: global switches. ``compile_enabled = False`` (or the environment
    variable ``EMBER_DISABLE_COMPILE=1``) makes every compiled function run eagerly."""

    def __init__(self):
        self.compile_enabled = os.environ.get("EMBER_DISABLE_COMPILE", "") in ("", "0")


config = _Config()


def compile(  # noqa: A001 - ember.compile mirrors torch.compile
    fn=None,
    *,
    dynamic=None,
    freeze: bool = False,
    debug: bool = False,
    disable=(),
):
    """Compile ``fn`` (a function, a ``Module`` or a training step) into cached graphs.

    ``dynamic=True`` makes dim 0 of every tensor argument symbolic, so one graph serves
    every batch size; ``freeze=True`` folds parameters and buffers into the graph as
    constants (inference only: later weight updates are not seen); ``debug=True`` runs the
    graph node by node, checking every result for NaN/Inf and for the shape the graph
    promises, and reports the first bad node with its source line. ``disable`` names passes
    to skip. Usable as a decorator, with or without arguments.

    >>> import ember
    >>> model = ember.nn.Linear(3, 2)
    >>> fast = ember.compile(model)
    >>> x = ember.randn(4, 3)
    >>> _ = fast(x)  # the first call traces (and runs eagerly)
    >>> bool((fast(x) == model(x)).all()), len(fast.programs)  # later calls run the graph
    (True, 1)
    """
    if fn is None:
        return functools.partial(
            compile, dynamic=dynamic, freeze=freeze, debug=debug, disable=disable
        )
    return CompiledFunction(fn, dynamic=dynamic, freeze=freeze, debug=debug, disable=disable)


class CompiledFunction:
    """The callable ``ember.compile`` returns: same results and effects as ``fn``."""

    def __init__(self, fn, *, dynamic=None, freeze=False, debug=False, disable=()):
        self.fn = fn
        self.dynamic = dynamic
        self.freeze = freeze
        self.debug = debug
        self.disable = tuple(disable)
        self.cache = _cache.Cache(self)
        self.dynamic_templates = _cache.DynamicTemplates()
        functools.update_wrapper(self, fn, updated=())

    @property
    def name(self) -> str:
        fn = self.fn
        return getattr(fn, "__name__", None) or type(fn).__name__.lower()

    def __call__(self, *args, **kwargs):
        if not config.compile_enabled or trace_hooks.tracer[0] is not None:
            # disabled, or called while another function is being traced: run the Python
            # code so that the outer trace records it
            return self.fn(*args, **kwargs)
        leaves, spec = flatten((args, kwargs))
        key = self.key(spec, leaves)
        program = self.cache.lookup(key, leaves)
        if program is not None:
            return program.run(leaves)
        batch = _batch(leaves) if self.dynamic else None
        if batch is not None:
            dkey = self.key(spec, leaves, dynamic=True)
            program = self.dynamic_templates.instantiate(dkey, batch, self)
            if program is not None:
                self.cache.entries.setdefault(key, []).append(program)
                return program.run(leaves)
        program, result = trace(self.fn, args, kwargs, leaves, self.name)
        if program.reusable:
            self.cache.add(key, _cache.finalize(program, self), leaves, args, kwargs)
            if batch is not None:
                self.dynamic_templates.add_sample(dkey, batch, program)
        return result

    def key(self, spec, leaves, dynamic: bool = False) -> tuple:
        if dynamic:  # the batch (dim 0) left out
            metas = tuple((t._data.dtype, t._data.shape[1:], t._rg) for t in leaves)
        else:
            metas = tuple((t._data.dtype, t._data.shape, t._rg) for t in leaves)
        return (spec, metas, grad_mode._enabled[0], _training(self.fn))

    @property
    def symbolic_graph(self):
        """The graph shared by every batch size (``dynamic=True``), once two batch sizes
        have been traced; None before."""
        for graph, _, _ in self.dynamic_templates.templates.values():
            return graph
        return None

    # ---- inspection ---------------------------------------------------------------------

    def graph(self, *args, optimized: bool = True, **kwargs):
        """The graph the given arguments run (tracing them if needed)."""
        leaves, spec = flatten((args, kwargs))
        key = self.key(spec, leaves)
        program = self.cache.lookup(key, leaves)
        if program is None:
            program, _ = trace(self.fn, args, kwargs, leaves, self.name)
            program = _cache.finalize(program, self)
        return program.optimized if optimized else program.graph

    @property
    def programs(self) -> list:
        return self.cache.programs()

    def __repr__(self) -> str:
        return f"<ember.compile of {self.name}: {len(self.programs)} graphs>"


def _batch(leaves):
    """The common size of dim 0 of every tensor argument (the batch), or None."""
    sizes = {t._data.shape[0] if t._data.ndim else None for t in leaves}
    if len(sizes) != 1:
        return None
    (b,) = sizes
    return b


def _training(fn):
    training = getattr(fn, "training", None)
    if training is None:
        owner = getattr(fn, "__self__", None)
        training = getattr(owner, "training", None)
    return training
