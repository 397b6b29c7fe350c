"""simplify, fold and cse inside ``ember.compile``: a compiled MLP training step still matches
the eager step bitwise, ``disable=`` really skips a pass, and results that the passes turned
into inputs, constants or duplicates still get their own storage."""

import numpy as np
import pytest

import ember
from ember import nn, optim
from ember.passes import PIPELINE, run_passes
from tests.steps import classifier_step

MINE = ("simplify", "fold", "cse")
LATER = ("fuse", "memory")  # they regroup nodes: switched off where nodes are counted


def _setup(kind):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))
    if kind == "adam":
        opt = optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-2)
    else:
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    step = classifier_step(model, opt)

    return model, opt, step


def _batch(rng):
    x = ember.tensor(rng.standard_normal((8, 6)).astype(np.float32))
    return x, ember.tensor(rng.integers(0, 4, 8))


def test_pipeline_order():
    assert list(PIPELINE)[:4] == ["simplify", "fold", "cse", "dce"]


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_compiled_training_step_matches_eager_bitwise(kind):
    m_e, o_e, eager = _setup(kind)
    m_c, o_c, step = _setup(kind)
    compiled = ember.compile(step)
    rng = np.random.default_rng(1)
    for i in range(5):
        x, y = _batch(rng)
        assert float(eager(x, y)) == float(compiled(x, y)), f"step {i}"
    for p, q in zip(m_e.parameters(), m_c.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    for k, state in o_e.state_dict()["state"].items():
        for key, v in state.items():
            w = o_c.state_dict()["state"][k][key]
            np.testing.assert_array_equal(np.asarray(v), np.asarray(w), err_msg=key)
    x, y = _batch(rng)
    traced = compiled.graph(x, y, optimized=False)
    mine = run_passes(traced, disable=LATER)
    plain = run_passes(traced, disable=LATER + MINE)
    assert len(mine.nodes) < len(plain.nodes)


def test_disable_cse_really_skips_it():
    # the SGD step casts the float64 learning rate to float32 once per parameter
    _, _, step = _setup("sgd")
    x, y = _batch(np.random.default_rng(0))
    casts = {}
    for name, disable in (("on", LATER), ("off", LATER + ("cse",))):
        c = ember.compile(step, disable=disable)
        c(x, y)
        c(x, y)
        casts[name] = sum(n.op == "cast" for n in c.graph(x, y).nodes)
    assert casts == {"on": 1, "off": 4}


def test_results_that_became_inputs_constants_or_duplicates_own_their_storage():
    def f(x):
        return x * 1, ember.ones(3) * 2, x * 2, x * 2

    c = ember.compile(f)
    x = ember.randn(3)
    for _ in range(3):
        same, const, a, b = c(x)
        assert not np.shares_memory(same.numpy(), x.numpy())
        assert not np.shares_memory(a.numpy(), b.numpy())
        np.testing.assert_array_equal(const.numpy(), [2.0, 2.0, 2.0])
        const.add_(100.0)  # must not reach the graph's folded constant
        a.add_(1.0)
    graph = c.graph(x)
    assert graph.outputs[0] is graph.inputs[0] and graph.outputs[1].is_const


def test_a_gradient_folded_to_a_constant_is_a_fresh_array_each_call():
    w = nn.Parameter(ember.randn(3))

    def step(x):
        w.grad = None
        loss = (w + x).sum()
        loss.backward()
        return loss

    c = ember.compile(step)
    grads = []
    for _ in range(5):
        x = ember.randn(3)
        want = (w.detach() + x).sum().numpy()
        np.testing.assert_array_equal(c(x).detach().numpy(), want)
        np.testing.assert_array_equal(w.grad.numpy(), np.ones(3, np.float32))
        grads.append(w.grad._data)
        if w.grad._data.flags.writeable and w.grad._data.base is None:
            w.grad.mul_(5.0)  # a user scaling the gradient outside the compiled step
    assert len(c.programs) == 2  # traced with w.grad None, then set; calls 3-5 ran the graph
    const = c.programs[1].optimized.outputs[1]
    assert const.is_const  # the gradient folded to a constant
    for i, g in enumerate(grads[2:], 2):  # the graph's calls: each .grad is its own array
        assert not np.shares_memory(g, const.const), f"call {i}"
        assert not np.shares_memory(g, grads[i - 1]), f"call {i}"
