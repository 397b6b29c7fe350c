"""``freeze=True``: parameters and buffers become graph constants (for inference).

Constant folding can then precompute everything that depends on weights alone (a transposed
weight, a fused scale). Captured tensors that the call writes back (running statistics in
training mode) stay inputs: freezing must not change what a call does.
"""

from __future__ import annotations


def freeze(program):
    """Return the graph with every read-only captured tensor folded in; ``program.captures``
    keeps only the inputs that stay live."""
    mapping: dict = {}
    graph = program.graph.copy_with(mapping)
    written = {id(w) for w in program.writes if not isinstance(w, tuple)}
    live = []
    for c in program.captures:
        if c.tensor is None or id(c) in written:
            live.append(c)
            continue
        v = mapping[c.value]
        v.const = c.tensor._data.copy()
        graph.inputs.remove(v)
        graph.constants.append(v)
    program.captures = live
    return graph
