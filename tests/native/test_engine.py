"""The C walk of the backward executor (``engine.c``) against the Python ``propagate`` it
stands in for: the same gradients bit for bit, the same errors, hooks and freed graphs, no
reference leaks. (The whole core suite on the Python walk runs in test_dispatch.py, with
``EMBER_NATIVE=0``.)"""

import sys

import numpy as np
import pytest

import ember
from ember.core import engine
from ember.native import build
from ember.native import engine as native_engine
from ember.ops import registry

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")


@pytest.fixture
def python_walk(monkeypatch):
    """Run the body on the Python walk."""
    monkeypatch.setattr(engine, "_native_walk", [None])


def _leaf(shape, seed, dtype=np.float32):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ember.tensor(data, requires_grad=True)


def chain():
    x, w = _leaf((4,), 0), _leaf((4,), 1)
    c = ember.tensor(np.arange(4, dtype=np.float32))
    y = x
    for _ in range(4):
        y = ((y * w + c).sigmoid() - c) * 1.0
    return [x, w], y.sum()


def broadcast_and_reuse():
    # a bias broadcast over rows (Engine.fit sums it back), a leaf used three times, a
    # node whose gradient arrives from two consumers
    x, b = _leaf((3, 5), 2), _leaf((5,), 3)
    h = (x + b).tanh()
    return [x, b], (h * h + h * x + b).sum()


def several_outputs():
    # chunk's pieces are outputs of one node: edges (node, index)
    x = _leaf((6, 4), 4)
    a, b, c = x.chunk(3, dim=0)
    m, idx = x.max(dim=1)
    return [x], (a * b).sum() + c.exp().sum() + m.sum()


def mixed_dtypes():
    # a float32 leaf and a float64 leaf meet in a float64 op: the float32 gradient is cast back
    x, y = _leaf((3,), 5), _leaf((3,), 6, np.float64)
    return [x, y], (x * y).sin().sum()


def network():
    x = _leaf((8, 1, 6, 6), 7)
    w1, b1 = _leaf((3, 1, 3, 3), 8), _leaf((3,), 9)
    w2 = _leaf((2, 12), 10)
    F = ember.nn.functional
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
    logits = F.linear(h.flatten(1), w2)
    return [x, w1, b1, w2], F.cross_entropy(logits, ember.tensor([0, 1] * 4))


class Square(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def custom_function():
    x = _leaf((5,), 11)
    return [x], Square.apply(x.exp()).sum()


CASES = [chain, broadcast_and_reuse, several_outputs, mixed_dtypes, network, custom_function]


def _grads(case):
    leaves, loss = case()
    loss.backward()
    return [leaf.grad.numpy() for leaf in leaves]


def test_the_c_walk_is_installed():
    assert native_engine.status() == "C" and engine._native_walk[0] is not None


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_the_c_walk_gives_the_python_walks_gradients(case, monkeypatch):
    got = _grads(case)
    monkeypatch.setattr(engine, "_native_walk", [None])
    want = _grads(case)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def test_the_c_walk_matches_finite_differences():
    x = _leaf((4,), 12, np.float64)
    w = ember.tensor(np.random.default_rng(13).standard_normal(4), requires_grad=True)

    def f(xv):
        y = ember.tensor(xv)
        for _ in range(3):
            y = (y * w).sigmoid() - 0.5
        return y.sum()

    y = x
    for _ in range(3):
        y = (y * w).sigmoid() - 0.5
    y.sum().backward()
    eps, fd = 1e-6, np.zeros(4)
    for i in range(4):
        d = np.zeros(4)
        d[i] = eps
        xv = x.detach().numpy()
        fd[i] = (f(xv + d).item() - f(xv - d).item()) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-6, atol=1e-9)


def test_a_freed_graph_and_retain_graph_behave_as_in_python():
    leaves, loss = chain()
    loss.backward(retain_graph=True)
    first = leaves[0].grad.numpy().copy()
    loss.backward()  # the retained graph runs again, and accumulates
    np.testing.assert_allclose(leaves[0].grad.numpy(), 2 * first, rtol=1e-6)
    with pytest.raises(ember.AutogradError, match="a second time"):
        loss.backward()


def test_an_in_place_change_of_a_saved_tensor_is_caught():
    w = _leaf((3,), 14)
    y = w * 2.0
    loss = (y * y).sum()
    y.add_(1.0)
    with pytest.raises(ember.AutogradError, match="modified by an in-place operation"):
        loss.backward()


def _hooked():
    x = _leaf((3,), 15)
    h = x * 3.0
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2)
    (h * h).sum().backward()
    return [seen[0], h.grad.numpy(), x.grad.numpy()]


def test_hooks_and_retain_grad_run_on_nodes_the_c_walk_hands_back(monkeypatch):
    got = _hooked()
    np.testing.assert_allclose(got[0], 2 * 3.0 * _leaf((3,), 15).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(got[2], 2 * got[0] * 3.0, rtol=1e-6)  # the hook doubled it
    monkeypatch.setattr(engine, "_native_walk", [None])
    for g, w in zip(got, _hooked()):
        np.testing.assert_array_equal(g, w)


def test_a_failing_vjp_propagates_its_error_and_clears_the_edges():
    class Boom(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom in backward")

    x = _leaf((2,), 16)
    loss = (Boom.apply(x * 2.0) * 3.0).sum()
    with pytest.raises(ValueError, match="boom in backward"):
        loss.backward()
    assert getattr(registry.current, "edges", None) is None


def test_autograd_grad_and_create_graph_use_the_python_walk(monkeypatch):
    calls = []
    walk = engine._native_walk[0]
    monkeypatch.setattr(engine, "_native_walk", [lambda *a: calls.append(1) or walk(*a)])
    x = _leaf((3,), 17)
    (gx,) = ember.autograd.grad((x * x).sum(), [x], create_graph=True)
    (ggx,) = ember.autograd.grad(gx.sum(), [x])
    np.testing.assert_allclose(ggx.numpy(), np.full(3, 2.0), rtol=1e-6)
    assert calls == []
    (x * x).sum().backward()
    assert calls == [1]


def test_no_references_leak():
    x, w = _leaf((4,), 18), _leaf((4,), 19)

    def step():
        y = x
        for _ in range(3):
            y = (y * w).sigmoid() + x
        a, b = y.chunk(2)
        ((a * b).sum() + y.max(dim=0)[0]).backward()
        x.grad = w.grad = None

    step()
    before = [sys.getrefcount(o) for o in (x, w, x._data, w._data)]
    for _ in range(5_000):
        step()
    after = [sys.getrefcount(o) for o in (x, w, x._data, w._data)]
    assert after == before
