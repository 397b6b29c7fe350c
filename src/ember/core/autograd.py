"""The reverse-mode autograd engine.

Every op that needs gradients records a ``Node``: its op, attributes, what the VJP needs
(inputs and/or output, with their version numbers) and one edge per input (the input's node,
the leaf tensor itself, or None). ``backward`` walks the nodes in dependency order with an
explicit stack (no recursion, so a 10,000-op chain is fine), frees each node's saved tensors
and gradient buffer as soon as it is done with them, and undoes broadcasting in one place.

Two modes run the same VJP code:

* first-order backward runs VJPs on raw NumPy arrays (no graph, no wrapper objects);
* ``create_graph=True`` runs them on Tensors with recording on, so gradients are
  differentiable again (Hessian-vector products, gradient penalties).
"""

from __future__ import annotations

import numpy as np

from ember.core import anomaly, grad_mode
from ember.core.tensor import Tensor, _wrap
from ember.errors import AutogradError, ShapeError
from ember.ops import registry


class Node:
    """A recorded op: PyTorch's ``grad_fn``. Rare fields live on the class as defaults."""

    saved = None  # the op's positional args, when the op saves its inputs
    saved_vers = None
    out = None  # the output array, when the op saves it
    out_vc = None
    out_ver = 0
    freed = False
    pre_hooks = None  # hooks on the gradient of this node's output
    retained = None  # weakref to a non-leaf tensor whose .grad is kept
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
    """Accumulate gradients of ``tensors`` into ``.grad`` of the leaves (or only ``inputs``).

    >>> import ember
    >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
    >>> ember.autograd.backward([(x * x).sum()])
    >>> x.grad
    tensor([2., 4.])
    """
    tensors = _as_list(tensors)
    grad_tensors = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    only = None
    if inputs is not None:
        only = {id(t) for t in _as_list(inputs)}
    _run(tensors, grad_tensors, retain_graph, create_graph, capture=None, only=only)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=None,
):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    >>> import ember
    >>> x = ember.tensor(3.0, requires_grad=True)
    >>> (g,) = ember.autograd.grad(x ** 3, x, create_graph=True)
    >>> ember.autograd.grad(g, x)[0]   # d2/dx2 x^3 = 6x
    tensor(18.)
    """
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    grad_outputs = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    capture = {}
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._rg:
            raise AutogradError(f"grad: input {i} does not require grad")
        capture.setdefault(_key(t), [])
    _run(outputs, grad_outputs, retain_graph, create_graph, capture=capture, only=set())
    result = []
    for i, t in enumerate(inputs):
        slot = capture[_key(t)]
        g = slot[0] if slot else None
        if g is None and not allow_unused:
            raise AutogradError(
                f"grad: input {i} (shape {tuple(t.shape)}) was not used in the graph of the "
                "outputs; pass allow_unused=True to get None for it"
            )
        result.append(g if g is None or isinstance(g, Tensor) else _wrap(np.asarray(g)))
    return tuple(result)


def retain_grad(t: Tensor) -> None:
    import weakref

    if t._node is None:
        return  # leaves keep .grad anyway
    t._node.retained = weakref.ref(t)


class RemovableHandle:
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


# ---- the engine -----------------------------------------------------------------------------


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _key(t: Tensor):
    """What identifies where a tensor's gradient arrives: its node and output, or the leaf."""
    return id(t) if t._node is None else (id(t._node), t._out_idx)


def _root_grad(t: Tensor, g, i: int, tensor_mode: bool):
    if not isinstance(t, Tensor) or not t._rg:
        raise AutogradError(
            f"backward: element {i} of tensors does not require grad and does not have a grad_fn"
        )
    if g is None:
        if t._data.size != 1:
            raise AutogradError(
                f"backward: grad can be implicitly created only for scalar outputs; output "
                f"{i} has shape {tuple(t.shape)}; pass a gradient of that shape"
            )
        arr = np.ones(t._data.shape, t._data.dtype)
        return _wrap(arr) if tensor_mode else arr
    if not isinstance(g, Tensor):
        g = _wrap(np.asarray(g, dtype=t._data.dtype))
    if g.shape != t.shape:
        raise ShapeError(
            f"backward: gradient has shape {tuple(g.shape)} but output {i} has shape "
            f"{tuple(t.shape)}"
        )
    return g if tensor_mode else g._data


def _run(roots, root_grads, retain_graph, create_graph, capture, only):
    """Propagate from ``roots``; accumulate into leaves (all, or those in ``only``) or into
    ``capture`` (autograd.grad)."""
    if len(root_grads) != len(roots):
        raise AutogradError(f"backward: got {len(root_grads)} gradients for {len(roots)} tensors")
    if retain_graph is None:
        retain_graph = create_graph
    tensor_mode = bool(create_graph)
    prev = grad_mode._enabled[0]
    grad_mode._enabled[0] = tensor_mode
    try:
        engine = _Engine(tensor_mode, retain_graph, capture, only)
        engine.run(
            roots,
            [_root_grad(t, g, i, tensor_mode) for i, (t, g) in enumerate(zip(roots, root_grads))],
        )
    finally:
        grad_mode._enabled[0] = prev


class _Engine:
    def __init__(self, tensor_mode, retain_graph, capture, only):
        self.tensor_mode = tensor_mode
        self.retain = retain_graph
        self.capture = capture
        self.only = only
        self.given = set()  # ids of arrays already stored in some .grad (never alias two)

    def run(self, roots, grads):
        buf = {}
        start = []
        for t, g in zip(roots, grads):
            if not self.tensor_mode:
                self.given.add(id(g))
            node = t._node
            if node is None:
                self.to_leaf(t, g)
                continue
            self.add_to(buf, node, t._out_idx, g)
            start.append(node)
        deps = _dependencies(start)
        ready = [n for n in dict.fromkeys(start) if deps.get(n, 0) == 0]
        while ready:
            node = ready.pop()
            g = buf.pop(node, None)
            grads = self.call(node, g) if g is not None else ()
            for i, e in enumerate(node.next):
                if e is None:
                    continue
                gi = grads[i] if i < len(grads) else None
                if isinstance(e, Tensor):
                    if gi is not None:
                        self.to_leaf(e, self.fit(gi, e._data.shape, e._data.dtype, node, i))
                    continue
                target, idx = e if isinstance(e, tuple) else (e, 0)
                if gi is not None:
                    shape, dtype = _out_meta(target, idx)
                    self.add_to(buf, target, idx, self.fit(gi, shape, dtype, node, i))
                left = deps[target] - 1
                deps[target] = left
                if left == 0:
                    ready.append(target)

    # -- per node --

    def call(self, node, g):
        if node.freed:
            raise AutogradError(
                f"backward: trying to backward through '{node.op.name}' a second time; its "
                "saved tensors were freed after the first backward. Pass retain_graph=True to "
                "the first backward (or autograd.grad) to keep them"
            )
        if node.n_out > 1:
            g = [x if x is not None else self.zeros(s, d) for x, (s, d) in zip(g, node.out_metas)]
        g = self.run_hooks(node, g)
        if self.capture is not None:
            for idx, gi in enumerate(g if node.n_out > 1 else (g,)):
                slot = self.capture.get((id(node), idx))
                if slot is not None:
                    slot.append(gi)
        if node.retained is not None:
            t = node.retained()
            if t is not None:
                t._grad = self.as_tensor(g) if t._grad is None else t._grad + self.as_tensor(g)
        out, ins = self.unpack(node)
        registry._current_edges[0] = node.next
        try:
            grads = node.op.vjp(g, out, *ins, **node.attrs)
        finally:
            registry._current_edges[0] = None
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if anomaly._enabled[0]:
            _check_nan(node, grads)
        if not self.retain:
            node.release()
        return grads

    def run_hooks(self, node, g):
        hooks = node.pre_hooks.get(0) if node.pre_hooks else None
        if not hooks:
            return g
        for h in hooks:
            r = h(self.as_tensor(g))
            if r is not None:
                g = r if self.tensor_mode else r._data
        return g

    def unpack(self, node):
        """The saved output and inputs, checked against in-place modification."""
        out = node.out
        if out is not None:
            if node.out_vc[0] != node.out_ver:
                _modified(node, "its output", node.out_ver, node.out_vc[0])
            if self.tensor_mode:
                t = _wrap(out)
                t._node, t._rg, t._vc = node, True, node.out_vc
                out = t
        saved = node.saved
        if saved is None:
            return out, (None,) * len(node.next)
        if node.saved_vers is None:  # metadata only: nothing that can go stale
            return out, saved
        ins = []
        for i, (a, v) in enumerate(zip(saved, node.saved_vers)):
            if isinstance(a, Tensor):
                if a._vc[0] != v:
                    _modified(node, f"input {i} of shape {tuple(a.shape)}", v, a._vc[0])
                ins.append(a if self.tensor_mode else a._data)
            else:
                ins.append(a)
        return out, ins

    # -- gradient plumbing --

    def fit(self, g, shape, dtype, node, i):
        """Undo broadcasting (sum over added/expanded dims) and match the input's dtype."""
        gshape = g.shape
        if gshape != shape:
            g = sum_to(g, shape)
            if g.shape != shape:
                raise AutogradError(
                    f"backward: the vjp of '{node.op.name}' returned a gradient of shape "
                    f"{tuple(gshape)} for input {i} of shape {tuple(shape)}"
                )
        if (g._data.dtype if isinstance(g, Tensor) else g.dtype) != dtype:
            g = registry.OPS["cast"](g, dtype=dtype)
        return g

    def add_to(self, buf, node, idx, g):
        if node.n_out > 1:
            slots = buf.get(node)
            if slots is None:
                slots = buf[node] = [None] * node.n_out
            slots[idx] = g if slots[idx] is None else slots[idx] + g
            return
        prev = buf.get(node)
        buf[node] = g if prev is None else prev + g

    def to_leaf(self, t: Tensor, g):
        if t._hooks:
            for h in t._hooks:
                r = h(self.as_tensor(g))
                if r is not None:
                    g = r if self.tensor_mode else r._data
        if self.capture is not None:
            slot = self.capture.get(id(t))
            if slot is not None:
                if slot:
                    slot[0] = slot[0] + g
                else:
                    slot.append(g)
        if self.only is not None and id(t) not in self.only:
            return
        if self.tensor_mode:
            t._grad = g if t._grad is None else t._grad + g
            return
        cur = t._grad
        if cur is None:
            g = np.asarray(g)
            if g.base is not None or not g.flags.writeable or id(g) in self.given:
                g = g.copy()
            self.given.add(id(g))
            t._grad = _wrap(g)
        elif cur._rg:
            t._grad = cur + _wrap(np.asarray(g))
        else:
            cur._data += g

    def as_tensor(self, g):
        return g if self.tensor_mode else _wrap(np.asarray(g))

    def zeros(self, shape, dtype):
        z = np.zeros(shape, dtype)
        return _wrap(z) if self.tensor_mode else z


def _out_meta(node, idx):
    if node.n_out == 1:
        return node.shape, node.dtype
    return node.out_metas[idx]


def _dependencies(start):
    """How many edges point at each node reachable from ``start`` (iterative DFS)."""
    deps = {}
    stack = list(start)
    seen = set(stack)
    while stack:
        node = stack.pop()
        for e in node.next:
            if e is None or isinstance(e, Tensor):
                continue
            target = e[0] if isinstance(e, tuple) else e
            deps[target] = deps.get(target, 0) + 1
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return deps


def sum_to(g, shape):
    """Sum ``g`` over the leading and size-1 dims it gained by broadcasting to reach ``shape``."""
    lead = g.ndim - len(shape)
    if lead < 0:
        return g
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    ops = registry.OPS
    if axes:
        g = ops["sum"](g, axis=axes, keepdims=True)
    if g.shape != tuple(shape):
        g = ops["reshape"](g, shape=tuple(shape))
    return g


def _modified(node, what, saved_version, now):
    raise AutogradError(
        f"backward: {what} of '{node.op.name}' was saved for the gradient but has been "
        f"modified by an in-place operation (version {saved_version} when saved, now {now}); "
        "use the out-of-place op or clone() it first"
        + (f". The op was created at {node.src}" if node.src else "")
    )


def _check_nan(node, grads):
    for i, gi in enumerate(grads):
        if gi is None:
            continue
        arr = gi._data if isinstance(gi, Tensor) else np.asarray(gi)
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            where = f" (forward at {node.src})" if node.src else ""
            raise AutogradError(
                f"{node.op.name} backward produced NaN: the gradient for input {i} of "
                f"'{node.op.name}'{where} contains NaN"
            )
