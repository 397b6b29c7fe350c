"""Memory planning: give intermediate values preallocated buffers, reused by liveness.

NumPy allocates a new array for every op result. The planner assigns the results of nodes
whose backend kernel can write into a given array (``writes_out`` in
``ember.backends.numpy.kernels``) to buffer slots; the generated code allocates each slot once
per program and passes it as ``out=``. Rules, in order of importance:

* A value that escapes (a graph output, or a value a graph output may be a view of) never
  lives in a buffer: the next call would overwrite what the user holds (``.grad`` tensors).
* Views alias their base: ops flagged ``view`` in the registry (reshape, permute, expand, ...)
  and ops without a registry block (control flow) may return memory of their inputs, so a
  buffer stays busy until the last reader of any value that may alias it.
* A slot is free after the last reader of its value; a later value of the same shape and dtype
  takes it. An elementwise node may write into an input's slot when that input dies at this
  node (it is then not a graph input or output, and no live view of it remains).
* Donation: a graph output that is the new value of a graph input's array (a parameter or an
  optimizer buffer the call writes back, ``graph.donations``) is computed straight into
  that array when no later node reads the input, as eager mode's in-place ``p.sub_(...)``
  does: no result array to allocate and no copy back. The runtime hands over a copy
  instead when the input shares memory with another input (see ``Program.protect``).

Every planned kernel overwrites its whole output, so a second call never reads stale data.

>>> import numpy as np
>>> from ember.ir import Graph
>>> g = Graph()
>>> x = g.add_input(np.float32, (4,), "x")
>>> a = g.add_node("exp", [x]).outputs[0]
>>> b = g.add_node("mul", [a, 2.0]).outputs[0]
>>> g.outputs = [g.add_node("add", [b, x]).outputs[0]]
>>> planned = memory(g)
>>> print(format_plan(planned))
%0 -> b0
%1 -> b0 (in place)
"""

from __future__ import annotations

import numpy as np

from ember.backends.numpy.flat import flat_nodes
from ember.backends.numpy.kernels import EMITTERS
from ember.ir.graph import Value
from ember.ops import registry


class MemoryPlan:
    """``slots``: (shape, dtype) per buffer; ``where``: value -> slot; ``inplace``: values
    that took the slot of an input dying at their node."""

    def __init__(self):
        self.slots: list = []
        self.where: dict = {}
        self.inplace: set = set()
        self.donated: dict = {}  # output value -> the graph input whose array it is written in

    def slot_of(self, value):
        return self.where.get(value)

    def allocate(self) -> list:
        """One fresh array per slot (called once per program)."""
        return [np.empty(shape, dtype) for shape, dtype in self.slots]


def memory(graph):
    """The graph with ``memory_plan`` set (a copy: passes never mutate their input)."""
    g = graph.copy()
    g.memory_plan = plan(g)
    return g


def plan(graph) -> MemoryPlan:
    flat = list(flat_nodes(graph))
    roots = _alias_roots(graph, flat)
    escaping = set()
    for v in graph.outputs:
        if isinstance(v, Value):
            escaping |= roots.get(v, {v})
    planned = {
        outs[0] for node, _, outs in flat if _plannable(node, outs) and outs[0] not in escaping
    }
    last = {}
    for k, (_, ins, _) in enumerate(flat):
        for x in ins:
            if isinstance(x, Value):
                for r in roots.get(x, (x,)):
                    last[r] = k
    p = _assign(flat, planned, last)
    p.donated = _donated(graph, flat, roots, escaping, last)
    return p


def _donated(graph, flat, roots, escaping, last) -> dict:
    """The donations the plan can honour (see the module doc)."""
    step = {outs[0]: (k, node, ins) for k, (node, ins, outs) in enumerate(flat) if outs}
    out = {}
    for o_pos, i_pos in graph.donations.items():
        o, v = graph.outputs[o_pos], graph.inputs[i_pos]
        if not isinstance(o, Value) or o not in step or v in out.values():
            continue
        k, node, ins = step[o]
        others = [w for j, w in enumerate(graph.outputs) if j != o_pos and isinstance(w, Value)]
        if (
            _plannable(node, [o])
            and (o.shape, o.dtype) == (v.shape, v.dtype)
            and v not in escaping
            and all(o not in roots.get(w, {w}) for w in others)
            and last.get(v, -1) <= k
            and (last.get(v, -1) < k or EMITTERS[node.op].elementwise)
        ):
            out[o] = v
    return out


def _plannable(node, outs) -> bool:
    if len(outs) != 1:
        return False
    o = outs[0]
    if o.ndim == 0 or not all(type(d) is int for d in o.shape):
        return False
    emitter = EMITTERS.get(node.op)
    return emitter is not None and emitter.writes_out(node)


def _alias_roots(graph, flat) -> dict:
    """{value: the values whose memory it may share} (itself included)."""
    roots: dict = {}
    for node, ins, outs in flat:
        op = registry.OPS.get(node.op)
        if op is not None and not op.view:
            for o in outs:
                roots[o] = {o}
            continue
        shared = set()
        for x in ins:
            if isinstance(x, Value):
                shared |= roots.get(x, {x})
        for o in outs:
            roots[o] = shared | {o}
    return roots


def _assign(flat, planned, last) -> MemoryPlan:
    p = MemoryPlan()
    dies: dict = {}  # step -> buffer values whose last reader (through any alias) it is
    for v, k in last.items():
        if v in planned:
            dies.setdefault(k, []).append(v)
    free: dict = {}  # (shape, dtype) -> free slots
    for k, (node, ins, outs) in enumerate(flat):
        taken = None
        if outs and outs[0] in planned:
            o = outs[0]
            taken = _inplace_source(node, ins, o, planned, last, k)
            if taken is not None:
                p.where[o] = p.where[taken]
                p.inplace.add(o)
            else:
                pool = free.get((o.shape, o.dtype))
                p.where[o] = pool.pop() if pool else _new_slot(p, o)
            if o not in last:  # nothing reads it: free at once
                dies.setdefault(k, []).append(o)
        for v in dies.get(k, ()):
            if v is not taken:
                free.setdefault((v.shape, v.dtype), []).append(p.where[v])
    return p


def _new_slot(p, o) -> int:
    p.slots.append((o.shape, o.dtype))
    return len(p.slots) - 1


def _inplace_source(node, ins, o, planned, last, k):
    emitter = EMITTERS[node.op]
    if not emitter.elementwise:
        return None
    for x in ins:
        if (
            isinstance(x, Value)
            and x in planned
            and last.get(x) == k
            and x.shape == o.shape
            and x.dtype == o.dtype
        ):
            return x
    return None


def format_plan(graph) -> str:
    """The plan as text: one ``%value -> bSLOT`` line per planned value, in graph order."""
    p = graph.memory_plan
    lines = []
    for _, _, outs in flat_nodes(graph):
        for o in outs:
            if o in p.where:
                tail = " (in place)" if o in p.inplace else ""
                lines.append(f"%{o.name} -> b{p.where[o]}{tail}")
            elif o in p.donated:
                lines.append(f"%{o.name} -> %{p.donated[o].name} (donated)")
    return "\n".join(lines)
