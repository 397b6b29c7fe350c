"""In-place ops and version counters against PyTorch.

Known limit (documented here and in the error): an in-place op on a *view* of a tensor that is
part of a graph raises while recording (PyTorch supports it through CopySlices); use the
out-of-place op or clone() the view. In-place ops on a base rebase its live views as PyTorch
does.
"""

import numpy as np
import pytest
import torch

import ember
from tests.core.helpers import close, pair, randn

RNG = np.random.default_rng(3)

INPLACE = [
    ("add_", lambda x: x.add_(2)),
    ("sub_", lambda x: x.sub_(1.5)),
    ("mul_", lambda x: x.mul_(3)),
    ("div_", lambda x: x.div_(2)),
    ("neg_", lambda x: x.neg_()),
    ("exp_", lambda x: x.exp_()),
    ("iadd", lambda x: x.__iadd__(1)),
    ("isub", lambda x: x.__isub__(1)),
    ("imul", lambda x: x.__imul__(2)),
    ("itruediv", lambda x: x.__itruediv__(4)),
    ("add_tensor", lambda x: x.add_(x.detach() * 0 + 1)),
]


@pytest.mark.parametrize("name, op", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_ops_bump_versions_and_write_through_views(name, op):
    res = []
    for L in (ember, torch):
        x = L.tensor([[1.0, 2.0], [3.0, 4.0]])
        views = [x.view(4), x.t(), x.detach(), x.reshape(2, 2), x.permute(1, 0), x.transpose(0, 1)]
        v0 = x._version
        out = op(x)
        assert out is x
        res.append(
            (x.clone(), [v.clone() for v in views], x._version - v0, [v._version for v in views])
        )
    close(res[0][0], res[1][0])
    close(res[0][1], res[1][1])
    assert res[0][2] == res[1][2] == 1
    assert res[0][3] == res[1][3]


def test_inplace_on_a_view_bumps_the_base_and_its_other_views():
    res = []
    for L in (ember, torch):
        x = L.zeros(2, 3)
        v = x.view(6)
        t = x.t()
        d = t.detach()
        v.add_(1)
        d.mul_(2)
        res.append((x.clone(), [a._version for a in (x, v, t, d)]))
    close(res[0][0], res[1][0])
    assert res[0][1] == res[1][1] == [2, 2, 2, 2]


def test_modifying_a_tensor_saved_for_backward_raises_naming_the_op_and_versions():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h * x
    h.add_(1)
    with pytest.raises(
        ember.AutogradError,
        match=r"backward: input 0 of shape \(2,\) of 'mul' was "
        r"saved for the gradient but has been modified by "
        r"an in-place operation \(version 0 when saved, "
        r"now 1\)",
    ):
        y.sum().backward()
    ht = torch.tensor([1.0, 2.0], requires_grad=True) * 2
    yt = ht * 2
    yt2 = ht * ht
    ht.add_(1)
    yt.sum().backward()  # mul by a constant saved nothing of ht: fine in both
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        yt2.sum().backward()


def test_modifying_a_saved_output_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    e = x.exp()
    with ember.no_grad():
        e.mul_(2)
    with pytest.raises(
        ember.AutogradError,
        match=r"backward: its output of 'exp' was saved for the "
        r"gradient but has been modified by an in-place "
        r"operation \(version 0 when saved, now 1\)",
    ):
        e.sum().backward()


def test_y_mul_y_in_place_raises_as_in_torch():
    for L, err in ((ember, ember.AutogradError), (torch, RuntimeError)):
        x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.add_(1)
        y.mul_(y)
        with pytest.raises(err, match="modified by an in-?place operation"):
            y.sum().backward()


def test_inplace_on_a_leaf_that_requires_grad():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(
        ember.AutogradError,
        match="add_: a leaf tensor that requires grad is being used in an in-place operation",
    ):
        x.add_(1)
    with pytest.raises(
        RuntimeError,
        match="a leaf Variable that requires grad is being used in an in-place operation",
    ):
        torch.ones(2, requires_grad=True).add_(1)
    with ember.no_grad():  # how optimizers update parameters
        x.mul_(3)
    assert x.tolist() == [3.0, 3.0] and x._version == 1 and x.is_leaf and x.requires_grad


def test_inplace_chain_on_a_non_leaf_gives_torch_gradients():
    (xe, xt), (we, wt) = pair(randn(RNG, 4), True), pair(randn(RNG, 4), True)
    for x, w in ((xe, we), (xt, wt)):
        y = x * 2
        y.add_(1)
        y.mul_(w)
        y -= x
        y /= 3
        y.exp_()  # saves its result: torch would refuse further in-place ops on y now
        z = y * x
        z.sum().backward()
    close((xe.grad, we.grad), (xt.grad, wt.grad))


def test_inplace_with_an_operand_that_requires_grad():
    (xe, xt) = pair(randn(RNG, 3), True)
    res = []
    for L, x in ((ember, xe), (torch, xt)):
        a = L.zeros(3, dtype=x.dtype)
        a.add_(x * 2)
        assert a.requires_grad and not a.is_leaf
        a.mul_(x)
        a.sum().backward()
        res.append(x.grad)
    close(res[0], res[1])


def test_inplace_on_a_view_while_recording_is_a_known_limit():
    x = ember.ones(4, requires_grad=True)
    y = x * 2
    v = y.view(2, 2)
    with pytest.raises(
        ember.AutogradError,
        match="add_: in-place operation on a view while recording gradients is not supported",
    ):
        v.add_(1)
    with ember.no_grad():
        v.add_(1)  # outside recording it is fine: y sees it
    assert y.tolist() == [3.0] * 4


def test_inplace_on_a_base_rebases_its_views():
    (xe, xt) = pair([1.0, 2.0, 3.0, 4.0], True)
    for x in (xe, xt):
        y = x * 1.0
        v = y.view(2, 2)
        w = v.t()
        y.mul_(2)  # v and w now read 2 * x: their graphs must say so too
        y.exp_()
        (v.sum() + (w * x.view(2, 2)).sum()).backward()
    close(xe.grad, xt.grad)


def test_retain_grad_follows_the_tensor_through_inplace_ops():
    (xe, xt) = pair([1.0, 2.0], True)
    grads = []
    for x in (xe, xt):
        y = x * 1.0
        y.retain_grad()
        y.mul_(3)
        (y * y).sum().backward()
        grads.append(y.grad)
    close(grads[0], grads[1])


def test_inplace_dtype_and_shape_errors():
    i = ember.tensor([1, 2])
    with pytest.raises(
        ember.DTypeError,
        match="add_: result type float32 can't be cast to the desired output type int64",
    ):
        i.add_(0.5)
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        torch.tensor([1, 2]).add_(0.5)
    f = ember.ones(3)
    with pytest.raises(
        ember.ShapeError,
        match=r"add_: output with shape \(3,\) doesn't match the "
        r"broadcast shape \(2, 3\)",
    ):
        f.add_(ember.ones(2, 3))
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        torch.ones(3).add_(torch.ones(2, 3))
    i.add_(2)  # int + int stays int
    f.add_(ember.tensor([1, 2, 3]))  # float += int is fine
    assert i.tolist() == [3, 4] and f.tolist() == [2.0, 3.0, 4.0]


def test_writing_into_an_expanded_view_is_refused():
    e = ember.ones(3, 1).expand(3, 4)
    with pytest.raises(
        ember.AutogradError, match="mul_: the tensor is a broadcast \\(expanded\\) view"
    ):
        e.mul_(2)
    with pytest.raises(RuntimeError, match="unsupported operation: more than one element"):
        torch.ones(3, 1).expand(3, 4).mul_(2)


def test_setitem_moves_views_and_retained_grad_like_torch():
    """x[...] = v while recording: the live view and retain_grad follow the new graph."""
    x0 = np.random.default_rng(3).standard_normal((4, 3))
    grads = {}
    for lib in (ember, torch):
        x = lib.tensor(x0, requires_grad=True)
        y = x * 2
        y.retain_grad()
        v = y[1]
        y[0] = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
        (v * y).sum().backward()
        grads[lib.__name__] = (x.grad.tolist(), y.grad.tolist())
    np.testing.assert_allclose(grads["ember"][0], grads["torch"][0], rtol=1e-12)
    np.testing.assert_allclose(grads["ember"][1], grads["torch"][1], rtol=1e-12)
