"""The loss_grad pass: a softmax cross entropy and its backward of the same logits become one
node with the bits of the two, only when the backward's seed is known before the loss, and
``ember.compile(disable=("loss_grad",))`` keeps them apart."""

import numpy as np

import ember
import ember.ops.loss  # noqa: F401  (registers the ops)
from ember import nn, optim
from ember.ir import Graph, run_graph
from ember.ir.verify import verify
from ember.passes.loss_grad import loss_grad
from tests.passes.graphcheck import assert_bitwise
from tests.steps import classifier_step

KW = {"ignore_index": -100, "reduction": "mean"}


def _graph(seed_from_loss=False, backward_kw=KW):
    g = Graph()
    x = g.add_input(np.float32, (6, 4), "x")
    t = g.add_input(np.int64, (6,), "t")
    h = g.add_node("tanh", [x]).outputs[0]
    loss = g.add_node("softmax_cross_entropy", [h, t], KW).outputs[0]
    seed = (
        g.add_node("mul", [loss, 2.0]).outputs[0]
        if seed_from_loss
        else g.add_const(np.float32(1.0))
    )
    gx = g.add_node("softmax_cross_entropy_backward", [seed, h, t], backward_kw).outputs[0]
    g.outputs = [g.add_node("mul", [loss, 3.0]).outputs[0], gx]
    return g


def _inputs():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 4, 6)
    t[1] = -100
    return [rng.standard_normal((6, 4)).astype(np.float32), t]


def _ops(g):
    return [n.op for n in g.nodes]


def test_pairs_the_loss_with_its_backward_bitwise():
    g = _graph()
    before = str(g)
    new = loss_grad(g)
    assert str(g) == before  # the input graph is untouched
    verify(new)
    assert _ops(new).count("softmax_cross_entropy_with_grad") == 1
    assert "softmax_cross_entropy" not in _ops(new)
    assert "softmax_cross_entropy_backward" not in _ops(new)
    for got, want in zip(run_graph(new, _inputs()), run_graph(g, _inputs())):
        assert_bitwise(got, want)


def test_a_seed_computed_from_the_loss_keeps_both_nodes():
    new = loss_grad(_graph(seed_from_loss=True))
    assert "softmax_cross_entropy_with_grad" not in _ops(new)
    assert _ops(new).count("softmax_cross_entropy_backward") == 1


def test_other_attributes_keep_both_nodes():
    new = loss_grad(_graph(backward_kw={"ignore_index": -100, "reduction": "sum"}))
    assert "softmax_cross_entropy_with_grad" not in _ops(new)


def test_compiled_training_step_uses_it_and_can_switch_it_off():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    step = classifier_step(model, optim.SGD(model.parameters(), lr=0.1))
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((5, 6)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 3, 5))
    counts = {}
    for name, disable in (("on", ()), ("off", ("loss_grad",))):
        c = ember.compile(step, disable=disable)
        c(x, y)
        c(x, y)
        ops = _ops(c.graph(x, y))
        counts[name] = (
            ops.count("softmax_cross_entropy_with_grad"),
            ops.count("softmax_cross_entropy"),
        )
    assert counts == {"on": (1, 0), "off": (0, 1)}


def test_a_symbolic_batch_keeps_both_nodes():
    g = Graph()
    x = g.add_input(np.float32, ("N", 4), "x")
    t = g.add_input(np.int64, ("N",), "t")
    loss = g.add_node("softmax_cross_entropy", [x, t], KW).outputs[0]
    one = g.add_const(np.float32(1.0))
    gx = g.add_node("softmax_cross_entropy_backward", [one, x, t], KW).outputs[0]
    g.outputs = [loss, gx]
    assert "softmax_cross_entropy_with_grad" not in _ops(loss_grad(g))


def test_a_dynamic_batch_step_matches_eager():
    steps, models = [], []
    for _ in range(2):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
        steps.append(classifier_step(model, optim.SGD(model.parameters(), lr=0.1)))
        models.append(model)
    eager, compiled = steps[0], ember.compile(steps[1], dynamic=True)
    rng = np.random.default_rng(2)
    # 5: the state-creating first step (not cached); 5 and 7: the two traces the symbolic
    # graph is built from; then graphs instantiated from it (9, 3) and cached ones (5, 7)
    for n in (5, 5, 7, 9, 3, 5, 7):
        x = ember.tensor(rng.standard_normal((n, 6)).astype(np.float32))
        y = ember.tensor(rng.integers(0, 3, n))
        assert float(compiled(x, y)) == float(eager(x, y)), f"batch {n}"
    assert compiled.symbolic_graph is not None and len(compiled.cache.keys) == 2
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
