"""ember.ir: the typed SSA graph IR, its text form, verifier and reference interpreter."""

from ember.ir.errors import ExecutionError, GraphError, TraceError
from ember.ir.graph import Graph, Node, Value
from ember.ir.interpreter import run_graph
from ember.ir.parser import parse
