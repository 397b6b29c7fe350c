"""Elementwise fusion: which chains become fused nodes, and that fused graphs (run by the
interpreter and by the generated code) give bitwise the unoptimized graph's results."""

import numpy as np
import pytest

from ember.backends.numpy.codegen import generate
from ember.ir import Graph, GraphError, run_graph
from ember.ir.verify import verify
from ember.passes.fuse import fuse
from ember.passes.memory import memory

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _same(g, inputs):
    """Fuse ``g``, verify it, and compare interpreter and generated code against ``g``."""
    f = fuse(g)
    verify(f)
    want = run_graph(g, inputs)
    for got in (run_graph(f, inputs), generate(memory(f))(*inputs)):
        for w, o in zip(want, got):
            np.testing.assert_array_equal(o, w)
    return f


def _ops(f):
    return [n.op for n in f.nodes]


def test_sgd_momentum_chain_is_one_node_with_two_results():
    g = Graph()
    p, m, grad = (g.add_input(np.float32, (7, 5), n) for n in ("p", "m", "g"))
    lr = g.add_input(np.float32, (), "lr")
    a = g.add_node("mul", [m, 0.9]).outputs[0]
    new_m = g.add_node("add", [a, grad]).outputs[0]
    step = g.add_node("mul", [lr, new_m]).outputs[0]
    new_p = g.add_node("sub", [p, step]).outputs[0]
    g.outputs = [new_p, new_m]
    f = _same(g, [_x(7, 5), _x(7, 5), _x(7, 5), np.float32(0.1) * np.ones((), np.float32)])
    assert _ops(f) == ["fused"]
    body = f.nodes[0].subgraphs["body"]
    assert [n.op for n in body.nodes] == ["mul", "add", "mul", "sub"]
    assert [o.name for o in f.nodes[0].outputs] == [new_m.name, new_p.name]
    text = str(f)
    assert f"%{new_m.name}: f32[7, 5], %{new_p.name}: f32[7, 5] = fused(%m, %g, %lr, %p)" in text
    assert "sub(%a3, %2)" in text  # the body prints under the node


def test_relu_backward_where_chain_fuses():
    g = Graph()
    y = g.add_input(np.float32, (4, 6), "y")
    gy = g.add_input(np.float32, (4, 6), "gy")
    mask = g.add_node("le", [y, 0]).outputs[0]
    g.outputs = [g.add_node("where", [mask, 0, gy]).outputs[0]]
    x = _x(4, 6)
    x[0, :3] = [0.0, -0.0, np.nan]
    f = _same(g, [x, _x(4, 6)])
    assert _ops(f) == ["fused"]


def test_shape_change_and_non_elementwise_ops_break_chains():
    g = Graph()
    x = g.add_input(np.float32, (3, 4), "x")
    a = g.add_node("exp", [x]).outputs[0]
    s = g.add_node("sum", [a], {"axis": (1,), "keepdims": True}).outputs[0]
    b = g.add_node("div", [a, s]).outputs[0]  # reads a and s: a's group was read by the sum
    c = g.add_node("mul", [b, 2.0]).outputs[0]
    r = g.add_node("reshape", [c], {"shape": (12,)}).outputs[0]
    g.outputs = [g.add_node("neg", [r]).outputs[0]]
    f = _same(g, [_x(3, 4)])
    # exp stays alone (the sum reads it before div could join); div+mul fuse; neg is alone
    assert _ops(f) == ["exp", "sum", "fused", "reshape", "neg"]


def test_value_read_between_chain_members_seals_the_chain():
    g = Graph()
    x = g.add_input(np.float32, (5,), "x")
    w = g.add_input(np.float32, (5, 5), "w")
    a = g.add_node("exp", [x]).outputs[0]
    m = g.add_node("matmul", [w, a]).outputs[0]  # reads a: a must exist before the matmul
    b = g.add_node("add", [a, m]).outputs[0]
    g.outputs = [g.add_node("tanh", [b]).outputs[0]]
    f = _same(g, [_x(5), _x(5, 5)])
    assert _ops(f) == ["exp", "matmul", "fused"]


def test_single_elementwise_nodes_and_scalars_are_not_fused():
    g = Graph()
    x = g.add_input(np.float64, (), "x")
    a = g.add_node("cast", [x], {"dtype": np.dtype(np.float32)}).outputs[0]
    y = g.add_input(np.float32, (3,), "y")
    g.outputs = [g.add_node("mul", [a, y]).outputs[0]]
    f = _same(g, [np.asarray(0.5), _x(3)])
    assert _ops(f) == ["cast", "mul"]


def test_verify_rejects_a_fused_node_that_does_not_match_its_body():
    g = Graph()
    x = g.add_input(np.float32, (3,), "x")
    a = g.add_node("exp", [x]).outputs[0]
    g.outputs = [g.add_node("neg", [a]).outputs[0]]
    f = fuse(g)
    f.nodes[0].subgraphs["body"].inputs[0].shape = (4,)
    with pytest.raises(GraphError, match="fused"):
        verify(f)


def test_input_graph_is_not_mutated():
    g = Graph()
    x = g.add_input(np.float32, (3,), "x")
    a = g.add_node("exp", [x]).outputs[0]
    g.outputs = [g.add_node("neg", [a]).outputs[0]]
    before = str(g)
    fuse(g)
    assert str(g) == before and g.outputs[0].producer.op == "neg"


@pytest.mark.parametrize("lead", [(6,), (2, 3)], ids=["2-D", "3-D"])
def test_a_linear_read_by_an_elementwise_node_gives_its_bias_to_the_chain(lead):
    g = Graph()
    x = g.add_input(np.float32, (*lead, 5), "x")
    w, b = g.add_input(np.float32, (4, 5), "w"), g.add_input(np.float32, (4,), "b")
    w2, b2 = g.add_input(np.float32, (3, 4), "w2"), g.add_input(np.float32, (3,), "b2")
    y = g.add_node("linear", [x, w, b]).outputs[0]
    h = g.add_node("relu", [y]).outputs[0]
    g.outputs = [g.add_node("linear", [h, w2, b2]).outputs[0]]  # read by no elementwise node
    f = _same(g, [_x(*lead, 5), _x(4, 5), _x(4), _x(3, 4), _x(3)])
    assert _ops(f) == ["linear", "fused", "linear"]
    assert [len(n.inputs) for n in f.nodes] == [2, 2, 3]
    assert [n.op for n in f.nodes[1].subgraphs["body"].nodes] == ["add", "relu"]
    assert f.nodes[1].inputs[1].name == "b"


def test_a_float16_linear_keeps_its_bias():
    """float16 adds the bias to the float32 GEMM result before rounding: splitting it off
    would round twice."""
    g = Graph()
    x = g.add_input(np.float16, (6, 5), "x")
    w, b = g.add_input(np.float16, (4, 5), "w"), g.add_input(np.float16, (4,), "b")
    y = g.add_node("linear", [x, w, b]).outputs[0]
    g.outputs = [g.add_node("mul", [g.add_node("relu", [y]).outputs[0], 2.0]).outputs[0]]
    f = fuse(g)
    assert _ops(f) == ["linear", "fused"] and len(f.nodes[0].inputs) == 3


def _relu_backward(g, shape):
    y, gy = g.add_input(np.float32, shape, "y"), g.add_input(np.float32, shape, "gy")
    mask = g.add_node("le", [y, 0]).outputs[0]
    return g.add_node("where", [mask, 0, gy]).outputs[0]


@pytest.mark.parametrize("shape, axis", [((6, 5), (0,)), ((3, 4, 5), (0, 1))])
def test_a_bias_gradient_sum_joins_the_chain_past_other_readers(shape, axis):
    """The sum over the leading axes comes after a matmul reading the chain (as a backward
    pass orders them); it moves up and joins the chain's node as a second result."""
    g = Graph()
    d = _relu_backward(g, shape)
    w = g.add_input(np.float32, (shape[-1], 3), "w")
    dx = g.add_node("matmul", [d, w]).outputs[0]
    s = g.add_node("sum", [d], {"axis": axis, "keepdims": False}).outputs[0]
    g.outputs = [dx, s]
    f = _same(g, [_x(*shape), _x(*shape), _x(shape[-1], 3)])
    assert _ops(f) == ["fused", "matmul"]
    body = f.nodes[0].subgraphs["body"]
    assert [n.op for n in body.nodes] == ["le", "where", "sum"]
    assert [o.name for o in f.nodes[0].outputs] == [d.name, s.name]


def test_sums_that_do_not_join_a_chain():
    g = Graph()
    d = _relu_backward(g, (6, 5))
    rows = g.add_node("sum", [d], {"axis": (1,), "keepdims": False}).outputs[0]  # trailing
    h = Graph()
    one = _relu_backward(h, (6, 1))  # one column: NumPy sums it pairwise, not in order
    col = h.add_node("sum", [one], {"axis": (0,), "keepdims": False}).outputs[0]
    g.outputs, h.outputs = [rows], [col]
    for graph in (g, h):
        f = _same(graph, [_x(*graph.inputs[0].shape), _x(*graph.inputs[0].shape)])
        assert _ops(f) == ["fused", "sum"]


def test_verify_rejects_a_fused_body_with_another_reduction():
    g = Graph()
    d = _relu_backward(g, (6, 6))
    g.outputs = [g.add_node("sum", [d], {"axis": (0,), "keepdims": False}).outputs[0]]
    f = fuse(g)
    body = f.nodes[0].subgraphs["body"]
    body.nodes[-1].attrs["axis"] = (1,)  # a row sum (of the same type): not a column sum
    with pytest.raises(GraphError, match="fused body holds sum, which is neither elementwise"):
        verify(f)


def _adam_like(g, read_between: bool):
    """m' = m + 0.1 (g - m) and v' = 0.999 v + ... meet in the update p - m' / sqrt(v')."""
    p, m, v, grad = (g.add_input(np.float32, (4, 5), n) for n in ("p", "m", "v", "g"))
    m2 = g.add_node(
        "add", [m, g.add_node("mul", [0.1, g.add_node("sub", [grad, m]).outputs[0]]).outputs[0]]
    ).outputs[0]
    v_decay = g.add_node("mul", [v, 0.999]).outputs[0]
    outs = []
    if read_between:  # a reader outside the chains before they meet
        outs.append(g.add_node("sum", [m2], {"axis": (1,), "keepdims": False}).outputs[0])
    v2 = g.add_node("add", [v_decay, g.add_node("mul", [grad, grad]).outputs[0]]).outputs[0]
    step = g.add_node("div", [m2, g.add_node("sqrt", [v2]).outputs[0]]).outputs[0]
    g.outputs = [m2, v2, g.add_node("sub", [p, step]).outputs[0], *outs]


@pytest.mark.parametrize("read_between", [False, True])
def test_chains_that_meet_become_one_node_unless_one_was_read_before(read_between):
    g = Graph()
    _adam_like(g, read_between)
    xs = [_x(4, 5), _x(4, 5), np.abs(_x(4, 5)), _x(4, 5)]
    f = _same(g, xs)
    fused = [n for n in f.nodes if n.op == "fused"]
    assert len(fused) == (2 if read_between else 1)
    if not read_between:
        body = fused[0].subgraphs["body"]
        assert len(body.nodes) == len(g.nodes)  # every op, in an order the body verifies
