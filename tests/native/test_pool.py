"""The native 2x2 max pooling against NumPy's pooling and PyTorch."""

import numpy as np
import pytest
import torch

import ember.native
from ember.native import build, pool

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")

RNG = np.random.default_rng(0)


def _input(dtype, shape, ties):
    x = RNG.standard_normal(shape).astype(dtype)
    return np.maximum(x, 0) if ties else x  # relu output: windows of equal zeros


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape",
    [(2, 3, 8, 8), (1, 2, 5, 7), (3, 1, 2, 2), (2, 2, 24, 24), (2, 3, 12, 13), (1, 2, 9, 22)],
)
@pytest.mark.parametrize("ties", [False, True])
def test_forward_and_gradient_match_torch(dtype, shape, ties):
    x = _input(dtype, shape, ties)
    tx = torch.tensor(x, requires_grad=True)
    tm = torch.nn.functional.max_pool2d(tx, 2)
    g = RNG.standard_normal(tm.shape).astype(dtype)
    tm.backward(torch.tensor(g))
    m = pool.max_pool_2x2(x, (2, 2))
    np.testing.assert_array_equal(m, tm.detach().numpy())
    # PyTorch's first-maximum rule, exactly (ties included); past 2 * (oh, ow): zeros
    np.testing.assert_array_equal(pool.max_pool_2x2_grad(g, x, m, (2, 2)), tx.grad.numpy())


def test_nan_wins_its_window_like_np_maximum():
    x = RNG.standard_normal((1, 1, 4, 4)).astype(np.float32)
    for i, j in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        y = x.copy()
        y[0, 0, i, j] = np.nan
        m = pool.max_pool_2x2(y, (2, 2))
        assert np.isnan(m[0, 0, 0, 0]) and not np.isnan(m[0, 0, 1:, 1:]).any()


def test_the_ops_take_the_same_path_with_and_without_native():
    from ember.ops import max_pool_grad
    from ember.ops import pool as ops_pool

    x = _input(np.float32, (4, 3, 12, 12), ties=True)
    attrs = dict(kernel=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False)
    g = RNG.standard_normal((4, 3, 6, 6)).astype(np.float32)
    m = ops_pool.max_pool2d(x, **attrs)
    gx = max_pool_grad.max_pool2d_grad(g, x, m, kernel=(2, 2))
    with ember.native.use(False):
        m0 = ops_pool.max_pool2d(x, **attrs)
        gx0 = max_pool_grad.max_pool2d_grad(g, x, m0, kernel=(2, 2))
    np.testing.assert_array_equal(m, m0)
    np.testing.assert_array_equal(gx, gx0)  # equal values (NumPy's may write -0.0 for 0.0)


def test_vector_rows_follow_the_scalar_rules():
    # float32 rows of 4+ windows take the AVX2 code, float64 rows the scalar code: NaNs
    # (which win), signed zeros (which of -0.0 and 0.0 is kept) and ties come out the same
    values = np.array([0.0, -0.0, 1.0, -1.0])
    x = RNG.choice(np.append(values, np.nan), size=(3, 2, 6, 22), p=[0.24] * 4 + [0.04])
    m32, m64 = pool.max_pool_2x2(x.astype(np.float32), (2, 2)), pool.max_pool_2x2(x, (2, 2))
    assert np.isnan(m64).any() and not np.isnan(m64).all()
    np.testing.assert_array_equal(m32, m64)
    np.testing.assert_array_equal(np.signbit(m32), np.signbit(m64))
    x = RNG.choice(values, size=(3, 2, 6, 22))  # the gradient is not called with NaN maxima
    m = pool.max_pool_2x2(x, (2, 2))
    g = RNG.standard_normal(m.shape)
    g32 = pool.max_pool_2x2_grad(*(a.astype(np.float32) for a in (g, x, m)), (2, 2))
    g64 = pool.max_pool_2x2_grad(g, x, m, (2, 2))
    np.testing.assert_array_equal(g32, g64.astype(np.float32))
    np.testing.assert_array_equal(np.signbit(g32), np.signbit(g64))


def test_other_windows_and_dtypes_are_declined():
    x = np.ones((1, 1, 6, 6), np.float32)
    assert pool.max_pool_2x2(x, (3, 3)) is None
    assert pool.max_pool_2x2(x.astype(np.float16), (2, 2)) is None
    m = np.ones((1, 1, 3, 3), np.float32)
    assert pool.max_pool_2x2_grad(m, x, m.astype(np.float64), (2, 2)) is None
