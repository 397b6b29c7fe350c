"""The engine's resource behaviour: deep graphs, buffers released, no reference cycles."""

import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import ember


@pytest.fixture
def no_gc():
    """Only reference counting frees objects inside: a leak through a cycle shows."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_a_chain_of_10000_ops_backpropagates_and_frees_without_recursion(no_gc):
    x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    y = x
    for i in range(10_000):
        y = y * 1.0001 if i % 2 else y + 0.5
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # nothing in backward may recurse per node
    try:
        y.sum().backward()
        assert np.allclose(x.grad.numpy(), 1.0001**5000)
        root = weakref.ref(y.grad_fn)
        del y
        assert root() is None
    finally:
        sys.setrecursionlimit(limit)


def test_deep_create_graph_backward():
    import torch

    res = []
    for L in (ember, torch):
        x = L.tensor(1.0, dtype=L.float64, requires_grad=True)
        y = x
        for _ in range(1000):
            y = y * x * 0.999 + 0.001
        (g,) = L.autograd.grad(y, x, create_graph=True)
        (h,) = L.autograd.grad(g, x)
        res.append((g.item(), h.item()))
    assert np.allclose(res[0], res[1], rtol=1e-9)


def test_intermediates_are_released_after_backward(no_gc):
    x = ember.randn(200, 200, dtype=ember.float64, requires_grad=True)
    h = (x * 2).exp()  # exp saves its output; mul below saves h
    out = (h * h).sum()
    refs = [weakref.ref(h), weakref.ref(h.detach().numpy())]  # the tensor and its array
    del h
    assert all(r() is not None for r in refs)  # saved for backward
    out.backward()
    assert all(r() is None for r in refs)


def test_retain_graph_keeps_them_until_the_last_backward(no_gc):
    x = ember.randn(50, dtype=ember.float64, requires_grad=True)
    h = x.exp()
    out = (h * h).sum()
    ref = weakref.ref(h)
    del h
    out.backward(retain_graph=True)
    assert ref() is not None
    out.backward()
    assert ref() is None


def test_memory_returns_after_backward():
    """tracemalloc: the memory held by the graph during forward is back after backward."""
    x = ember.randn(256, 256, dtype=ember.float64, requires_grad=True)
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        y = x
        for _ in range(6):
            y = (y * 0.1).exp()  # every step saves 512 KiB arrays
        loss = y.sum()
        held, _ = tracemalloc.get_traced_memory()
        loss.backward()
        del y
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    array = 256 * 256 * 8
    assert held - base > 6 * array
    assert after - base < 1.5 * array  # x.grad plus small bookkeeping


def test_dropping_the_output_frees_the_graph_without_backward(no_gc):
    x = ember.ones(10, requires_grad=True)
    h = x.exp()
    out = (h * h * x).sum()
    ref_node, ref_h = weakref.ref(out.grad_fn), weakref.ref(h)
    del h, out
    assert ref_node() is None and ref_h() is None


def test_grad_buffers_do_not_alias_inputs_or_user_arrays():
    g = ember.ones(3)
    x = ember.zeros(3, requires_grad=True)
    (x + 0.0).backward(g)
    assert not np.shares_memory(x.grad.numpy(), g.numpy())
    x.grad.add_(1)
    assert g.tolist() == [1.0, 1.0, 1.0]
