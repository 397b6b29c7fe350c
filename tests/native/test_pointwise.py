"""The native elementwise kernels (``pointwise.sigmoid``) and the ops that use them, against
float64 NumPy and PyTorch. (The accuracy of the float32 sigmoid over a dense grid and its
specials are tested with the LSTM step that shares it, in test_lstm.py.)"""

import numpy as np
import pytest
import torch

import ember
import ember.native
from ember.native import build, parallel, pointwise

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (33, 5), (2, 3, 64)])
def test_sigmoid_matches_float64_within_three_ulp(shape):
    x = np.asarray(RNG.standard_normal(shape) * 8, np.float32)
    got = pointwise.sigmoid(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    want = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(got, want, rtol=3 * 2**-23, atol=0)


def test_a_numpy_scalar_gets_the_bits_of_a_0d_array():
    x = np.float32(-1.2345)
    np.testing.assert_array_equal(pointwise.sigmoid(x), pointwise.sigmoid(np.asarray(x)))


def test_threaded_sigmoid_gives_the_serial_bits(monkeypatch):
    x = (RNG.standard_normal(10_001) * 5).astype(np.float32)
    serial = pointwise.sigmoid(x)
    monkeypatch.setattr(parallel, "MIN_WORK", [1])
    monkeypatch.setattr(parallel, "THREADS", [2])
    np.testing.assert_array_equal(pointwise.sigmoid(x), serial)


def test_sigmoid_declines_what_it_does_not_cover():
    assert pointwise.sigmoid(np.zeros(3)) is None  # float64 stays with NumPy
    assert pointwise.sigmoid(np.zeros((3, 4), np.float32)[:, ::2]) is None
    with ember.native.use(False):
        assert pointwise.sigmoid(np.zeros(3, np.float32)) is None


@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_ember_sigmoid_runs_the_kernel_where_it_applies_and_matches_torch(layout):
    x = (RNG.standard_normal((6, 10)) * 6).astype(np.float32)
    x = x if layout == "contiguous" else x[:, ::2]
    t = ember.tensor(x, requires_grad=True)
    y = t.sigmoid()
    if layout == "contiguous":  # the kernel's bits
        np.testing.assert_array_equal(y.detach().numpy(), ember.native.sigmoid(x))
    y.sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.sigmoid(tx)
    ty.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(t.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_ember_sigmoid_without_native_kernels_matches_torch():
    x = (RNG.standard_normal(50) * 30).astype(np.float32)
    with ember.native.use(False):
        got = ember.tensor(x).sigmoid().numpy()
    np.testing.assert_allclose(got, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-7)
