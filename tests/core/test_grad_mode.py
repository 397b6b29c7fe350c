"""no_grad / enable_grad / inference_mode / set_grad_enabled against PyTorch."""

import pytest
import torch

import ember


def records(L, x):
    return (x * 2).requires_grad


def modes(L):
    return {
        "no_grad": L.no_grad,
        "enable_grad": L.enable_grad,
        "inference_mode": L.inference_mode,
        "inference_mode_false": lambda: L.inference_mode(False),
        "set_false": lambda: L.set_grad_enabled(False),
        "set_true": lambda: L.set_grad_enabled(True),
    }


NAMES = list(modes(ember))


@pytest.mark.parametrize("outer", NAMES)
@pytest.mark.parametrize("inner", NAMES)
def test_nested_context_managers_match_torch(outer, inner):
    results = []
    for L in (ember, torch):
        x = L.ones(2, requires_grad=True)
        m = modes(L)
        with m[outer]():
            a = records(L, x), L.is_grad_enabled()
            with m[inner]():
                b = records(L, x), L.is_grad_enabled()
            c = records(L, x), L.is_grad_enabled()
        d = records(L, x), L.is_grad_enabled()
        results.append((a, b, c, d))
    assert results[0] == results[1]


def decorated(L, name):
    deco = {
        "no_grad": L.no_grad,
        "enable_grad": L.enable_grad,
        "inference_mode": L.inference_mode,
        "set_false": lambda: L.set_grad_enabled(False),
    }[name]()

    @deco
    def f(v):
        return records(L, v), L.is_grad_enabled()

    return f


@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "inference_mode", "set_false"])
def test_as_decorators(name):
    results = []
    for L in (ember, torch):
        x = L.ones(2, requires_grad=True)
        f = decorated(L, name)
        with L.no_grad():
            inside_no_grad = f(x)
        results.append((f(x), inside_no_grad, L.is_grad_enabled()))
    assert results[0] == results[1]
    assert ember.is_grad_enabled()


def test_set_grad_enabled_as_a_function():
    try:
        ember.set_grad_enabled(False)
        assert not ember.is_grad_enabled()
        assert not (ember.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        ember.set_grad_enabled(True)
    assert ember.is_grad_enabled()


def test_the_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with ember.no_grad():
            1 / 0
    assert ember.is_grad_enabled()

    @ember.no_grad()
    def boom():
        raise KeyError

    with pytest.raises(KeyError):
        boom()
    assert ember.is_grad_enabled()


def test_no_grad_results_are_leaves_and_backward_still_works_outside():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with ember.no_grad():
        y = x * 3
        with ember.enable_grad():
            z = x * 3
    assert y.is_leaf and y.grad_fn is None and not y.requires_grad
    assert z.requires_grad and not z.is_leaf
    (z * y).sum().backward()
    assert x.grad.tolist() == [9.0, 18.0]


def test_backward_runs_without_recording_and_restores_the_mode():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(ember.is_grad_enabled()))
    (x * x).sum().backward()
    assert seen == [False] and ember.is_grad_enabled()
    ember.autograd.grad((x * x).sum(), x, create_graph=True)
    assert seen == [False, True] and ember.is_grad_enabled()
