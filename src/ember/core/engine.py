"""The backward executor: walks recorded ``Node``s from the roots down to the leaves.

Nodes run in dependency order (a node runs once every node that feeds it a gradient has run),
with an explicit ready list, so a 10,000-op chain needs no recursion. Each node's gradient
buffer is dropped as soon as its VJP has run, and its saved tensors are released unless the
graph is retained. Gradients arriving at a leaf are summed first and delivered once at the end
(hooks see the total, as in PyTorch). Broadcasting is undone in one place (``fit``).

With targets (``autograd.grad``, ``backward(inputs=...)``) only the nodes on a path to a target
run: the rest of the graph is neither computed nor freed.
"""

from __future__ import annotations

import numpy as np

from ember.core import anomaly, trace_hooks
from ember.core.tensor import Tensor, _wrap
from ember.errors import AutogradError
from ember.native import engine as native_engine
from ember.ops import registry

# The C walk (ember/native/engine.c), set by ``use_native_walk`` once ``Node`` exists; None
# keeps the Python ``propagate`` (EMBER_NATIVE=0, no compiler).
_native_walk: list = [None]


def use_native_walk(node_type) -> None:
    _native_walk[0] = native_engine.propagate_for(Tensor, node_type, registry.current)


class Engine:
    """One backward pass.

    ``capture`` maps gradient keys (a leaf's id, or ``(id(node), output index)``) to lists that
    receive the gradient arriving there; ``leaves`` is None (deliver to every leaf) or the ids
    of the leaves to deliver to; ``accumulate`` says whether delivering a leaf's gradient adds
    it to ``.grad``. With ``prune`` only nodes leading to a capture key or a listed leaf run.
    """

    def __init__(self, tensor_mode, retain, capture=None, leaves=None, accumulate=True):
        self.tensor_mode = tensor_mode
        self.retain = retain
        self.capture = capture
        self.leaves = leaves
        self.accumulate = accumulate
        self.needed = None
        self.given = set()  # ids of gradients handed out already (never alias two .grads)

    def run(self, roots, grads, prune=False):
        buf = {}  # node -> gradient of its output (a list of them for multi-output nodes)
        leaf_buf = {}  # id(leaf) -> [leaf, summed gradient]
        start = []
        for t, g in zip(roots, grads):
            self.given.add(id(g))
            node = t._node
            if node is None:
                if self.leaves is None or id(t) in self.leaves:
                    self.add_leaf(leaf_buf, t, g)
            else:
                self.add_to(buf, node, t._out_idx, g)
                start.append(node)
        deps, parents = dependencies(start, prune)
        if prune:
            self.needed = self.find_needed(start, deps, parents)
        ready = [n for n in dict.fromkeys(start) if deps.get(n, 0) == 0]
        walk = _native_walk[0]
        if walk is not None and self.plain():
            walk(self, ready, deps, buf, leaf_buf, self.retain)  # the same walk, in C
        else:
            self.propagate(ready, deps, buf, leaf_buf)
        for t, g in leaf_buf.values():
            self.to_leaf(t, g)

    def propagate(self, ready, deps, buf, leaf_buf):
        """Run nodes as they become ready, passing each input's gradient down its edge."""
        leaves = self.leaves
        while ready:
            node = ready.pop()
            g = buf.pop(node, None)
            grads = self.call(node, g) if g is not None else ()
            n = len(grads)
            for i, e in enumerate(node.next):
                if e is None:
                    continue
                gi = grads[i] if i < n else None
                if isinstance(e, Tensor):
                    if gi is not None and (leaves is None or id(e) in leaves):
                        gi = self.fit(gi, e._data.shape, e._data.dtype, node, i)
                        entry = leaf_buf.get(id(e))  # summed here, delivered once at the end
                        if entry is None:
                            leaf_buf[id(e)] = [e, gi]
                        else:
                            entry[1] = entry[1] + gi
                    continue
                if e.__class__ is tuple:
                    target = e[0]
                    if gi is not None:
                        self.edge_to_output(buf, e, gi, node, i)
                else:
                    target = e
                    if gi is not None:
                        # the common case inline: one output, shape and dtype already right
                        if (
                            gi.__class__ is not np.ndarray
                            or gi.shape != e.shape
                            or gi.dtype != e.dtype
                        ):
                            gi = self.fit(gi, e.shape, e.dtype, node, i)
                        if e.n_out == 1:
                            prev = buf.get(e)
                            buf[e] = gi if prev is None else prev + gi
                        else:
                            self.add_to(buf, e, 0, gi)
                left = deps[target] - 1
                deps[target] = left
                if left == 0:
                    ready.append(target)

    def plain(self) -> bool:
        """Whether the C walk (ember/native/engine.c) can run this pass: first-order, with
        nothing captured, pruned or checked for NaN. It hands the nodes and edges it cannot
        decide alone back to ``call``, ``fit`` and ``edge_to_output``."""
        return (
            self.needed is None
            and self.capture is None
            and self.leaves is None
            and not self.tensor_mode
            and not anomaly._check_nan[0]
        )

    def edge_to_output(self, buf, e, gi, node, i):
        """Pass ``gi`` down the edge ``e = (target, idx)`` to one output of a node of several."""
        target, idx = e
        shape, dtype = out_meta(target, idx)
        self.add_to(buf, target, idx, self.fit(gi, shape, dtype, node, i))

    def find_needed(self, start, deps, parents) -> set:
        """The nodes whose VJP must run: those with a path to a target."""
        capture = self.capture or {}
        leaves = self.leaves or ()
        stack = []
        for node in set(start) | deps.keys():
            for e in node.next:
                if isinstance(e, Tensor) and (id(e) in leaves or id(e) in capture):
                    stack.append(node)
                    break
            if any((id(node), idx) in capture for idx in range(node.n_out)):
                stack.extend(parents.get(node, ()))
        needed = set()
        while stack:
            node = stack.pop()
            if node not in needed:
                needed.add(node)
                stack.extend(parents.get(node, ()))
        return needed

    # -- per node --

    def call(self, node, g):
        if self.needed is not None and node not in self.needed:
            return self.visit(node, g)
        if node.freed:
            raise AutogradError(
                f"backward: trying to backward through '{node.op.name}' a second time; its "
                "saved tensors were freed after the first backward. Pass retain_graph=True to "
                "the first backward (or autograd.grad) to keep them"
            )
        if node.pre_hooks or node.retained is not None or self.capture is not None:
            g = self.observe(node, g)
        out, ins = self.unpack(node)
        registry.current.edges = node.next  # lets a VJP skip unneeded input gradients
        tracer = trace_hooks.tracer[0]
        if tracer is not None:
            tracer.vjp_loc = tracer.locs.get(id(node), (None, None))[1]
        try:
            grads = node.op.vjp(g, out, *ins, **node.attrs)
        finally:
            registry.current.edges = None
            if tracer is not None:
                tracer.vjp_loc = None
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if anomaly._check_nan[0]:
            check_nan(node, grads)
        if not self.retain:
            node.release()
        return grads

    def visit(self, node, g):
        """A node off every path to a target: only capture its gradient if it is one."""
        capture = self.capture
        if capture and any((id(node), i) in capture for i in range(node.n_out)):
            self.observe(node, g)
        return ()

    def observe(self, node, g):
        """What sees a node's incoming gradient: hooks (which may replace it), capture for
        autograd.grad, and retain_grad."""
        if node.pre_hooks:
            g = self.run_hooks(node, g)
        if self.capture is not None:
            for idx, gi in enumerate(g if node.n_out > 1 else (g,)):
                slot = self.capture.get((id(node), idx))
                if slot is not None and gi is not None:
                    slot.append(gi)
        if node.retained is not None:
            self.retain_grads(node, g)
        return g

    def run_hooks(self, node, g):
        if node.n_out == 1:
            return self.apply_hooks(node.pre_hooks.get(0), g)
        g = list(g)
        for idx, hooks in node.pre_hooks.items():
            if g[idx] is not None:
                g[idx] = self.apply_hooks(hooks, g[idx])
        return g

    def apply_hooks(self, hooks, g):
        for h in hooks or ():
            r = h(self.as_tensor(g))
            if r is not None:
                g = r if self.tensor_mode else r._data
        return g

    def retain_grads(self, node, g):
        """``.grad`` of non-leaf tensors that asked for it (accumulated, like a leaf's)."""
        for idx, ref in node.retained.items():
            t = ref()
            gi = g if node.n_out == 1 else g[idx]
            if t is None or gi is None:
                continue
            gi = gi if self.tensor_mode else _wrap(np.array(gi))  # a copy the user may keep
            t._grad = gi if t._grad is None else t._grad + gi

    def unpack(self, node):
        """The saved output and inputs, checked against in-place modification."""
        out = node.out
        if out is not None:
            if node.out_vc[0] != node.out_ver:
                modified(node, "its output", node.out_ver, node.out_vc[0])
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
                    modified(node, f"input {i} of shape {tuple(a.shape)}", v, a._vc[0])
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

    @staticmethod
    def add_leaf(leaf_buf, t, g):
        entry = leaf_buf.get(id(t))
        if entry is None:
            leaf_buf[id(t)] = [t, g]
        else:
            entry[1] = entry[1] + g

    def to_leaf(self, t: Tensor, g):
        """Deliver a leaf's total gradient: hooks, capture, then ``.grad``."""
        if t._hooks:
            g = self.apply_hooks(t._hooks, g)
        if self.capture is not None:
            slot = self.capture.get(id(t))
            if slot is not None:
                slot.append(g)
        if self.accumulate:
            self.to_grad(t, g)

    def to_grad(self, t: Tensor, g):
        if trace_hooks.tracer[0] is not None:
            trace_hooks.tracer[0].read_grad(t)  # an existing .grad becomes a graph input
        cur = t._grad
        if self.tensor_mode:
            if cur is not None:
                t._grad = cur + g
                return
            if id(g) in self.given:  # the same tensor reached two leaves, or is the user's
                g = registry.OPS["clone"](g)
            self.given.add(id(g))
            t._grad = g
            return
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


def out_meta(node, idx):
    if node.n_out == 1:
        return node.shape, node.dtype
    return node.out_metas[idx]


def dependencies(start, with_parents=False):
    """How many edges point at each node reachable from ``start`` (iterative DFS), and, when
    asked, each node's parents (the nodes whose VJP feeds it)."""
    deps = {}
    parents = {} if with_parents else None
    stack = list(dict.fromkeys(start))  # a node given twice (repeated roots) is walked once
    seen = set(stack)
    while stack:
        node = stack.pop()
        for e in node.next:
            if e is None or isinstance(e, Tensor):
                continue
            target = e[0] if isinstance(e, tuple) else e
            deps[target] = deps.get(target, 0) + 1
            if with_parents:
                parents.setdefault(target, []).append(node)
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return deps, parents


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


def modified(node, what, saved_version, now):
    raise AutogradError(
        f"backward: {what} of '{node.op.name}' was saved for the gradient but has been "
        f"modified by an in-place operation (version {saved_version} when saved, now {now}); "
        "use the out-of-place op or clone() it first"
        + (f". The op was created at {node.src}" if node.src else "")
    )


def check_nan(node, grads):
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
