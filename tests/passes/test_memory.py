"""Memory planning: which values get buffers, which share them, and that planned code gives
bitwise the results of the unoptimized graph run by the reference interpreter."""

import numpy as np

import ember
from ember.backends.numpy.codegen import generate
from ember.ir import Graph, run_graph
from ember.passes.memory import format_plan, memory, plan

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _check(g, inputs):
    """Plan ``g``, run the generated code twice on fresh copies, compare with run_graph."""
    want = run_graph(g, inputs)
    g.memory_plan = plan(g)
    fn = generate(g)
    for _ in range(2):
        copies = [a.copy() for a in inputs]
        got = fn(*copies)
        for w, o in zip(want, got):
            np.testing.assert_array_equal(o, w)
        for a, c in zip(inputs, copies):  # graph inputs are never written
            np.testing.assert_array_equal(a, c)
    assert format_plan(memory(g)) == format_plan(g)  # the pass plans a copy the same way
    return g.memory_plan


def test_chain_runs_in_place_in_one_buffer():
    g = Graph()
    x = g.add_input(np.float32, (4, 5), "x")
    a = g.add_node("exp", [x]).outputs[0]
    b = g.add_node("mul", [a, 3.0]).outputs[0]
    c = g.add_node("sub", [b, x]).outputs[0]
    g.outputs = [g.add_node("sum", [c], {"axis": (1,), "keepdims": False}).outputs[0]]
    p = _check(g, [_x(4, 5)])
    assert p.where[a] == p.where[b] == p.where[c]
    assert len(p.slots) == 1 and {b, c} <= p.inplace


def test_graph_outputs_and_their_views_never_live_in_buffers():
    g = Graph()
    x = g.add_input(np.float32, (6,), "x")
    a = g.add_node("exp", [x]).outputs[0]
    v = g.add_node("reshape", [a], {"shape": (2, 3)}).outputs[0]
    b = g.add_node("neg", [x]).outputs[0]
    g.outputs = [v, b]
    p = _check(g, [_x(6)])
    assert a not in p.where and b not in p.where


def test_live_view_keeps_its_base_buffer_busy():
    g = Graph()
    x = g.add_input(np.float32, (4,), "x")
    a = g.add_node("exp", [x]).outputs[0]
    v = g.add_node("reshape", [a], {"shape": (2, 2)}).outputs[0]
    c = g.add_node("neg", [x]).outputs[0]  # a is dead, but its view v is still read below
    w = g.add_node("reshape", [c], {"shape": (2, 2)}).outputs[0]
    g.outputs = [g.add_node("add", [v, w]).outputs[0]]
    p = _check(g, [_x(4)])
    assert p.where[a] != p.where[c]


def test_no_in_place_write_into_a_value_read_later():
    g = Graph()
    x = g.add_input(np.float32, (3, 3), "x")
    a = g.add_node("exp", [x]).outputs[0]
    b = g.add_node("neg", [a]).outputs[0]  # a is read again by the add
    g.outputs = [g.add_node("add", [a, b]).outputs[0]]
    p = _check(g, [_x(3, 3)])
    assert p.where[a] != p.where[b] and b not in p.inplace


def test_no_in_place_write_into_a_graph_input():
    g = Graph()
    x = g.add_input(np.float32, (5,), "x")
    a = g.add_node("neg", [x]).outputs[0]
    g.outputs = [g.add_node("sum", [a], {"axis": (0,), "keepdims": False}).outputs[0]]
    p = _check(g, [_x(5)])
    assert x not in p.where and a not in p.inplace


def test_freed_buffer_is_reused_by_a_later_value():
    g = Graph()
    x = g.add_input(np.float32, (8, 8), "x")
    w = g.add_input(np.float32, (8, 8), "w")
    a = g.add_node("matmul", [x, w]).outputs[0]
    b = g.add_node("matmul", [a, w]).outputs[0]  # a dies here: matmul may not write into it
    c = g.add_node("matmul", [b, w]).outputs[0]  # ... but c may take a's freed slot
    g.outputs = [g.add_node("sum", [c], {"axis": (0, 1), "keepdims": False}).outputs[0]]
    p = _check(g, [_x(8, 8), _x(8, 8)])
    assert p.where[a] != p.where[b] and p.where[c] == p.where[a] and len(p.slots) == 2


def test_second_call_does_not_overwrite_first_results():
    ember.manual_seed(0)
    model = ember.models.mlp(sizes=(12, 16, 8, 3))
    fast = ember.compile(model)
    x1, x2 = ember.randn(5, 12), ember.randn(5, 12)
    with ember.no_grad():
        y1 = fast(x1)
        keep = y1.numpy().copy()
        y2 = fast(x2)
        np.testing.assert_array_equal(y1.numpy(), keep)
        np.testing.assert_array_equal(y1.numpy(), model(x1).numpy())
        np.testing.assert_array_equal(y2.numpy(), model(x2).numpy())
    assert "out=b" in fast.programs[0].fn.source


def test_disabling_memory_pass_allocates_per_call():
    ember.manual_seed(0)
    model = ember.models.mlp(sizes=(12, 16, 3))
    fast = ember.compile(model, disable=("memory",))
    x = ember.randn(5, 12)
    with ember.no_grad():
        fast(x)
        assert "out=b" not in fast.programs[0].fn.source
        np.testing.assert_array_equal(fast(x).numpy(), model(x).numpy())
