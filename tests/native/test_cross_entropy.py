"""The native softmax cross entropy (``rows.cross_entropy`` and its gradient) against PyTorch
in float64, against the native log_softmax bit for bit, and the cases it declines."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember.native
from ember.native import build, parallel, rows

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

RNG = np.random.default_rng(0)
DTYPES = [np.float32, np.float64]
TOL = {np.float32: 2e-5, np.float64: 1e-12}
SHAPES = [(1, 1), (5, 4), (7, 10), (3, 33), (2, 1000)]


def _case(shape, dtype, ignore=-100, scale=3.0):
    x = (RNG.standard_normal(shape) * scale).astype(dtype)
    t = RNG.integers(0, shape[1], shape[0])
    if shape[0] > 2 and ignore is not None:
        t[1] = ignore
    return x, t


def _torch_losses(x, t, ignore):
    xt = torch.tensor(x, dtype=torch.float64)
    return TF.cross_entropy(xt, torch.tensor(t), ignore_index=ignore, reduction="none").numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ignore", [-100, 2])
def test_losses_match_torch_in_float64(dtype, shape, ignore):
    x, t = _case(shape, dtype, ignore)
    losses, kept = rows.cross_entropy(x, t, ignore)
    assert losses.dtype == dtype and kept == int(np.sum(t != ignore))
    want = _torch_losses(x, t, ignore)
    np.testing.assert_allclose(losses, want, rtol=TOL[dtype], atol=TOL[dtype])
    assert np.all(losses[t == ignore] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_losses_are_the_negated_native_log_softmax_bit_for_bit(dtype, shape):
    # the composite log_softmax + nll_loss and the fused op give the same forward bits
    x, t = _case(shape, dtype, ignore=None)
    losses, _ = rows.cross_entropy(x, t, -100)
    picked = rows.log_softmax(x)[np.arange(len(t)), t]
    np.testing.assert_array_equal(losses, -picked)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("per_row", [False, True])
def test_gradient_matches_torch_autograd(dtype, shape, per_row):
    x, t = _case(shape, dtype, ignore=-100)
    scale = RNG.standard_normal(shape[0]) if per_row else np.array(0.25)
    gx = rows.cross_entropy_grad(x, t, scale.astype(dtype), -100)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    losses = TF.cross_entropy(xt, torch.tensor(t), reduction="none")
    losses.backward(torch.tensor(np.broadcast_to(scale, shape[:1]).copy()))
    assert gx.dtype == dtype
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=TOL[dtype], atol=TOL[dtype])
    assert np.all(gx[t == -100] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits_follow_torch(dtype):
    big = np.finfo(dtype).max / 4
    x = np.array(
        [[big, 0.0, -big], [-np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0], [np.nan, 0.0, 1.0]],
        dtype,
    )
    t = np.array([2, 1, 0, 1])
    losses, _ = rows.cross_entropy(x, t, -100)
    want = _torch_losses(x, t, -100)
    np.testing.assert_allclose(losses, want.astype(dtype), rtol=TOL[dtype])  # inf and nan too
    gx = rows.cross_entropy_grad(x, t, np.array(1.0, dtype), -100)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    TF.cross_entropy(xt, torch.tensor(t), reduction="sum").backward()
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=TOL[dtype], atol=TOL[dtype])


def test_an_ignore_index_beyond_int64_ignores_nothing():
    x, t = _case((4, 3), np.float64, ignore=0)
    losses, kept = rows.cross_entropy(x, t, 1 << 70)
    assert kept == 4
    np.testing.assert_allclose(losses, _torch_losses(x, t, -100), rtol=1e-12)


def test_threaded_rows_give_the_serial_bits(monkeypatch):
    x, t = _case((301, 17), np.float32, ignore=-100)
    scale = RNG.standard_normal(301).astype(np.float32)
    serial = rows.cross_entropy(x, t, -100), rows.cross_entropy_grad(x, t, scale, -100)
    monkeypatch.setattr(parallel, "MIN_WORK", [1])
    monkeypatch.setattr(parallel, "THREADS", [2])
    (losses, kept), gx = rows.cross_entropy(x, t, -100), rows.cross_entropy_grad(x, t, scale, -100)
    assert kept == serial[0][1]
    np.testing.assert_array_equal(losses, serial[0][0])
    np.testing.assert_array_equal(gx, serial[1])


def test_kernels_decline_what_they_do_not_cover():
    x, t = _case((4, 3), np.float32)
    assert rows.cross_entropy(x.astype(np.float16), t, -100) is None
    assert rows.cross_entropy(x[:, ::2], t, -100) is None  # not contiguous rows
    assert rows.cross_entropy(x, t.astype(np.int32), -100) is None
    assert rows.cross_entropy(x, t[::2], -100) is None  # one target per row
    assert rows.cross_entropy(x[:0], t[:0], -100) is None  # empty: NumPy's nan mean
    assert rows.cross_entropy_grad(x, t, np.ones(3, np.float32), -100) is None
    with ember.native.use(False):
        assert rows.cross_entropy(x, t, -100) is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("per_row", [False, True])
def test_loss_with_grad_has_the_bits_of_the_two_kernels(dtype, shape, per_row):
    """One pass for both: the same operations as cross_entropy and cross_entropy_grad, so the
    same bits (each of those is checked against PyTorch above)."""
    x, t = _case(shape, dtype)
    scale = RNG.standard_normal(shape[0]).astype(dtype) if per_row else np.asarray(0.25, dtype)
    gx = np.empty_like(x)
    losses = rows.cross_entropy_with_grad(x, t, scale, -100, gx)
    want_losses, _ = rows.cross_entropy(x, t, -100)
    np.testing.assert_array_equal(losses, want_losses)
    np.testing.assert_array_equal(gx, rows.cross_entropy_grad(x, t, scale, -100))


def test_loss_with_grad_matches_torch_in_float64():
    x, t = _case((7, 10), np.float64)
    gx = np.empty_like(x)
    losses = rows.cross_entropy_with_grad(x, t, np.asarray(1.0), -100, gx)
    xt = torch.tensor(x, requires_grad=True)
    want = TF.cross_entropy(xt, torch.tensor(t), reduction="none")
    want.sum().backward()
    np.testing.assert_allclose(losses, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_loss_with_grad_declines_a_wrong_buffer():
    x, t = _case((5, 4), np.float32)
    assert rows.cross_entropy_with_grad(x, t, np.asarray(1.0), -100, np.empty((5, 4))) is None
    assert rows.cross_entropy_with_grad(x, t, np.ones(3), -100, np.empty_like(x)) is None


def test_loss_with_grad_split_over_threads_gives_the_serial_bits(monkeypatch):
    x, t = _case((301, 7), np.float32)
    scale = RNG.standard_normal(301).astype(np.float32)
    serial_gx = np.empty_like(x)
    serial = rows.cross_entropy_with_grad(x, t, scale, -100, serial_gx)
    monkeypatch.setattr(parallel, "MIN_WORK", [1])
    monkeypatch.setattr(parallel, "THREADS", [3])
    gx = np.empty_like(x)
    np.testing.assert_array_equal(rows.cross_entropy_with_grad(x, t, scale, -100, gx), serial)
    np.testing.assert_array_equal(gx, serial_gx)
