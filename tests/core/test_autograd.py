"""backward / autograd.grad against PyTorch: roots, gradients, accumulation, retain_graph,
inputs=, allow_unused, non-leaf inputs, leaf/non-leaf state, detach and requires_grad."""

import numpy as np
import pytest
import torch

import ember
from tests.core.helpers import close, pair, randn

RNG = np.random.default_rng(0)


def f_poly(L, x, w):
    """A small graph: broadcasting, a diamond (h used twice), matmul, exp, a reduction."""
    h = (x * w + 1.0).exp()
    return ((h * h - h / 2) @ L.ones(3, 2, dtype=x.dtype)).sum()


def test_backward_of_a_scalar():
    (xe, xt), (we, wt) = pair(randn(RNG, 4, 3), True), pair(randn(RNG, 3), True)
    f_poly(ember, xe, we).backward()
    f_poly(torch, xt, wt).backward()
    close(xe.grad, xt.grad)
    close(we.grad, wt.grad)
    assert xe.grad.dtype == ember.float64 and xe.grad.requires_grad is False


def test_backward_with_a_gradient_for_non_scalars():
    (xe, xt) = pair(randn(RNG, 2, 3), True)
    ge, gt = pair(randn(RNG, 2, 3))
    (xe * xe * 3).backward(ge)
    (xt * xt * 3).backward(gt)
    close(xe.grad, xt.grad)
    # a list of floats is accepted as the gradient too
    ye = ember.tensor([1.0, 2.0], requires_grad=True)
    (ye * 2).backward([1.0, 0.5])
    assert ye.grad.tolist() == [2.0, 1.0]


def test_implicit_gradient_only_for_scalars():
    x = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(
        ember.AutogradError,
        match=r"backward: grad can be implicitly created only "
        r"for scalar outputs; output 0 has shape \(2, 3\)",
    ):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (torch.ones(2, 3, requires_grad=True) * 2).backward()
    (x * 2).sum(dim=(0, 1), keepdim=True).backward()  # one element, not 0-dim: fine
    assert x.grad.tolist() == [[2.0] * 3] * 2


def test_backward_errors():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(
        ember.ShapeError,
        match=r"backward: gradient has shape \(2,\) but output 0 "
        r"has shape \(3,\)",
    ):
        (x * 2).backward(ember.ones(2))
    with pytest.raises(
        ember.AutogradError,
        match="backward: element 0 of tensors does not require grad and does not have a grad_fn",
    ):
        ember.ones(2).sum().backward()
    with pytest.raises(ember.AutogradError, match="backward: got 1 gradients for 2 tensors"):
        ember.autograd.backward([x.sum(), x.sum()], [None])


def test_gradients_accumulate_across_backward_calls():
    (xe, xt) = pair(randn(RNG, 3), True)
    for x in (xe, xt):
        (x * x).sum().backward()
        first = x.grad
        (x.exp() * 2).sum().backward()
        assert x.grad is first  # accumulated in place, as PyTorch does
    close(xe.grad, xt.grad)


def test_accumulation_never_aliases_gradients_of_two_leaves():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = ember.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # add passes the same gradient to both inputs
    (a * 2).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0] and b.grad.tolist() == [1.0, 1.0]
    g = ember.tensor([1.0, 1.0])
    c = ember.tensor([0.0, 0.0], requires_grad=True)
    (c + 0).backward(g)
    (c * 1).backward(g)
    assert g.tolist() == [1.0, 1.0]  # the user's gradient is never a .grad that accumulates


def test_grad_assignment_checks():
    x = ember.ones(2, requires_grad=True)
    x.grad = ember.full((2,), 3.0)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    x.grad = None
    assert x.grad is None
    with pytest.raises(
        ember.AutogradError,
        match=r"grad: assigned grad has shape \(3,\) but the "
        r"tensor has shape \(2,\)",
    ):
        x.grad = ember.ones(3)
    with pytest.raises(
        ember.DTypeError,
        match="grad: assigned grad has dtype float64 but the tensor has dtype float32",
    ):
        x.grad = ember.ones(2, dtype=ember.float64)
    with pytest.raises(ember.DTypeError, match="grad: expected a Tensor or None, got float"):
        x.grad = 1.0
    for bad in (torch.ones(3), torch.ones(2, dtype=torch.float64), 1.0):
        with pytest.raises((RuntimeError, TypeError)):
            torch.ones(2, requires_grad=True).grad = bad


def test_second_backward_needs_retain_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(
        ember.AutogradError,
        match="backward: trying to backward through 'mul' a "
        "second time; its saved tensors were freed",
    ):
        y.backward()
    z = x.exp().sum()
    z.backward()
    with pytest.raises(ember.AutogradError, match="through 'exp' a second time"):
        z.backward()


def test_graph_without_saved_tensors_can_run_twice_as_in_torch():
    (xe, xt) = pair([1.0, 2.0], True)
    for x in (xe, xt):
        y = (x + 1).reshape(2, 1).sum()
        y.backward()
        y.backward()
    close(xe.grad, xt.grad)


def test_autograd_grad_with_grad_outputs_and_several_outputs_and_inputs():
    (ae, at), (be, bt) = pair(randn(RNG, 3), True), pair(randn(RNG, 3), True)
    (ue, ut) = pair(randn(RNG, 3))

    def run(L, a, b, u):
        y = a * b
        z = (y * a).exp()
        return L.autograd.grad([y, z.sum()], [a, b, y], grad_outputs=[u, None])

    close(run(ember, ae, be, ue), run(torch, at, bt, ut))
    assert ae.grad is None and be.grad is None  # grad never touches .grad


def test_autograd_grad_of_a_non_leaf_input_runs_only_the_graph_above_it():
    (xe, xt) = pair([0.5, 1.0, 2.0], True)
    for L, x in ((ember, xe), (torch, xt)):
        h = x.exp()
        (g,) = L.autograd.grad((h * 2).sum(), h)
        assert g.tolist() == [2.0, 2.0, 2.0]
        (h * 3).sum().backward()  # the exp node was neither run nor freed by grad()
    close(xe.grad, xt.grad)


def test_autograd_grad_allow_unused():
    x = ember.ones(2, requires_grad=True)
    unused = ember.ones(2, requires_grad=True)
    with pytest.raises(
        ember.AutogradError,
        match=r"grad: input 1 \(shape \(2,\)\) was not used in "
        r"the graph of the outputs; pass allow_unused",
    ):
        ember.autograd.grad((x * 2).sum(), [x, unused])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        t = torch.ones(2, requires_grad=True)
        torch.autograd.grad((t * 2).sum(), [t, torch.ones(2, requires_grad=True)])
    gx, gu = ember.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0] and gu is None
    gx, gu = ember.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    assert gu.tolist() == [0.0, 0.0]


def test_autograd_grad_errors():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(ember.AutogradError, match="grad: input 0 does not require grad"):
        ember.autograd.grad((x * 2).sum(), [ember.ones(2)])
    with pytest.raises(
        ember.AutogradError, match="grad: element 0 of tensors does not require grad"
    ):
        ember.autograd.grad(ember.ones(2).sum(), [x])


def test_autograd_grad_of_a_leaf_and_of_an_output_itself():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert ember.autograd.grad(x, x, ember.tensor([3.0, 4.0]))[0].tolist() == [3.0, 4.0]
    y = x * 2
    assert ember.autograd.grad(y, [y, x], ember.ones(2))[1].tolist() == [2.0, 2.0]
    g1, g2 = ember.autograd.grad((x * x).sum(), [x, x])  # an input listed twice
    assert g1.tolist() == g2.tolist() == [2.0, 4.0]


def test_backward_inputs_accumulates_only_into_those():
    (ae, at), (be, bt) = pair([1.0, 2.0], True), pair([3.0, 4.0], True)
    hs = []
    for a, b in ((ae, be), (at, bt)):
        calls = []
        a.register_hook(lambda g, calls=calls: calls.append(1))
        h = a * b
        (h * h).sum().backward(inputs=[b, h])  # h is not a leaf: it gets a .grad too
        assert a.grad is None and not calls  # the rest of the graph did not even run
        hs.append(h)
    close(be.grad, bt.grad)
    close(hs[0].grad, hs[1].grad)


def test_backward_inputs_errors():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(ember.AutogradError, match="backward: the inputs argument cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(ember.AutogradError, match="backward: input 0 does not require grad"):
        (x * 2).sum().backward(inputs=[ember.ones(2)])
    other = ember.ones(2, requires_grad=True)
    (x * 2).sum().backward(inputs=[other])  # unused: no error, no gradient (as torch)
    assert other.grad is None and x.grad is None


def test_is_leaf_grad_fn_and_requires_grad_propagation():
    x = ember.ones(2, requires_grad=True)
    c = ember.ones(2)
    y = x * c
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert x.grad_fn is None and y.grad_fn is not None
    assert y.grad_fn.name().startswith("Mul") and y.grad_fn.name().endswith("Backward")
    assert (c * 2).requires_grad is False and (c * 2).grad_fn is None
    assert (c * 2).is_leaf
    fns = y.grad_fn.next_functions
    assert fns[0][0].name() == "AccumulateGrad" and fns[0][0].variable is x
    assert fns[1] == (None, 0)
    assert (y.sum()).grad_fn.next_functions[0][0] is y.grad_fn


def test_requires_grad_rules():
    x = ember.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    with pytest.raises(
        ember.DTypeError,
        match="requires_grad: only floating-point tensors can require gradients, got int64",
    ):
        ember.ones(2, dtype=ember.int64).requires_grad_()
    ember.ones(2, dtype=ember.int64).requires_grad_(False)  # allowed, as in torch
    y = ember.ones(2, requires_grad=True) * 2
    y.requires_grad_(True)  # a no-op on non-leaves
    with pytest.raises(
        ember.AutogradError,
        match="requires_grad: you can only change requires_grad flags of leaf tensors",
    ):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        (torch.ones(2, requires_grad=True) * 2).requires_grad_(False)


def test_detach_shares_storage_and_leaves_the_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    d.add_(1)  # visible through y, and y's version moves too
    assert y.tolist() == [3.0, 5.0]
    assert y._version == d._version == 1
    assert x.detach().data_ptr() == x.data_ptr()
    z = (d * x).sum()
    z.backward()
    assert x.grad.tolist() == [3.0, 5.0]  # d is a constant
    w = x.data
    assert not w.requires_grad and w.data_ptr() == x.data_ptr()


def test_detach_inplace():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    assert y.detach_() is y
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_retain_grad_on_non_leaves():
    (xe, xt) = pair([1.0, 2.0, 3.0], True)
    kept = []
    for x in (xe, xt):
        y = x * 2
        y.retain_grad()
        z = y.exp()
        z.retain_grad()
        s = (z * y).sum()
        s.backward(retain_graph=True)
        s.backward()  # retained grads accumulate, like leaves'
        kept.append((y.grad, z.grad, x.grad))
    close(kept[0], kept[1])
    w = xe * 3
    assert w.grad is None  # not retained: no .grad on non-leaves
    xe.retain_grad()  # leaves keep .grad anyway: a no-op
    with pytest.raises(
        ember.AutogradError,
        match="retain_grad: can't retain_grad on a tensor that doesn't require grad",
    ):
        ember.ones(2).retain_grad()


def test_integer_inputs_never_get_gradients():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    i = ember.tensor([3, 4])
    b = ember.tensor([True, False])
    y = (x * i + b * x + i).sum()
    y.backward()
    assert x.grad.tolist() == [4.0, 4.0]  # i + b
    assert i.grad is None and b.grad is None and not i.requires_grad


def test_part_of_the_inputs_do_not_require_grad():
    (ae, at), (be, bt) = pair(randn(RNG, 2, 3), True), pair(randn(RNG, 3, 4))
    (ce, ct) = pair(randn(RNG, 4), True)
    for a, b, c in ((ae, be, ce), (at, bt, ct)):
        ((a @ b).exp() * c + b.sum()).sum().backward()
    close(ae.grad, at.grad)
    close(ce.grad, ct.grad)
    assert be.grad is None


def test_diamonds_and_broadcasting_vs_torch():
    (xe, xt), (be, bt) = pair(randn(RNG, 5, 3), True), pair(randn(RNG, 3), True)
    (se, st) = pair(randn(RNG, 1), True)

    def f(x, b, s):
        h = x + b  # bias add: broadcast over rows
        d1 = h * s  # s broadcasts everywhere
        d2 = h.exp()
        top = d1 * d2 + h  # h reaches `top` three ways
        return (top / (1.0 + d2)).sum()

    f(xe, be, se).backward()
    f(xt, bt, st).backward()
    close((xe.grad, be.grad, se.grad), (xt.grad, bt.grad, st.grad))
    assert be.grad.shape == (3,) and se.grad.shape == (1,)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_gradient_dtypes_follow_the_inputs(dtype):
    x = ember.ones(3, dtype=getattr(ember, dtype), requires_grad=True)
    w = ember.ones(3, dtype=ember.float64, requires_grad=True)
    (x * w).sum().backward()  # x is promoted to float64 inside: its grad is cast back
    xt = torch.ones(3, dtype=getattr(torch, dtype), requires_grad=True)
    (xt * torch.ones(3, dtype=torch.float64)).sum().backward()
    assert x.grad.dtype.name == str(xt.grad.dtype).replace("torch.", "")
    assert w.grad.dtype == ember.float64


def test_backward_through_views_and_movement():
    (xe, xt) = pair(randn(RNG, 2, 3, 4), True)
    for x in (xe, xt):
        y = x.permute(2, 0, 1).reshape(4, 6).transpose(0, 1).view(3, 2, 4)
        z = y.expand(5, 3, 2, 4) * x.sum(dim=0).reshape(3, 1, 4)
        (z * z).sum().backward()
    close(xe.grad, xt.grad)


def test_several_roots_in_one_backward():
    (xe, xt) = pair(randn(RNG, 3), True)
    for L, x in ((ember, xe), (torch, xt)):
        y = x * 3
        z = y.exp()
        L.autograd.backward([z.sum(), y], [None, L.ones(3, dtype=x.dtype)])
    close(xe.grad, xt.grad)


def test_grad_ignores_branches_that_lead_to_no_input():
    """A freed or hooked branch off every path to the inputs is left alone (as in torch)."""
    (ae, at), (be, bt) = pair([1.0, 2.0], True), pair([3.0, 4.0], True)
    res = []
    for L, a, b in ((ember, ae, be), (torch, at, bt)):
        calls = []
        hb = b.exp()
        hb.register_hook(lambda g, calls=calls: calls.append(1))
        hb.sum().backward(retain_graph=False)  # frees exp's saved output
        y = a * hb
        (ga,) = L.autograd.grad(y.sum(), a)
        res.append(ga)
        assert calls == [1]  # only the backward above ran the hook
    close(res[0], res[1])


def test_grad_of_the_same_output_listed_twice_sums_its_seeds_like_torch():
    a = np.array([0.3, -1.2, 0.7], np.float32)
    x = ember.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = (x * 3).tanh(), (tx * 3).tanh()
    s1, s2 = np.array([1.0, 2.0, -1.0], np.float32), np.array([0.5, 0.5, 4.0], np.float32)
    (g,) = ember.autograd.grad([y, y], [x], [ember.tensor(s1), ember.tensor(s2)])
    (r,) = torch.autograd.grad([ty, ty], [tx], [torch.tensor(s1), torch.tensor(s2)])
    np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-4)
