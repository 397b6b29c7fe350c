"""``softmax_cross_entropy_with_grad``: the packed gradient and loss against PyTorch, with and
without the native kernel, and bit for bit against the two ops it stands for."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember.native
from ember.errors import ShapeError
from ember.ops import loss as L
from ember.ops.loss_with_grad import softmax_cross_entropy_with_grad as op

RNG = np.random.default_rng(3)


def _case(dtype, rows=9, classes=5):
    x = (RNG.standard_normal((rows, classes)) * 2).astype(dtype)
    t = RNG.integers(0, classes, rows)
    t[2] = -100
    return x, t


def _unpack(out, x, reduction):
    n = x.size
    return out[:n].reshape(x.shape), out[n:] if reduction == "none" else out[n]


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_torch_in_float64(native, reduction):
    x, t = _case(np.float64)
    g = RNG.standard_normal(x.shape[0]) if reduction == "none" else np.asarray(1.5)
    with ember.native.use(native):
        out = op.forward(g, x, t, ignore_index=-100, reduction=reduction)
    gx, loss = _unpack(out, x, reduction)
    xt = torch.tensor(x, requires_grad=True)
    want = TF.cross_entropy(xt, torch.tensor(t), ignore_index=-100, reduction=reduction)
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(loss, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_has_the_bits_of_the_loss_and_its_backward(dtype, reduction):
    x, t = _case(dtype, rows=33, classes=17)
    g = RNG.standard_normal(33).astype(dtype) if reduction == "none" else np.asarray(1.0, dtype)
    kw = {"ignore_index": -100, "reduction": reduction}
    gx, loss = _unpack(op.forward(g, x, t, **kw), x, reduction)
    np.testing.assert_array_equal(loss, L.softmax_cross_entropy.forward(x, t, **kw))
    np.testing.assert_array_equal(gx, L.softmax_cross_entropy_backward.forward(g, x, t, **kw))


def test_every_row_ignored_gives_nan_like_the_loss():
    x, t = _case(np.float32)
    t[:] = -100
    gx, loss = _unpack(
        op.forward(np.asarray(1.0, np.float32), x, t, ignore_index=-100, reduction="mean"),
        x,
        "mean",
    )
    assert np.isnan(loss) and np.isnan(
        L.softmax_cross_entropy.forward(x, t, ignore_index=-100, reduction="mean")
    )


def test_shape_rule_names_the_shapes():
    with pytest.raises(ShapeError, match=r"\(N, C\) logits and \(N,\) targets.*\(4, 3\).*\(5,\)"):
        op.shape((), (4, 3), (5,), ignore_index=-100, reduction="mean")
    assert op.shape((), (4, 3), (4,), ignore_index=-100, reduction="none") == (16,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("rows", [1, 7, 8, 9, 127, 128, 129, 130, 255, 300, 1000])
def test_the_one_call_kernel_sums_the_loss_as_numpy_does(rows, reduction, dtype, monkeypatch):
    """The reduced loss in one C call (what a compiled step runs) against the op's NumPy
    steps: NumPy's pairwise sum has blocks of 128 and halves, so the sizes straddle them."""
    from ember.native import rows as native_rows

    x = (RNG.standard_normal((rows, 10)) * 2).astype(dtype)
    t = RNG.integers(0, 10, rows)
    t[RNG.random(rows) < 0.1] = -100
    g = np.asarray(0.75, dtype)
    kw = {"ignore_index": -100, "reduction": reduction}
    taken = []
    one_call = native_rows.cross_entropy_loss_grad

    def spy(*args):
        taken.append(one_call(*args))
        return taken[-1]

    monkeypatch.setattr(native_rows, "cross_entropy_loss_grad", spy)
    got = op.forward(g, x, t, **kw)
    assert taken == [True]
    monkeypatch.setattr(native_rows, "cross_entropy_loss_grad", lambda *a: None)
    np.testing.assert_array_equal(got, op.forward(g, x, t, **kw))
    gx, loss = _unpack(got, x, reduction)
    np.testing.assert_array_equal(loss, L.softmax_cross_entropy.forward(x, t, **kw))
    np.testing.assert_array_equal(gx, L.softmax_cross_entropy_backward.forward(g, x, t, **kw))
