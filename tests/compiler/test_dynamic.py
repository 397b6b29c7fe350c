"""dynamic=True: one symbolic graph serves every batch size, without re-running user code."""

import warnings

import numpy as np
import pytest

import ember
from ember import nn, optim
from ember.compiler import RetraceWarning
from ember.compiler.dynamic import Dim, FloatDim, Mismatch, unify_scalar
from tests.steps import classifier_step


def test_unify_scalar_forms():
    assert unify_scalar(784, 784, 32, 16) == 784
    assert unify_scalar(32, 16, 32, 16) == Dim(1, 0)
    assert unify_scalar(65, 33, 32, 16) == Dim(2, 1)
    assert unify_scalar(1.0 / 320, 1.0 / 160, 32, 16) == FloatDim(Dim(10, 0), True)
    assert unify_scalar(32.0, 16.0, 32, 16) == FloatDim(Dim(1, 0), False)
    with pytest.raises(Mismatch):
        unify_scalar(16, 8, 32, 17)  # not k*B + c with integer k
    with pytest.raises(Mismatch):
        unify_scalar(0.5, 0.25, 32, 16)
    with pytest.raises(Mismatch):
        unify_scalar(True, False, 32, 16)


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_one_symbolic_graph_for_every_batch_size():
    model = _mlp()
    calls = []

    def forward(x):
        calls.append(x.shape[0])
        return model(x).reshape(x.shape[0], -1)

    fast = ember.compile(forward, dynamic=True)
    with ember.no_grad():
        for b in (4, 7, 10, 13, 1, 7):
            x = ember.randn(b, 4)
            np.testing.assert_array_equal(fast(x).numpy(), model(x).numpy())
    assert calls == [4, 7]  # traced twice, then instantiated for 10, 13 and 1
    g = fast.symbolic_graph
    assert str(g.inputs[0].shape[0]) == "B" and "shape=(B, 3)" in str(g)


def test_dynamic_training_step_matches_eager_bitwise():
    def make():
        model = _mlp()
        opt = optim.Adam(model.parameters(), lr=0.01)

        step = classifier_step(model, opt)

        return model, step

    m_eager, eager = make()
    m_comp, step = make()
    fast = ember.compile(step, dynamic=True)
    rng = np.random.default_rng(0)
    for b in (5, 5, 8, 3, 9, 12, 5):
        x = ember.tensor(rng.standard_normal((b, 4)).astype(np.float32))
        y = ember.tensor(rng.integers(0, 3, b))
        assert float(eager(x, y)) == float(fast(x, y))
    for p, q in zip(m_eager.parameters(), m_comp.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert fast.symbolic_graph is not None and len(fast.cache.keys) == 2


def test_gradients_through_dynamic_compiled_forward():
    model = _mlp()
    fast = ember.compile(model, dynamic=True)
    for b in (4, 7, 10):
        x = ember.randn(b, 4, requires_grad=True)
        fast(x).sum().backward()
        expected = x.grad.numpy().copy()
        x.grad = None
        model(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
    assert fast.symbolic_graph is not None


def test_batch_dependent_structure_falls_back_to_per_shape_graphs():
    def f(x):
        return x * ember.arange(x.shape[0]).reshape(-1, 1)  # a constant that grows with B

    fast = ember.compile(f, dynamic=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for b in (2, 3, 4):
            x = ember.ones(b, 2)
            np.testing.assert_array_equal(fast(x).numpy(), f(x).numpy())
    assert any(
        issubclass(w.category, RetraceWarning) and "differ" in str(w.message) for w in caught
    )
    assert fast.symbolic_graph is None
    # each batch size now runs its own cached graph
    for b in (4, 2, 3):
        x = ember.randn(b, 2)
        np.testing.assert_array_equal(fast(x).numpy(), f(x).numpy())
    assert len(fast.programs) == 3
