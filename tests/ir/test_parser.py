"""``parse`` reads back what ``format_graph`` prints: print -> parse -> print is the identity,
and the parsed graph computes what the original computes (checked by running both)."""

import numpy as np
import pytest

import ember
from ember import models, nn, optim
from ember.ir import GraphError, parse, run_graph
from ember.ir.printer import format_graph
from ember.ir.verify import verify
from tests.steps import classifier_step


def _inputs(graph, rng):
    out = []
    for v in graph.inputs:
        if v.dtype.kind == "f":
            out.append(rng.random(v.shape).astype(v.dtype))  # >= 0: valid Adam state
        elif v.dtype.kind == "b":
            out.append(rng.random(v.shape) < 0.5)
        else:
            out.append(rng.integers(0, 2, v.shape).astype(v.dtype))
    return out


def _roundtrip(graph, run=True):
    consts = {c.name: c.const for c in graph.constants}
    for source in (True, False):
        text = format_graph(graph, source=source)
        back = parse(text, constants=consts)
        assert format_graph(back, source=source) == text
    if run:  # (symbolic dims are not verified: the shape rules work on concrete dims)
        verify(back)
        rng = np.random.default_rng(0)
        args = _inputs(graph, rng)
        for a, b in zip(run_graph(graph, args), run_graph(back, args)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    return back


def test_traced_mlp_roundtrips_and_runs():
    model = models.mlp(sizes=(12, 8, 3))
    fast = ember.compile(model)
    x = ember.randn(4, 12)
    _roundtrip(fast.graph(x))
    _roundtrip(fast.graph(x, optimized=False))


def test_frozen_lenet_needs_its_large_constants():
    model = models.lenet5()
    fast = ember.compile(model, freeze=True)
    x = ember.randn(2, 1, 28, 28)
    with ember.no_grad():
        g = fast.graph(x)
    assert any(c.const.size > 16 for c in g.constants)
    _roundtrip(g)
    with pytest.raises(GraphError, match=r"constant %[\w.]+ is not printed; pass constants"):
        parse(format_graph(g))


def test_transformer_encoder_layer_roundtrips():
    layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0)
    layer.eval()
    fast = ember.compile(layer)
    _roundtrip(fast.graph(ember.randn(2, 5, 16)))


def test_adam_training_step_roundtrips():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)

    step = ember.compile(classifier_step(model, opt))

    x, y = ember.randn(4, 6), ember.tensor([0, 1, 2, 0])
    step(x, y)  # the first step creates the optimizer state
    step(x, y)
    (program,) = step.programs
    _roundtrip(program.optimized)


def test_dynamic_batch_graph_with_symbolic_dims_roundtrips():
    model = models.mlp(sizes=(6, 5, 2))
    fast = ember.compile(model, dynamic=True)
    fast(ember.randn(3, 6))
    fast(ember.randn(7, 6))
    g = fast.symbolic_graph
    assert g is not None and "B" in format_graph(g)
    back = _roundtrip(g, run=False)
    assert str(back.inputs[0].shape[0]) == str(g.inputs[0].shape[0])


def test_control_flow_subgraphs_roundtrip():
    lin = nn.Linear(3, 3)

    def f(x, n):
        y = ember.cond(x.sum() > 0, lambda a: lin(a), lambda a: a * 2.0, (x,))
        c, ys = ember.scan(lambda c, r: (c + r, c * r), ember.zeros(3), y)
        (k, c) = ember.while_loop(lambda k, c: k < n, lambda k, c: (k + 1, c * 0.5), (n * 0, c))
        return c, ys

    fast = ember.compile(f)
    x, n = ember.randn(4, 3), ember.tensor(3)
    g = fast.graph(x, n)
    text = format_graph(g)
    assert "true_fn=" in text and "combine_fn=" in text and "body_fn=" in text
    _roundtrip(g)


@pytest.mark.parametrize(
    "text,message",
    [
        ("graph(%x: f32[2]) {\n  return (%x)\n}", "expected 'name"),
        ("graph(%x: f32[2]) -> (f32[2]) {\n  return (%y)\n}", "%y is used before it is defined"),
        ("graph(%x: q7[2]) -> (q7[2]) {\n  return (%x)\n}", "q7"),
        ("graph(%x: f32[2]) -> (f32[2]) {\n  %0: f32[2] = exp(%x)\n", "is not closed"),
        ("graph(%x: f32[2]) -> (f32[2]) {\n  return (%x)\n}\nextra", "after the graph"),
        ("graph(%x: f32[2]) -> (f32[2]) {\n  exp(%x)\n  return (%x)\n}", "expected '%name"),
        ("", "empty"),
    ],
)
def test_bad_text_is_named_with_its_line(text, message):
    with pytest.raises(GraphError, match="parse"):
        parse(text)
    with pytest.raises(GraphError, match=message.replace("(", r"\(")):
        parse(text)
