"""Graph -> Graph optimization passes, run in order by ``run_passes``.

Each pass is a pure function of a graph (it returns a new graph and never mutates its
input) registered by name; ``ember.compile(..., disable=("cse",))`` skips a pass by name, and
in debug mode the verifier checks the graph after every pass.
"""

from __future__ import annotations

from ember.passes.cse import cse
from ember.passes.dce import dce
from ember.passes.fold import fold
from ember.passes.fuse import fuse
from ember.passes.loss_grad import loss_grad
from ember.passes.memory import memory
from ember.passes.simplify import simplify

# name -> pass, in the order they run: simplify, fold, cse, dce, loss_grad, fuse, memory
# (loss_grad after cse, which merges the logits the loss and its gradient read; fuse and
# memory last: they change node kinds and add buffer annotations that the earlier passes need
# not understand).
PIPELINE: dict = {"simplify": simplify, "fold": fold, "cse": cse, "dce": dce}
PIPELINE["loss_grad"] = loss_grad
PIPELINE["fuse"] = fuse
PIPELINE["memory"] = memory


def run_passes(graph, disable=(), debug: bool = False):
    """Run every enabled pass of ``PIPELINE`` on ``graph``."""
    unknown = set(disable) - set(PIPELINE)
    if unknown:
        raise ValueError(
            f"ember.compile: unknown pass name(s) {sorted(unknown)}; the passes are "
            f"{list(PIPELINE)}"
        )
    for name, fn in PIPELINE.items():
        if name in disable:
            continue
        graph = fn(graph)
        if debug:
            from ember.ir.verify import verify

            verify(graph, after=name)
    return graph
