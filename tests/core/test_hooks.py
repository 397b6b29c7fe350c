"""Tensor hooks (register_hook) on leaves and non-leaves, against PyTorch."""

import numpy as np
import pytest
import torch

import ember
from tests.core.helpers import close, pair


def run_both(fn):
    """``fn(L, x)`` on ember and torch with the same leaf; returns the two results."""
    xe, xt = pair([1.0, -2.0, 3.0], True)
    return fn(ember, xe), fn(torch, xt)


def test_leaf_hook_sees_the_total_gradient_once_and_can_replace_it():
    def fn(L, x):
        seen = []

        def hook(g):
            seen.append(g.detach().clone() if L is torch else g.clone())
            return g * 10

        x.register_hook(hook)
        (x * x + x).sum().backward()  # x reaches the loss three ways
        return seen, x.grad

    (seen_e, grad_e), (seen_t, grad_t) = run_both(fn)
    assert len(seen_e) == len(seen_t) == 1
    close(seen_e, seen_t)
    close(grad_e, grad_t)


def test_non_leaf_hooks_modify_what_flows_below():
    def fn(L, x):
        y = x * 2
        z = y.exp()
        seen = []
        y.register_hook(lambda g: seen.append(g.clone()))
        z.register_hook(lambda g: g * 0.5)  # halves everything below z
        (z * y).sum().backward()
        return seen, x.grad

    (seen_e, grad_e), (seen_t, grad_t) = run_both(fn)
    close(seen_e, [s.detach() for s in seen_t])
    close(grad_e, grad_t)


def test_hook_returning_none_keeps_the_gradient_and_hooks_chain():
    def fn(L, x):
        order = []
        x.register_hook(lambda g: order.append("a"))
        x.register_hook(lambda g: (order.append("b"), g + 1)[1])
        x.register_hook(lambda g: (order.append("c"), g * 3)[1])
        (x * 2).sum().backward()
        return order, x.grad

    (order_e, grad_e), (order_t, grad_t) = run_both(fn)
    assert order_e == order_t == ["a", "b", "c"]
    close(grad_e, grad_t)


def test_removing_a_hook_with_its_handle():
    def fn(L, x):
        h = x.register_hook(lambda g: g * 100)
        (x * 2).sum().backward()
        first = x.grad.clone()
        h.remove()
        h.remove()  # removing twice is harmless
        x.grad = None
        (x * 2).sum().backward()
        return first, x.grad

    close(*run_both(fn))


@pytest.mark.parametrize("wrt", ["y", "x"])
def test_hooks_run_for_autograd_grad_and_capture_sees_the_hooked_value(wrt):
    """(PyTorch returns the value before the hook when asked for [y, x] at once but after it
    for [y] alone; ember always returns the hooked value.)"""

    def fn(L, x):
        y = x * 3
        y.register_hook(lambda g: g * 2)
        x.register_hook(lambda g: g + 1)
        return L.autograd.grad((y * y).sum(), {"x": x, "y": y}[wrt])

    close(*run_both(fn))


def test_hooks_in_create_graph_mode_receive_differentiable_gradients():
    def fn(L, x):
        y = x * x
        flags = []
        y.register_hook(lambda g: flags.append(g.requires_grad))
        (g,) = L.autograd.grad((y * x).sum(), x, create_graph=True)
        return flags, L.autograd.grad(g.sum(), x)[0]

    (flags_e, hess_e), (flags_t, hess_t) = run_both(fn)
    assert flags_e == flags_t
    close(hess_e, hess_t)


def test_hook_on_one_output_of_a_multi_output_function():
    class Split(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0, x * 2.0

        @staticmethod
        def backward(ctx, ga, gb):
            return ga + gb * 2.0

    x = ember.tensor([1.0, 2.0], requires_grad=True)
    a, b = Split.apply(x)
    seen = []
    b.register_hook(lambda g: seen.append(g.tolist()) or g * 0.0)
    (a * 3 + b * 5).sum().backward()
    assert seen == [[5.0, 5.0]]
    assert x.grad.tolist() == [3.0, 3.0]  # b's gradient was zeroed by its hook


def test_register_hook_requires_grad():
    with pytest.raises(
        ember.AutogradError,
        match="register_hook: cannot register a hook on a tensor that doesn't require grad",
    ):
        ember.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError):
        torch.ones(2).register_hook(lambda g: g)


def test_hooks_registered_before_an_inplace_op_see_the_old_gradient():
    def fn(L, x):
        y = x * 1.0
        seen = []
        y.register_hook(lambda g: seen.append(g.clone()))
        y.mul_(3)
        y.sum().backward()
        return seen

    got, expected = run_both(fn)
    close(got, [s.detach() for s in expected])
    assert np.allclose(got[0].numpy(), 3.0)
