"""The reverse-mode autograd engine.

Every op that needs gradients records a ``Node``: its op, attributes, what the VJP needs
(inputs and/or output, with their version numbers) and one edge per input (the input's node,
the leaf tensor itself, or None). ``backward`` and ``grad`` hand the roots to the executor in
``ember.core.engine``, which walks the nodes in dependency order with an explicit stack (no
recursion, so a 10,000-op chain is fine), frees each node's saved tensors and gradient buffer
as soon as it is done with them, and undoes broadcasting in one place.

Two modes run the same VJP code:

* first-order backward runs VJPs on raw NumPy arrays (no graph, no wrapper objects);
* ``create_graph=True`` runs them on Tensors with recording on, so gradients are
  differentiable again (Hessian-vector products, gradient penalties).
"""

from __future__ import annotations

import weakref

import numpy as np

from ember.core import engine, grad_mode, trace_hooks
from ember.core.engine import Engine
from ember.core.tensor import Tensor, _wrap
from ember.errors import AutogradError, ShapeError


class Node:
    """A recorded op: PyTorch's ``grad_fn``. Rare fields live on the class as defaults."""

    saved = None  # the op's positional args, when the op saves its inputs
    saved_vers = None
    out = None  # the output array, when the op saves it
    out_vc = None
    out_ver = 0
    freed = False
    pre_hooks = None  # {output index: [hooks]} on the gradient of this node's outputs
    retained = None  # {output index: weakref} to non-leaf tensors whose .grad is kept
    src = None  # the user's source line (anomaly mode)
    n_out = 1

    def __init__(self, op, attrs, next_edges, shape, dtype):
        self.op = op
        self.attrs = attrs
        self.next = next_edges
        self.shape = shape
        self.dtype = dtype

    def name(self) -> str:
        parts = self.op.name.split("_")
        return "".join(p[:1].upper() + p[1:] for p in parts) + "Backward"

    @property
    def next_functions(self):
        out = []
        for e in self.next:
            if isinstance(e, Tensor):
                out.append((AccumulateGrad(e), 0))
            elif isinstance(e, tuple):
                out.append(e)
            else:
                out.append((e, 0))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def release(self) -> None:
        """Drop saved data (metadata-only saves are kept: they cost nothing to keep)."""
        if (self.saved is not None and self.saved_vers is not None) or self.out is not None:
            self.saved = None
            self.out = None
            self.freed = True


def edge_to(a):
    """The edge from a node to its input ``a``: the input's node (``(node, output index)`` for
    a node of several outputs), the leaf tensor itself, or None when it needs no gradient."""
    if (a.__class__ is Tensor or isinstance(a, Tensor)) and a._rg:
        n = a._node
        return a if n is None else (n if n.n_out == 1 else (n, a._out_idx))
    return None


engine.use_native_walk(Node)


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf tensor."""

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


# ---- public entry points ---------------------------------------------------------------------


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into ``.grad`` of the leaves (or only ``inputs``,
    which may also be non-leaf tensors).

    >>> import ember
    >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
    >>> ember.autograd.backward([(x * x).sum()])
    >>> x.grad
    tensor([2., 4.])
    """
    tensors = _as_list(tensors)
    grad_tensors = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    if inputs is None:
        _run("backward", tensors, grad_tensors, retain_graph, create_graph)
        return
    inputs = _as_list(inputs)
    if not inputs:
        raise AutogradError("backward: the inputs argument cannot be empty")
    _check_inputs("backward", inputs)
    non_leaf = {_key(t): [] for t in inputs if t._node is not None}
    leaves = {id(t) for t in inputs if t._node is None}
    _run("backward", tensors, grad_tensors, retain_graph, create_graph, non_leaf, leaves, True)
    for t in {id(t): t for t in inputs if t._node is not None}.values():
        for g in non_leaf[_key(t)]:
            g = g if isinstance(g, Tensor) else _wrap(np.array(g))
            t._grad = g if t._grad is None else t._grad + g


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=None,
    materialize_grads=False,
):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Only the part of the graph between the outputs and the inputs runs. An input the outputs
    do not depend on raises, unless ``allow_unused`` (it gets None) or ``materialize_grads``
    (it gets zeros).

    >>> import ember
    >>> x = ember.tensor(3.0, requires_grad=True)
    >>> (g,) = ember.autograd.grad(x * x * x, x, create_graph=True)
    >>> ember.autograd.grad(g, x)[0]   # d2/dx2 x^3 = 6x
    tensor(18.)
    """
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    grad_outputs = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    _check_inputs("grad", inputs)
    capture = {_key(t): [] for t in inputs}
    leaves = {id(t) for t in inputs if t._node is None}
    _run("grad", outputs, grad_outputs, retain_graph, create_graph, capture, leaves, False)
    result = []
    for i, t in enumerate(inputs):
        slot = capture[_key(t)]
        g = slot[0] if slot else None
        if g is None:
            if materialize_grads:
                g = np.zeros(t._data.shape, t._data.dtype)
            elif not allow_unused:
                raise AutogradError(
                    f"grad: input {i} (shape {tuple(t.shape)}) was not used in the graph of "
                    "the outputs; pass allow_unused=True to get None for it"
                )
        result.append(g if g is None or isinstance(g, Tensor) else _wrap(np.asarray(g)))
    return tuple(result)


def retain_grad(t: Tensor) -> None:
    """Make backward fill ``t.grad`` although ``t`` is not a leaf."""
    if not t._rg:
        raise AutogradError("retain_grad: can't retain_grad on a tensor that doesn't require grad")
    if t._node is None:
        return  # leaves keep .grad anyway
    node = t._node
    if node.retained is None:
        node.retained = {}
    node.retained[t._out_idx] = weakref.ref(t)


def move_retained(t: Tensor, old_node, old_idx: int) -> None:
    """An in-place op gave ``t`` a new node: its retain_grad moves along (as in PyTorch)."""
    ref = old_node.retained.get(old_idx)
    if ref is not None and ref() is t:
        del old_node.retained[old_idx]
        retain_grad(t)


class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def register_hook(t: Tensor, hook) -> RemovableHandle:
    if not t._rg:
        raise AutogradError(
            "register_hook: cannot register a hook on a tensor that doesn't require grad"
        )
    if t._node is None:
        if t._hooks is None:
            t._hooks = []
        hooks = t._hooks
    else:
        node = t._node
        if node.pre_hooks is None:
            node.pre_hooks = {}
        hooks = node.pre_hooks.setdefault(t._out_idx, [])
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


# ---- driving the engine -------------------------------------------------------------------


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _key(t: Tensor):
    """What identifies where a tensor's gradient arrives: its node and output, or the leaf."""
    return id(t) if t._node is None else (id(t._node), t._out_idx)


def _check_inputs(where: str, inputs) -> None:
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._rg:
            raise AutogradError(f"{where}: input {i} does not require grad")


def _root_grad(where: str, t: Tensor, g, i: int, tensor_mode: bool):
    if not isinstance(t, Tensor) or not t._rg:
        raise AutogradError(
            f"{where}: element {i} of tensors does not require grad and does not have a grad_fn"
        )
    if g is None:
        if t._data.size != 1:
            raise AutogradError(
                f"{where}: grad can be implicitly created only for scalar outputs; output "
                f"{i} has shape {tuple(t.shape)}; pass a gradient of that shape"
            )
        arr = np.ones(t._data.shape, t._data.dtype)
        if not tensor_mode:
            return arr
        seed = _wrap(arr)
        if trace_hooks.tracer[0] is not None:
            trace_hooks.tracer[0].constant(seed)
        return seed
    if not isinstance(g, Tensor):
        g = _wrap(np.asarray(g, dtype=t._data.dtype))
    if g.shape != t.shape:
        raise ShapeError(
            f"{where}: gradient has shape {tuple(g.shape)} but output {i} has shape "
            f"{tuple(t.shape)}"
        )
    return g if tensor_mode else g._data


def _run(
    where, roots, root_grads, retain_graph, create_graph, capture=None, leaves=None, accumulate=True
):
    """Propagate from ``roots`` (see ``Engine`` for the targets)."""
    if len(root_grads) != len(roots):
        raise AutogradError(f"{where}: got {len(root_grads)} gradients for {len(roots)} tensors")
    if retain_graph is None:
        retain_graph = create_graph
    # While a graph is being traced, VJPs run on Tensors (recording no autograd graph unless
    # create_graph) so that the tracer sees the whole backward pass.
    tracer = trace_hooks.tracer[0]
    tensor_mode = bool(create_graph) or tracer is not None
    if tracer is not None:
        tracer.ran_backward = True
    grads = [
        _root_grad(where, t, g, i, tensor_mode) for i, (t, g) in enumerate(zip(roots, root_grads))
    ]
    prev = (grad_mode._grad[0], grad_mode._inference[0])
    grad_mode._set(bool(create_graph), False)  # VJPs record a graph only for create_graph
    try:
        engine = Engine(tensor_mode, retain_graph, capture, leaves, accumulate)
        engine.run(roots, grads, prune=leaves is not None)
    finally:
        grad_mode._set(*prev)
