"""Structured control flow that compiles: ``ember.cond``, ``ember.while_loop``, ``ember.scan``.

Eagerly each one is plain Python (an ``if``, a ``while``, a ``for`` over slices). Inside
``ember.compile`` each becomes one graph node holding its functions as sub-graphs, so a
graph does not depend on the data through Python control flow and one cached graph serves
every branch outcome and trip count. cond and scan (and while_loop, see ``while_grad``) are
differentiable in compiled code: their backward is recorded as control-flow nodes too.
"""

from ember.compiler.control_flow import runtime as _runtime  # registers the executors
from ember.compiler.control_flow.cond import cond
from ember.compiler.control_flow.scan import scan
from ember.compiler.control_flow.while_loop import while_loop

__all__ = ["cond", "scan", "while_loop"]
del _runtime
