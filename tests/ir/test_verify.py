"""The verifier rejects broken graphs with an error naming the node, the op and the types."""

import numpy as np
import pytest

import ember
from ember.ir import Graph, GraphError
from ember.ir.verify import verify


def _chain():
    g = Graph()
    x = g.add_input(np.float32, (2, 3), "x")
    w = g.add_input(np.float32, (3, 4), "w")
    mm = g.add_node("matmul", [x, w])
    e = g.add_node("exp", [mm.outputs[0]])
    g.outputs = [e.outputs[0]]
    return g, mm, e


def test_a_well_formed_graph_passes():
    g, _, _ = _chain()
    verify(g)


def test_use_before_definition_names_the_reader():
    g, mm, e = _chain()
    g.nodes = [e, mm]
    with pytest.raises(GraphError, match=r"node exp \(%1.*reads %0 before it is defined"):
        verify(g)


def test_wrong_output_type_gives_the_rule_type():
    g, mm, _ = _chain()
    mm.outputs[0].shape = (2, 5)
    with pytest.raises(GraphError, match=r"%0 = matmul is typed f32\[2, 5\].*float32\[2, 4\]"):
        verify(g)


def test_wrong_output_dtype():
    g, _, e = _chain()
    e.outputs[0].dtype = np.dtype(np.float64)
    with pytest.raises(GraphError, match=r"exp is typed f64\[2, 4\]"):
        verify(g, after="fold")


def test_inputs_the_rule_rejects_are_reported_with_the_pass():
    g, mm, _ = _chain()
    g.inputs[1].shape = (5, 4)
    with pytest.raises(GraphError, match=r"after pass 'cse'.*%0 = matmul: its rule rejects"):
        verify(g, after="cse")


def test_unknown_op():
    g, _, e = _chain()
    e.op = "not_an_op"
    with pytest.raises(GraphError, match="unknown op 'not_an_op'"):
        verify(g)


def test_value_defined_twice():
    g, mm, e = _chain()
    e.outputs = mm.outputs
    with pytest.raises(GraphError, match="%0 is defined twice"):
        verify(g)


def test_returning_an_undefined_value():
    g, _, _ = _chain()
    other = Graph().add_input(np.float32, (1,), "stray")
    g.outputs = [other]
    with pytest.raises(GraphError, match="returns %stray, which is not defined"):
        verify(g)


def test_control_flow_node_checks_its_subgraph_types():
    fast = ember.compile(lambda x: ember.cond(x.sum() > 0, lambda a: a * 2, lambda a: -a, (x,)))
    g = fast.graph(ember.randn(3))
    verify(g)
    (node,) = [n for n in g.nodes if n.op == "cond"]
    node.subgraphs["false_fn"].outputs[0].shape = (4,)
    with pytest.raises(GraphError, match=r"cond: sub-graph false_fn outputs \['f32\[4\]'\]"):
        verify(g)
