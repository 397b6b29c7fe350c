"""Capture a graph by running a function eagerly and recording every op it dispatches.

Tracing executes the function once on its real inputs (so the first call's results and side
effects are eager mode's own) while eager dispatch reports every op to the active ``Tracer``.
Each array the traced code computes is an SSA ``Value``; arrays the code reads without having
computed them (parameters, buffers, optimizer state, tensors in closures) are *captured*:
they become graph inputs fed from the live tensor at every call, so a compiled model sees
weight updates. In-place ops are turned into pure ones: the mutated tensor stands for the
op's result from then on, and at the end every captured tensor whose value changed becomes a
*write-back* output (copied into its storage after each run, as eager mode would have
changed it), and every changed ``.grad`` a gradient output.

Python control flow over Python values is unrolled; reading a tensor's value into Python
(``bool(x)``, ``.item()``) raises ``TraceError`` naming the user's line.
"""

from __future__ import annotations

import numpy as np

from ember.core import trace_hooks
from ember.core.source import user_location
from ember.core.tensor import Tensor
from ember.ir.errors import TraceError, where
from ember.ir.graph import LITERALS, Graph, Value


class Capture:
    """A graph input fed from outside the call's arguments.

    ``tensor`` is the live tensor read at every call (``get`` is used instead for state held
    as bare arrays, such as optimizer moments); ``grad0`` is its ``.grad`` when captured."""

    __slots__ = ("value", "tensor", "get", "set", "array", "grad0", "name")

    def __init__(self, value, tensor=None, get=None, array=None, name=None, set=None):
        self.value = value
        self.tensor = tensor
        self.get = get
        self.set = set  # stores a write-back for state read through ``get``
        self.array = array
        self.grad0 = tensor._grad if tensor is not None else None
        self.name = name

    def current(self) -> np.ndarray:
        return self.tensor._data if self.tensor is not None else self.get()


class Tracer:
    """Records ops into ``self.graph`` while active (see ``tracing``)."""

    def __init__(self, name: str = "graph"):
        self.graph = Graph(name)
        self.values: dict[int, Value] = {}  # id(array) -> the value it holds now
        self.keep: list = []  # every array seen, so that ids stay unique while tracing
        self.args: list = []  # (value, tensor) of the call's tensor arguments
        self.arg_grads: list = []  # their .grad when the call began
        self.captures: list[Capture] = []
        self.views: dict[int, list] = {}  # id(source array) -> [(view array, op, attrs)]
        self.view_of: dict[int, int] = {}  # id(view array) -> id(source array)
        self.ran_backward = False
        # The source line of each autograd node recorded while tracing, and the one whose
        # VJP is running: backward nodes point at the forward line they differentiate.
        self.locs: dict = {}
        self.vjp_loc = None
        self.names: dict[int, str] = {}  # id(tensor) -> a readable input name
        # (check, expected): Python facts the graph depends on, re-checked at every call
        self.guards: list = []
        # Set when the call created state (the optimizer's first step): its graph is not
        # the one later calls need, so it is not cached.
        self.unstable = False

    # ---- values ---------------------------------------------------------------------

    def add_arg(self, t: Tensor, name: str) -> Value:
        v = self.graph.add_input(t._data.dtype, t._data.shape, name)
        self._bind(t._data, v)
        self.args.append((v, t))
        self.arg_grads.append(t._grad)
        return v

    def _bind(self, array: np.ndarray, v: Value) -> None:
        self.values[id(array)] = v
        self.keep.append(array)

    def value_of(self, t) -> Value:
        """The value a tensor (or array) argument holds, capturing it if it is new."""
        a = t._data if isinstance(t, Tensor) else t
        v = self.values.get(id(a))
        if v is not None:
            return v
        if not isinstance(t, Tensor):  # an array made by the traced code: its value now
            v = self.graph.add_const(a.copy())
            self._bind(a, v)
            return v
        return self.capture(t)

    def capture(self, t, get=None, name=None, set=None) -> Value:
        """Make ``t`` (a tensor, or an array read through ``get``) a live graph input."""
        a = t._data if isinstance(t, Tensor) else t
        if name is None and isinstance(t, Tensor):
            name = self.names.get(id(t))
        name = _unique(name or f"cap{len(self.captures)}", self.graph)
        v = self.graph.add_input(a.dtype, a.shape, name)
        tensor = t if isinstance(t, Tensor) and get is None else None
        if tensor is None and get is None:
            get = _constant_getter(a)
        self.captures.append(Capture(v, tensor, get, a, name, set))
        self._bind(a, v)
        if tensor is not None:
            self.guards.append((MetaCheck(tensor), (a.shape, a.dtype)))
            if tensor._rg:  # whether backward will set or add to .grad
                self.guards.append((GradIsNone(tensor), tensor._grad is None))
        return v

    def constant(self, t: Tensor) -> None:
        """A tensor created inside the traced code (``ember.zeros``): its contents now are
        a constant of the graph, whatever in-place ops do to it later."""
        self._bind(t._data, self.graph.add_const(t._data.copy()))

    def read_grad(self, t: Tensor) -> None:
        """``t.grad`` is about to be read: if it predates the call, it is an input read
        from ``t`` at every call (the ``.grad`` object itself is replaced between calls)."""
        g = t._grad
        if g is None or id(g._data) in self.values:
            return
        name = self.names.get(id(t), f"cap{len(self.captures)}") + "_grad"
        self.capture(g._data, get=lambda: t._grad._data, name=name)

    def operand(self, a):
        if isinstance(a, Tensor) or isinstance(a, np.ndarray):
            return self.value_of(a)
        if isinstance(a, LITERALS):
            return a
        if isinstance(a, np.generic):
            return a.item()
        raise TraceError(f"trace: cannot record an operand of type {type(a).__name__}")

    # ---- recording (called by eager dispatch) ---------------------------------------

    def record(self, op, args, attrs, out: Tensor) -> None:
        inputs = [self.operand(a) for a in args]
        data = out._data
        loc = self.vjp_loc or user_location(3)
        node = self.graph.add_node(
            op.name, inputs, attrs, shape=data.shape, dtype=data.dtype, loc=loc
        )
        self._bind(data, node.outputs[0])
        if out._node is not None:  # its VJP's nodes will point at this line too
            self.locs[id(out._node)] = (out._node, loc)  # (kept alive: ids stay unique)
        if op.view and data.base is not None and args and isinstance(args[0], Tensor):
            src = args[0]._data
            if data.base is src or (src.base is not None and data.base is src.base):
                self.views.setdefault(id(src), []).append((data, op.name, dict(attrs)))
                self.view_of[id(data)] = id(src)

    def mutate(self, t: Tensor, value: np.ndarray, name: str) -> None:
        """Before ``value`` is copied into ``t``'s storage by an in-place op."""
        dst = t._data
        if id(dst) in self.view_of:
            raise TraceError(
                f"{name}: an in-place change of a view (a slice, reshape or transpose of another "
                f"tensor) cannot be compiled yet, at {where(user_location(3))}; write the "
                "out-of-place op, or change the base tensor"
            )
        self.value_of(t)  # the old contents become an input if they were never seen
        v = self.operand(value)
        if v.dtype != dst.dtype:
            v = self.graph.add_node(
                "cast",
                [v],
                {"dtype": dst.dtype},
                shape=v.shape,
                dtype=dst.dtype,
                loc=user_location(3),
            ).outputs[0]
        self.values[id(dst)] = v
        self._rederive_views(dst)

    def _rederive_views(self, src: np.ndarray) -> None:
        """Views of a mutated array see the new contents: remake each from its source."""
        for view, op, attrs in self.views.get(id(src), ()):
            node = self.graph.add_node(
                op,
                [self.values[id(src)]],
                attrs,
                shape=view.shape,
                dtype=view.dtype,
                loc=user_location(3),
            )
            self.values[id(view)] = node.outputs[0]
            self._rederive_views(view)

    # ---- the end of the trace ---------------------------------------------------------

    def effects(self) -> tuple[list, list]:
        """The write-backs ``[(capture or arg index, value)]`` and gradient updates
        ``[(tensor, value or None)]`` the trace performed on state outside the graph."""
        writes = []
        for i, (v, t) in enumerate(self.args):
            now = self.values.get(id(t._data))
            if now is not None and now is not v:
                writes.append((("arg", i), now))
        for c in self.captures:
            now = self.values.get(id(c.current()) if c.tensor is not None else id(c.array))
            if c.tensor is not None and c.tensor._data is not c.array:
                now = self.value_of(c.tensor)  # rebound (``p.data = ...``)
            if now is not None and now is not c.value:
                if c.tensor is None and c.set is None:
                    continue  # a .grad read through a getter (zeroed in place): see grads
                writes.append((c, now))
        grads = []
        before = [(c.tensor, c.grad0) for c in self.captures if c.tensor is not None]
        before += [(t, g0) for (_, t), g0 in zip(self.args, self.arg_grads)]
        seen = set()
        for t, grad0 in before:
            if id(t) in seen or (t._grad is grad0 and not _grad_changed(self, t)):
                continue
            seen.add(id(t))
            grads.append((t, None if t._grad is None else self.value_of(t._grad)))
        return writes, grads

    def touch(self, t: Tensor) -> None:
        """Make sure ``t`` is an input (code about to change its ``.grad`` without reading
        it, such as ``zero_grad``)."""
        if id(t._data) not in self.values:
            self.capture(t)


def _grad_changed(tracer: Tracer, t: Tensor) -> bool:
    """An existing ``.grad`` changed in place (accumulated into, or zeroed)."""
    g = t._grad
    if g is None:
        return False
    v = tracer.values.get(id(g._data))
    return v is not None and v.producer is not None


def _unique(name: str, graph: Graph) -> str:
    taken = {v.name for v in graph.inputs}
    if name not in taken:
        return name
    i = 1
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"


def _constant_getter(a):
    return lambda: a


class MetaCheck:
    """A guard: the captured tensor's (shape, dtype) now (``ember.compiler.runner`` writes
    it out inline)."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor):
        self.tensor = tensor

    def __call__(self):
        return (self.tensor._data.shape, self.tensor._data.dtype)


class GradIsNone:
    """A guard: whether the captured tensor has no ``.grad`` now."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor):
        self.tensor = tensor

    def __call__(self):
        return self.tensor._grad is None


# ---- the active tracer ------------------------------------------------------------------

_active: list = [None]


def current() -> Tracer | None:
    return _active[0]


class tracing:
    """Context manager that makes ``tracer`` receive every dispatched op."""

    def __init__(self, tracer: Tracer):
        self.tracer = tracer

    def __enter__(self):
        self.prev = _active[0]
        _active[0] = self.tracer
        trace_hooks.tracer[0] = self.tracer
        trace_hooks.value_read[0] = _value_read
        return self.tracer

    def __exit__(self, *exc):
        _active[0] = self.prev
        trace_hooks.tracer[0] = self.prev
        trace_hooks.value_read[0] = _value_read if self.prev is not None else None
        return False


def _value_read(what: str, problem: str | None = None):
    loc = user_location(3)
    if problem is not None:
        raise TraceError(f"{what}: {problem}, at {where(loc)}")
    raise TraceError(
        f"{what}: reading a tensor's value into Python inside a compiled function, at "
        f"{where(loc)}. The graph cannot depend on data through Python control flow: use "
        "ember.cond(pred, true_fn, false_fn, operands), ember.while_loop or ember.scan, keep "
        "the computation in tensor ops (ember.where), or move it out of the compiled code. "
        "To debug, run everything eagerly: ember.config.compile_enabled = False (or "
        "EMBER_DISABLE_COMPILE=1)"
    )
