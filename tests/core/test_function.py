"""User-defined autograd Functions against the same Functions written for PyTorch."""

import gc
import weakref

import numpy as np
import pytest
import torch

import ember
from ember.testing import GradcheckError, gradcheck, gradgradcheck
from tests.core.helpers import close, pair, randn

RNG = np.random.default_rng(2)


def make_functions(L):
    """The same Functions for ember and for torch (their bodies use only shared methods)."""

    class Cube(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3.0 * x * x

    class ScaledMulExp(L.autograd.Function):
        """Two outputs (x*y*scale, exp(x)) from two tensors and a Python number."""

        @staticmethod
        def forward(ctx, x, y, scale):
            e = x.exp()
            ctx.save_for_backward(x, y, e)  # e is also an output
            ctx.scale = scale
            return x * y * scale, e

        @staticmethod
        def backward(ctx, g_prod, g_exp):
            x, y, e = ctx.saved_tensors
            gx = g_prod * y * ctx.scale + g_exp * e
            gy = g_prod * x * ctx.scale
            return gx, gy, None

    return Cube, ScaledMulExp


E_CUBE, E_SME = make_functions(ember)
T_CUBE, T_SME = make_functions(torch)


def test_single_output_function_and_its_double_backward():
    xe, xt = pair(randn(RNG, 4), True)
    res = []
    for x, Cube in ((xe, E_CUBE), (xt, T_CUBE)):
        y = Cube.apply(x)
        (g,) = _grad(x)(y.sum(), x, create_graph=True)
        (h,) = _grad(x)((g * g).sum(), x)  # backward of backward: its ops were recorded
        res.append((y, g, h))
    close(res[0], tuple(t.detach() for t in res[1]))


def _grad(x):
    return ember.autograd.grad if isinstance(x, ember.Tensor) else torch.autograd.grad


def test_grad_fn_name_and_next_functions():
    x = ember.ones(2, requires_grad=True)
    y = E_CUBE.apply(x)
    assert (
        y.grad_fn.name()
        == "CubeBackward"
        == type(T_CUBE.apply(torch.ones(2, requires_grad=True)).grad_fn).__name__
    )
    assert y.grad_fn.next_functions[0][0].variable is x


@pytest.mark.parametrize("use", ["both", "prod", "exp"])
def test_multi_output_gradient_routing(use):
    """Gradients reach each output's slot; an output unused in the loss gets zeros."""
    (xe, xt), (ye, yt) = pair(randn(RNG, 3), True), pair(randn(RNG, 3), True)
    for x, y, SME in ((xe, ye, E_SME), (xt, yt, T_SME)):
        p, e = SME.apply(x, y, 2.5)
        loss = {"both": (p * e).sum(), "prod": (p * p).sum(), "exp": e.sum() * 3}[use]
        loss.backward()
    close((xe.grad, ye.grad), (xt.grad, yt.grad))


def test_multi_output_double_backward_through_a_saved_output():
    (xe, xt), (ye, yt) = pair(randn(RNG, 3), True), pair(randn(RNG, 3), True)
    res = []
    for x, y, SME in ((xe, ye, E_SME), (xt, yt, T_SME)):
        p, e = SME.apply(x, y, 0.5)
        gs = _grad(x)((p * e).sum(), [x, y], create_graph=True)
        res.append(_grad(x)(sum((g * g).sum() for g in gs), [x, y]))
    close(res[0], res[1])


def test_needs_input_grad_and_non_tensor_arguments():
    seen = {}

    class Probe(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, n, flag):
            seen["needs"] = ctx.needs_input_grad
            seen["args"] = (n, flag)
            return a * b * n

        @staticmethod
        def backward(ctx, g):
            return g, None, None, None

    a = ember.ones(2, requires_grad=True)
    out = Probe.apply(a, ember.ones(2), 3, "x")
    assert seen == {"needs": (True, False, False, False), "args": (3, "x")}
    out.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_forward_runs_without_recording_and_plain_inputs_skip_the_graph():
    class Check(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            assert not ember.is_grad_enabled()
            y = x * 2
            assert not y.requires_grad
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = ember.ones(2)
    out = Check.apply(x)
    assert not out.requires_grad and out.grad_fn is None
    with ember.no_grad():
        assert Check.apply(ember.ones(2, requires_grad=True)).grad_fn is None


def test_saved_tensor_modified_in_place_raises_with_versions():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = E_CUBE.apply(h)
    h.add_(1)
    with pytest.raises(
        ember.AutogradError,
        match=r"Cube: tensor 0 saved by save_for_backward was "
        r"modified by an in-place operation \(version 0 "
        r"when saved, now 1\)",
    ):
        y.sum().backward()
    ht = torch.tensor([1.0, 2.0], requires_grad=True) * 1.0
    yt = T_CUBE.apply(ht)
    ht.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        yt.sum().backward()


def test_saved_tensors_are_freed_after_backward():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = E_CUBE.apply(x * 1.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [6.0, 24.0]
    with pytest.raises(
        ember.AutogradError, match="trying to backward through 'Cube' a second time"
    ):
        y.backward()


def test_saved_outputs_do_not_keep_the_graph_alive():
    x = ember.ones(3, requires_grad=True)
    p, e = E_SME.apply(x, x * 2, 1.0)
    ref = weakref.ref(e.grad_fn)
    gc.disable()  # only reference counting may free it
    try:
        del p, e
        assert ref() is None
    finally:
        gc.enable()


def test_backward_returning_the_wrong_number_of_gradients():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    out = Bad.apply(ember.ones(2, requires_grad=True), ember.ones(2))
    with pytest.raises(
        ember.AutogradError, match="Bad.backward returned 1 gradients but forward took 2 inputs"
    ):
        out.sum().backward()


def test_forward_must_return_tensors():
    class NotTensor(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(
        ember.AutogradError, match="NotTensor.forward must return a Tensor or a tuple of Tensors"
    ):
        NotTensor.apply(ember.ones(1, requires_grad=True))


def test_mark_non_differentiable_and_integer_outputs():
    class SortLike(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = ember.tensor([1, 0])
            mask = x * 0.0
            ctx.mark_non_differentiable(mask)
            return x * 2, idx, mask

        @staticmethod
        def backward(ctx, g, g_idx, g_mask):
            assert g_idx.tolist() == [0, 0] and g_mask.tolist() == [0.0, 0.0]  # materialized
            return g * 2

    x = ember.ones(2, requires_grad=True)
    y, idx, mask = SortLike.apply(x)
    assert y.requires_grad and not idx.requires_grad and not mask.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_set_materialize_grads_false_passes_none():
    class Two(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 1.0, x * 2.0

        @staticmethod
        def backward(ctx, ga, gb):
            assert gb is None
            return ga

    x = ember.ones(2, requires_grad=True)
    a, _ = Two.apply(x)
    a.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_returning_an_input_makes_a_new_graph_position_sharing_the_version():
    class Identity(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = ember.ones(2, requires_grad=True)
    h = x * 1.0
    y = Identity.apply(h)
    assert y is not h and y.grad_fn.name() == "IdentityBackward"
    with ember.no_grad():
        h.add_(1)
    assert y._version == h._version == 1 and y.tolist() == [2.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


class WrongCube(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * x  # should be 3 x^2


class SmoothButWrongSecondOrder(ember.autograd.Function):
    """Right first derivative; its backward is built from detached values, so the second
    derivative is wrong (zero)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * (x * x).detach()


def test_gradcheck_catches_a_wrong_vjp_and_passes_right_ones():
    x = ember.tensor(randn(RNG, 5), requires_grad=True)
    with pytest.raises(GradcheckError, match="gradcheck: direction 0: autograd gives"):
        gradcheck(WrongCube.apply, (x,))
    assert gradcheck(WrongCube.apply, (x,), raise_exception=False) is False
    assert gradcheck(E_CUBE.apply, (x,))
    assert gradgradcheck(E_CUBE.apply, (x,))
    assert gradcheck(SmoothButWrongSecondOrder.apply, (x,))
    with pytest.raises(GradcheckError):
        gradgradcheck(SmoothButWrongSecondOrder.apply, (x,))
    ye = ember.tensor(randn(RNG, 5), requires_grad=True)
    assert gradcheck(lambda a, b: E_SME.apply(a, b, 1.5), (x, ye))
    assert gradgradcheck(lambda a, b: E_SME.apply(a, b, 1.5), (x, ye))


def test_retain_grad_and_autograd_grad_on_outputs_of_a_multi_output_function():
    (xe, xt) = pair([1.0, 2.0], True)
    res = []
    for x, SME in ((xe, E_SME), (xt, T_SME)):
        p, e = SME.apply(x, x * 2.0, 1.5)
        p.retain_grad()
        e.retain_grad()
        (p * 3 + e * p).sum().backward(retain_graph=True)
        by_grad = _grad(x)((p * 3 + e * p).sum(), [e, p])
        res.append((p.grad, e.grad, x.grad) + tuple(by_grad))
    close(res[0], res[1])
