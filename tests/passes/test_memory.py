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
        fast(ember.randn(5, 12))  # traces: y1 and y2 below both come from the graph
        y1 = fast(x1)
        keep = y1.numpy().copy()
        y2 = fast(x2)
        np.testing.assert_array_equal(y1.numpy(), keep)
        np.testing.assert_array_equal(y1.numpy(), model(x1).numpy())
        np.testing.assert_array_equal(y2.numpy(), model(x2).numpy())
    assert len(fast.programs) == 1
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


# ---- donation: write-backs computed in the written array ---------------------------------


def _sgd_graph():
    """new_w = w - lr * g; returns (loss-like output, new_w), new_w donated to w."""
    g = Graph()
    w = g.add_input(np.float32, (3, 4), "w")
    grad = g.add_input(np.float32, (3, 4), "g")
    loss = g.add_node(
        "sum", [g.add_node("mul", [w, w]).outputs[0]], {"axis": (0, 1), "keepdims": False}
    )
    step = g.add_node("mul", [grad, 0.1]).outputs[0]
    new_w = g.add_node("sub", [w, step]).outputs[0]
    g.outputs = [loss.outputs[0], new_w]
    g.donations = {1: 0}
    return g


def test_write_back_is_computed_in_the_donated_input():
    g = _sgd_graph()
    w, grad = _x(3, 4), _x(3, 4)
    want = run_graph(g, [w.copy(), grad])
    g.memory_plan = plan(g)
    assert format_plan(g).splitlines()[-1] == f"%{g.outputs[1].name} -> %w (donated)"
    fn = generate(g)
    arg = w.copy()
    loss, new_w = fn(arg, grad)
    assert new_w is arg  # written in place, nothing to copy back
    np.testing.assert_array_equal(new_w, want[1])
    np.testing.assert_array_equal(loss, want[0])  # computed from the old w


def test_no_donation_when_the_input_is_read_later():
    g = _sgd_graph()
    w, new_w = g.inputs[0], g.outputs[1]
    later = g.add_node("add", [w, 1.0]).outputs[0]  # reads the old w after the update
    g.outputs.append(later)
    assert new_w not in plan(g).donated
    _check(g, [_x(3, 4), _x(3, 4)])


def test_no_donation_when_the_input_is_returned_or_types_differ():
    g = _sgd_graph()
    g.outputs.append(g.inputs[0])
    assert not plan(g).donated
    g = _sgd_graph()
    g.inputs[0].dtype = np.dtype(np.float64)  # (a crafted mismatch: the update is float32)
    assert not plan(g).donated


def test_compiled_step_with_an_argument_aliasing_a_parameter_matches_no_donation():
    """The runtime hands a copy to the generated code when a donated input shares memory
    with another input, so donation never changes a result."""
    results = []
    for disable in ((), ("memory",)):
        w = ember.ones(4)

        def f(x, w=w):
            out = (x * 3.0).sum()  # read x ...
            with ember.no_grad():
                w.sub_(x * 0.5)  # ... and write w; x is a view of w below
            return out + (x * 1.0).sum()

        fast = ember.compile(f, disable=disable)
        for _ in range(3):
            results.append((float(fast(w[:])), w.numpy().copy()))
    n = len(results) // 2
    for (a, wa), (b, wb) in zip(results[:n], results[n:]):
        assert a == b
        np.testing.assert_array_equal(wa, wb)


def test_protect_copies_only_aliased_or_read_only_donors():
    from ember.compiler.program import protect

    a, b = np.zeros(4), np.ones(3)
    ro = np.ones(2)
    ro.flags.writeable = False
    same = protect([a, b], [0])
    assert same[0] is a and same[1] is b
    out = protect([a, a[1:], b], [0, 2])
    assert out[0] is not a and np.shares_memory(out[1], a) and out[2] is b
    assert protect([ro, b], [0])[0] is not ro
