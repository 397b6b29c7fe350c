"""create_graph and higher-order gradients against PyTorch."""

import numpy as np
import pytest
import torch

import ember
from tests.core.helpers import close, pair, randn

RNG = np.random.default_rng(1)


def mlp(L, x, w1, b1, w2):
    """A two-layer net with a smooth activation a(h) = h * exp(-h*h/4), and a squared loss."""
    h = x @ w1 + b1
    a = h * (h * h * -0.25).exp()
    out = a @ w2
    return (out * out).sum() / 2.0


def params():
    return [
        pair(randn(RNG, 4, 5) * 0.5, True),
        pair(randn(RNG, 5), True),
        pair(randn(RNG, 5, 2) * 0.5, True),
    ]


def hvp(L, loss, ps, vs):
    gs = L.autograd.grad(loss, ps, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(gs, vs))
    return L.autograd.grad(dot, ps)


def test_hessian_vector_products_of_an_mlp():
    ps = params()
    xe, xt = pair(randn(RNG, 3, 4))
    vs = [pair(randn(RNG, *p[0].shape)) for p in ps]
    got = hvp(ember, mlp(ember, xe, *[p[0] for p in ps]), [p[0] for p in ps], [v[0] for v in vs])
    expected = hvp(
        torch, mlp(torch, xt, *[p[1] for p in ps]), [p[1] for p in ps], [v[1] for v in vs]
    )
    close(got, expected)
    assert all(not g.requires_grad for g in got)


def test_gradients_made_with_create_graph_are_differentiable():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ember.autograd.grad((x * x * x).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (g0,) = ember.autograd.grad((x * x * x).sum(), x)
    assert not g0.requires_grad and g0.grad_fn is None


@pytest.mark.parametrize("coeffs", [(0, 0, 0, 1), (1, -2, 0.5, 3, -1), (0.0, 1.0)])
def test_derivatives_of_polynomials_up_to_order_four(coeffs):
    """p(x) = sum c_k x^k built with mul only; d^n p/dx^n against torch for n = 1..4."""

    def derivatives(L, x):
        p, power = 0.0, None
        for k, c in enumerate(coeffs):
            power = x * 0.0 + 1.0 if k == 0 else power * x
            p = p + c * power
        out, cur = [], p.sum()
        for _ in range(4):
            (cur,) = L.autograd.grad(cur, x, create_graph=True)
            out.append((cur.detach(), cur.requires_grad))
            if not cur.requires_grad:  # a constant derivative: the next one does not exist
                break
            cur = cur.sum()
        return out

    xe, xt = pair([-1.5, 0.5, 2.0], True)
    got, expected = derivatives(ember, xe), derivatives(torch, xt)
    assert [r for _, r in got] == [r for _, r in expected]
    close([g for g, _ in got], [g for g, _ in expected])


def test_third_derivative_of_cube():
    xe, xt = pair([2.0, -1.0], True)
    res = []
    for L, x in ((ember, xe), (torch, xt)):
        y = (x * x * x).sum()
        (g1,) = L.autograd.grad(y, x, create_graph=True)
        (g2,) = L.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = L.autograd.grad(g2.sum(), x)
        res.append((g1, g2, g3))
    close(res[0], res[1])


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_with_create_graph_then_backward_of_the_gradient():
    xe, xt = pair([0.5, -1.0, 2.0], True)
    for x in (xe, xt):
        (x.exp() * x).sum().backward(create_graph=True)
        g = x.grad
        x.grad = None
        (g * g).sum().backward()
    close(xe.grad, xt.grad)


def test_gradient_penalty_against_torch():
    """loss = f(x; w) + |df/dx|^2, differentiated with respect to the weights."""
    (we, wt), (be, bt) = pair(randn(RNG, 3, 3), True), pair(randn(RNG, 3), True)
    xe, xt = pair(randn(RNG, 4, 3), True)
    for L, x, w, b in ((ember, xe, we, be), (torch, xt, wt, bt)):
        f = ((x @ w + b).exp() / (1.0 + (x @ w).exp())).sum()
        (gx,) = L.autograd.grad(f, x, create_graph=True)
        (f + (gx * gx).sum()).backward()
    close((we.grad, be.grad), (wt.grad, bt.grad))


def test_second_order_through_broadcasting_division_and_movement():
    (ae, at), (be, bt) = pair(randn(RNG, 2, 1, 3), True), pair(randn(RNG, 4, 1) ** 2 + 1, True)
    res = []
    for L, a, b in ((ember, ae, be), (torch, at, bt)):
        y = (a / b).permute(1, 0, 2).reshape(4, 6).transpose(0, 1).expand(2, 6, 4) * a.sum()
        gs = L.autograd.grad((y * y).sum(), [a, b], create_graph=True)
        res.append(L.autograd.grad(sum((g * g).sum() for g in gs), [a, b]))
    close(res[0], res[1])


def test_grad_outputs_that_require_grad():
    """With create_graph, the result is differentiable in grad_outputs too (double-vjp trick)."""
    res = []
    xe, xt = pair(randn(RNG, 3), True)
    ue, ut = pair(np.zeros(3), True)
    for L, x, u in ((ember, xe, ue), (torch, xt, ut)):
        y = x.exp() * x
        (vjp,) = L.autograd.grad(y, x, grad_outputs=u, create_graph=True)
        res.append(L.autograd.grad(vjp, u, grad_outputs=L.ones(3, dtype=x.dtype)))  # = J^T 1
    close(res[0], res[1])
